"""Limits on a value (length, bounds, pattern, choices), wherever they were declared.

They come from ``annotated_types`` metadata (``Annotated[int, Ge(1), Le(100)]``) and from attrs'
own validators on model fields; the same object is enforced on requests and written to OpenAPI.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["Constraints"]


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
