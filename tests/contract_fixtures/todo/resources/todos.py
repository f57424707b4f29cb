"""API.md §2's ``todos`` module, as written, with the ``...`` bodies filled in minimally."""

from typing import Annotated

from framework import Header, HTTPEndpoint, HTTPException, Resource, raises, status_code
from tests.todo_models import NewTodo, Todo

resource = Resource(prefix="/todos", tags=["todos"])  # optional, one per module

STORE: dict[int, "Todo"] = {}
SEEN_TRACES: list[str | None] = []


class TodoList(HTTPEndpoint):
    path = ""  # relative to the resource's prefix

    async def get(self, limit: int = 50, offset: int = 0) -> list[Todo]:
        return [STORE[key] for key in sorted(STORE)][offset : offset + limit]

    @status_code(201)
    async def post(self, body: NewTodo) -> Todo:
        todo = Todo(id=max(STORE, default=0) + 1, title=body.title, done=body.done)
        STORE[todo.id] = todo
        return todo


class TodoItem(HTTPEndpoint):
    path = "/{todo_id:int}"

    @raises(404)
    async def get(self, todo_id: int, x_trace: Annotated[str | None, Header()] = None) -> Todo:
        SEEN_TRACES.append(x_trace)
        if todo_id in STORE:
            return STORE[todo_id]
        raise HTTPException(404, "todo not found")

    async def delete(self, todo_id: int) -> None:  # 204, empty body
        STORE.pop(todo_id, None)
