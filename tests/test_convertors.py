from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from framework.convertors import (
    CONVERTOR_TYPES,
    Convertor,
    FloatConvertor,
    IntegerConvertor,
    PathConvertor,
    StringConvertor,
    UUIDConvertor,
    register_url_convertor,
)


def test_builtin_convertor_types() -> None:
    assert {key: type(value) for key, value in CONVERTOR_TYPES.items()} == {
        "str": StringConvertor,
        "path": PathConvertor,
        "int": IntegerConvertor,
        "float": FloatConvertor,
        "uuid": UUIDConvertor,
    }


@pytest.mark.parametrize(
    ("convertor", "regex"),
    [
        (StringConvertor(), "[^/]+"),
        (PathConvertor(), ".*"),
        (IntegerConvertor(), "[0-9]+"),
        (FloatConvertor(), r"[0-9]+(\.[0-9]+)?"),
        (
            UUIDConvertor(),
            "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}",
        ),
    ],
)
def test_regexes_are_starlettes(convertor: Convertor[Any], regex: str) -> None:
    assert convertor.regex == regex


def test_base_convertor_is_abstract() -> None:
    base: Convertor[Any] = Convertor()
    with pytest.raises(NotImplementedError):
        base.convert("x")
    with pytest.raises(NotImplementedError):
        base.to_string("x")


def test_convert() -> None:
    assert StringConvertor().convert("abc") == "abc"
    assert PathConvertor().convert("a/b/") == "a/b/"
    assert IntegerConvertor().convert("007") == 7
    assert FloatConvertor().convert("1.50") == 1.5
    assert UUIDConvertor().convert("123e4567e89b12d3a456426614174000") == uuid.UUID(
        "123e4567-e89b-12d3-a456-426614174000"
    )


def test_to_string() -> None:
    assert StringConvertor().to_string("abc") == "abc"
    assert PathConvertor().to_string("a/b") == "a/b"
    assert IntegerConvertor().to_string(5) == "5"
    assert FloatConvertor().to_string(1.5) == "1.5"
    assert FloatConvertor().to_string(1.0) == "1"
    assert FloatConvertor().to_string(1e-20) == "0.00000000000000000001"
    assert FloatConvertor().to_string(1e20) == "100000000000000000000"
    value = uuid.UUID("123e4567-e89b-12d3-a456-426614174000")
    assert UUIDConvertor().to_string(value) == "123e4567-e89b-12d3-a456-426614174000"


def test_to_string_coerces_like_starlette() -> None:
    # Values of another type are accepted when they convert cleanly (e.g. from templates).
    assert IntegerConvertor().to_string("5") == "5"  # type: ignore[arg-type]
    assert FloatConvertor().to_string("1.5") == "1.5"  # type: ignore[arg-type]
    assert StringConvertor().to_string(5) == "5"  # type: ignore[arg-type]
    assert PathConvertor().to_string(5) == "5"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("convertor", "value", "message"),
    [
        (IntegerConvertor(), -1, "Negative integers are not supported"),
        (FloatConvertor(), -1.0, "Negative floats are not supported"),
        (FloatConvertor(), math.nan, "NaN values are not supported"),
        (FloatConvertor(), math.inf, "Infinite values are not supported"),
        (FloatConvertor(), -math.inf, "Infinite values are not supported"),
        (StringConvertor(), "a/b", "May not contain path separators"),
        (StringConvertor(), "", "Must not be empty"),
    ],
)
def test_to_string_rejects_values_with_starlettes_messages(
    convertor: Convertor[Any], value: Any, message: str
) -> None:
    with pytest.raises(AssertionError, match=f"^{re.escape(message)}$"):
        convertor.to_string(value)


@given(st.integers(min_value=0))
def test_integer_round_trip(value: int) -> None:
    text = IntegerConvertor().to_string(value)
    assert re.fullmatch(IntegerConvertor.regex, text)
    assert IntegerConvertor().convert(text) == value


@given(st.floats(min_value=0.0, allow_infinity=False, allow_nan=False))
def test_float_to_string_matches_regex_and_round_trips(value: float) -> None:
    text = FloatConvertor().to_string(value)
    assert re.fullmatch(FloatConvertor.regex, text)
    # Twenty decimal places: exact for large values, within 1e-20 for tiny ones.
    assert math.isclose(FloatConvertor().convert(text), value, rel_tol=1e-15, abs_tol=1e-20)


@given(st.text(min_size=1).filter(lambda text: "/" not in text))
def test_string_round_trip(value: str) -> None:
    text = StringConvertor().to_string(value)
    assert re.fullmatch(StringConvertor.regex, text)
    assert StringConvertor().convert(text) == value


@given(st.uuids())
def test_uuid_round_trip(value: uuid.UUID) -> None:
    text = UUIDConvertor().to_string(value)
    assert re.fullmatch(UUIDConvertor.regex, text)
    assert UUIDConvertor().convert(text) == value


class _BinaryConvertor(Convertor[int]):
    regex = "[01]+"

    def convert(self, value: str) -> int:
        return int(value, 2)

    def to_string(self, value: int) -> str:
        return format(value, "b")


@pytest.fixture
def clean_convertor_types() -> Iterator[None]:
    saved = dict(CONVERTOR_TYPES)
    yield
    CONVERTOR_TYPES.clear()
    CONVERTOR_TYPES.update(saved)


@pytest.mark.usefixtures("clean_convertor_types")
def test_register_url_convertor_is_used_by_routes() -> None:
    from framework.routing import Route, compile_path

    convertor = _BinaryConvertor()
    register_url_convertor("bin", convertor)
    assert CONVERTOR_TYPES["bin"] is convertor
    regex, path_format, param_convertors = compile_path("/n/{n:bin}")
    assert regex.pattern == "^/n/(?P<n>[01]+)$"
    assert path_format == "/n/{n}"
    assert param_convertors == {"n": convertor}

    async def endpoint(request: object) -> None: ...

    route = Route("/n/{n:bin}", endpoint)
    assert route.url_path_for("endpoint", n=5) == "/n/101"
    _, child_scope = route.matches({"type": "http", "path": "/n/101", "method": "GET"})
    assert child_scope["path_params"] == {"n": 5}
