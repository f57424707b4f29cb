"""The todo store: SQLite through the standard library, every call kept off the event loop.

One connection serves the app; a lock lets one thread use it at a time, and each call runs in
a worker thread (``anyio.to_thread.run_sync``) so that a slow disk never blocks the event loop.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TypeVar

import anyio.to_thread

from examples.todo.models import Role, Stats, Tag, Todo, User

__all__ = ["Database"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS todos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tags (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS todo_tags (
    todo_id INTEGER NOT NULL REFERENCES todos (id) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (todo_id, tag_id)
);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    role TEXT NOT NULL
);
"""

_Row = tuple[int, str, int]


def _tags_of(conn: sqlite3.Connection, todo_ids: Iterable[int]) -> dict[int, list[str]]:
    ids = list(todo_ids)
    found: dict[int, list[str]] = {todo_id: [] for todo_id in ids}
    if not ids:
        return found
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        "SELECT todo_tags.todo_id, tags.name FROM todo_tags JOIN tags ON tags.id = todo_tags.tag_id"
        f" WHERE todo_tags.todo_id IN ({marks}) ORDER BY tags.name",
        ids,
    )
    for todo_id, name in rows:
        found[todo_id].append(name)
    return found


def _todos(conn: sqlite3.Connection, rows: list[_Row]) -> list[Todo]:
    tags = _tags_of(conn, (row[0] for row in rows))
    return [Todo(id=row[0], title=row[1], done=bool(row[2]), tags=tags[row[0]]) for row in rows]


def _get_todo(conn: sqlite3.Connection, todo_id: int) -> Todo | None:
    rows = conn.execute("SELECT id, title, done FROM todos WHERE id = ?", (todo_id,)).fetchall()
    todos = _todos(conn, rows)
    return todos[0] if todos else None


class Database:
    """The app's SQLite database; open it with :meth:`connect`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, path: str) -> AsyncIterator[Database]:
        """Open the database at ``path`` (``":memory:"`` works), create the schema, and close
        the connection on exit."""

        def open_db() -> sqlite3.Connection:
            # NOTE: the connection moves between worker threads; the lock serialises its use.
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA foreign_keys = ON")
            conn.executescript(_SCHEMA)
            return conn

        conn = await anyio.to_thread.run_sync(open_db)
        try:
            yield cls(conn)
        finally:
            await anyio.to_thread.run_sync(conn.close)

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def locked() -> T:
            with self._lock:
                conn = self._conn
                conn.execute("BEGIN")
                try:
                    result = work(conn)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
                return result

        return await anyio.to_thread.run_sync(locked)

    # --- todos

    async def list_todos(self, limit: int, offset: int, done: bool | None = None) -> list[Todo]:
        """Todos in creation order, a page at a time, optionally only done or open ones."""

        def work(conn: sqlite3.Connection) -> list[Todo]:
            if done is None:
                rows = conn.execute(
                    "SELECT id, title, done FROM todos ORDER BY id LIMIT ? OFFSET ?",
                    (limit, offset),
                ).fetchall()
            else:
                rows = conn.execute(
                    "SELECT id, title, done FROM todos WHERE done = ? ORDER BY id LIMIT ? OFFSET ?",
                    (int(done), limit, offset),
                ).fetchall()
            return _todos(conn, rows)

        return await self._run(work)

    async def create_todo(self, title: str, done: bool) -> Todo:
        """Store a new todo and return it."""

        def work(conn: sqlite3.Connection) -> Todo:
            cursor = conn.execute("INSERT INTO todos (title, done) VALUES (?, ?)", (title, done))
            return Todo(id=cursor.lastrowid or 0, title=title, done=done, tags=[])

        return await self._run(work)

    async def get_todo(self, todo_id: int) -> Todo | None:
        """The todo ``todo_id``, or None."""
        return await self._run(lambda conn: _get_todo(conn, todo_id))

    async def update_todo(
        self, todo_id: int, title: str | None = None, done: bool | None = None
    ) -> Todo | None:
        """Change the fields given of todo ``todo_id``; the todo after, or None if absent."""

        def work(conn: sqlite3.Connection) -> Todo | None:
            if title is not None:
                conn.execute("UPDATE todos SET title = ? WHERE id = ?", (title, todo_id))
            if done is not None:
                conn.execute("UPDATE todos SET done = ? WHERE id = ?", (done, todo_id))
            return _get_todo(conn, todo_id)

        return await self._run(work)

    async def delete_todo(self, todo_id: int) -> bool:
        """Delete todo ``todo_id`` (and its tag links); whether it existed."""

        def work(conn: sqlite3.Connection) -> bool:
            return conn.execute("DELETE FROM todos WHERE id = ?", (todo_id,)).rowcount > 0

        return await self._run(work)

    async def stats(self) -> Stats:
        """How many todos there are, done and open."""

        def work(conn: sqlite3.Connection) -> Stats:
            row = conn.execute("SELECT COUNT(*), COALESCE(SUM(done), 0) FROM todos").fetchone()
            total, done = row
            return Stats(total=total, done=done, open=total - done)

        return await self._run(work)

    # --- tags

    async def create_tag(self, name: str) -> Tag | None:
        """Store a new tag; None if the name is taken."""

        def work(conn: sqlite3.Connection) -> Tag | None:
            try:
                cursor = conn.execute("INSERT INTO tags (name) VALUES (?)", (name,))
            except sqlite3.IntegrityError:
                return None
            return Tag(id=cursor.lastrowid or 0, name=name)

        return await self._run(work)

    async def list_tags(self) -> list[Tag]:
        """Every tag, by name."""

        def work(conn: sqlite3.Connection) -> list[Tag]:
            rows = conn.execute("SELECT id, name FROM tags ORDER BY name").fetchall()
            return [Tag(id=row[0], name=row[1]) for row in rows]

        return await self._run(work)

    async def attach_tag(self, todo_id: int, tag_id: int) -> Todo | None:
        """Tag todo ``todo_id`` with tag ``tag_id``; the todo after, or None if either is absent."""

        def work(conn: sqlite3.Connection) -> Todo | None:
            try:
                conn.execute(
                    "INSERT OR IGNORE INTO todo_tags (todo_id, tag_id) VALUES (?, ?)",
                    (todo_id, tag_id),
                )
            except sqlite3.IntegrityError:
                return None
            return _get_todo(conn, todo_id)

        return await self._run(work)

    async def detach_tag(self, todo_id: int, tag_id: int) -> Todo | None:
        """Remove tag ``tag_id`` from todo ``todo_id``; the todo after, or None if absent."""

        def work(conn: sqlite3.Connection) -> Todo | None:
            conn.execute(
                "DELETE FROM todo_tags WHERE todo_id = ? AND tag_id = ?", (todo_id, tag_id)
            )
            return _get_todo(conn, todo_id)

        return await self._run(work)

    # --- users

    async def create_user(self, name: str, role: Role) -> User:
        """Store a new user and return it."""

        def work(conn: sqlite3.Connection) -> User:
            cursor = conn.execute(
                "INSERT INTO users (name, role) VALUES (?, ?)", (name, role.value)
            )
            return User(id=cursor.lastrowid or 0, name=name, role=role)

        return await self._run(work)

    async def get_user(self, user_id: int) -> User | None:
        """The user ``user_id``, or None."""

        def work(conn: sqlite3.Connection) -> User | None:
            row = conn.execute(
                "SELECT id, name, role FROM users WHERE id = ?", (user_id,)
            ).fetchone()
            return None if row is None else User(id=row[0], name=row[1], role=Role(row[2]))

        return await self._run(work)
