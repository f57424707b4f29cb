"""The todo models that the typed-layer tests share (the API.md example's NewTodo and Todo)."""

from __future__ import annotations

import attrs

__all__ = ["NewTodo", "Todo"]


@attrs.frozen
class NewTodo:
    """What a client sends to create a todo."""

    title: str = attrs.field(validator=attrs.validators.max_len(200))
    done: bool = False


@attrs.frozen
class Todo:
    id: int
    title: str
    done: bool
