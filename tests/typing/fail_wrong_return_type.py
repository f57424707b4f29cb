"""A typed handler must return what its annotation promises."""

from __future__ import annotations

import attrs

from framework import HTTPEndpoint, Response, status_code


@attrs.frozen
class Todo:
    id: int
    title: str


class TodoItem(HTTPEndpoint):
    path = "/todos/{todo_id:int}"

    async def get(self, todo_id: int) -> Todo:
        return "todo"  # E: return-value

    @status_code(201)
    async def post(self, title: str) -> list[Todo]:
        return [Todo(id=1, title=title), title]  # E: list-item

    async def delete(self, todo_id: int) -> None:
        return Response(status_code=204)  # E: return-value
