"""Values read from text: what a path, query, header, cookie or form value may be.

``"10"`` is an ``int`` here, as it is not in a JSON body; ``"true"``, ``"1"``, ``"yes"`` and
``"on"`` are ``True``; a list, tuple or set takes every value of a repeated key, a scalar the
first. The scalar readers of text-shaped JSON values (dates, UUIDs, decimals) live here too.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, get_args

from framework.typed._typeinfo import (
    LIST_ORIGINS,
    SET_ORIGINS,
    element_type,
    is_enum,
    is_fixed_tuple,
    is_literal,
    is_union,
    origin_of,
    shown,
    type_name,
)
from framework.typed.constraints import Constraints, check, combine, split_annotated
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
    errors_of,
    limit_errors,
)

__all__ = [
    "NUMBER_TEXT",
    "TextFn",
    "TextItem",
    "make_text_fn",
    "parse_date",
    "parse_datetime",
    "parse_decimal",
    "parse_time",
    "parse_uuid",
    "text_item",
    "within",
]

TextItem = Callable[[str], Any]
"""Reads one text value; raises `InvalidValue` or `LocatedErrors`."""

TextFn = Callable[[Sequence[str], Loc], Any]
"""Reads a parameter from its values at ``loc``; raises `RequestValidationError`."""

_NoneType = type(None)


def _iso_text(value: str) -> str:
    # NOTE: Python 3.10's fromisoformat() does not read the "Z" suffix that 3.11 does.
    if value.endswith(("Z", "z")):
        return value[:-1] + "+00:00"
    return value


_T = TypeVar("_T")


def _from_text(parse: Callable[[str], _T], message: str) -> Callable[[Any, Any], _T]:
    """A strict structure hook for a type written as a string in JSON (dates, UUIDs)."""

    def structure(value: Any, _: Any) -> _T:
        if value.__class__ is str:
            try:
                return parse(value)
            except ValueError:
                pass
        raise InvalidValue(message)

    return structure


parse_datetime = _from_text(
    lambda text: datetime.datetime.fromisoformat(_iso_text(text)), "expected an ISO 8601 datetime"
)


parse_date = _from_text(datetime.date.fromisoformat, "expected an ISO 8601 date")


parse_time = _from_text(
    lambda text: datetime.time.fromisoformat(_iso_text(text)), "expected an ISO 8601 time"
)


parse_uuid = _from_text(uuid.UUID, "expected a UUID")


NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


_INT_TEXT = re.compile(r"[+-]?[0-9]+")


def _decimal(value: Any) -> decimal.Decimal | None:
    cls = value.__class__
    if cls is str:
        # NOTE: Decimal() alone would also take "NaN", " 1 " and "1_000".
        if NUMBER_TEXT.fullmatch(value) is None:
            return None
        number = decimal.Decimal(value)
    elif cls is int:
        number = decimal.Decimal(value)
    elif cls is float:
        # repr() is the shortest text of the float, so 0.1 becomes Decimal("0.1").
        number = decimal.Decimal(repr(value))
    else:
        return None
    return number if number.is_finite() else None


def parse_decimal(value: Any, _: Any) -> decimal.Decimal:
    number = _decimal(value)
    if number is None:
        raise InvalidValue("expected a decimal number")
    return number


_TRUE_WORDS = frozenset({"true", "1", "yes", "on"})


_FALSE_WORDS = frozenset({"false", "0", "no", "off"})


def _text_int(text: str) -> int:
    if _INT_TEXT.fullmatch(text) is not None:
        try:
            return int(text)
        except ValueError:  # more digits than int() accepts from text
            pass
    raise InvalidValue("expected an integer")


def _text_float(text: str) -> float:
    if NUMBER_TEXT.fullmatch(text) is not None:
        number = float(text)
        if number - number == 0.0:
            return number
    raise InvalidValue("expected a number")


def _text_decimal(text: str) -> decimal.Decimal:
    return parse_decimal(text, None)


def _text_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE_WORDS:
        return True
    if lowered in _FALSE_WORDS:
        return False
    raise InvalidValue("expected a boolean")


def _text_str(text: str) -> str:
    return text


_TEXT_PARSERS: dict[Any, TextItem] = {
    str: _text_str,
    int: _text_int,
    float: _text_float,
    bool: _text_bool,
    decimal.Decimal: _text_decimal,
    uuid.UUID: lambda text: parse_uuid(text, None),
    datetime.datetime: lambda text: parse_datetime(text, None),
    datetime.date: lambda text: parse_date(text, None),
    datetime.time: lambda text: parse_time(text, None),
    Any: _text_str,
    object: _text_str,
}


def text_item(tp: Any) -> TextItem:
    """How one text value becomes a ``tp``."""
    base, limits, _ = split_annotated(tp)
    parse = _text_base(base)
    if not limits:
        return parse

    def parse_limited(text: str) -> Any:
        result = parse(text)
        problems = check(result, limits)
        if problems:
            raise LocatedErrors(limit_errors(problems))
        return result

    return parse_limited


def _text_base(tp: Any) -> TextItem:
    supertype = getattr(tp, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        return text_item(supertype)
    parse = _TEXT_PARSERS.get(tp)
    if parse is not None:
        return parse
    if is_enum(tp):
        return _text_choice(list(tp), "enum")
    if is_literal(tp):
        return _text_choice(get_args(tp), "literal_error")
    if is_union(tp):
        return _text_union([m for m in get_args(tp) if m is not _NoneType], text_item)
    raise TypeError(f"{type_name(tp)} cannot be read from text")


def _one_text_fn(parse: TextItem, limits: Constraints | None) -> TextFn:
    def parse_one(values: Sequence[str], loc: Loc) -> Any:
        if not values:
            raise RequestValidationError([ErrorDetail(loc, "field required", "missing")])
        try:
            result = parse(values[0])
        except Exception as exc:
            raise RequestValidationError(errors_of(exc, loc)) from None
        return result if limits is None else within(result, limits, loc)

    return parse_one


def within(result: Any, limits: Constraints, loc: Loc) -> Any:
    """``result`` if it satisfies ``limits``; else the 422 naming each limit it breaks."""
    problems = check(result, limits)
    if problems:
        raise RequestValidationError(limit_errors(problems, loc))
    return result


def _many_text_fn(
    parsers: list[TextItem],
    variadic: bool,
    into: Callable[[list[Any]], Any],
    limits: Constraints | None,
) -> TextFn:
    """Every value parsed: by the one parser if ``variadic``, else one parser per position;
    a set refuses repeated values."""
    size = len(parsers)
    unique = into is set or into is frozenset

    def parse_many(values: Sequence[str], loc: Loc) -> Any:
        if not variadic and len(values) != size:
            raise RequestValidationError(
                [ErrorDetail(loc, f"expected {size} value{'' if size == 1 else 's'}", "type_error")]
            )
        items: list[Any] = []
        errors: list[ErrorDetail] = []
        for index, text in enumerate(values):
            try:
                items.append((parsers[0] if variadic else parsers[index])(text))
            except Exception as exc:
                collect_errors(exc, (*loc, index), errors)
                if len(errors) > MAX_ERRORS:
                    break
        if errors:
            raise RequestValidationError(capped_errors(errors))
        result = into(items)
        if unique and len(result) != len(items):
            raise RequestValidationError(capped_errors(duplicate_errors(items, loc)))
        return result if limits is None else within(result, limits, loc)

    return parse_many


def _text_choice(options: Sequence[Any], kind: str) -> TextItem:
    """Text → one of ``options`` (enum members or literal values), matched on the text of their
    value; numbers and booleans are parsed first, so ``01`` is ``1`` and ``True`` is ``true``."""
    exact: dict[str, Any] = {}
    numeric: dict[tuple[type, Any], Any] = {}
    for option in options:
        raw = option.value if isinstance(option, enum.Enum) else option
        if isinstance(raw, str):
            exact.setdefault(raw, option)
        elif isinstance(raw, (bool, int, float)):
            numeric.setdefault((raw.__class__, raw), option)
    message = f"must be one of {', '.join(shown(option) for option in options)}"
    readers: list[tuple[type, TextItem]] = [
        (bool, _text_bool),
        (int, _text_int),
        (float, _text_float),
    ]

    def parse_choice(text: str) -> Any:
        found = exact.get(text)
        if found is not None or text in exact:
            return found
        for cls, read in readers:
            try:
                key = (cls, read(text))
            except InvalidValue:
                continue
            if key in numeric:
                return numeric[key]
        raise InvalidValue(message, kind)

    return parse_choice


def _text_union(members: list[Any], item: Callable[[Any], TextItem]) -> TextItem:
    parsers = [item(member) for member in members]
    message = f"does not match any of {', '.join(type_name(member) for member in members)}"

    def parse_union(text: str) -> Any:
        for parse in parsers:
            try:
                return parse(text)
            except Exception:  # the next member may fit
                continue
        raise InvalidValue(message, "union_error")

    return parse_union


def make_text_fn(tp: Any, constraints: Constraints | None = None) -> TextFn:
    """The function ``(values, loc) -> value`` reading a ``tp`` from text: a scalar from the first
    value, a list, tuple or set from all of them; ``Optional[T]`` reads as ``T``. Raises
    ``TypeError`` for a type that cannot be read from text."""
    base, limits, _ = split_annotated(tp)
    if is_union(base):
        members = [member for member in get_args(base) if member is not _NoneType]
        if len(members) == 1:
            base, inner, _ = split_annotated(members[0])
            limits = combine(limits, inner)
    if constraints is not None:
        limits = combine(limits, constraints)
    checked = limits if limits else None
    origin = origin_of(base)
    if (
        origin in LIST_ORIGINS
        or origin in SET_ORIGINS
        or origin is frozenset
        or (origin is tuple and not is_fixed_tuple(base))
    ):
        into: Callable[[list[Any]], Any] = list
        if origin in SET_ORIGINS:
            into = set
        elif origin is frozenset:
            into = frozenset
        elif origin is tuple:
            into = tuple
        return _many_text_fn([text_item(element_type(base))], True, into, checked)
    if origin is tuple:
        parsers = [text_item(arg) for arg in get_args(base)]
        return _many_text_fn(parsers, False, tuple, checked)
    return _one_text_fn(text_item(base), checked)
