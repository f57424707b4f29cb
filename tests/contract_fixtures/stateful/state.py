"""The state the lifespan yields, and the small database it holds."""

import contextlib
from collections.abc import AsyncIterator
from typing import ClassVar

import attrs

from framework import App


@attrs.frozen
class Todo:
    id: int
    title: str
    done: bool


class Database:
    """A stand-in for a real database: ``connect`` opens it, leaving the block closes it."""

    opened: ClassVar[list[str]] = []
    closed: ClassVar[list[str]] = []

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, name: str) -> AsyncIterator["Database"]:
        cls.opened.append(name)
        try:
            yield cls(name)
        finally:
            cls.closed.append(name)

    async def list_todos(self) -> list[Todo]:
        return [Todo(1, f"from {self.name}", False)]


@attrs.define
class AppState:
    db: Database


@contextlib.asynccontextmanager
async def lifespan(app: App) -> AsyncIterator[AppState]:
    async with Database.connect("todo.sqlite3") as db:
        yield AppState(db=db)
