"""API.md §2's typed lifespan state: the lifespan yields an ``AppState``, handlers ask for it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import attrs

from framework import App, HTTPEndpoint


@attrs.frozen
class Todo:
    id: int
    title: str
    done: bool


class Database:
    """Stands in for a real database: opened and closed by the lifespan."""

    def __init__(self) -> None:
        self.open = False
        self.todos = [Todo(1, "write tests", False)]

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, url: str) -> AsyncIterator[Database]:
        db = cls()
        db.open = True
        try:
            yield db
        finally:
            db.open = False

    async def list_todos(self) -> list[Todo]:
        assert self.open, "the lifespan closed the database"
        return list(self.todos)


@attrs.define
class AppState:
    db: Database


@contextlib.asynccontextmanager
async def lifespan(app: App) -> AsyncIterator[AppState]:
    async with Database.connect("todo.sqlite3") as db:
        yield AppState(db=db)


class TodoList(HTTPEndpoint):
    path = "/todos"

    async def get(self, state: AppState) -> list[Todo]:
        return await state.db.list_todos()
