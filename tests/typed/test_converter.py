from __future__ import annotations

import base64
import datetime
import decimal
import enum
import typing
import uuid
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, Literal, NewType, TypeVar

import annotated_types as at
import attrs
import cattrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework import _json
from framework.typed.constraints import Constraints
from framework.typed.converter import APIConverter, default_converter
from framework.typed.errors import MAX_ERRORS, ErrorDetail, RequestValidationError, capped_errors
from tests.todo_models import NewTodo

converter = APIConverter()
T = TypeVar("T")


class Color(str, enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Shape(enum.Enum):
    SQUARE = "square"
    ROUND = 3


UserId = NewType("UserId", int)


class Name(str):
    """A str subclass, structured as a str and then wrapped."""


@attrs.frozen
class Tag:
    name: str = attrs.field(validator=attrs.validators.max_len(5))


@attrs.frozen
class Item:
    name: str
    price: float
    tags: list[str] = attrs.field(
        factory=list, validator=attrs.validators.deep_iterable(attrs.validators.max_len(3))
    )
    labels: list[Tag] = attrs.Factory(list)


@attrs.frozen
class Cat:
    meows: int


@attrs.frozen
class Dog:
    barks: bool


@attrs.frozen
class Node:
    value: int
    children: list[Node] = attrs.Factory(list)


@attrs.frozen
class Box(Generic[T]):
    item: T


def _end_after_start(instance: Any, attribute: Any, value: int) -> None:
    if value < instance.start:
        raise ValueError("end must not be before start")


@attrs.frozen
class Span:
    start: int
    end: int = attrs.field(validator=_end_after_start)
    label: str = attrs.field(default="a", validator=attrs.validators.matches_re("[a-z]+"))


@attrs.define
class Unlucky:
    number: int

    def __attrs_post_init__(self) -> None:
        if self.number == 13:
            raise ValueError("unlucky number")


def _lowercase(instance: Any, attribute: Any, value: str) -> None:
    if not value.islower():
        raise ValueError("must be lowercase")


@attrs.frozen
class Limited:
    count: Annotated[int, at.Ge(1), at.Le(10)]
    code: Annotated[str, at.MaxLen(2)] = "ab"
    choice: str = attrs.field(default="a", validator=attrs.validators.in_(["a", "b"]))
    scores: list[Annotated[int, at.Ge(0)]] = attrs.Factory(list)
    note: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.min_len(2))
    )
    word: str = attrs.field(
        default="x", validator=attrs.validators.and_(attrs.validators.max_len(3), _lowercase)
    )


def _not_odd(instance: Any, attribute: Any, value: int) -> None:
    if value % 2:
        raise ValueError("must be even")


@attrs.frozen
class Custom:
    even: int = attrs.field(validator=_not_odd)


def errors_of(value: Any, tp: Any, loc: tuple[str | int, ...] = ("body",)) -> list[dict[str, Any]]:
    with pytest.raises(RequestValidationError) as info:
        converter.structure(value, tp, loc)
    return [error.as_dict() for error in info.value.errors]


def text_errors_of(values: Sequence[str], tp: Any) -> list[dict[str, Any]]:
    with pytest.raises(RequestValidationError) as info:
        converter.parse_text(values, tp, ("query", "q"))
    return [error.as_dict() for error in info.value.errors]


# --- errors


def test_error_detail_as_dict() -> None:
    detail = ErrorDetail(("body", "tags", 2), "expected a string", "type_error")
    assert detail.as_dict() == {
        "loc": ["body", "tags", 2],
        "msg": "expected a string",
        "type": "type_error",
    }


def test_request_validation_error_carries_every_error() -> None:
    errors = [ErrorDetail(("body", "a"), "field required", "missing"), ErrorDetail((), "x", "y")]
    exc = RequestValidationError(errors)
    assert exc.errors is errors
    assert isinstance(exc, Exception)
    assert str(exc) == "body.a: field required; (value): x"


def test_default_converter_is_an_api_converter() -> None:
    assert isinstance(default_converter, APIConverter)
    assert default_converter.structure(1, int) == 1


# --- strict scalars


@pytest.mark.parametrize(
    ("tp", "value", "expected"),
    [
        (str, "x", "x"),
        (str, "", ""),
        (int, 5, 5),
        (int, 10**30, 10**30),
        (float, 1.5, 1.5),
        (float, 1, 1.0),
        (bool, True, True),
        (bool, False, False),
        (bytes, base64.b64encode(b"\x00\xff").decode(), b"\x00\xff"),
        (
            uuid.UUID,
            "12345678-1234-5678-1234-567812345678",
            uuid.UUID(int=0x12345678123456781234567812345678),
        ),
        (decimal.Decimal, "1.10", decimal.Decimal("1.10")),
        (decimal.Decimal, 3, decimal.Decimal(3)),
        (decimal.Decimal, 0.1, decimal.Decimal("0.1")),
        (datetime.date, "2024-02-29", datetime.date(2024, 2, 29)),
        (datetime.time, "10:20:30", datetime.time(10, 20, 30)),
        (datetime.datetime, "2024-01-02T03:04:05", datetime.datetime(2024, 1, 2, 3, 4, 5)),
        (Any, {"a": [1]}, {"a": [1]}),
        (UserId, 7, 7),
        (Name, "bob", Name("bob")),
    ],
)
def test_scalars_accept_their_json_form(tp: Any, value: Any, expected: Any) -> None:
    result = converter.structure(value, tp)
    assert result == expected
    assert type(result) is type(expected)


def test_float_result_is_a_float_even_from_an_integer() -> None:
    assert type(converter.structure(1, float)) is float


@pytest.mark.parametrize(
    ("tp", "value", "msg"),
    [
        (str, 1, "expected a string"),
        (str, None, "expected a string"),
        (str, ["x"], "expected a string"),
        (int, True, "expected an integer"),
        (int, 1.5, "expected an integer"),
        (int, 1.0, "expected an integer"),
        (int, "1", "expected an integer"),
        (float, True, "expected a number"),
        (float, "1.5", "expected a number"),
        (float, float("nan"), "expected a finite number"),
        (float, float("inf"), "expected a finite number"),
        (float, 10**400, "expected a finite number"),
        (bool, 1, "expected a boolean"),
        (bool, "true", "expected a boolean"),
        (bool, None, "expected a boolean"),
        (bytes, "not base64!", "expected a base64-encoded string"),
        (bytes, 5, "expected a base64-encoded string"),
        (uuid.UUID, "nope", "expected a UUID"),
        (uuid.UUID, 5, "expected a UUID"),
        (decimal.Decimal, "NaN", "expected a decimal number"),
        (decimal.Decimal, " 1", "expected a decimal number"),
        (decimal.Decimal, "1_000", "expected a decimal number"),
        (decimal.Decimal, True, "expected a decimal number"),
        (decimal.Decimal, float("inf"), "expected a decimal number"),
        (datetime.date, "2024-02-30", "expected an ISO 8601 date"),
        (datetime.date, 20240101, "expected an ISO 8601 date"),
        (datetime.time, "25:00", "expected an ISO 8601 time"),
        (datetime.datetime, "yesterday", "expected an ISO 8601 datetime"),
        (datetime.datetime, 1700000000, "expected an ISO 8601 datetime"),
        (Name, 5, "expected a string"),
    ],
)
def test_scalars_refuse_other_json(tp: Any, value: Any, msg: str) -> None:
    assert errors_of(value, tp) == [{"loc": ["body"], "msg": msg, "type": "type_error"}]


def test_datetimes_keep_their_offset() -> None:
    result = converter.structure("2024-01-02T03:04:05+05:30", datetime.datetime)
    assert result.utcoffset() == datetime.timedelta(hours=5, minutes=30)
    utc = converter.structure("2024-01-02T03:04:05Z", datetime.datetime)
    assert utc.utcoffset() == datetime.timedelta(0)
    assert converter.structure("10:00:00z", datetime.time).utcoffset() == datetime.timedelta(0)
    assert converter.unstructure_fn(datetime.datetime)(result) == "2024-01-02T03:04:05+05:30"


# JSON values of each kind, and which kinds each scalar type may come from.
_JSON_KINDS: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "bool": st.booleans(),
    "int": st.integers(),
    "float": st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer()),
    "str": st.text(max_size=5),
    "array": st.lists(st.integers(), max_size=2),
    "object": st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
}
_ACCEPTED_KINDS: dict[Any, set[str]] = {
    str: {"str"},
    int: {"int"},
    float: {"int", "float"},
    bool: {"bool"},
    bytes: {"str"},
    uuid.UUID: {"str"},
    decimal.Decimal: {"str", "int", "float"},
    datetime.datetime: {"str"},
    datetime.date: {"str"},
    datetime.time: {"str"},
}


@attrs.frozen
class Holder(Generic[T]):
    value: T


@given(data=st.data(), tp=st.sampled_from(list(_ACCEPTED_KINDS)))
def test_each_scalar_refuses_every_other_json_kind(data: st.DataObject, tp: Any) -> None:
    kind = data.draw(st.sampled_from(sorted(set(_JSON_KINDS) - _ACCEPTED_KINDS[tp])))
    value = data.draw(_JSON_KINDS[kind])
    (error,) = errors_of({"value": value}, Holder[tp])
    assert error["loc"] == ["body", "value"]
    assert error["type"] == "type_error"
    assert error["msg"].startswith("expected ")
    errors = errors_of([value, value], list[tp])
    assert [error["loc"] for error in errors] == [["body", 0], ["body", 1]]


@pytest.mark.parametrize(
    ("tp", "value", "expected"),
    [
        (Color, "red", Color.RED),
        (Level, 2, Level.HIGH),
        (Shape, 3, Shape.ROUND),
        (Shape, "square", Shape.SQUARE),
        (Literal["a", 1, True], 1, 1),
        (Literal["a", 1, True], True, True),
        (Literal["a", 1, True], "a", "a"),
        (Literal[Color.RED], "red", Color.RED),
        (Literal[None], None, None),
    ],
)
def test_enums_and_literals_match_value_and_json_type(tp: Any, value: Any, expected: Any) -> None:
    result = converter.structure(value, tp)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("tp", "value", "msg", "kind"),
    [
        (Color, "green", "must be one of 'red', 'blue'", "enum"),
        (Color, None, "must be one of 'red', 'blue'", "enum"),
        (Level, True, "must be one of 1, 2", "enum"),
        (Level, 1.0, "must be one of 1, 2", "enum"),
        (Level, "1", "must be one of 1, 2", "enum"),
        (Shape, [], "must be one of 'square', 3", "enum"),
        (Literal["a", 1], True, "must be one of 'a', 1", "literal_error"),
        (Literal["a", 1], "b", "must be one of 'a', 1", "literal_error"),
        (Literal["a", 1], {}, "must be one of 'a', 1", "literal_error"),
    ],
)
def test_enums_and_literals_refuse(tp: Any, value: Any, msg: str, kind: str) -> None:
    assert errors_of(value, tp) == [{"loc": ["body"], "msg": msg, "type": kind}]


# --- containers


def test_lists_tuples_sets_and_dicts() -> None:
    assert converter.structure([1, 2], list[int]) == [1, 2]
    assert converter.structure([1, 2], typing.Sequence[int]) == [1, 2]
    assert converter.structure([1, 2], tuple[int, ...]) == (1, 2)
    assert converter.structure([1, "a"], tuple[int, str]) == (1, "a")
    assert converter.structure([1, 3, 2], set[int]) == {1, 2, 3}
    assert converter.structure([1, 2], frozenset[int]) == frozenset({1, 2})
    assert converter.structure({"a": 1}, dict[str, int]) == {"a": 1}
    assert converter.structure({"a": [1]}, typing.Mapping[str, list[int]]) == {"a": [1]}
    assert converter.structure([1, "x", None], list) == [1, "x", None]
    assert converter.structure({"a": None}, dict) == {"a": None}


@pytest.mark.parametrize(
    ("tp", "value", "errors"),
    [
        (list[int], "abc", [(["body"], "expected an array")]),
        (list[int], {"a": 1}, [(["body"], "expected an array")]),
        (list[int], None, [(["body"], "expected an array")]),
        (tuple[int, ...], "ab", [(["body"], "expected an array")]),
        (set[int], "ab", [(["body"], "expected an array")]),
        (frozenset[str], {"a": 1}, [(["body"], "expected an array")]),
        (tuple[int, str], [1], [(["body"], "expected an array of 2 items")]),
        (tuple[int, str], [1, "a", 2], [(["body"], "expected an array of 2 items")]),
        (tuple[int], "a", [(["body"], "expected an array of 1 item")]),
        (
            tuple[int, str],
            ["a", 1],
            [(["body", 0], "expected an integer"), (["body", 1], "expected a string")],
        ),
        (dict[str, int], [["a", 1]], [(["body"], "expected an object")]),
        (
            dict[str, int],
            {"a": "1", "b": 2, "c": None},
            [(["body", "a"], "expected an integer"), (["body", "c"], "expected an integer")],
        ),
        (
            list[list[int]],
            [[1], [2, "x"], 3],
            [(["body", 1, 1], "expected an integer"), (["body", 2], "expected an array")],
        ),
    ],
)
def test_container_errors(tp: Any, value: Any, errors: list[tuple[list[Any], str]]) -> None:
    assert [(e["loc"], e["msg"]) for e in errors_of(value, tp)] == errors


# --- attrs classes and the 422 shape


def test_nested_classes_defaults_and_factories() -> None:
    item = converter.structure({"name": "pen", "price": 2}, Item)
    assert item == Item(name="pen", price=2.0, tags=[], labels=[])
    item = converter.structure(
        {"name": "pen", "price": 2.5, "tags": ["a"], "labels": [{"name": "x"}], "extra": 1}, Item
    )
    assert item.labels == [Tag("x")]
    assert converter.structure({"title": "t"}, NewTodo) == NewTodo("t", False)


def test_every_problem_is_reported_at_once_with_nested_locations() -> None:
    body = {"price": "1", "tags": ["ok", 2, "toolong"], "labels": [{"name": "abcdefg"}, {}, 5]}
    assert errors_of(body, Item) == [
        {"loc": ["body", "name"], "msg": "field required", "type": "missing"},
        {"loc": ["body", "price"], "msg": "expected a number", "type": "type_error"},
        {"loc": ["body", "tags", 1], "msg": "expected a string", "type": "type_error"},
        {
            "loc": ["body", "labels", 0, "name"],
            "msg": "must be at most 5 characters",
            "type": "value_error",
        },
        {"loc": ["body", "labels", 1, "name"], "msg": "field required", "type": "missing"},
        {"loc": ["body", "labels", 2], "msg": "expected an object", "type": "type_error"},
    ]


def test_a_class_is_read_from_an_object_only() -> None:
    values: list[Any] = [None, [], "x", 1, True]
    for value in values:
        assert errors_of(value, Item) == [
            {"loc": ["body"], "msg": "expected an object", "type": "type_error"}
        ]


def test_null_is_not_a_value_for_a_field_with_a_default() -> None:
    assert errors_of({"title": "t", "done": None}, NewTodo) == [
        {"loc": ["body", "done"], "msg": "expected a boolean", "type": "type_error"}
    ]


def test_api_md_example_messages() -> None:
    assert errors_of({"title": 1}, NewTodo) == [
        {"loc": ["body", "title"], "msg": "expected a string", "type": "type_error"}
    ]
    assert errors_of({"title": "x" * 201}, NewTodo) == [
        {"loc": ["body", "title"], "msg": "must be at most 200 characters", "type": "value_error"}
    ]


def test_validators_are_mapped_back_to_their_field() -> None:
    assert errors_of({"tags": ["ab", "abcd", "a", "wxyz"], "name": "n", "price": 1}, Item) == [
        {"loc": ["body", "tags", 1], "msg": "must be at most 3 characters", "type": "value_error"},
        {"loc": ["body", "tags", 3], "msg": "must be at most 3 characters", "type": "value_error"},
    ]
    assert errors_of({"count": 1, "choice": "c", "note": "x", "word": "ABCD"}, Limited) == [
        {"loc": ["body", "choice"], "msg": "must be one of 'a', 'b'", "type": "value_error"},
        {"loc": ["body", "note"], "msg": "must be at least 2 characters", "type": "value_error"},
        {"loc": ["body", "word"], "msg": "must be at most 3 characters", "type": "value_error"},
    ]


def test_unknown_validator_failure_keeps_its_own_message() -> None:
    assert errors_of({"even": 3}, Custom) == [
        {"loc": ["body", "even"], "msg": "must be even", "type": "value_error"}
    ]
    # A known validator that passes beside an unknown one that fails: the unknown one speaks.
    assert errors_of({"count": 1, "word": "AB"}, Limited) == [
        {"loc": ["body", "word"], "msg": "must be lowercase", "type": "value_error"}
    ]


def test_validator_failures_are_reported_beside_type_errors() -> None:
    assert errors_of({"count": "1", "choice": "z", "code": "abc"}, Limited) == [
        {"loc": ["body", "count"], "msg": "expected an integer", "type": "type_error"},
        {"loc": ["body", "code"], "msg": "must be at most 2 characters", "type": "value_error"},
        {"loc": ["body", "choice"], "msg": "must be one of 'a', 'b'", "type": "value_error"},
    ]


def test_validators_see_the_other_fields() -> None:
    assert errors_of({"start": 5, "end": 3, "label": "A"}, Span) == [
        {"loc": ["body", "end"], "msg": "end must not be before start", "type": "value_error"},
        {
            "loc": ["body", "label"],
            "msg": "must match pattern '^(?:[a-z]+)$'",
            "type": "value_error",
        },
    ]
    # When the field a validator reads is itself wrong, only that field is blamed.
    assert errors_of({"start": "5", "end": 3}, Span) == [
        {"loc": ["body", "start"], "msg": "expected an integer", "type": "type_error"}
    ]


def test_a_failure_no_field_explains_is_reported_on_the_object() -> None:
    assert errors_of({"number": 13}, Unlucky) == [
        {"loc": ["body"], "msg": "unlucky number", "type": "value_error"}
    ]
    assert errors_of([{"number": 1}, {"number": 13}], list[Unlucky]) == [
        {"loc": ["body", 1], "msg": "unlucky number", "type": "value_error"}
    ]


def test_annotated_constraints_in_fields_and_items() -> None:
    assert errors_of({"count": 0, "scores": [1, -1, "x"]}, Limited) == [
        {
            "loc": ["body", "count"],
            "msg": "must be greater than or equal to 1",
            "type": "value_error",
        },
        {
            "loc": ["body", "scores", 1],
            "msg": "must be greater than or equal to 0",
            "type": "value_error",
        },
        {"loc": ["body", "scores", 2], "msg": "expected an integer", "type": "type_error"},
    ]
    assert converter.structure({"count": 10, "scores": [0]}, Limited).scores == [0]


def test_annotated_top_level_and_explicit_constraints() -> None:
    tp = Annotated[int, at.Ge(1), at.Le(100)]
    assert converter.structure(5, tp) == 5
    assert errors_of(0, tp, ("query", "limit")) == [
        {
            "loc": ["query", "limit"],
            "msg": "must be greater than or equal to 1",
            "type": "value_error",
        }
    ]
    limits = Constraints(max_length=2)
    assert converter.structure([1, 2], list[int], (), limits) == [1, 2]
    with pytest.raises(RequestValidationError) as info:
        converter.structure([1, 2, 3], list[int], ("body",), limits)
    assert [e.as_dict() for e in info.value.errors] == [
        {"loc": ["body"], "msg": "must be at most 2 items", "type": "value_error"}
    ]
    assert converter.structure(None, int | None, (), Constraints(ge=1)) is None
    assert converter.structure("x", Annotated[str, "just a note"]) == "x"


def test_generic_and_recursive_classes() -> None:
    assert converter.structure({"item": 3}, Box[int]) == Box(3)
    assert errors_of({"item": "3"}, Box[int]) == [
        {"loc": ["body", "item"], "msg": "expected an integer", "type": "type_error"}
    ]
    tree = {"value": 1, "children": [{"value": 2, "children": [{"value": "x"}]}]}
    assert errors_of(tree, Node) == [
        {
            "loc": ["body", "children", 0, "children", 0, "value"],
            "msg": "expected an integer",
            "type": "type_error",
        }
    ]


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    deep: dict[str, Any] = {"value": 0}
    for index in range(3000):
        deep = {"value": index, "children": [deep]}
    errors = errors_of(deep, Node)
    assert errors
    assert {error["msg"] for error in errors} == {"value is nested too deeply"}


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_decode_json_refuses_documents_nested_too_deeply() -> None:
    # Regression: orjson reads ~1024 levels, cattrs recursed out at ~330 (a 500).
    assert converter.decode_json(b'{"a": [1]}', ("body",)) == {"a": [1]}
    assert converter.decode_json(nested(64), ("body",)) == converter.structure(
        _json.loads(nested(64)), Any
    )
    for document in (nested(65), b'{"a":' + nested(500) + b"}", nested(1000)):
        with pytest.raises(RequestValidationError) as caught:
            converter.decode_json(document, ("body",))
        assert [error.as_dict() for error in caught.value.errors] == [
            {"loc": ["body"], "msg": "JSON nested deeper than 64 levels", "type": "json_invalid"}
        ]
    # Brackets inside strings are not nesting.
    text = b'["' + b"[" * 500 + b'"]'
    assert converter.decode_json(text) == ["[" * 500]


def test_decode_json_reports_what_is_not_json() -> None:
    with pytest.raises(RequestValidationError) as caught:
        converter.decode_json(b"[1,", ("body",))
    (error,) = caught.value.errors
    assert (error.loc, error.type) == (("body",), "json_invalid")
    assert error.msg.startswith("invalid JSON")


def test_the_json_depth_limit_is_configurable() -> None:
    assert APIConverter().max_json_depth == 64
    shallow = APIConverter(max_json_depth=2)
    assert shallow.decode_json(b"[[1]]") == [[1]]
    with pytest.raises(RequestValidationError, match="deeper than 2 levels"):
        shallow.decode_json(b"[[[1]]]")
    assert APIConverter(max_json_depth=500).decode_json(nested(500)) is not None
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="max_json_depth"):
            APIConverter(max_json_depth=bad)  # type: ignore[arg-type]


def test_unstructuring_any_leaves_json_values_as_they_are() -> None:
    unstructure = converter.unstructure_fn(Any)
    value: Any = {"a": [1, 2.5, "x", None, True], "b": {"c": []}}
    assert unstructure(value) is value
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    # Regression: cattrs unstructured Any by recursion, and failed on deep values.
    assert unstructure(deep) is deep
    assert converter.encode_fn(dict[str, Any])({"x": _json.loads(nested(400))}) == (
        b'{"x":' + nested(400) + b"}"
    )
    # Anything else inside is still converted.
    assert unstructure({"when": [datetime.date(2024, 1, 2)], 1: b"hi"}) == {
        "when": ["2024-01-02"],
        1: "aGk=",
    }


def test_dict_keys_that_are_not_strings_are_read_from_their_text() -> None:
    # Regression: JSON keys are strings, so dict[int, V] refused every object.
    assert converter.structure({"1": "a", "-2": "b"}, dict[int, str]) == {1: "a", -2: "b"}
    ident = uuid.UUID(int=7)
    assert converter.structure({str(ident): 1}, dict[uuid.UUID, int]) == {ident: 1}
    assert converter.structure({"1": "x"}, dict[Level, str]) == {Level.LOW: "x"}
    assert converter.structure({"2024-01-02": 1}, dict[datetime.date, int]) == {
        datetime.date(2024, 1, 2): 1
    }
    assert converter.structure({"0.5": 1}, dict[float, int]) == {0.5: 1}
    assert converter.structure({"red": 1}, dict[Color, int]) == {Color.RED: 1}
    assert errors_of({"x": "a", "3": 4, "1.5": "b"}, dict[int, str]) == [
        {"loc": ["body", "x"], "msg": "expected an integer", "type": "type_error"},
        {"loc": ["body", "3"], "msg": "expected a string", "type": "type_error"},
        {"loc": ["body", "1.5"], "msg": "expected an integer", "type": "type_error"},
    ]
    assert [e["type"] for e in errors_of({"-1": 1}, dict[Annotated[int, at.Ge(0)], int])] == [
        "value_error"
    ]
    assert converter.encode_fn(dict[int, str])({1: "a"}) == b'{"1":"a"}'


@pytest.mark.parametrize("tp", [set[int], frozenset[int], typing.AbstractSet[int]])
def test_sets_refuse_duplicates(tp: Any) -> None:
    # Regression: documented uniqueItems, but duplicates were silently dropped.
    assert errors_of([1, 2, 1, 3, 2], tp) == [
        {"loc": ["body", 2], "msg": "duplicate item", "type": "value_error"},
        {"loc": ["body", 4], "msg": "duplicate item", "type": "value_error"},
    ]
    assert text_errors_of(["1", "01"], tp) == [
        {"loc": ["query", "q", 1], "msg": "duplicate item", "type": "value_error"}
    ]
    assert converter.parse_text(["1", "2"], tp) == {1, 2}


TOO_MANY = {
    "loc": ["body"],
    "msg": "too many errors; only the first 100 are listed",
    "type": "too_many_errors",
}


@pytest.mark.parametrize(
    ("tp", "value", "first"),
    [
        (list[int], ["x"] * 10_000, ["body", 0]),
        (tuple[int, ...], ["x"] * 10_000, ["body", 0]),
        (dict[str, int], {str(i): "x" for i in range(10_000)}, ["body", "0"]),
        (list[list[int]], [["x"] * 300] * 300, ["body", 0, 0]),
        (list[Tag], [{"name": "toolong"}] * 500, ["body", 0, "name"]),
    ],
)
def test_error_lists_stop_at_one_hundred(tp: Any, value: Any, first: list[Any]) -> None:
    # Regression: a million bad items gave a 72 MB 422 after 24 s.
    found = errors_of(value, tp)
    assert len(found) == MAX_ERRORS + 1 == 101
    assert found[0]["loc"] == first
    assert found[-1] == TOO_MANY


def test_structuring_stops_at_the_error_limit() -> None:
    calls: list[int] = []

    class Counted:
        pass

    def refuse(value: Any, _: Any) -> Counted:
        calls.append(1)
        raise ValueError("no")

    fresh = APIConverter()
    fresh.cattrs.register_structure_hook(Counted, refuse)
    with pytest.raises(RequestValidationError) as caught:
        fresh.structure(list(range(100_000)), list[Counted], ("body",))
    assert len(caught.value.errors) == 101
    assert len(calls) <= MAX_ERRORS + 1
    # Text values stop too.
    with pytest.raises(RequestValidationError) as caught:
        fresh.parse_text(["x"] * 100_000, list[int], ("query", "ids"))
    assert len(caught.value.errors) == 101
    assert caught.value.errors[-1].as_dict() == {**TOO_MANY, "loc": ["query"]}


def test_capped_errors() -> None:
    few = [ErrorDetail(("query", "q"), "bad", "type_error")] * 100
    assert capped_errors(few) is few
    many = few + [ErrorDetail(("body", 3), "bad", "type_error")] * 2
    message = "too many errors; only the first 100 are listed"
    too_many = ErrorDetail(("body",), message, "too_many_errors")
    assert capped_errors(many) == [*few, too_many]


# --- unions


def test_optional() -> None:
    assert converter.structure(None, int | None) is None
    assert converter.structure(3, typing.Optional[int]) == 3  # noqa: UP045
    assert errors_of("3", int | None) == [
        {"loc": ["body"], "msg": "expected an integer", "type": "type_error"}
    ]
    assert errors_of(None, int) == [
        {"loc": ["body"], "msg": "expected an integer", "type": "type_error"}
    ]


def test_scalar_unions_prefer_the_exact_json_type() -> None:
    assert type(converter.structure(1, float | int)) is int
    assert type(converter.structure(1.5, float | int)) is float
    assert converter.structure(True, int | bool) is True
    assert converter.structure("a", int | str) == "a"
    assert converter.structure("2024-01-01", int | datetime.date) == datetime.date(2024, 1, 1)
    assert errors_of([1], int | str) == [
        {"loc": ["body"], "msg": "does not match any of int, str", "type": "union_error"}
    ]
    assert errors_of(1.5, int | str | None) == [
        {"loc": ["body"], "msg": "does not match any of int, str, null", "type": "union_error"}
    ]


def test_union_of_classes_picks_the_member_that_fits() -> None:
    assert converter.structure({"meows": 3}, Cat | Dog) == Cat(3)
    assert converter.structure({"barks": True}, Cat | Dog) == Dog(True)
    assert converter.structure([{"barks": True}, {"meows": 1}], list[Cat | Dog]) == [
        Dog(True),
        Cat(1),
    ]
    assert errors_of({"purrs": 1}, Cat | Dog) == [
        {"loc": ["body"], "msg": "does not match any of Cat, Dog", "type": "union_error"}
    ]


def test_a_container_only_one_member_reads_gets_that_members_errors() -> None:
    assert errors_of({"meows": "x"}, Cat | int) == [
        {"loc": ["body", "meows"], "msg": "expected an integer", "type": "type_error"}
    ]
    assert errors_of([1, "x"], list[int] | str) == [
        {"loc": ["body", 1], "msg": "expected an integer", "type": "type_error"}
    ]


# --- round trips


def _offsets() -> st.SearchStrategy[datetime.timezone]:
    return st.integers(-23 * 60, 23 * 60).map(
        lambda minutes: datetime.timezone(datetime.timedelta(minutes=minutes))
    )


_SCALAR_VALUES: dict[Any, st.SearchStrategy[Any]] = {
    str: st.text(),
    int: st.integers(),
    float: st.floats(allow_nan=False, allow_infinity=False),
    bool: st.booleans(),
    bytes: st.binary(max_size=20),
    datetime.datetime: st.datetimes(timezones=st.none() | _offsets()),
    datetime.date: st.dates(),
    datetime.time: st.times(timezones=st.none() | _offsets()),
    uuid.UUID: st.uuids(),
    decimal.Decimal: st.decimals(allow_nan=False, allow_infinity=False),
    Color: st.sampled_from(Color),
    Level: st.sampled_from(Level),
    Shape: st.sampled_from(Shape),
    Literal["a", 1, False]: st.sampled_from(["a", 1, False]),
}
_HASHABLE = [str, int, uuid.UUID, Color]

_class_counter = iter(range(10**9))


def _make_class(field_types: list[Any]) -> type:
    fields = {f"f{index}": attrs.field(type=tp) for index, tp in enumerate(field_types)}
    return attrs.make_class(f"Generated{next(_class_counter)}", fields, frozen=True)


def _types() -> st.SearchStrategy[Any]:
    def extend(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(
            inner.map(lambda tp: list[tp]),  # type: ignore[valid-type]
            inner.map(lambda tp: tuple[tp, ...]),  # type: ignore[valid-type]
            st.lists(inner, min_size=1, max_size=3).map(lambda tps: tuple[tuple(tps)]),  # type: ignore[misc]
            inner.map(lambda tp: dict[str, tp]),  # type: ignore[valid-type]
            inner.map(lambda tp: typing.Optional[tp]),  # noqa: UP045
            st.sampled_from(_HASHABLE).map(lambda tp: set[tp]),  # type: ignore[valid-type]
            st.sampled_from(_HASHABLE).map(lambda tp: frozenset[tp]),  # type: ignore[valid-type]
            st.lists(inner, min_size=1, max_size=4).map(_make_class),
        )

    return st.recursive(st.sampled_from(list(_SCALAR_VALUES)), extend, max_leaves=8)


def _values(tp: Any) -> st.SearchStrategy[Any]:
    if tp in _SCALAR_VALUES:
        return _SCALAR_VALUES[tp]
    if attrs.has(tp):
        return st.builds(tp, **{f.name: _values(f.type) for f in attrs.fields(tp)})
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list:
        return st.lists(_values(args[0]), max_size=3)
    if origin is tuple and args[-1] is Ellipsis:
        return st.lists(_values(args[0]), max_size=3).map(tuple)
    if origin is tuple:
        return st.tuples(*(_values(arg) for arg in args))
    if origin is dict:
        return st.dictionaries(st.text(max_size=3), _values(args[1]), max_size=3)
    if origin is set:
        return st.sets(_values(args[0]), max_size=3)
    if origin is frozenset:
        return st.frozensets(_values(args[0]), max_size=3)
    assert origin is typing.Union
    return st.none() | _values(args[0])


@settings(max_examples=150, deadline=None)
@given(data=st.data(), tp=_types())
def test_round_trip_through_json(data: st.DataObject, tp: Any) -> None:
    value = data.draw(_values(tp))
    encoded = converter.encode_fn(tp)(value)
    assert encoded == _json.dumps(converter.unstructure_fn(tp)(value))
    assert converter.structure(_json.loads(encoded), tp) == value


@given(
    st.lists(
        st.builds(
            Item,
            name=st.text(),
            price=st.floats(-1e9, 1e9),
            tags=st.lists(st.text(max_size=3)),
            labels=st.lists(st.builds(Tag, st.text(max_size=5))),
        )
    )
)
def test_round_trip_of_models_with_validators(items: list[Item]) -> None:
    data = converter.unstructure_fn(list[Item])(items)
    assert converter.structure(data, list[Item]) == items


def test_unstructured_forms() -> None:
    unstructure = converter.unstructure_fn(
        tuple[
            bytes,
            datetime.date,
            datetime.time,
            uuid.UUID,
            decimal.Decimal,
            Color,
            Level,
            frozenset[int],
        ]
    )
    value = (
        b"hi",
        datetime.date(2024, 1, 2),
        datetime.time(1, 2, 3),
        uuid.UUID(int=1),
        decimal.Decimal("1.50"),
        Color.RED,
        Level.LOW,
        frozenset({3}),
    )
    result = unstructure(value)
    assert result == [
        "aGk=",
        "2024-01-02",
        "01:02:03",
        "00000000-0000-0000-0000-000000000001",
        "1.50",
        "red",
        1,
        [3],
    ]
    assert type(result[5]) is str
    assert type(result[6]) is int
    assert converter.unstructure_fn(Color | int)(Color.BLUE) == "blue"
    assert type(converter.unstructure_fn(Color | int)(Color.BLUE)) is str
    assert converter.unstructure_fn(Literal[Color.RED, "x"])(Color.RED) == "red"
    assert converter.unstructure_fn(Cat | Dog | None)(None) is None
    assert converter.unstructure_fn(Any)(Cat(1)) == {"meows": 1}


def test_functions_are_generated_once_per_type() -> None:
    fresh = APIConverter()
    assert fresh.structure_fn(Item) is fresh.structure_fn(Item)
    assert fresh.structure_fn(int, Constraints(ge=1)) is fresh.structure_fn(int, Constraints(ge=1))
    assert fresh.parse_text_fn(int) is fresh.parse_text_fn(int)
    assert fresh.unstructure_fn(list[Item]) is fresh.unstructure_fn(list[Item])
    assert fresh.encode_fn(Item) is fresh.encode_fn(Item)


def test_encode_fn() -> None:
    assert converter.encode_fn(str)("é") == '"é"'.encode()
    assert converter.encode_fn(list[Cat])([Cat(1)]) == b'[{"meows":1}]'
    assert converter.encode_fn(set[int])({2}) == b"[2]"


def test_unsupported_types_fail_when_the_function_is_made() -> None:
    class Opaque:
        pass

    with pytest.raises(cattrs.errors.StructureHandlerNotFoundError):
        converter.structure_fn(Opaque)


def test_hooks_for_own_types_through_cattrs() -> None:
    fresh = APIConverter()

    class Point:
        def __init__(self, x: int, y: int) -> None:
            self.x, self.y = x, y

    def structure_point(value: Any, _: Any) -> Point:
        return Point(*value)

    fresh.cattrs.register_structure_hook(Point, structure_point)
    fresh.cattrs.register_unstructure_hook(Point, lambda point: [point.x, point.y])
    assert fresh.structure([1, 2], Point).y == 2
    assert fresh.encode_fn(Point)(Point(3, 4)) == b"[3,4]"


# --- text


@pytest.mark.parametrize(
    ("values", "tp", "expected"),
    [
        (["10"], int, 10),
        (["-3"], int, -3),
        (["+3"], int, 3),
        (["1.5"], float, 1.5),
        (["2"], float, 2.0),
        (["1e3"], float, 1000.0),
        (["1.50"], decimal.Decimal, decimal.Decimal("1.50")),
        (["anything"], str, "anything"),
        (["first", "second"], str, "first"),
        (["TRUE"], bool, True),
        (["yes"], bool, True),
        (["On"], bool, True),
        (["1"], bool, True),
        (["false"], bool, False),
        (["No"], bool, False),
        (["off"], bool, False),
        (["0"], bool, False),
        (["00000000-0000-0000-0000-000000000001"], uuid.UUID, uuid.UUID(int=1)),
        (
            ["2024-01-02T03:04:05+01:00"],
            datetime.datetime,
            datetime.datetime(
                2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=1))
            ),
        ),
        (["2024-01-02"], datetime.date, datetime.date(2024, 1, 2)),
        (["03:04"], datetime.time, datetime.time(3, 4)),
        (["blue"], Color, Color.BLUE),
        (["2"], Level, Level.HIGH),
        (["02"], Level, Level.HIGH),
        (["3"], Shape, Shape.ROUND),
        (["x"], Literal["x", 5], "x"),
        (["5"], Literal["x", 5], 5),
        (["true"], Literal[True, "a"], True),
        (["7"], int | None, 7),
        (["7"], typing.Optional[Annotated[int, at.Ge(1)]], 7),  # noqa: UP045
        (["7"], UserId, 7),
        (["x"], int | str, "x"),
        (["7"], int | str, 7),
        (["x"], Any, "x"),
        (["1", "2"], list[int], [1, 2]),
        ([], list[int], []),
        (["1", "2"], typing.Sequence[int], [1, 2]),
        (["1", "2", "3"], set[int], {1, 2, 3}),
        (["1", "2"], frozenset[int], frozenset({1, 2})),
        (["1", "2"], tuple[int, ...], (1, 2)),
        (["1", "a"], tuple[int, str], (1, "a")),
        (["1", "2"], list[int] | None, [1, 2]),
        (["red", "blue"], list[Color], [Color.RED, Color.BLUE]),
    ],
)
def test_parse_text(values: list[str], tp: Any, expected: Any) -> None:
    result = converter.parse_text(values, tp, ("query", "q"))
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("values", "tp", "errors"),
    [
        (["x"], int, [(["query", "q"], "expected an integer", "type_error")]),
        (["1.0"], int, [(["query", "q"], "expected an integer", "type_error")]),
        ([" 1"], int, [(["query", "q"], "expected an integer", "type_error")]),
        (["1_000"], int, [(["query", "q"], "expected an integer", "type_error")]),
        (["١٢"], int, [(["query", "q"], "expected an integer", "type_error")]),
        (["9" * 5000], int, [(["query", "q"], "expected an integer", "type_error")]),
        (["nan"], float, [(["query", "q"], "expected a number", "type_error")]),
        (["inf"], float, [(["query", "q"], "expected a number", "type_error")]),
        (["1e999"], float, [(["query", "q"], "expected a number", "type_error")]),
        (["NaN"], decimal.Decimal, [(["query", "q"], "expected a decimal number", "type_error")]),
        (["maybe"], bool, [(["query", "q"], "expected a boolean", "type_error")]),
        (["x"], uuid.UUID, [(["query", "q"], "expected a UUID", "type_error")]),
        (["x"], datetime.date, [(["query", "q"], "expected an ISO 8601 date", "type_error")]),
        (["green"], Color, [(["query", "q"], "must be one of 'red', 'blue'", "enum")]),
        (["3"], Level, [(["query", "q"], "must be one of 1, 2", "enum")]),
        (["y"], Literal["x", 5], [(["query", "q"], "must be one of 'x', 5", "literal_error")]),
        (["x"], int | float, [(["query", "q"], "does not match any of int, float", "union_error")]),
        ([], int, [(["query", "q"], "field required", "missing")]),
        (
            ["1", "x", "y"],
            list[int],
            [
                (["query", "q", 1], "expected an integer", "type_error"),
                (["query", "q", 2], "expected an integer", "type_error"),
            ],
        ),
        (["1"], tuple[int, int], [(["query", "q"], "expected 2 values", "type_error")]),
        (
            ["0"],
            Annotated[int, at.Ge(1)],
            [(["query", "q"], "must be greater than or equal to 1", "value_error")],
        ),
        (
            ["abc"],
            Annotated[str, at.MaxLen(2)] | None,
            [(["query", "q"], "must be at most 2 characters", "value_error")],
        ),
        (
            ["1", "2", "3"],
            Annotated[list[int], at.MaxLen(2)],
            [(["query", "q"], "must be at most 2 items", "value_error")],
        ),
        (
            ["1", "-2"],
            list[Annotated[int, at.Ge(0)]],
            [(["query", "q", 1], "must be greater than or equal to 0", "value_error")],
        ),
    ],
)
def test_parse_text_errors(
    values: list[str], tp: Any, errors: list[tuple[list[Any], str, str]]
) -> None:
    assert [(e["loc"], e["msg"], e["type"]) for e in text_errors_of(values, tp)] == errors


def test_parse_text_with_explicit_constraints() -> None:
    limits = Constraints(ge=1, le=100)
    assert converter.parse_text(["50"], int, ("query", "limit"), limits) == 50
    with pytest.raises(RequestValidationError) as info:
        converter.parse_text(["500"], int, ("query", "limit"), limits)
    assert [e.as_dict() for e in info.value.errors] == [
        {
            "loc": ["query", "limit"],
            "msg": "must be less than or equal to 100",
            "type": "value_error",
        }
    ]
    with pytest.raises(RequestValidationError):
        converter.parse_text([], list[int], ("query", "ids"), Constraints(min_length=1))


@pytest.mark.parametrize(
    "tp", [list[list[int]], dict[str, int], Item, bytes, tuple[list[int], int]]
)
def test_types_that_cannot_come_from_text_fail_when_the_function_is_made(tp: Any) -> None:
    with pytest.raises(TypeError, match="cannot be read from text"):
        converter.parse_text_fn(tp)


@given(st.integers())
def test_text_integers_round_trip(number: int) -> None:
    assert converter.parse_text([str(number)], int) == number


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_text_floats_round_trip(number: float) -> None:
    assert converter.parse_text([repr(number)], float) == number


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_text_decimals_round_trip(number: decimal.Decimal) -> None:
    assert converter.parse_text([str(number)], decimal.Decimal) == number


@given(st.text(max_size=6))
def test_text_integers_are_only_ascii_digits(text: str) -> None:
    digits = text[1:] if text[:1] in ("+", "-") else text
    if digits.isascii() and digits.isdigit():
        assert converter.parse_text([text], int) == int(text)
    else:
        assert [e["type"] for e in text_errors_of([text], int)] == ["type_error"]


@given(st.sampled_from(["true", "false", "1", "0", "yes", "no", "on", "off"]), st.data())
def test_text_booleans_ignore_case(word: str, data: st.DataObject) -> None:
    cased = "".join(data.draw(st.sampled_from([c.lower(), c.upper()])) for c in word)
    assert converter.parse_text([cased], bool) is (word in {"true", "1", "yes", "on"})


def test_every_type_refuses_with_a_request_validation_error_never_a_crash() -> None:
    samples: list[Any] = [None, True, 0, -1, 1.5, "", "x", [], [None], {}, {"a": None}]
    types_: list[Any] = [
        *_SCALAR_VALUES,
        Item,
        Node,
        Span,
        Limited,
        Cat | Dog,
        list[Item],
        dict[str, Tag],
    ]
    for tp in types_:
        structure: Callable[[Any, tuple[str | int, ...]], Any] = converter.structure_fn(tp)
        for sample in samples:
            problems: list[ErrorDetail] = []
            try:
                structure(sample, ("body",))
            except RequestValidationError as exc:
                problems = exc.errors
                assert problems
            assert all(error.loc[0] == "body" for error in problems)


@attrs.frozen
class Named:
    name: str


@pytest.mark.parametrize("text", ["\ud800", "ok \udfff", "ab\udcffcd"])
def test_strings_with_lone_surrogates_are_refused(text: str) -> None:
    # Regression: JSON may spell lone surrogates ("\ud800"); they cannot be stored or encoded as
    # UTF-8, so accepting them only moved the failure to a 500 later.
    with pytest.raises(RequestValidationError) as caught:
        default_converter.structure({"name": text}, Named, ("body",))
    assert [e.as_dict() for e in caught.value.errors] == [
        {"loc": ["body", "name"], "msg": "expected a string of Unicode text", "type": "type_error"}
    ]


def test_non_ascii_strings_are_accepted() -> None:
    text = "héllo ✓ 😀"
    assert default_converter.structure({"name": text}, Named, ("body",)) == Named(text)
