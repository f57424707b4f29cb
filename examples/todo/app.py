"""The todo app: ``uvicorn examples.todo.app:app`` serves it (database: ``$TODO_DB``)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager as AsyncContextManager

from examples.todo.db import Database
from examples.todo.state import AppState
from framework import App

__all__ = ["AppState", "app", "create_app", "lifespan_for"]

DEFAULT_DB = "todo.sqlite3"


def lifespan_for(db_path: str | None = None) -> Callable[[App], AsyncContextManager[AppState]]:
    """The app's lifespan: it opens the SQLite database at ``db_path`` (by default ``$TODO_DB``
    or ``todo.sqlite3``, read when the app starts) and yields the ``AppState``."""

    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[AppState]:
        path = db_path if db_path is not None else os.environ.get("TODO_DB", DEFAULT_DB)
        async with Database.connect(path) as db:
            yield AppState(db=db)

    return lifespan


def create_app(db_path: str | None = None) -> App:
    """The todo app, on the SQLite database at ``db_path`` (see :func:`lifespan_for`)."""
    return App(
        resources=["examples.todo.resources"],
        lifespan=lifespan_for(db_path),
        openapi_url="/openapi.json",
        title="Todo",
    )


app = create_app()
