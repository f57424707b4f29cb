"""Path parameter convertors: the ``:type`` in ``/items/{item_id:int}``.

A convertor supplies the regex a parameter must match, turns the matched text into a value, and
turns a value back into text for ``url_path_for``.
"""

from __future__ import annotations

import math
import re
import uuid
from typing import Any, ClassVar, Generic, TypeVar

__all__ = [
    "CONVERTOR_TYPES",
    "PARAMETER_PATTERN",
    "Convertor",
    "FloatConvertor",
    "IntegerConvertor",
    "PathConvertor",
    "StringConvertor",
    "UUIDConvertor",
    "path_convertors",
    "register_url_convertor",
]

T = TypeVar("T")


class Convertor(Generic[T]):
    """Base class: set ``regex`` and implement ``convert`` and ``to_string``."""

    regex: ClassVar[str] = ""

    def convert(self, value: str) -> T:
        """Turn the text matched by ``regex`` into the parameter's value."""
        raise NotImplementedError()

    def to_string(self, value: T) -> str:
        """Turn a value into the text that goes into a URL path."""
        raise NotImplementedError()


# NOTE: validation failures in ``to_string`` raise AssertionError explicitly (not with ``assert``,
# which ``python -O`` strips) because Starlette users catch that type.


class StringConvertor(Convertor[str]):
    """One non-empty path segment (no ``/``); the default convertor."""

    regex = "[^/]+"

    def convert(self, value: str) -> str:
        """Return the text unchanged."""
        return value

    def to_string(self, value: str) -> str:
        """Check that the value fits in one path segment."""
        value = str(value)
        if "/" in value:
            raise AssertionError("May not contain path separators")
        if not value:
            raise AssertionError("Must not be empty")
        return value


class PathConvertor(Convertor[str]):
    """The rest of the path, ``/`` included, possibly empty."""

    regex = ".*"

    def convert(self, value: str) -> str:
        """Return the text unchanged."""
        return value

    def to_string(self, value: str) -> str:
        """Return the value as text."""
        return str(value)


class IntegerConvertor(Convertor[int]):
    """A non-negative decimal integer."""

    regex = "[0-9]+"

    def convert(self, value: str) -> int:
        """Parse the digits."""
        return int(value)

    def to_string(self, value: int) -> str:
        """Format a non-negative integer."""
        value = int(value)
        if value < 0:
            raise AssertionError("Negative integers are not supported")
        return str(value)


class FloatConvertor(Convertor[float]):
    """A non-negative decimal number without exponent."""

    regex = r"[0-9]+(\.[0-9]+)?"

    def convert(self, value: str) -> float:
        """Parse the number."""
        return float(value)

    def to_string(self, value: float) -> str:
        """Format a finite non-negative number in plain decimal notation."""
        value = float(value)
        if math.isnan(value):
            raise AssertionError("NaN values are not supported")
        if math.isinf(value):
            raise AssertionError("Infinite values are not supported")
        if value < 0.0:
            raise AssertionError("Negative floats are not supported")
        # NOTE: fixed notation, so the text always matches ``regex`` (``repr`` may use exponents).
        return f"{value:.20f}".rstrip("0").rstrip(".")


class UUIDConvertor(Convertor[uuid.UUID]):
    """A UUID in hex form, hyphens optional."""

    regex = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"

    def convert(self, value: str) -> uuid.UUID:
        """Parse the UUID."""
        return uuid.UUID(value)

    def to_string(self, value: uuid.UUID) -> str:
        """Format the UUID in its canonical hyphenated form."""
        return str(value)


CONVERTOR_TYPES: dict[str, Convertor[Any]] = {
    "str": StringConvertor(),
    "path": PathConvertor(),
    "int": IntegerConvertor(),
    "float": FloatConvertor(),
    "uuid": UUIDConvertor(),
}


def register_url_convertor(key: str, convertor: Convertor[Any]) -> None:
    """Make ``{name:key}`` available in route paths compiled after this call."""
    CONVERTOR_TYPES[key] = convertor


PARAMETER_PATTERN = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-zA-Z_][a-zA-Z0-9_]*))?}")
"""``{name}`` or ``{name:type}`` in a path template; anything else in braces is literal text."""


def path_convertors(path: str) -> dict[str, Convertor[Any]]:
    """The convertor of each parameter of a path template, in order; ``ValueError`` for an
    unknown convertor. ``routing.compile_path`` builds the route's regex from the same pattern."""
    found: dict[str, Convertor[Any]] = {}
    for param in PARAMETER_PATTERN.finditer(path):
        kind = param.group(2) or "str"
        convertor = CONVERTOR_TYPES.get(kind)
        if convertor is None:
            raise ValueError(f"Unknown path convertor '{kind}'")
        found[param.group(1)] = convertor
    return found
