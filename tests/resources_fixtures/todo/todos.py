"""API.md §2's example resource, backed by a dict."""

from __future__ import annotations

from typing import Annotated

from framework import Header, HTTPEndpoint, HTTPException, Resource, raises, status_code
from tests.todo_models import NewTodo, Todo

resource = Resource(prefix="/todos", tags=["todos"])

TODOS: dict[int, Todo] = {}


class TodoList(HTTPEndpoint):
    path = ""

    async def get(self, limit: int = 50, offset: int = 0) -> list[Todo]:
        """List the todos."""
        return sorted(TODOS.values(), key=lambda todo: todo.id)[offset : offset + limit]

    @status_code(201)
    async def post(self, body: NewTodo) -> Todo:
        """Create a todo."""
        todo = Todo(id=max(TODOS, default=0) + 1, title=body.title, done=body.done)
        TODOS[todo.id] = todo
        return todo


class TodoItem(HTTPEndpoint):
    path = "/{todo_id:int}"

    @raises(404)
    async def get(self, todo_id: int, x_trace: Annotated[str | None, Header()] = None) -> Todo:
        todo = TODOS.get(todo_id)
        if todo is None:
            raise HTTPException(404, "todo not found")
        return todo

    @raises(404)
    async def delete(self, todo_id: int) -> None:
        if TODOS.pop(todo_id, None) is None:
            raise HTTPException(404, "todo not found")
