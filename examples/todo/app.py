"""The todo app: ``uvicorn examples.todo.app:app`` serves it (database: ``$TODO_DB``)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

from examples.todo.db import Database
from examples.todo.state import AppState
from framework import App

__all__ = ["AppState", "app", "create_app"]

DEFAULT_DB = "todo.sqlite3"


def create_app(db_path: str | None = None) -> App:
    """The app, on the SQLite database at ``db_path`` (by default ``$TODO_DB`` or
    ``todo.sqlite3``, read when the app starts)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[AppState]:
        path = db_path if db_path is not None else os.environ.get("TODO_DB", DEFAULT_DB)
        async with Database.connect(path) as db:
            yield AppState(db=db)

    return App(
        resources=["examples.todo.resources"],
        lifespan=lifespan,
        openapi_url="/openapi.json",
        title="Todo",
    )


app = create_app()
