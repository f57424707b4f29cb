"""Todos: list, create, read, change and delete them, and tag them."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le

from examples.todo.models import NewTodo, Todo, TodoEvent, TodoPatch
from examples.todo.state import AppState
from framework import Header, HTTPEndpoint, HTTPException, Resource, raises, status_code

__all__ = ["TodoId", "TodoItem", "TodoList", "TodoTag"]

resource = Resource(prefix="/todos", tags=["todos"])

MAX_ID = 2**63 - 1
"""SQLite's largest integer: an id past it cannot exist (and would not fit a query)."""

TodoId = Annotated[int, Ge(1), Le(MAX_ID)]


def _not_found() -> HTTPException:
    return HTTPException(404, "todo not found")


class TodoList(HTTPEndpoint):
    path = ""

    async def get(
        self,
        state: AppState,
        limit: Annotated[int, Ge(1), Le(100)] = 50,
        offset: Annotated[int, Ge(0), Le(MAX_ID)] = 0,
        done: bool | None = None,
    ) -> list[Todo]:
        """List todos in creation order, a page at a time.

        ``done`` keeps only the done (``true``) or open (``false``) ones.
        """
        return await state.db.list_todos(limit, offset, done)

    @status_code(201)
    async def post(self, state: AppState, body: NewTodo) -> Todo:
        """Create a todo; live-feed subscribers are told."""
        todo = await state.db.create_todo(body.title, body.done)
        state.broadcaster.publish(TodoEvent("created", todo.id, todo))
        return todo


class TodoItem(HTTPEndpoint):
    path = "/{todo_id:int}"

    @raises(404)
    async def get(
        self, state: AppState, todo_id: TodoId, x_trace: Annotated[str | None, Header()] = None
    ) -> Todo:
        """Read a todo. ``X-Trace`` is accepted for request tracing."""
        todo = await state.db.get_todo(todo_id)
        if todo is None:
            raise _not_found()
        return todo

    @raises(404)
    async def patch(self, state: AppState, todo_id: TodoId, body: TodoPatch) -> Todo:
        """Change a todo's title or state; live-feed subscribers are told."""
        todo = await state.db.update_todo(todo_id, body.title, body.done)
        if todo is None:
            raise _not_found()
        state.broadcaster.publish(TodoEvent("updated", todo.id, todo))
        return todo

    @raises(404)
    async def delete(self, state: AppState, todo_id: TodoId) -> None:
        """Delete a todo; live-feed subscribers are told."""
        if not await state.db.delete_todo(todo_id):
            raise _not_found()
        state.broadcaster.publish(TodoEvent("deleted", todo_id))


class TodoTag(HTTPEndpoint):
    path = "/{todo_id:int}/tags/{tag_id:int}"

    @raises(404)
    async def put(self, state: AppState, todo_id: TodoId, tag_id: TodoId) -> Todo:
        """Tag a todo (tagging twice changes nothing)."""
        todo = await state.db.attach_tag(todo_id, tag_id)
        if todo is None:
            raise HTTPException(404, "todo or tag not found")
        state.broadcaster.publish(TodoEvent("updated", todo.id, todo))
        return todo

    @raises(404)
    async def delete(self, state: AppState, todo_id: TodoId, tag_id: TodoId) -> Todo:
        """Untag a todo."""
        todo = await state.db.detach_tag(todo_id, tag_id)
        if todo is None:
            raise _not_found()
        state.broadcaster.publish(TodoEvent("updated", todo.id, todo))
        return todo
