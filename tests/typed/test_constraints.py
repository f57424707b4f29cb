from __future__ import annotations

import decimal
import enum
import re
from typing import Annotated, Any

import annotated_types as at
import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framework.typed.constraints import (
    Constraints,
    check,
    combine,
    constraints_from_attribute,
    constraints_from_validator,
    item_constraints_from_attribute,
    item_constraints_from_validator,
    split_annotated,
)
from framework.typed.params import Cookie, Header, Query

v = attrs.validators


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


# --- split_annotated


def test_plain_type_has_no_constraints_or_markers() -> None:
    base, limits, markers = split_annotated(int)
    assert base is int
    assert limits == Constraints()
    assert not limits
    assert markers == ()


def test_single_bounds_and_lengths() -> None:
    tp = Annotated[int, at.Gt(0), at.Ge(1), at.Lt(10), at.Le(9), at.MultipleOf(3)]
    base, limits, _ = split_annotated(tp)
    assert base is int
    assert limits == Constraints(gt=0, ge=1, lt=10, le=9, multiple_of=3)
    _, limits, _ = split_annotated(Annotated[str, at.MinLen(2), at.MaxLen(5)])
    assert limits == Constraints(min_length=2, max_length=5)


def test_grouped_metadata_is_unpacked() -> None:
    _, limits, _ = split_annotated(Annotated[float, at.Interval(ge=0, lt=1)])
    assert limits == Constraints(ge=0, lt=1)
    _, limits, _ = split_annotated(Annotated[list[int], at.Len(1, 3)])
    assert limits == Constraints(min_length=1, max_length=3)


def test_markers_are_collected_as_instances() -> None:
    tp = Annotated[str | None, Header(alias="x-id"), at.MaxLen(3)]
    base, limits, markers = split_annotated(tp)
    assert base == str | None
    assert limits == Constraints(max_length=3)
    assert markers == (Header(alias="x-id"),)
    _, _, markers = split_annotated(Annotated[str, Cookie, Query()])
    assert markers == (Cookie(), Query())


def test_unknown_metadata_is_ignored_and_constraints_instances_count() -> None:
    tp = Annotated[str, "documentation", at.Predicate(str.isupper), Constraints(pattern="^a")]
    base, limits, markers = split_annotated(tp)
    assert base is str
    assert limits == Constraints(pattern="^a")
    assert markers == ()


def test_nested_annotated_is_flattened() -> None:
    inner = Annotated[int, at.Ge(1)]
    _, limits, _ = split_annotated(Annotated[inner, at.Le(5)])
    assert limits == Constraints(ge=1, le=5)


def test_repeated_bounds_keep_the_stricter() -> None:
    _, limits, _ = split_annotated(Annotated[int, at.Ge(1), at.Ge(5), at.Le(10), at.Le(7)])
    assert limits == Constraints(ge=5, le=7)


# --- combine


def test_combine_takes_the_stricter_of_each_bound() -> None:
    a = Constraints(min_length=1, max_length=10, ge=0, gt=0, le=100, lt=50)
    b = Constraints(min_length=3, max_length=20, ge=5, gt=-1, le=80, lt=60)
    assert combine(a, b) == Constraints(min_length=3, max_length=10, ge=5, gt=0, le=80, lt=50)


def test_combine_with_nothing_returns_the_other() -> None:
    a = Constraints(ge=1)
    assert combine(a, Constraints()) is a
    assert combine(Constraints(), a) is a


def test_combine_narrows_choices_and_keeps_the_newer_pattern_and_factor() -> None:
    a = Constraints(choices=("a", "b", "c"), pattern="^a", multiple_of=2)
    b = Constraints(choices=("c", "b"), pattern="^b")
    assert combine(a, b) == Constraints(choices=("b", "c"), pattern="^b", multiple_of=2)
    assert combine(Constraints(choices=("a",)), Constraints(ge=1)).choices == ("a",)


def test_combine_with_incomparable_bounds_keeps_the_newer() -> None:
    assert combine(Constraints(ge=1), Constraints(ge="a")).ge == "a"


# --- attrs validators


@pytest.mark.parametrize(
    ("validator", "expected"),
    [
        (v.max_len(200), Constraints(max_length=200)),
        (v.min_len(1), Constraints(min_length=1)),
        (v.ge(1), Constraints(ge=1)),
        (v.gt(1), Constraints(gt=1)),
        (v.le(1), Constraints(le=1)),
        (v.lt(1), Constraints(lt=1)),
        (v.in_(["a", "b"]), Constraints(choices=("a", "b"))),
        (v.in_(("b", "a")), Constraints(choices=("b", "a"))),
        (v.in_({"b", "a"}), Constraints(choices=("a", "b"))),
        (v.in_(frozenset({2, 1})), Constraints(choices=(1, 2))),
        (v.in_({"x": 1, "y": 2}), Constraints(choices=("x", "y"))),
        (v.in_(Color), Constraints(choices=(Color.RED, Color.BLUE))),  # type: ignore[arg-type]
        (v.in_("abc"), Constraints()),
        (v.instance_of(int), Constraints()),
        (None, Constraints()),
    ],
)
def test_single_validators(validator: Any, expected: Constraints) -> None:
    assert constraints_from_validator(validator) == expected


@pytest.mark.parametrize(
    ("validator", "pattern"),
    [
        (v.matches_re(r"^[a-z]+$"), r"^[a-z]+$"),
        (v.matches_re(r"[a-z]+"), r"^(?:[a-z]+)$"),
        (v.matches_re(r"^a|b$"), r"^(?:^a|b$)$"),
        (v.matches_re(r"[a-z]+", func=re.search), r"[a-z]+"),
        (v.matches_re(r"[a-z]+", func=re.match), r"^(?:[a-z]+)"),
        (v.matches_re(r"^[a-z]+", func=re.match), r"^[a-z]+"),
        (v.matches_re(r"[a-z]+", re.IGNORECASE), r"(?i)^(?:[a-z]+)$"),
        (v.matches_re(re.compile(r"x", re.M | re.S)), r"(?ms)^(?:x)$"),
    ],
)
def test_matches_re_pattern_keeps_the_match_semantics(validator: Any, pattern: str) -> None:
    assert constraints_from_validator(validator).pattern == pattern


def test_matches_re_on_bytes_has_no_text_pattern() -> None:
    assert constraints_from_validator(v.matches_re(re.compile(rb"x"))) == Constraints()


def test_composed_validators_are_merged() -> None:
    validator: list[Any] = [
        v.max_len(200),
        v.optional(v.and_(v.min_len(1), v.max_len(100))),
        v.optional([v.matches_re("[a-z]+")]),
    ]
    assert constraints_from_validator(validator) == Constraints(
        min_length=1, max_length=100, pattern="^(?:[a-z]+)$"
    )


def test_deep_iterable_splits_container_and_member_limits() -> None:
    validator: Any = v.deep_iterable(
        member_validator=v.and_(v.max_len(3), v.matches_re("[a-z]+")),
        iterable_validator=v.max_len(10),
    )
    assert constraints_from_validator(validator) == Constraints(max_length=10)
    assert item_constraints_from_validator(validator) == Constraints(
        max_length=3, pattern="^(?:[a-z]+)$"
    )
    assert item_constraints_from_validator(v.max_len(3)) == Constraints()
    assert constraints_from_validator(v.deep_iterable(v.ge(0))) == Constraints()


@attrs.define
class Model:
    title: Annotated[str, at.MinLen(1)] = attrs.field(validator=v.max_len(200))
    tags: list[str] = attrs.field(validator=v.deep_iterable(v.max_len(3), v.max_len(5)))
    plain: int = 0


@attrs.define
class Unresolved:
    value: "Annotated[int, at.Ge(1)]" = attrs.field(validator=v.le(9))  # noqa: UP037


def test_constraints_from_attribute_merges_annotated_and_validators() -> None:
    fields = attrs.fields(attrs.resolve_types(Model))
    assert constraints_from_attribute(fields.title) == Constraints(min_length=1, max_length=200)
    assert constraints_from_attribute(fields.tags) == Constraints(max_length=5)
    assert item_constraints_from_attribute(fields.tags) == Constraints(max_length=3)
    assert constraints_from_attribute(fields.plain) == Constraints()


def test_constraints_from_attribute_skips_an_unresolved_string_type() -> None:
    assert constraints_from_attribute(attrs.fields(Unresolved).value) == Constraints(le=9)


# --- check


@pytest.mark.parametrize(
    ("value", "limits", "messages"),
    [
        ("x" * 201, Constraints(max_length=200), ["must be at most 200 characters"]),
        ("", Constraints(min_length=1), ["must be at least 1 character"]),
        (b"ab", Constraints(max_length=1), ["must be at most 1 byte"]),
        ([1, 2, 3], Constraints(max_length=2), ["must be at most 2 items"]),
        ([], Constraints(min_length=1), ["must be at least 1 item"]),
        (0, Constraints(ge=1), ["must be greater than or equal to 1"]),
        (1, Constraints(gt=1), ["must be greater than 1"]),
        (2, Constraints(le=1), ["must be less than or equal to 1"]),
        (1, Constraints(lt=1), ["must be less than 1"]),
        (7, Constraints(multiple_of=3), ["must be a multiple of 3"]),
        ("ABC", Constraints(pattern="^[a-z]+$"), ["must match pattern '^[a-z]+$'"]),
        ("c", Constraints(choices=("a", "b")), ["must be one of 'a', 'b'"]),
        (Color.RED, Constraints(choices=(Color.BLUE,)), ["must be one of 'blue'"]),
        (
            "ABCD",
            Constraints(max_length=3, pattern="^[a-z]+$"),
            ["must be at most 3 characters", "must match pattern '^[a-z]+$'"],
        ),
    ],
)
def test_check_messages(value: Any, limits: Constraints, messages: list[str]) -> None:
    assert check(value, limits) == messages


@pytest.mark.parametrize(
    ("value", "limits"),
    [
        ("x" * 200, Constraints(max_length=200)),
        (1, Constraints(ge=1, le=1)),
        (9, Constraints(multiple_of=3)),
        (0.3, Constraints(multiple_of=0.1)),
        (decimal.Decimal("0.3"), Constraints(multiple_of=decimal.Decimal("0.1"))),
        ("abc", Constraints(pattern="b")),
        ("a", Constraints(choices=("a", "b"))),
        (None, Constraints(ge=1, max_length=0, pattern="x")),
    ],
)
def test_check_passes(value: Any, limits: Constraints) -> None:
    assert check(value, limits) == []


def test_check_refuses_a_value_a_limit_cannot_be_evaluated_on() -> None:
    assert check("a", Constraints(ge=1)) == ["must be greater than or equal to 1"]
    assert check(5, Constraints(max_length=3)) == ["must be at most 3 items"]
    assert check(5, Constraints(pattern="5")) == ["must match pattern '5'"]
    assert check(decimal.Decimal("NaN"), Constraints(lt=1)) == ["must be less than 1"]
    assert check(float("inf"), Constraints(multiple_of=0.5)) == ["must be a multiple of 0.5"]


@given(
    value=st.integers(),
    ge=st.none() | st.integers(-50, 50),
    gt=st.none() | st.integers(-50, 50),
    le=st.none() | st.integers(-50, 50),
    lt=st.none() | st.integers(-50, 50),
    multiple_of=st.none() | st.integers(1, 7),
)
def test_check_agrees_with_the_bounds(
    value: int,
    ge: int | None,
    gt: int | None,
    le: int | None,
    lt: int | None,
    multiple_of: int | None,
) -> None:
    limits = Constraints(ge=ge, gt=gt, le=le, lt=lt, multiple_of=multiple_of)
    holds = (
        (ge is None or value >= ge)
        and (gt is None or value > gt)
        and (le is None or value <= le)
        and (lt is None or value < lt)
        and (multiple_of is None or value % multiple_of == 0)
    )
    assert (check(value, limits) == []) == holds


_VALIDATORS: st.SearchStrategy[Any] = st.one_of(
    st.integers(0, 6).map(lambda n: v.max_len(n)),
    st.integers(0, 6).map(lambda n: v.min_len(n)),
    st.sampled_from(["[a-c]+", "^b", "c$", "a|b"]).map(v.matches_re),
    st.lists(st.sampled_from("abc"), min_size=1, max_size=3).map(v.in_),
)


@given(
    validators=st.lists(_VALIDATORS, min_size=1, max_size=3),
    optional=st.booleans(),
    value=st.text(alphabet="abc", max_size=7),
)
def test_check_agrees_with_attrs_validators(
    validators: list[Any], optional: bool, value: str
) -> None:
    validator = v.and_(*validators)
    if optional:
        validator = v.optional(validator)
    attribute = attrs.fields(attrs.make_class("Holder", {"x": attrs.field()})).x
    try:
        for single in validators:
            single(None, attribute, value)
    except ValueError:
        accepted = False
    else:
        accepted = True
    # A failure in any one validator must show up in the limits of the combination; when
    # every validator accepts, the combined limits (choices narrowed, the newer of two
    # patterns kept) never invent a problem.
    problems = [check(value, constraints_from_validator(single)) for single in validators]
    assert accepted == all(not found for found in problems)
    if accepted:
        assert check(value, constraints_from_validator(validator)) == []
