"""Limits on a value (length, bounds, pattern, choices), wherever they were declared.

They come from ``annotated_types`` metadata (``Annotated[int, Ge(1), Le(100)]``) and from attrs'
own validators on model fields; the same object is enforced on requests and written to OpenAPI.
"""

from __future__ import annotations

import enum
import math
import operator
import re
from collections.abc import Iterator
from typing import Annotated, Any, get_origin

import annotated_types
import attrs

from framework.typed.params import Param

__all__ = [
    "Constraints",
    "check",
    "combine",
    "constraints_from_attribute",
    "constraints_from_validator",
    "item_constraints_from_attribute",
    "item_constraints_from_validator",
    "split_annotated",
]


@attrs.frozen
class Constraints:
    """What a value must satisfy besides its type; ``None`` means no limit of that kind."""

    min_length: int | None = None
    max_length: int | None = None
    ge: Any = None
    gt: Any = None
    le: Any = None
    lt: Any = None
    multiple_of: Any = None
    pattern: str | None = None
    choices: tuple[Any, ...] | None = None

    def __bool__(self) -> bool:
        return any(value is not None for value in attrs.astuple(self, recurse=False))


_NONE = Constraints()

# NOTE: attrs' validator classes are private, so they are recognised by the type of a validator
# built through the public factory; their attributes (``max_length``, ``bound``...) are stable.
_MAX_LEN: type[Any] = type(attrs.validators.max_len(0))
_MIN_LEN: type[Any] = type(attrs.validators.min_len(0))
_NUMBER: type[Any] = type(attrs.validators.ge(0))
_MATCHES_RE: type[Any] = type(attrs.validators.matches_re(""))
_IN: type[Any] = type(attrs.validators.in_(()))
_OPTIONAL: type[Any] = type(attrs.validators.optional(attrs.validators.max_len(0)))
_AND: type[Any] = type(attrs.validators.and_())
_DEEP_ITERABLE: type[Any] = type(attrs.validators.deep_iterable(attrs.validators.max_len(0)))

_COMPARISONS = {"<": "lt", "<=": "le", ">=": "ge", ">": "gt"}
_INLINE_FLAGS = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"), (re.VERBOSE, "x"))


def _stricter(old: Any, new: Any, larger: bool) -> Any:
    if old is None:
        return new
    if new is None:
        return old
    try:
        return max(old, new) if larger else min(old, new)
    except TypeError:
        return new


def combine(old: Constraints, new: Constraints) -> Constraints:
    """Both sets of limits at once: the stricter bound of each kind wins, choices are narrowed to
    those in both, and of two patterns or factors the newer is kept."""
    if not old:
        return new
    if not new:
        return old
    choices = new.choices
    if old.choices is not None and new.choices is not None:
        choices = tuple(choice for choice in old.choices if choice in new.choices)
    # NOTE: two patterns cannot be expressed as one; the later one is kept (and the validators
    # that declared both still enforce both).
    return Constraints(
        min_length=_stricter(old.min_length, new.min_length, larger=True),
        max_length=_stricter(old.max_length, new.max_length, larger=False),
        ge=_stricter(old.ge, new.ge, larger=True),
        gt=_stricter(old.gt, new.gt, larger=True),
        le=_stricter(old.le, new.le, larger=False),
        lt=_stricter(old.lt, new.lt, larger=False),
        multiple_of=new.multiple_of if new.multiple_of is not None else old.multiple_of,
        pattern=new.pattern if new.pattern is not None else old.pattern,
        choices=old.choices if choices is None else choices,
    )


def _from_metadata(item: object) -> Constraints | None:
    if isinstance(item, annotated_types.Gt):
        return Constraints(gt=item.gt)
    if isinstance(item, annotated_types.Ge):
        return Constraints(ge=item.ge)
    if isinstance(item, annotated_types.Lt):
        return Constraints(lt=item.lt)
    if isinstance(item, annotated_types.Le):
        return Constraints(le=item.le)
    if isinstance(item, annotated_types.MinLen):
        return Constraints(min_length=item.min_length)
    if isinstance(item, annotated_types.MaxLen):
        return Constraints(max_length=item.max_length)
    if isinstance(item, annotated_types.MultipleOf):
        return Constraints(multiple_of=item.multiple_of)
    if isinstance(item, Constraints):
        return item
    return None


def _metadata(items: tuple[object, ...]) -> Iterator[object]:
    for item in items:
        # ``Interval`` and ``Len`` group several limits; their iterators yield the single ones.
        if isinstance(item, annotated_types.GroupedMetadata):
            yield from item
        else:
            yield item


def split_annotated(tp: Any) -> tuple[Any, Constraints, tuple[object, ...]]:
    """Split ``Annotated[T, ...]`` into ``T``, the limits its metadata sets, and the parameter
    markers (``Query()``, ``Header()``...) it carries.

    A marker given as a class (``Header``) counts as its default instance. Other metadata is
    ignored; a type that is not ``Annotated`` comes back unchanged with no limits.
    """
    if get_origin(tp) is not Annotated:
        return tp, _NONE, ()
    found = _NONE
    markers: list[object] = []
    for item in _metadata(tp.__metadata__):
        limits = _from_metadata(item)
        if limits is not None:
            found = combine(found, limits)
        elif isinstance(item, Param):
            markers.append(item)
        elif isinstance(item, type) and issubclass(item, Param):
            markers.append(item())
    return tp.__origin__, found, tuple(markers)


def _validator_parts(validator: Any) -> Iterator[Any]:
    """The single validators inside ``and_``, ``optional`` and validator lists."""
    if isinstance(validator, _AND):
        for part in validator._validators:
            yield from _validator_parts(part)
    elif isinstance(validator, _OPTIONAL):
        yield from _validator_parts(validator.validator)
    elif isinstance(validator, (list, tuple)):
        for part in validator:
            yield from _validator_parts(part)
    elif validator is not None:
        yield validator


def _pattern_text(pattern: re.Pattern[Any], how: str) -> str | None:
    """The pattern as a search over the whole value would need it (JSON Schema's semantics)."""
    text = pattern.pattern
    if not isinstance(text, str):
        return None
    bare = "|" not in text
    if how == "fullmatch" and not (bare and text.startswith("^") and text.endswith("$")):
        text = f"^(?:{text})$"
    elif how == "match" and not (bare and text.startswith("^")):
        text = f"^(?:{text})"
    flags = "".join(letter for flag, letter in _INLINE_FLAGS if pattern.flags & flag)
    return f"(?{flags}){text}" if flags else text


def _choices(options: Any) -> tuple[Any, ...] | None:
    if isinstance(options, (set, frozenset)):
        # Sets have no order of their own; sort them so documents and messages are stable.
        return tuple(sorted(options, key=repr))
    if isinstance(options, (list, tuple, dict)):
        return tuple(options)
    if isinstance(options, type) and issubclass(options, enum.Enum):
        return tuple(options)
    return None


def _from_validator(validator: Any) -> Constraints:
    if isinstance(validator, _MAX_LEN):
        return Constraints(max_length=validator.max_length)
    if isinstance(validator, _MIN_LEN):
        return Constraints(min_length=validator.min_length)
    if isinstance(validator, _NUMBER) and validator.compare_op in _COMPARISONS:
        return Constraints(**{_COMPARISONS[validator.compare_op]: validator.bound})
    if isinstance(validator, _MATCHES_RE):
        how = getattr(validator.match_func, "__name__", "fullmatch")
        return Constraints(pattern=_pattern_text(validator.pattern, how))
    if isinstance(validator, _IN):
        # ``in_`` turns lists and sets into tuples; the options as given keep the set-ness.
        given = getattr(validator, "_original_options", validator.options)
        return Constraints(choices=_choices(given))
    if isinstance(validator, _DEEP_ITERABLE):
        return constraints_from_validator(validator.iterable_validator)
    return _NONE


def constraints_from_validator(validator: Any) -> Constraints:
    """The limits an attrs validator (or a list, ``and_`` or ``optional`` of them) enforces on
    the value itself; limits on the members of a collection are in
    `item_constraints_from_validator`. Unknown validators add nothing."""
    found = _NONE
    for part in _validator_parts(validator):
        found = combine(found, _from_validator(part))
    return found


def item_constraints_from_validator(validator: Any) -> Constraints:
    """The limits ``deep_iterable(member_validator=...)`` enforces on each member."""
    found = _NONE
    for part in _validator_parts(validator):
        if isinstance(part, _DEEP_ITERABLE):
            found = combine(found, constraints_from_validator(part.member_validator))
    return found


def constraints_from_attribute(attribute: attrs.Attribute[Any]) -> Constraints:
    """The limits on an attrs field: its ``Annotated`` type's metadata and its validators.

    A type still written as a string is not read: resolve it first (``attrs.resolve_types``).
    """
    found = _NONE
    if not isinstance(attribute.type, str):
        found = split_annotated(attribute.type)[1]
    return combine(found, constraints_from_validator(attribute.validator))


def item_constraints_from_attribute(attribute: attrs.Attribute[Any]) -> Constraints:
    """The limits an attrs field's validators put on each member of its collection."""
    return item_constraints_from_validator(attribute.validator)


def _shown(value: Any) -> str:
    return repr(value.value if isinstance(value, enum.Enum) else value)


def _unit(value: object, count: int) -> str:
    if isinstance(value, str):
        unit = "character"
    elif isinstance(value, (bytes, bytearray)):
        unit = "byte"
    else:
        unit = "item"
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def _holds(test: Any, value: Any, limit: Any) -> bool:
    # NOTE: a limit that cannot be evaluated on the value (a length on a number, a bound of
    # another type, a NaN) counts as broken: refusing is safer than letting the value through.
    try:
        return bool(test(value, limit))
    except (TypeError, ValueError, ArithmeticError):
        return False


def _long_enough(value: Any, length: int) -> bool:
    return len(value) >= length


def _short_enough(value: Any, length: int) -> bool:
    return len(value) <= length


def _is_multiple(value: Any, factor: Any) -> bool:
    if isinstance(value, float) or isinstance(factor, float):
        quotient = value / factor
        return math.isclose(quotient, round(quotient), rel_tol=1e-9, abs_tol=1e-9)
    return bool(value % factor == 0)


def _matches(value: object, pattern: str) -> bool:
    return isinstance(value, str) and re.search(pattern, value) is not None


def _one_of(value: object, choices: tuple[Any, ...]) -> bool:
    return value in choices


def check(value: Any, constraints: Constraints) -> list[str]:
    """Every limit ``value`` breaks, as messages ("must be at most 200 characters"); ``None``
    (an absent optional value) breaks none."""
    if value is None:
        return []
    problems: list[str] = []
    c = constraints
    if c.min_length is not None and not _holds(_long_enough, value, c.min_length):
        problems.append(f"must be at least {_unit(value, c.min_length)}")
    if c.max_length is not None and not _holds(_short_enough, value, c.max_length):
        problems.append(f"must be at most {_unit(value, c.max_length)}")
    if c.gt is not None and not _holds(operator.gt, value, c.gt):
        problems.append(f"must be greater than {c.gt}")
    if c.ge is not None and not _holds(operator.ge, value, c.ge):
        problems.append(f"must be greater than or equal to {c.ge}")
    if c.lt is not None and not _holds(operator.lt, value, c.lt):
        problems.append(f"must be less than {c.lt}")
    if c.le is not None and not _holds(operator.le, value, c.le):
        problems.append(f"must be less than or equal to {c.le}")
    if c.multiple_of is not None and not _holds(_is_multiple, value, c.multiple_of):
        problems.append(f"must be a multiple of {c.multiple_of}")
    if c.pattern is not None and not _holds(_matches, value, c.pattern):
        problems.append(f"must match pattern {c.pattern!r}")
    if c.choices is not None and not _holds(_one_of, value, c.choices):
        problems.append(f"must be one of {', '.join(_shown(choice) for choice in c.choices)}")
    return problems
