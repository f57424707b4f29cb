"""The attrs models the API reads and writes: they are the request and response schemas."""

from __future__ import annotations

import enum
from typing import Any, Literal

import attrs

__all__ = [
    "ClientMessage",
    "NewTag",
    "NewTodo",
    "NewUser",
    "Role",
    "ServerMessage",
    "Stats",
    "Tag",
    "Todo",
    "TodoEvent",
    "TodoPatch",
    "User",
]

TITLE_MAX = 200
NAME_MAX = 50


def _text(max_len: int) -> Any:
    return attrs.validators.and_(attrs.validators.min_len(1), attrs.validators.max_len(max_len))


class Role(enum.Enum):
    """What a user may do."""

    ADMIN = "admin"
    MEMBER = "member"


@attrs.frozen
class NewTodo:
    """A todo to create."""

    title: str = attrs.field(validator=_text(TITLE_MAX))
    done: bool = False


@attrs.frozen
class TodoPatch:
    """Changes to a todo: only the fields given are changed."""

    title: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(_text(TITLE_MAX))
    )
    done: bool | None = None


@attrs.frozen
class Todo:
    """A stored todo, with the names of its tags."""

    id: int
    title: str
    done: bool
    tags: list[str] = attrs.field(factory=list)


@attrs.frozen
class NewTag:
    """A tag to create; names are unique."""

    name: str = attrs.field(validator=_text(NAME_MAX))


@attrs.frozen
class Tag:
    """A stored tag."""

    id: int
    name: str


@attrs.frozen
class NewUser:
    """A user to create."""

    name: str = attrs.field(validator=_text(NAME_MAX))
    role: Role = Role.MEMBER


@attrs.frozen
class User:
    """A stored user."""

    id: int
    name: str
    role: Role


@attrs.frozen
class Stats:
    """How many todos there are, by state."""

    total: int
    done: int
    open: int


@attrs.frozen
class ClientMessage:
    """What a client of the live feed sends."""

    action: Literal["subscribe", "unsubscribe", "ping"]


@attrs.frozen
class TodoEvent:
    """A change to a todo, pushed to every subscriber of the live feed."""

    kind: Literal["created", "updated", "deleted"]
    todo_id: int
    todo: Todo | None = None


@attrs.frozen
class ServerMessage:
    """The live feed's answer to a client message."""

    type: Literal["subscribed", "unsubscribed", "pong"]
