"""Strict conversion between request data and typed values, and from typed values to JSON.

JSON bodies are structured by cattrs functions generated once per type, with hooks that refuse
cattrs' silent coercions (``1`` is not a ``str``, ``true`` is not an ``int``, ``1.5`` is not an
``int``, ``null`` is not a ``str``). Every problem is reported at once, each at its own location,
including failures of attrs validators, which cattrs reports on the whole object. Text locations
(path, query, headers, cookies, form fields) parse from strings instead: ``"10"`` is an ``int``.
"""

from __future__ import annotations

import base64
import binascii
import collections.abc
import datetime
import decimal
import enum
import re
import typing
import uuid
from collections.abc import Callable, Sequence
from typing import Any, get_args

import attrs
import cattrs
from cattrs.errors import (
    ClassValidationError,
)
from cattrs.fns import identity

from framework import _json
from framework.typed._typeinfo import (
    DICT_ORIGINS,
    LIST_ORIGINS,
    SET_ORIGINS,
    element_type,
    is_annotated,
    is_attrs,
    is_enum,
    is_fixed_tuple,
    is_literal,
    is_union,
    origin_of,
    shown,
    type_name,
)
from framework.typed.constraints import (
    Constraints,
    check,
    constraints_from_validator,
    item_constraints_from_validator,
    split_annotated,
)
from framework.typed.errors import (
    MAX_ERRORS,
    ErrorDetail,
    InvalidValue,
    Loc,
    LocatedErrors,
    RequestValidationError,
    capped_errors,
    collect_errors,
    duplicate_errors,
    error_message,
    errors_of,
    limit_errors,
    note_loc,
)
from framework.typed.text import (
    TextFn,
    make_text_fn,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_time,
    parse_uuid,
    text_item,
    within,
)

__all__ = [
    "MAX_JSON_DEPTH",
    "APIConverter",
    "default_converter",
    "field_validator_errors",
]


MAX_JSON_DEPTH = 64
"""How deeply a JSON body may nest arrays and objects, unless the converter is told otherwise."""


_Hook = Callable[[Any, Any], Any]
_NoneType = type(None)


def _structure_items(hook: _Hook, tp: Any, values: list[Any]) -> list[Any]:
    """Each value structured by ``hook``, every problem located at its index; stops once more
    than `MAX_ERRORS` are found, so a huge invalid value costs no more than a small one."""
    items: list[Any] = []
    errors: list[ErrorDetail] = []
    for index, value in enumerate(values):
        try:
            items.append(hook(value, tp))
        except Exception as exc:
            collect_errors(exc, (index,), errors)
            if len(errors) > MAX_ERRORS:
                break
    if errors:
        raise LocatedErrors(errors)
    return items


# --- strict scalar hooks: what a JSON value may be for each declared type

_SURROGATE = re.compile("[\ud800-\udfff]")


def _structure_str(value: Any, _: Any) -> str:
    if value.__class__ is str:
        # PERF: isascii() is a flag check; only other text pays for the surrogate scan.
        if value.isascii() or _SURROGATE.search(value) is None:
            return value
        # NOTE: JSON can spell lone surrogates ("\ud800"); they are not text, cannot be encoded
        # as UTF-8, and would only fail later, in storage or in the response.
        raise InvalidValue("expected a string of Unicode text")
    raise InvalidValue("expected a string")


def _structure_int(value: Any, _: Any) -> int:
    if value.__class__ is int:
        return value
    raise InvalidValue("expected an integer")


def _structure_float(value: Any, _: Any) -> float:
    cls = value.__class__
    if cls is float:
        # PERF: ``x - x == 0`` is false only for NaN and infinities, without a call.
        if value - value == 0.0:
            number: float = value
            return number
        raise InvalidValue("expected a finite number")
    if cls is int:
        try:
            return float(value)
        except OverflowError:
            raise InvalidValue("expected a finite number") from None
    raise InvalidValue("expected a number")


def _structure_bool(value: Any, _: Any) -> bool:
    if value is True or value is False:
        return value
    raise InvalidValue("expected a boolean")


def _structure_bytes(value: Any, _: Any) -> bytes:
    if value.__class__ is str:
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            pass
    raise InvalidValue("expected a base64-encoded string")


_SCALAR_HOOKS: dict[type, _Hook] = {
    str: _structure_str,
    int: _structure_int,
    float: _structure_float,
    bool: _structure_bool,
    bytes: _structure_bytes,
    datetime.datetime: parse_datetime,
    datetime.date: parse_date,
    datetime.time: parse_time,
    uuid.UUID: parse_uuid,
    decimal.Decimal: parse_decimal,
}


def _unstructure_bytes(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _isoformat(value: datetime.date | datetime.time) -> str:
    return value.isoformat()


def _enum_value(member: enum.Enum) -> Any:
    return member.value


def _literal_value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


_JSON_SCALARS = frozenset({str, int, float, bool, _NoneType})


def _is_json_native(value: dict[Any, Any] | list[Any]) -> bool:
    """Whether a dict or list holds JSON's own types only: str keys, dicts, lists, scalars.

    NOTE: iterative, so that a value as deep as JSON allows cannot exhaust the stack.
    """
    pending: list[Any] = [value]
    scalars = _JSON_SCALARS
    while pending:
        container = pending.pop()
        if container.__class__ is dict:
            for key in container:
                if key.__class__ is not str:
                    return False
            items = container.values()
        else:
            items = container
        for item in items:
            cls = item.__class__
            if cls is dict or cls is list:
                pending.append(item)
            elif cls not in scalars:
                return False
    return True


_UNSTRUCTURE_HOOKS: dict[type, Callable[[Any], Any]] = {
    bytes: _unstructure_bytes,
    datetime.datetime: _isoformat,
    datetime.date: _isoformat,
    datetime.time: _isoformat,
    uuid.UUID: str,
    decimal.Decimal: str,
}


# --- text parsers: what a path, query, header, cookie or form value may be


# --- type predicates


def _is_scalar_subclass(tp: Any) -> bool:
    return (
        isinstance(tp, type)
        and tp not in _SCALAR_HOOKS
        and issubclass(tp, (str, int, float, bytes))
        and not issubclass(tp, enum.Enum)
    )


def _json_kind(tp: Any) -> type | None:
    """Which JSON container a type is read from, to tell union members apart."""
    origin = origin_of(split_annotated(tp)[0])
    if attrs.has(origin) or origin in DICT_ORIGINS:
        return dict
    if origin in LIST_ORIGINS or origin in SET_ORIGINS or origin in (tuple, frozenset):
        return list
    return None


def _choice_lookup(values: Sequence[Any]) -> dict[tuple[type, Any], Any]:
    """JSON value (keyed with its exact class, so ``true`` never matches ``1``) → result."""
    lookup: dict[tuple[type, Any], Any] = {}
    for value in values:
        raw = value.value if isinstance(value, enum.Enum) else value
        lookup.setdefault((raw.__class__, raw), value)
    return lookup


class _Hooks(cattrs.Converter):
    """cattrs' converter with the strict hooks and the error mapping of `APIConverter`."""

    __slots__ = ("_own_structure",)

    def __init__(self) -> None:
        self._own_structure: dict[Any, _Hook] = {}
        super().__init__(
            detailed_validation=True,
            # JSON has arrays only: tuples and sets are written as lists.
            unstruct_collection_overrides={
                collections.abc.Set: list,
                collections.abc.Sequence: list,
            },
        )
        for scalar, hook in _SCALAR_HOOKS.items():
            self.register_structure_hook(scalar, hook)
        for scalar, unstructure in _UNSTRUCTURE_HOOKS.items():
            self.register_unstructure_hook(scalar, unstructure)
        self.register_structure_hook_factory(is_attrs, self._attrs_hook)
        self.register_structure_hook_factory(is_annotated, self._annotated_hook)
        self.register_structure_hook_factory(is_union, self._union_hook)
        self.register_structure_hook_factory(is_literal, self._literal_hook)
        self.register_structure_hook_factory(
            lambda tp: origin_of(tp) in LIST_ORIGINS, self._list_hook
        )
        self.register_structure_hook_factory(lambda tp: origin_of(tp) is tuple, self._tuple_hook)
        self.register_structure_hook_factory(
            lambda tp: origin_of(tp) in SET_ORIGINS, lambda tp: self._set_hook(tp, set)
        )
        self.register_structure_hook_factory(
            lambda tp: origin_of(tp) is frozenset, lambda tp: self._set_hook(tp, frozenset)
        )
        self.register_structure_hook_factory(
            lambda tp: origin_of(tp) in DICT_ORIGINS, self._dict_hook
        )
        self.register_unstructure_hook_factory(is_union, self._unstructure_union)
        self.register_unstructure_hook_factory(is_literal, lambda _: _literal_value)

    # NOTE: cattrs consults ``singledispatch`` before its predicates, so an ``IntEnum`` or a
    # ``(str, Enum)`` would reach the ``int``/``str`` hooks. Enums and other subclasses of the
    # scalars are therefore answered here, before cattrs' own dispatch.
    def get_structure_hook(self, type: Any, cache_result: bool = True) -> _Hook:
        """The hook for ``type``: strict for enums and scalar subclasses, else cattrs'."""
        if is_enum(type) or _is_scalar_subclass(type):
            hook = self._own_structure.get(type)
            if hook is None:
                hook = self._own_structure[type] = (
                    self._enum_hook(type) if is_enum(type) else self._subclass_hook(type)
                )
            return hook
        return super().get_structure_hook(type, cache_result)

    def get_unstructure_hook(
        self,
        type: Any,
        cache_result: bool = True,
    ) -> Callable[[Any], Any]:
        """The hook for ``type``: an enum becomes its value, ``Any`` is left as it is when it
        is made of JSON's own types, else cattrs' hook."""
        if is_enum(type):
            return _enum_value
        if type is Any:
            return self._unstructure_any
        return super().get_unstructure_hook(type, cache_result)

    def _unstructure_any(self, value: Any) -> Any:
        # PERF: JSON values (decoded bodies echoed back, most handler results) need nothing;
        # cattrs would rebuild them by recursion, one dispatch per item.
        cls = value.__class__
        if cls in _JSON_SCALARS or ((cls is dict or cls is list) and _is_json_native(value)):
            return value
        return self.unstructure(value)

    def _enum_hook(self, cls: type[enum.Enum]) -> _Hook:
        lookup = _choice_lookup(list(cls))
        message = f"must be one of {', '.join(shown(member) for member in cls)}"

        def structure_enum(value: Any, _: Any) -> Any:
            try:
                return lookup[value.__class__, value]
            except (KeyError, TypeError):  # TypeError: an unhashable JSON value
                raise InvalidValue(message, "enum") from None

        return structure_enum

    def _subclass_hook(self, cls: type) -> _Hook:
        base = next(scalar for scalar in (str, int, float, bytes) if issubclass(cls, scalar))
        read = _SCALAR_HOOKS[base]

        def structure_subclass(value: Any, _: Any) -> Any:
            return cls(read(value, base))

        return structure_subclass

    def _literal_hook(self, tp: Any) -> _Hook:
        options = get_args(tp)
        lookup = _choice_lookup(options)
        message = f"must be one of {', '.join(shown(option) for option in options)}"

        def structure_literal(value: Any, _: Any) -> Any:
            try:
                return lookup[value.__class__, value]
            except (KeyError, TypeError):
                raise InvalidValue(message, "literal_error") from None

        return structure_literal

    def _annotated_hook(self, tp: Any) -> _Hook:
        base, limits, _ = split_annotated(tp)
        hook = self.get_structure_hook(base)

        if not limits:

            def structure_plain(value: Any, _: Any) -> Any:
                return hook(value, base)

            return structure_plain

        def structure_limited(value: Any, _: Any) -> Any:
            result = hook(value, base)
            problems = check(result, limits)
            if problems:
                raise LocatedErrors(limit_errors(problems))
            return result

        return structure_limited

    def _union_hook(self, tp: Any) -> _Hook:
        args = get_args(tp)
        nullable = _NoneType in args
        members = [member for member in args if member is not _NoneType]
        if len(members) == 1:
            (member,) = members
            hook = self.get_structure_hook(member)

            def structure_optional(value: Any, _: Any) -> Any:
                if value is None:
                    return None
                return hook(value, member)

            return structure_optional

        pairs = [(self.get_structure_hook(member), member) for member in members]
        # PERF: a JSON scalar whose class is itself a member goes straight to that member.
        exact: dict[type, tuple[_Hook, Any]] = {}
        for hook, member in pairs:
            if member in (str, int, float, bool):
                exact.setdefault(member, (hook, member))
        # A container that only one member reads from is that member's to judge, so its own,
        # precise errors are reported rather than a bare "does not match".
        by_kind: dict[type, list[tuple[_Hook, Any]]] = {dict: [], list: []}
        for hook, member in pairs:
            kind = _json_kind(member)
            if kind is not None:
                by_kind[kind].append((hook, member))
        sole = {kind: found[0] for kind, found in by_kind.items() if len(found) == 1}
        names = ", ".join(type_name(member) for member in args)
        message = f"does not match any of {names}"

        def structure_union(value: Any, _: Any) -> Any:
            if value is None and nullable:
                return None
            cls = value.__class__
            first = exact.get(cls) or sole.get(cls)
            if first is not None:
                return first[0](value, first[1])
            for hook, member in pairs:
                try:
                    return hook(value, member)
                except Exception:  # the next member may fit
                    continue
            raise InvalidValue(message, "union_error")

        return structure_union

    def _list_hook(self, tp: Any, into: Callable[[list[Any]], Any] | None = None) -> _Hook:
        element = element_type(tp)
        hook = self.get_structure_hook(element)

        def structure_list(value: Any, _: Any) -> Any:
            if value.__class__ is not list:
                raise InvalidValue("expected an array")
            items = _structure_items(hook, element, value)
            return items if into is None else into(items)

        return structure_list

    def _tuple_hook(self, tp: Any) -> _Hook:
        if not is_fixed_tuple(tp):
            return self._list_hook(tp, tuple)
        args = get_args(tp)
        hooks = [(self.get_structure_hook(arg), arg) for arg in args]
        size = len(hooks)
        message = f"expected an array of {size} item{'' if size == 1 else 's'}"

        def structure_tuple(value: Any, _: Any) -> tuple[Any, ...]:
            if value.__class__ is not list or len(value) != size:
                raise InvalidValue(message)
            items = []
            errors: list[ErrorDetail] = []
            for index, ((hook, arg), item) in enumerate(zip(hooks, value, strict=True)):
                try:
                    items.append(hook(item, arg))
                except Exception as exc:
                    collect_errors(exc, (index,), errors)
            if errors:
                raise LocatedErrors(errors)
            return tuple(items)

        return structure_tuple

    def _dict_hook(self, tp: Any) -> _Hook:
        args = get_args(tp)
        key_type, value_type = args if len(args) == 2 else (str, Any)
        key_hook = self._key_hook(key_type)
        value_hook = self.get_structure_hook(value_type)

        def structure_dict(value: Any, _: Any) -> Any:
            if value.__class__ is not dict:
                raise InvalidValue("expected an object")
            result: dict[Any, Any] = {}
            errors: list[ErrorDetail] = []
            for key, item in value.items():
                try:
                    result[key_hook(key, key_type)] = value_hook(item, value_type)
                except Exception as exc:
                    collect_errors(exc, (key,), errors)
                    if len(errors) > MAX_ERRORS:
                        break
            if errors:
                raise LocatedErrors(errors)
            return result

        return structure_dict

    def _key_hook(self, tp: Any) -> _Hook:
        """How an object key becomes a ``tp``: JSON keys are strings, so a key of any type but
        ``str`` is read from its text, as path and query values are (``"1"`` is an ``int``)."""
        if split_annotated(tp)[0] in (str, Any, object):
            return self.get_structure_hook(tp)
        try:
            parse = text_item(tp)
        except TypeError:  # a type with no text form: its JSON hook decides
            return self.get_structure_hook(tp)

        def structure_key(key: Any, _: Any) -> Any:
            if key.__class__ is not str:
                raise InvalidValue("expected a string key")
            return parse(key)

        return structure_key

    def _set_hook(self, tp: Any, into: Callable[[list[Any]], Any]) -> _Hook:
        element = element_type(tp)
        hook = self.get_structure_hook(element)

        def structure_set(value: Any, _: Any) -> Any:
            if value.__class__ is not list:
                raise InvalidValue("expected an array")
            items = _structure_items(hook, element, value)
            result = into(items)
            if len(result) != len(items):
                raise LocatedErrors(duplicate_errors(items))
            return result

        return structure_set

    def _attrs_hook(self, cl: Any) -> _Hook:
        structure_fields = self.gen_structure_attrs_fromdict(cl)

        def structure_attrs(value: Any, _: Any) -> Any:
            if value.__class__ is not dict:
                raise InvalidValue("expected an object")
            try:
                return structure_fields(value, cl)
            except ClassValidationError as exc:
                raise LocatedErrors(self._class_problems(cl, value, exc)) from None

        return structure_attrs

    def _class_problems(
        self, cl: Any, value: dict[str, Any], exc: ClassValidationError
    ) -> list[ErrorDetail]:
        """Every problem of one object: its fields' own errors, from cattrs' exception group,
        and the failures of attrs validators, which cattrs can only report on the object."""
        problems: list[ErrorDetail] = []
        failed: set[str] = set()
        refused: list[Exception] = []
        for sub in exc.exceptions:
            loc = note_loc(sub)
            if not loc:
                refused.append(sub)  # the class itself refused the structured fields
                continue
            name = typing.cast(str, loc[0])
            failed.add(name)
            if isinstance(sub, KeyError) and name not in value:
                problems.append(ErrorDetail(loc, "field required", "missing"))
            else:
                collect_errors(sub, loc, problems)
        validated = self._validator_problems(cl, value, failed)
        if refused and not validated:
            problems.extend(ErrorDetail((), error_message(sub), "value_error") for sub in refused)
        return problems + validated

    def _validator_problems(
        self, cl: Any, value: dict[str, Any], failed: set[str]
    ) -> list[ErrorDetail]:
        """Run each field's validator on its structured value, on a partly built instance (so
        validators that read other fields see them), and report each failure at its field."""
        origin = origin_of(cl)
        try:
            instance = object.__new__(origin)
        except TypeError:
            instance = None
        pending: list[tuple[attrs.Attribute[Any], Any]] = []
        for field in attrs.fields(origin):
            name = field.name
            if not field.init or name in failed or name not in value:
                continue
            try:
                item = self.get_structure_hook(field.type)(value[name], field.type)
                converter = field.converter
                if callable(converter) and not isinstance(converter, attrs.Converter):
                    item = converter(item)
                if instance is not None:
                    object.__setattr__(instance, name, item)
            except Exception:  # a field that cannot be rebuilt cannot be blamed
                continue
            if field.validator is not None:
                pending.append((field, item))
        problems: list[ErrorDetail] = []
        for field, item in pending:
            try:
                field.validator(instance, field, item)  # type: ignore[misc]
            except Exception as exc:
                # A validator reading a sibling field that failed has nothing to add to that
                # field's own error.
                if not (failed and isinstance(exc, AttributeError)):
                    problems.extend(field_validator_errors(field, item, exc))
        return problems

    def _unstructure_union(self, tp: Any) -> Callable[[Any], Any]:
        by_class: dict[type, Callable[[Any], Any]] = {}
        for member in get_args(tp):
            runtime = origin_of(split_annotated(member)[0])
            if isinstance(runtime, type):
                by_class.setdefault(runtime, self.get_unstructure_hook(member))
        fallback = self.unstructure

        def unstructure_union(value: Any) -> Any:
            hook = by_class.get(value.__class__)
            return fallback(value) if hook is None else hook(value)

        return unstructure_union


def field_validator_errors(
    field: attrs.Attribute[Any], value: Any, exc: Exception
) -> list[ErrorDetail]:
    """A failed validator's problems, in the words of `check` when the validator is one of
    attrs' own (with members of a collection at their index), else in the validator's."""
    loc: Loc = (field.name,)
    errors = limit_errors(check(value, constraints_from_validator(field.validator)), loc)
    item_limits = item_constraints_from_validator(field.validator)
    if item_limits and isinstance(value, (list, tuple, set, frozenset, dict)):
        indexed = isinstance(value, (list, tuple))
        for index, item in enumerate(value):
            where = (*loc, index) if indexed else loc
            errors.extend(limit_errors(check(item, item_limits), where))
            if len(errors) > MAX_ERRORS:
                break
    return errors or [ErrorDetail(loc, error_message(exc), "value_error")]


_StructureFn = Callable[[Any, Loc], Any]


class APIConverter:
    """Strict structuring of request data, text parsing, and JSON encoding of return values.

    Every function is generated once per type and cached; ``structure_fn`` and
    ``parse_text_fn`` hand them out so callers can keep them from start-up on.
    """

    __slots__ = (
        "_encode_fns",
        "_hooks",
        "_max_json_depth",
        "_structure_fns",
        "_text_fns",
        "_unstructure_fns",
    )

    def __init__(self, *, max_json_depth: int = MAX_JSON_DEPTH) -> None:
        if (
            not isinstance(max_json_depth, int)
            or isinstance(max_json_depth, bool)
            or max_json_depth < 1
        ):
            raise ValueError(
                f"APIConverter(max_json_depth={max_json_depth!r}): expected a number of levels, "
                "1 or more"
            )
        self._max_json_depth = max_json_depth
        self._hooks = _Hooks()
        self._structure_fns: dict[Any, _StructureFn] = {}
        self._text_fns: dict[Any, TextFn] = {}
        self._unstructure_fns: dict[Any, Callable[[Any], Any]] = {}
        self._encode_fns: dict[Any, Callable[[Any], bytes]] = {}

    @property
    def max_json_depth(self) -> int:
        """How deeply `decode_json` lets arrays and objects nest."""
        return self._max_json_depth

    def decode_json(self, raw: bytes, loc: Loc = ()) -> Any:
        """``raw`` decoded as JSON; raises `RequestValidationError` (``json_invalid`` at
        ``loc``) for bytes that are not JSON or nest deeper than ``max_json_depth``.

        NOTE: the converter and handlers walk values by recursion, so the depth is bounded
        far below what the decoder itself can read.
        """
        try:
            data = _json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise RequestValidationError(
                [ErrorDetail(loc, f"invalid JSON ({exc})", "json_invalid")]
            ) from None
        limit = self._max_json_depth
        # PERF: nesting deeper than ``limit`` takes more than ``2 * limit`` bytes and more
        # than ``limit`` opening brackets, counted in C; only such documents are walked.
        if (
            len(raw) > 2 * limit
            and raw.count(b"[") + raw.count(b"{") > limit
            and _deeper_than(data, limit)
        ):
            raise RequestValidationError(
                [ErrorDetail(loc, f"JSON nested deeper than {limit} levels", "json_invalid")]
            )
        return data

    @property
    def cattrs(self) -> cattrs.Converter:
        """The underlying cattrs converter, to register hooks for types of your own."""
        return self._hooks

    def structure(
        self, value: Any, tp: Any, loc: Loc = (), constraints: Constraints | None = None
    ) -> Any:
        """``value`` (decoded JSON) as an instance of ``tp``; raises `RequestValidationError`
        listing every problem, located under ``loc``. ``constraints`` are checked on the result."""
        return self.structure_fn(tp, constraints)(value, loc)

    def structure_fn(self, tp: Any, constraints: Constraints | None = None) -> _StructureFn:
        """The cached function ``(value, loc) -> instance`` behind `structure`."""
        key = tp if constraints is None else (tp, constraints)
        fn = self._structure_fns.get(key)
        if fn is None:
            fn = self._structure_fns[key] = self._make_structure_fn(tp, constraints)
        return fn

    def _make_structure_fn(self, tp: Any, constraints: Constraints | None) -> _StructureFn:
        hook = self._hooks.get_structure_hook(tp)
        limits = constraints if constraints else None

        def structure(value: Any, loc: Loc) -> Any:
            try:
                result = hook(value, tp)
            except Exception as exc:
                raise RequestValidationError(capped_errors(errors_of(exc, loc))) from None
            return result if limits is None else within(result, limits, loc)

        return structure

    def parse_text(
        self,
        values: Sequence[str],
        tp: Any,
        loc: Loc = (),
        constraints: Constraints | None = None,
    ) -> Any:
        """A value of ``tp`` read from text: a scalar from the first of ``values``, a list,
        tuple or set from all of them; ``Optional[T]`` reads as ``T``. Raises
        `RequestValidationError` (``missing`` when a scalar has no value at all)."""
        return self.parse_text_fn(tp, constraints)(values, loc)

    def parse_text_fn(self, tp: Any, constraints: Constraints | None = None) -> TextFn:
        """The cached function ``(values, loc) -> value`` behind `parse_text`; raises
        ``TypeError`` at once for a type that cannot be read from text."""
        key = tp if constraints is None else (tp, constraints)
        fn = self._text_fns.get(key)
        if fn is None:
            fn = self._text_fns[key] = make_text_fn(tp, constraints)
        return fn

    def unstructure_fn(self, tp: Any) -> Callable[[Any], Any]:
        """The cached function turning a ``tp`` into JSON-ready data (bytes as base64, dates
        and times as ISO 8601, UUIDs and decimals as strings, enums as values, sets as lists)."""
        fn = self._unstructure_fns.get(tp)
        if fn is None:
            fn = self._unstructure_fns[tp] = self._hooks.get_unstructure_hook(tp)
        return fn

    def encode_fn(self, tp: Any) -> Callable[[Any], bytes]:
        """The cached function encoding a ``tp`` as JSON bytes."""
        fn = self._encode_fns.get(tp)
        if fn is None:
            fn = self._encode_fns[tp] = self._make_encode_fn(tp)
        return fn

    def _make_encode_fn(self, tp: Any) -> Callable[[Any], bytes]:
        unstructure = self.unstructure_fn(tp)
        dumps = _json.dumps
        if unstructure is identity:
            return dumps

        def encode(value: Any) -> bytes:
            return dumps(unstructure(value))

        return encode


def _deeper_than(data: Any, limit: int) -> bool:
    """Whether decoded JSON nests arrays and objects more than ``limit`` levels deep."""
    cls = data.__class__
    if cls is not dict and cls is not list:
        return False
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        container, depth = pending.pop()
        items = container.values() if container.__class__ is dict else container
        for item in items:
            cls = item.__class__
            if cls is dict or cls is list:
                if depth == limit:
                    return True
                pending.append((item, depth + 1))
    return False


default_converter = APIConverter()
"""The converter the framework uses unless given another."""
