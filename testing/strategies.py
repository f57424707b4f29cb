"""Hypothesis strategies from route plans: values of declared types, and requests built of them.

Valid values are valid by construction: bounds, lengths, patterns and choices come from the
plan's `Constraints` (annotated-types metadata and attrs validators, which Hypothesis' own
``from_type`` ignores), and attrs models are built through their class, so that any validator
the plan cannot read still runs and a value it refuses is never drawn. Every value is then put
on the wire the way a client would send it: as text for the path, query, headers and cookies,
through the framework's converter for JSON.

Invalid requests break one thing each, and only in a way that is certain to be invalid: a
missing required value, a value just outside a bound, text that no parser of the type reads,
malformed JSON, a body of the wrong shape or media type, a body over the size limit.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import functools
import io
import math
import re
import typing
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, get_args

import attrs
import orjson
from hypothesis import HealthCheck, Phase, find, reject, settings
from hypothesis import strategies as st

from framework.convertors import FloatConvertor, IntegerConvertor
from framework.datastructures import UploadFile
from framework.typed._typeinfo import (
    DICT_ORIGINS,
    LIST_ORIGINS,
    SET_ORIGINS,
    is_attrs,
    is_enum,
    is_fixed_tuple,
    is_literal,
    is_union,
    origin_of,
    type_name,
)
from framework.typed.constraints import (
    Constraints,
    check,
    combine,
    constraints_from_attribute,
    item_constraints_from_attribute,
    split_annotated,
)
from framework.typed.converter import APIConverter
from framework.typed.plan import (
    Location,
    OperationPlan,
    ParameterPlan,
    WebSocketPlan,
)
from testing.report import NO_JSON, Case, short_bytes

__all__ = [
    "EDGE_FLOATS",
    "EDGE_INTEGERS",
    "EDGE_TEXT",
    "MISSING",
    "Mutation",
    "Overrides",
    "Part",
    "RawBody",
    "RequestStrategies",
    "UnsupportedType",
    "invalid_messages",
    "json_text",
    "message_values",
    "simplest",
    "text_of",
    "text_values",
    "values",
]

_NoneType = type(None)

EDGE_INTEGERS = (0, 1, -1, 2**31 - 1, 2**31, -(2**31) - 1, 2**63 - 1, 2**63, -(2**63) - 1, 10**30)
"""Integers that break fixed-width storage and arithmetic, tried first wherever they fit."""

EDGE_FLOATS = (0.0, -0.0, 1.5, -1.5, 1e308, -1e308, 5e-324, 2.0**53 + 1)
"""Floats at the ends of the double range and of exact integers."""

EDGE_TEXT = ("", " ", "  \t ", "日本", "Ω", "🙂", "é" * 3, "x" * 100, "y" * 300)
"""Strings that break code assuming ASCII, non-blank input or short values."""

_MAX_COLLECTION = 5
_NOT_A_CHOICE = "\x00-none-of-these"

# NOTE: what a cookie value can hold without quoting, so that the parser gives back the text
# that was sent.
_COOKIE_ALPHABET = st.sampled_from(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'()*+-./:<>?@[]^_`{|}~"
)
# Visible ASCII: what a header value can hold that every client and server passes unchanged.
_HEADER_ALPHABET = st.characters(min_codepoint=0x21, max_codepoint=0x7E)


class UnsupportedType(TypeError):
    """A declared type the harness cannot generate values for; give it a strategy."""


Overrides = Mapping[Any, st.SearchStrategy[Any]]
"""User strategies: by type, or by parameter name (a ``str`` key), of values of that type."""


# --- values of a declared type


def _bounds(limits: Constraints) -> tuple[Any, Any, bool, bool]:
    low, exclude_low = (limits.gt, True) if limits.gt is not None else (limits.ge, False)
    high, exclude_high = (limits.lt, True) if limits.lt is not None else (limits.le, False)
    return low, high, exclude_low, exclude_high


def _within(value: Any, limits: Constraints) -> bool:
    return not check(value, limits)


def _integers(limits: Constraints) -> st.SearchStrategy[int]:
    low, high, exclude_low, exclude_high = _bounds(limits)
    low = None if low is None else math.floor(low) + 1 if exclude_low else math.ceil(low)
    high = None if high is None else math.ceil(high) - 1 if exclude_high else math.floor(high)
    edges = [n for n in EDGE_INTEGERS if _within(n, limits)]
    edges += [n for n in (low, high) if n is not None and _within(n, limits)]
    if limits.multiple_of is not None:
        factor = int(limits.multiple_of)
        low = None if low is None else -(-low // factor)
        high = None if high is None else high // factor
        return st.integers(low, high).map(lambda n: n * factor)
    return (
        st.one_of(st.sampled_from(sorted(set(edges), key=_simpler_int)), st.integers(low, high))
        if edges
        else (st.integers(low, high))
    )


def _simpler_int(number: int) -> tuple[int, bool]:
    """Zero first, then by size, a positive before its negative: the order Hypothesis shrinks
    towards, so that the simplest value drawn is the one a shrunk failure would show."""
    return abs(number), number < 0


def _floats(limits: Constraints) -> st.SearchStrategy[float]:
    low, high, exclude_low, exclude_high = _bounds(limits)
    base = st.floats(
        None if low is None else float(low),
        None if high is None else float(high),
        allow_nan=False,
        allow_infinity=False,
        exclude_min=exclude_low and low is not None,
        exclude_max=exclude_high and high is not None,
    )
    edges = [x for x in EDGE_FLOATS if _within(x, limits)]
    strategy = st.one_of(st.sampled_from(edges), base) if edges else base
    return strategy.filter(lambda x: _within(x, limits)) if limits.multiple_of else strategy


def _decimals(limits: Constraints) -> st.SearchStrategy[decimal.Decimal]:
    low, high, _, _ = _bounds(limits)
    return st.decimals(low, high, allow_nan=False, allow_infinity=False, places=None).filter(
        lambda d: _within(d, limits)
    )


def _sized(limits: Constraints, default_max: int | None) -> tuple[int, int | None]:
    low = limits.min_length or 0
    high = limits.max_length
    if high is None and default_max is not None:
        high = max(low, default_max)
    return low, high


def _texts(limits: Constraints, alphabet: st.SearchStrategy[str] | None) -> st.SearchStrategy[str]:
    low, high = _sized(limits, None)
    if limits.pattern is not None:
        matching = st.from_regex(limits.pattern)
        if alphabet is not None:
            matching = st.from_regex(limits.pattern, alphabet=alphabet)
        return matching.filter(lambda s: _within(s, limits))
    plain = (
        st.text(min_size=low, max_size=high)
        if alphabet is None
        else st.text(alphabet, min_size=low, max_size=high)
    )
    edges = [s for s in EDGE_TEXT if _within(s, limits) and _fits(s, alphabet)]
    if high is not None:
        edges.append("z" * high)
    if low:
        edges.append("z" * low)
    return st.one_of(st.sampled_from(sorted(set(edges), key=len)), plain) if edges else plain


def _fits(text: str, alphabet: st.SearchStrategy[str] | None) -> bool:
    if alphabet is None:
        return True
    return text.isascii() and text.isprintable() and " " not in text and text != ""


class _Values:
    """Builds (and caches) the strategy of valid values of each type for one converter."""

    def __init__(self, overrides: Overrides, alphabet: st.SearchStrategy[str] | None) -> None:
        self._overrides = overrides
        self._alphabet = alphabet
        self._cache: dict[Any, st.SearchStrategy[Any]] = {}

    def __call__(self, tp: Any, limits: Constraints | None = None) -> st.SearchStrategy[Any]:
        key = (tp, limits)
        try:
            found = self._cache.get(key)
        except TypeError:  # an unhashable annotation
            return self._make(tp, limits or Constraints())
        if found is None:
            # NOTE: a deferred placeholder first, so that a recursive model refers to itself.
            self._cache[key] = st.deferred(lambda: self._cache[key])
            found = self._cache[key] = self._make(tp, limits or Constraints())
        return found

    def _make(self, tp: Any, limits: Constraints) -> st.SearchStrategy[Any]:
        base, more, _ = split_annotated(tp)
        limits = combine(more, limits)
        override = self._overrides.get(base) if _hashable(base) else None
        if override is not None:
            return override
        supertype = getattr(base, "__supertype__", None)
        if supertype is not None:
            return self(supertype, limits)
        if limits.choices is not None:
            return st.sampled_from(limits.choices).filter(lambda v: _within(v, limits))
        if base is bool:
            return st.booleans()
        if base is int:
            return _integers(limits)
        if base is float:
            return _floats(limits)
        if base is str:
            return _texts(limits, self._alphabet)
        if base is bytes:
            low, high = _sized(limits, 64)
            return st.binary(min_size=low, max_size=high)
        if base is decimal.Decimal:
            return _decimals(limits)
        if base is datetime.datetime:
            return st.datetimes(timezones=st.sampled_from([None, datetime.timezone.utc]))
        if base is datetime.date:
            return st.dates()
        if base is datetime.time:
            return st.times()
        if base is uuid.UUID:
            return st.uuids()
        if base is UploadFile:
            # NOTE: a form model's files are drawn as files (see RequestStrategies.part); the
            # model itself only needs something to be built with.
            return st.builds(lambda: UploadFile(io.BytesIO(b""), filename="placeholder"))
        if base is Any or base is object:
            return _json_scalars
        if is_literal(base):
            return st.sampled_from(get_args(base))
        if is_enum(base):
            return st.sampled_from(list(base))
        if is_union(base):
            members = [m for m in get_args(base) if m is not _NoneType]
            drawn = [self(member, limits) for member in members]
            if len(members) < len(get_args(base)):
                drawn.insert(0, st.none())
            return st.one_of(drawn)
        if is_attrs(base):
            return self._model(base)
        return self._collection(base, limits)

    def _collection(self, tp: Any, limits: Constraints) -> st.SearchStrategy[Any]:
        origin = origin_of(tp)
        args = get_args(tp)
        if is_fixed_tuple(tp):
            return st.tuples(*(self(arg) for arg in args))
        low, high = _sized(limits, _MAX_COLLECTION)
        item = self(args[0]) if args else _json_scalars
        if origin in LIST_ORIGINS or origin is tuple:
            into: Callable[[list[Any]], Any] = tuple if origin is tuple else list
            return st.lists(item, min_size=low, max_size=high).map(into)
        if origin in SET_ORIGINS:
            into = frozenset if origin is frozenset else set
            return st.lists(item, min_size=low, max_size=high, unique=True).map(into)
        if origin in DICT_ORIGINS:
            key = self(args[0]) if args else st.text(max_size=10)
            value = self(args[1]) if len(args) > 1 else _json_scalars
            return st.dictionaries(key, value, min_size=low, max_size=high)
        raise UnsupportedType(
            f"no strategy for {type_name(tp)}: "
            f"pass one as fuzz(strategies={{{type_name(tp)}: ...}})"
        )

    def _model(self, cls: type) -> st.SearchStrategy[Any]:
        hints = typing.get_type_hints(cls, include_extras=True)
        fields: dict[str, st.SearchStrategy[Any]] = {}
        for attribute in attrs.fields(cls):
            if not attribute.init:
                continue
            tp = hints.get(attribute.name, attribute.type)
            item_limits = item_constraints_from_attribute(attribute)
            strategy = self._field(tp, constraints_from_attribute(attribute), item_limits)
            if attribute.default is not attrs.NOTHING and not isinstance(
                attribute.default,
                attrs.Factory,  # type: ignore[arg-type]
            ):
                strategy = st.one_of(st.just(attribute.default), strategy)
            fields[attribute.alias or attribute.name] = strategy

        @st.composite
        def build(draw: st.DrawFn) -> Any:
            kwargs = {name: draw(strategy) for name, strategy in fields.items()}
            try:
                return cls(**kwargs)
            except Exception:  # a validator the plan could not read refused the values
                reject()

        return build()

    def _field(
        self, tp: Any, limits: Constraints, item_limits: Constraints
    ) -> st.SearchStrategy[Any]:
        if not item_limits:
            return self(tp, limits)
        args = get_args(split_annotated(tp)[0])
        origin = origin_of(split_annotated(tp)[0])
        if not args or not (origin in LIST_ORIGINS or origin in SET_ORIGINS or origin is tuple):
            return self(tp, limits)
        low, high = _sized(limits, _MAX_COLLECTION)
        unique = origin in SET_ORIGINS
        items = st.lists(self(args[0], item_limits), min_size=low, max_size=high, unique=unique)
        into: Callable[[list[Any]], Any] = list
        if origin is tuple:
            into = tuple
        elif origin is frozenset:
            into = frozenset
        elif unique:
            into = set
        return items.map(into)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


_json_scalars: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=20)
)


def values(
    tp: Any, constraints: Constraints | None = None, overrides: Overrides | None = None
) -> st.SearchStrategy[Any]:
    """Valid values of ``tp`` under ``constraints``, as a handler would receive them."""
    return _Values(overrides or {}, None)(tp, constraints)


# --- values on the wire


def text_of(value: Any) -> str:
    """``value`` as the text a client sends for it in a path, query, header, cookie or form."""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return text_of(value.value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


def text_values(value: Any) -> list[str]:
    """A parameter's texts: one per member of a collection, none for ``None``."""
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return [text_of(item) for item in value]
    return [text_of(value)]


# --- invalid values, by location


def _kind(tp: Any) -> Any:
    """The one type a value must be, past ``Annotated``, ``NewType`` and ``Optional``; None for
    a union of several, where no single wrong value is certain to be wrong."""
    base = split_annotated(tp)[0]
    while getattr(base, "__supertype__", None) is not None:
        base = split_annotated(base.__supertype__)[0]
    if is_union(base):
        members = [m for m in get_args(base) if m is not _NoneType]
        return _kind(members[0]) if len(members) == 1 else None
    return base


# Text that no reader of the type takes.
_WRONG_TEXT: Mapping[Any, tuple[str, ...]] = {
    int: ("abc", "1.5", "", "0x10"),
    float: ("abc", "inf", "nan", "1e999", ""),
    bool: ("maybe", ""),
    decimal.Decimal: ("abc", "NaN", "Infinity", ""),
    uuid.UUID: ("not-a-uuid", ""),
    datetime.datetime: ("yesterday", ""),
    datetime.date: ("2024-13-45", ""),
    datetime.time: ("25:99", ""),
}


def _wrong_texts(tp: Any, limits: Constraints) -> list[tuple[str, str]]:
    """``(what is wrong, text)`` for a text parameter of type ``tp``."""
    base = _kind(tp)
    found: list[tuple[str, str]] = []
    if base is None:
        return found
    if base in _WRONG_TEXT:
        found += [(f"not {type_name(base)}: {text!r}", text) for text in _WRONG_TEXT[base]]
    elif is_enum(base) or is_literal(base):
        found.append(("not one of the choices", _NOT_A_CHOICE))
    limits = combine(split_annotated(tp)[1], limits)
    found += [(f"{what}: {value!r}", text_of(value)) for what, value in _outside(base, limits)]
    return found


def _below(base: Any, limit: Any) -> Any:
    if base is int:
        return math.ceil(limit) - 1
    if base is float:
        return math.nextafter(float(limit), -math.inf)
    return decimal.Decimal(limit) - 1


def _above(base: Any, limit: Any) -> Any:
    if base is int:
        return math.floor(limit) + 1
    if base is float:
        return math.nextafter(float(limit), math.inf)
    return decimal.Decimal(limit) + 1


def _outside(base: Any, limits: Constraints) -> Iterator[tuple[str, Any]]:
    """Values of ``base`` just outside each bound, length limit and set of choices."""
    if base in (int, float, decimal.Decimal):
        candidates = [
            ("ge", limits.ge, _below),
            (
                "gt",
                limits.gt,
                lambda base, limit: base(limit) if base is not int else math.floor(limit),
            ),
            ("le", limits.le, _above),
            (
                "lt",
                limits.lt,
                lambda base, limit: base(limit) if base is not int else math.ceil(limit),
            ),
        ]
        for name, limit, outside in candidates:
            if limit is not None:
                value = outside(base, limit)
                if check(value, limits):
                    yield f"breaks {name}={limit!r}", value
    if base is str or base is bytes:
        unit = "x" if base is str else b"x"
        if limits.max_length is not None:
            yield f"longer than {limits.max_length}", unit * (limits.max_length + 1)
        if limits.min_length:
            yield f"shorter than {limits.min_length}", unit * (limits.min_length - 1)
    if limits.choices is not None and base is str and _NOT_A_CHOICE not in limits.choices:
        yield "not one of the choices", _NOT_A_CHOICE


# JSON values of each kind, to put where another kind is declared.
_JSON_KINDS: Mapping[str, Any] = {
    "object": {},
    "array": [],
    "string": "x",
    "integer": 7,
    "boolean": True,
    "null": None,
}


def _json_kind_of(base: Any) -> set[str] | None:
    """The JSON kinds a strict reader of ``base`` takes; None when unsure."""
    if base is str:
        return {"string"}
    if base is int:
        return {"integer"}
    if base is float:
        return {"integer"}  # and numbers, which _JSON_KINDS has none of besides integers
    if base is bool:
        return {"boolean"}
    if is_attrs(base) or origin_of(base) in DICT_ORIGINS:
        return {"object"}
    if (
        origin_of(base) in LIST_ORIGINS
        or origin_of(base) in SET_ORIGINS
        or origin_of(base) is tuple
    ):
        return {"array"}
    return None


def _wrong_json(tp: Any) -> list[tuple[str, Any]]:
    base = _kind(tp)
    accepted = None if base is None else _json_kind_of(base)
    if accepted is None:
        return []
    nullable = _is_optional(tp)
    return [
        (f"a JSON {kind} where {type_name(base)} is declared", value)
        for kind, value in _JSON_KINDS.items()
        if kind not in accepted and not (kind == "null" and nullable)
    ]


def _is_optional(tp: Any) -> bool:
    base = split_annotated(tp)[0]
    return is_union(base) and _NoneType in get_args(base)


# --- requests

_DEFAULT_BODY_LIMIT = 1024 * 1024
"""The request body limit the typed layer applies when the app sets none."""

_TEXT_LOCATIONS = (Location.PATH, Location.QUERY, Location.HEADER, Location.COOKIE, Location.FORM)


@attrs.frozen
class Part:
    """One parameter's share of a request: its text values, or a JSON body, or form pairs.

    ``pairs`` holds a form model's fields, as ``(field, text)`` and ``(field, upload)`` pairs.
    """

    location: Location
    name: str
    texts: tuple[str, ...] = ()
    json: Any = NO_JSON
    pairs: tuple[tuple[str, str | tuple[str, bytes, str]], ...] = ()


@attrs.frozen
class Mutation:
    """One way to make a valid request invalid.

    ``change`` is what happens to the ``target`` parameter's part: a `Part` replaces it, ``None``
    removes it, ``(field, value)`` replaces (or, with `MISSING`, removes) one field of a JSON body
    object or of a form, and ``(content, media_type)`` bytes replace the whole body.
    """

    target: ParameterPlan | None
    what: str
    change: Any

    def describe(self) -> str:
        target = self.target
        if target is None or target.location is Location.BODY:
            return f"body: {self.what}"
        return f"{target.location.value} {target.wire_name}: {self.what}"


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""A `Mutation` field value: leave the field out."""


@attrs.frozen
class RawBody:
    """A `Mutation` change: send these bytes as the body."""

    content: bytes = attrs.field(repr=short_bytes)
    media_type: str


class RequestStrategies:
    """The requests the harness sends to one operation: valid ones, each invalid one (a valid
    request with one `Mutation`), and the deterministic boundary cases."""

    def __init__(
        self,
        plan: OperationPlan,
        converter: APIConverter,
        overrides: Overrides | None = None,
        *,
        body_limit: int | None = None,
    ) -> None:
        self.plan = plan
        self.operation = f"{plan.method} {plan.path_format}"
        self._converter = converter
        self._overrides = overrides or {}
        self._body_limit = _DEFAULT_BODY_LIMIT if body_limit is None else body_limit
        self._plain = _Values(self._overrides, None)
        self._alphabets = {
            Location.HEADER: _Values(self._overrides, _HEADER_ALPHABET),
            Location.COOKIE: _Values(self._overrides, _COOKIE_ALPHABET),
        }
        self.parameters = tuple(p for p in plan.parameters if p.location is not Location.INJECTED)
        self._reads_form = any(
            p.location in (Location.FORM, Location.FILE) for p in self.parameters
        )
        self._values = {p.name: self._value(p) for p in self.parameters}
        self.mutations = tuple(self._mutations())
        self._simplest_values: dict[str, Any] | None = None
        self._parts: st.SearchStrategy[list[Part]] | None = None
        self._simplest_parts: dict[str, Part] = {}

    # valid values of one parameter, as the handler receives them

    def value(self, parameter: ParameterPlan) -> st.SearchStrategy[Any]:
        """Valid values of ``parameter``."""
        return self._values[parameter.name]

    def _value(self, parameter: ParameterPlan) -> st.SearchStrategy[Any]:
        override = self._overrides.get(parameter.name)
        if override is not None:
            return override
        location = parameter.location
        if location is Location.FILE:
            return _uploads(parameter.upload is not None and parameter.upload.many)
        if parameter.is_form_model:
            return self._plain(parameter.annotation)
        values = self._alphabets.get(location, self._plain)
        if location is not Location.PATH:
            return values(parameter.annotation, parameter.constraints)
        limits = parameter.constraints
        convertor = parameter.convertor
        if isinstance(convertor, (IntegerConvertor, FloatConvertor)):
            # The route's convertor reads digits only: a negative number never reaches the handler.
            limits = combine(Constraints(ge=0), limits)
        routable = re.compile(convertor.regex if convertor is not None else "[^/]+")
        return values(parameter.annotation, limits).filter(
            lambda value: routable.fullmatch(text_of(value)) is not None
        )

    # a parameter's value on the wire

    def part(self, parameter: ParameterPlan, value: Any) -> Part:
        """``value`` of ``parameter`` as the request carries it."""
        location = parameter.location
        name = parameter.wire_name
        if location is Location.BODY:
            data = self._converter.unstructure_fn(parameter.annotation)(value)
            return Part(location, name, json=_without_defaults(data, value))
        if location is Location.FILE:
            return Part(location, name, pairs=tuple((name, upload) for upload in value))
        if parameter.is_form_model:
            pairs: list[tuple[str, str | tuple[str, bytes, str]]] = []
            for field in parameter.form_fields:
                item = getattr(value, field.attribute.name)
                if field.upload is not None:
                    # NOTE: the drawn model holds no uploads; the files are drawn here instead.
                    continue
                pairs += [(field.wire_name, text) for text in text_values(item)]
            return Part(location, name, pairs=tuple(pairs))
        return Part(location, name, tuple(text_values(value)))

    def _form_uploads(self, parameter: ParameterPlan) -> st.SearchStrategy[Part]:
        """A form model's drawn text fields plus a drawn file for each of its upload fields."""
        fields = [f for f in parameter.form_fields if f.upload is not None]

        @st.composite
        def draw(draw: st.DrawFn) -> Part:
            part = self.part(parameter, draw(self.value(parameter)))
            files = [
                (field.wire_name, upload)
                for field in fields
                for upload in draw(_uploads(field.upload is not None and field.upload.many))
            ]
            return attrs.evolve(part, pairs=part.pairs + tuple(files))

        return draw()

    # whole requests

    def case(
        self, parts: Sequence[Part], *, mutation: str | None = None, raw: RawBody | None = None
    ) -> Case:
        """The request made of ``parts`` (invalid when a ``mutation`` is named)."""
        path = self.plan.path_format
        query: list[tuple[str, str]] = []
        headers: list[tuple[str, str]] = []
        cookies: list[tuple[str, str]] = []
        form: list[tuple[str, str]] = []
        files: list[tuple[str, str, bytes, str]] = []
        body: Any = NO_JSON
        for part in parts:
            location = part.location
            if location is Location.PATH:
                path = path.replace("{" + part.name + "}", part.texts[0] if part.texts else "")
            elif location is Location.QUERY:
                query += [(part.name, text) for text in part.texts]
            elif location is Location.HEADER:
                headers += [(part.name, text) for text in part.texts[:1]]
            elif location is Location.COOKIE:
                cookies += [(part.name, text) for text in part.texts[:1]]
            elif location is Location.BODY:
                body = part.json
            else:
                form += [(part.name, text) for text in part.texts]
                for field, item in part.pairs:
                    if isinstance(item, str):
                        form.append((field, item))
                    else:
                        files.append((field, *item))
        content = media_type = None
        if raw is not None:
            body, content, media_type = NO_JSON, raw.content, raw.media_type
        elif self._reads_form and not form and not files:
            # NOTE: a form with no fields is still sent as a form, not as no body at all.
            content, media_type = b"", "application/x-www-form-urlencoded"
        return Case(
            operation=self.operation,
            method=self.plan.method,
            path=path,
            query=tuple(query),
            headers=tuple(headers),
            cookies=tuple(cookies),
            json=body,
            content=content,
            media_type=media_type,
            form=tuple(form) if raw is None else (),
            files=tuple(files) if raw is None else (),
            valid=mutation is None,
            mutation=mutation,
        )

    def parts(self) -> st.SearchStrategy[list[Part]]:
        """Valid parts for every required parameter, and for each optional one half the time."""
        if self._parts is None:
            self._parts = self._make_parts()
        return self._parts

    def _part_strategy(self, parameter: ParameterPlan) -> st.SearchStrategy[Part]:
        if parameter.is_form_model and any(f.upload for f in parameter.form_fields):
            return self._form_uploads(parameter)
        return self.value(parameter).map(functools.partial(self.part, parameter))

    def _make_parts(self) -> st.SearchStrategy[list[Part]]:
        # PERF: built once; a composite made per draw cost 40% of a stateful run (the zoo).
        drawn = [(parameter, self._part_strategy(parameter)) for parameter in self.parameters]

        @st.composite
        def draw(draw: st.DrawFn) -> list[Part]:
            return [
                draw(strategy)
                for parameter, strategy in drawn
                if parameter.required or draw(st.booleans())
            ]

        return draw()

    def valid(self) -> st.SearchStrategy[Case]:
        """Requests that satisfy every declared type and limit."""
        return self.parts().map(self.case)

    def invalid(self) -> st.SearchStrategy[Case]:
        """Requests that break exactly one declared type or limit."""
        if not self.mutations:
            return st.nothing()
        return st.builds(self.mutated, self.parts(), st.sampled_from(self.mutations))

    def mutated(self, parts: Sequence[Part], mutation: Mutation) -> Case:
        """The request of ``parts`` with ``mutation`` applied."""
        target = mutation.target
        change = mutation.change
        described = mutation.describe()
        if isinstance(change, RawBody):
            kept = [p for p in parts if p.location is not Location.BODY]
            return self.case(kept, mutation=described, raw=change)
        assert target is not None
        index = next(
            (
                i
                for i, p in enumerate(parts)
                if p.location is target.location and p.name == target.wire_name
            ),
            None,
        )
        kept = [p for i, p in enumerate(parts) if i != index]
        if change is None:
            return self.case(kept, mutation=described)
        if isinstance(change, Part):
            return self.case([*kept, change], mutation=described)
        field, value = change
        original = (
            parts[index] if index is not None else self.part(target, simplest(self.value(target)))
        )
        return self.case([*kept, _with_field(original, field, value)], mutation=described)

    def _mutations(self) -> Iterator[Mutation]:
        for parameter in self.parameters:
            location = parameter.location
            if parameter.required and location is not Location.PATH:
                yield Mutation(parameter, "missing", None)
            if location in _TEXT_LOCATIONS and not parameter.is_form_model:
                for what, text in _wrong_texts(parameter.annotation, parameter.constraints):
                    if _sendable(parameter, text):
                        yield Mutation(
                            parameter, what, Part(location, parameter.wire_name, (text,))
                        )
            elif location is Location.BODY:
                yield from self._body_mutations(parameter)
            elif parameter.is_form_model:
                yield from self._form_mutations(parameter)
        if self._reads_form or self.plan.json_body:
            size = self._body_limit + 1
            media = (
                "application/json" if self.plan.json_body else "application/x-www-form-urlencoded"
            )
            yield Mutation(
                None, f"a body of {size} bytes, over the limit", RawBody(b"0" * size, media)
            )

    def _body_mutations(self, parameter: ParameterPlan) -> Iterator[Mutation]:
        yield Mutation(parameter, "malformed JSON", RawBody(b'{"', "application/json"))
        yield Mutation(parameter, "JSON sent as text/plain", RawBody(b"{}", "text/plain"))
        for what, value in _wrong_json(parameter.annotation):
            yield Mutation(parameter, what, Part(Location.BODY, parameter.wire_name, json=value))
        base = _kind(parameter.annotation)
        if base is not None and is_attrs(base):
            for field, what, value in _field_mutations(base):
                yield Mutation(parameter, what, (field, value))

    def _form_mutations(self, parameter: ParameterPlan) -> Iterator[Mutation]:
        for field in parameter.form_fields:
            if field.upload is not None:
                continue
            if field.required:
                yield Mutation(
                    parameter, f"field {field.wire_name} missing", (field.wire_name, MISSING)
                )
            for what, text in _wrong_texts(field.annotation, field.constraints):
                yield Mutation(
                    parameter, f"field {field.wire_name}: {what}", (field.wire_name, text)
                )

    def _simplest(self) -> dict[str, Any]:
        if self._simplest_values is None:
            self._simplest_values = {p.name: simplest(self.value(p)) for p in self.parameters}
        return self._simplest_values

    def _simplest_part(self, parameter: ParameterPlan) -> Part:
        found = self._simplest_parts.get(parameter.name)
        if found is None:
            found = self._simplest_parts[parameter.name] = simplest(self._part_strategy(parameter))
        return found

    def _varied(self, parameter: ParameterPlan, value: Any) -> Part:
        """``parameter`` at ``value``, with the simplest files its form needs."""
        part = self.part(parameter, value)
        if parameter.is_form_model and any(f.upload for f in parameter.form_fields):
            uploads = {f.wire_name for f in parameter.form_fields if f.upload is not None}
            files = [pair for pair in self._simplest_part(parameter).pairs if pair[0] in uploads]
            part = attrs.evolve(part, pairs=part.pairs + tuple(files))
        return part

    def _overridden(self, parameter: ParameterPlan) -> bool:
        """Whether the user's strategy gives ``parameter``'s values (edge values included)."""
        kind = _kind(parameter.annotation)
        return parameter.name in self._overrides or (_hashable(kind) and kind in self._overrides)

    def simplest_parts(self) -> list[Part]:
        """Every required parameter at its simplest value: the request all others vary."""
        return [self._simplest_part(p) for p in self.parameters if p.required]

    def boundary(self) -> list[Case]:
        """The deterministic first phase: every required parameter at its simplest value, then
        each edge value of each parameter in turn (its bounds, empty and one-element collections,
        each optional parameter alone, each choice), then each mutation once."""
        simplest = self._simplest()
        required = [p for p in self.parameters if p.required]

        def with_value(parameter: ParameterPlan, value: Any) -> Case:
            others = [self._simplest_part(p) for p in required if p is not parameter]
            return self.case([*others, self._varied(parameter, value)])

        base_parts = self.simplest_parts()
        cases = [self.case(base_parts)]
        for parameter in self.parameters:
            if parameter.location is Location.FILE or self._overridden(parameter):
                continue
            edges = _edge_values(parameter.annotation, parameter.constraints)
            if parameter.location is Location.BODY:
                edges += _model_edges(simplest[parameter.name])
            if not parameter.required:
                edges.insert(0, simplest[parameter.name])
            for value in edges:
                if parameter.location is Location.PATH and not _routable(parameter, value):
                    continue
                if parameter.location in (Location.HEADER, Location.COOKIE) and not _sendable(
                    parameter, text_of(value)
                ):
                    continue
                cases.append(with_value(parameter, value))
        cases += [self.mutated(base_parts, mutation) for mutation in self.mutations]
        return cases


def simplest(strategy: st.SearchStrategy[Any]) -> Any:
    """The simplest value ``strategy`` draws: what Hypothesis shrinks everything towards.

    PERF: Hypothesis' first test case is the simplest one, so generating one and shrinking
    nothing gives the same value as a full search in a tenth of the time (1.2 s of 4 on the zoo).
    """
    return find(strategy, lambda _: True, settings=_FIRST_EXAMPLE)


_FIRST_EXAMPLE = settings(
    database=None, max_examples=1, phases=[Phase.generate], suppress_health_check=list(HealthCheck)
)


def _uploads(many: bool) -> st.SearchStrategy[list[tuple[str, bytes, str]]]:
    one = st.tuples(
        st.sampled_from(["a.txt", "data.bin", "日本.txt"]),
        st.binary(max_size=64),
        st.sampled_from(["application/octet-stream", "text/plain"]),
    )
    return st.lists(one, min_size=1, max_size=3 if many else 1)


def _routable(parameter: ParameterPlan, value: Any) -> bool:
    regex = parameter.convertor.regex if parameter.convertor is not None else "[^/]+"
    return re.fullmatch(regex, text_of(value)) is not None


def _sendable(parameter: ParameterPlan, text: str) -> bool:
    """Whether ``text`` reaches the app unchanged in ``parameter``'s location."""
    location = parameter.location
    if location is Location.PATH:
        return _routable(parameter, text)
    if location is Location.HEADER:
        return bool(text) and text.isascii() and text.isprintable() and text.strip() == text
    if location is Location.COOKIE:
        return bool(text) and all(c in _COOKIE_CHARS for c in text)
    return True


_COOKIE_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'()*+-./:<>?@[]^_`{|}~"
)


def _edge_values(tp: Any, limits: Constraints) -> list[Any]:
    """The valid values of ``tp`` most likely to break a handler, deterministically."""
    base, more, _ = split_annotated(tp)
    limits = combine(more, limits)
    optional = _is_optional(base)
    kind = _kind(base)
    found: list[Any] = []
    if limits.choices is not None:
        found += list(limits.choices)
    elif kind is int:
        low, high, exclude_low, exclude_high = _bounds(limits)
        found += list(EDGE_INTEGERS)
        if low is not None:
            found += [math.floor(low) + 1 if exclude_low else math.ceil(low)]
        if high is not None:
            found += [math.ceil(high) - 1 if exclude_high else math.floor(high)]
    elif kind is float:
        found += list(EDGE_FLOATS)
        found += [x for x in (limits.ge, limits.le) if x is not None]
    elif kind is str:
        found += list(EDGE_TEXT)
        found += ["z" * n for n in (limits.min_length, limits.max_length) if n is not None]
    elif kind is bool:
        found += [True, False]
    elif kind is not None and (is_enum(kind) or is_literal(kind)):
        found += list(kind) if is_enum(kind) else list(get_args(kind))
    elif kind is not None and (origin_of(kind) in LIST_ORIGINS or origin_of(kind) in SET_ORIGINS):
        args = get_args(kind)
        found.append([])
        if args:
            found += [[item] for item in _edge_values(args[0], Constraints())[:3]]
    if optional:
        found.append(None)
    return [value for value in found if _fits_type(value, kind, limits)]


def _model_edges(instance: Any) -> list[Any]:
    """``instance`` (an attrs model) with one field at a time at each of its edge values."""
    if not attrs.has(type(instance)):
        return []
    hints = typing.get_type_hints(type(instance), include_extras=True)
    found = []
    for attribute in attrs.fields(type(instance)):
        if not attribute.init:
            continue
        tp = hints.get(attribute.name, attribute.type)
        for value in _edge_values(tp, constraints_from_attribute(attribute)):
            try:
                found.append(attrs.evolve(instance, **{attribute.alias or attribute.name: value}))
            except Exception:  # a validator the plan could not read refuses it
                continue
    return found


def _fits_type(value: Any, kind: Any, limits: Constraints) -> bool:
    if value is None:
        return True
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return False
    if origin_of(kind) in SET_ORIGINS and isinstance(value, list):
        return len(set(map(repr, value))) == len(value) and _within(value, limits)
    return _within(value, limits)


def _with_field(part: Part, field: str, value: Any) -> Part:
    """``part`` (a JSON object body or a form) with ``field`` set to ``value`` (or removed)."""
    if part.location is Location.BODY:
        data = dict(part.json) if isinstance(part.json, dict) else {}
        if value is MISSING:
            data.pop(field, None)
        else:
            data[field] = value
        return attrs.evolve(part, json=data)
    pairs = tuple((name, item) for name, item in part.pairs if name != field)
    if value is not MISSING:
        pairs += ((field, value),)
    return attrs.evolve(part, pairs=pairs)


def _field_mutations(cls: type) -> Iterator[tuple[str, str, Any]]:
    """``(field, what, JSON value)`` for each certain way to get a field of ``cls`` wrong."""
    hints = typing.get_type_hints(cls, include_extras=True)
    for attribute in attrs.fields(cls):
        if not attribute.init:
            continue
        name = attribute.alias or attribute.name
        tp = hints.get(attribute.name, attribute.type)
        if attribute.default is attrs.NOTHING:
            yield name, f"field {name} missing", MISSING
        for what, value in _wrong_json(tp):
            yield name, f"field {name}: {what}", value
        base = _kind(tp)
        if base is None:
            continue
        limits = combine(split_annotated(tp)[1], constraints_from_attribute(attribute))
        for what, value in _outside(base, limits):
            if base is bytes:
                continue  # a length in bytes, but the JSON carries base64 text
            yield name, f"field {name} {what}", value
        if base is str:
            yield name, f"field {name}: a lone surrogate", "\ud800"


def _without_defaults(data: Any, value: Any) -> Any:
    """``data`` (``value`` unstructured) without the top-level fields that hold their default, so
    that optional fields are also sent absent."""
    if not isinstance(data, dict) or not attrs.has(type(value)):
        return data
    kept = dict(data)
    for attribute in attrs.fields(type(value)):
        default = attribute.default
        if default is attrs.NOTHING or isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            continue
        name = attribute.alias or attribute.name
        if name in kept and getattr(value, attribute.name) is default:
            del kept[name]
    return kept


# --- WebSocket messages


def message_values(plan: WebSocketPlan, converter: APIConverter) -> st.SearchStrategy[Any]:
    """Valid messages for a typed WebSocket endpoint: JSON values for ``encoding="json"``,
    text or bytes otherwise."""
    if plan.message_type is None or plan.message_type is Any:
        if plan.encoding == "bytes":
            return st.binary(max_size=32)
        if plan.encoding == "json":
            return _json_scalars
        return st.text(max_size=20)
    if plan.encoding in ("text", "bytes"):
        return _Values({}, None)(plan.message_type)
    return _Values({}, None)(plan.message_type).map(converter.unstructure_fn(plan.message_type))


def invalid_messages(plan: WebSocketPlan) -> list[tuple[str, str | bytes]]:
    """``(what is wrong, frame)``: messages that do not fit ``plan``'s encoding and type."""
    found: list[tuple[str, str | bytes]] = []
    if plan.encoding == "json":
        found += [("not JSON", "{"), ("binary where JSON text is expected", b"\x00\xff")]
        base = _kind(plan.message_type) if plan.message_type is not None else None
        if base is not None and base is not Any:
            found += [(what, json_text(value)) for what, value in _wrong_json(plan.message_type)]
    elif plan.encoding == "text":
        found.append(("binary where text is expected", b"\x00\xff"))
    elif plan.encoding == "bytes":
        found.append(("text where binary is expected", "text"))
    return found


def json_text(value: Any) -> str:
    """``value`` as JSON text."""
    return orjson.dumps(value).decode()
