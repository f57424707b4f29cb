"""The private JSON codec must agree with the stdlib settings Starlette uses."""

from __future__ import annotations

import datetime
import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from framework import _json

stdlib = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False, min_value=1e-4, max_value=1e15)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def stdlib_outcome(value: Any) -> bytes | type[Exception]:
    try:
        return stdlib.encode(value).encode("utf-8")
    except Exception as exc:
        return type(exc)


def our_outcome(value: Any) -> bytes | type[Exception]:
    try:
        return _json.dumps(value)
    except Exception as exc:
        return type(exc)


@given(json_values)
def test_dumps_writes_the_same_bytes_as_the_stdlib(value: Any) -> None:
    assert our_outcome(value) == stdlib_outcome(value)


@pytest.mark.parametrize(
    "value",
    [
        math.nan,
        {"x": [math.inf]},
        -math.inf,
        {1: "non-str key"},
        {(1, 2): "tuple key"},
        2**80,
        datetime.date(2024, 1, 1),
        "\ud800",
        {"a": None, "b": "null"},
    ],
)
def test_dumps_edge_cases_behave_like_the_stdlib(value: Any) -> None:
    assert our_outcome(value) == stdlib_outcome(value)


@given(json_values)
def test_loads_reads_back_what_dumps_wrote(value: Any) -> None:
    assert _json.loads(_json.dumps(value)) == value


@pytest.mark.parametrize(
    "text",
    ["1" * 30, "[12345678901234567890]", "NaN", "-Infinity", '{"a": 1, "a": 2}', '"\\u00e9"'],
)
def test_loads_agrees_with_the_stdlib(text: str) -> None:
    expected = json.loads(text)
    for data in (text, text.encode()):
        result = _json.loads(data)
        assert repr(result) == repr(expected)


def test_loads_raises_the_stdlib_error_on_invalid_json() -> None:
    with pytest.raises(json.JSONDecodeError):
        _json.loads(b"{not json")
