"""``/todos/{todo_id}`` before ``/todos/me``: the second can never match."""

from __future__ import annotations

from framework import HTTPEndpoint


class ById(HTTPEndpoint):
    path = "/todos/{todo_id}"

    async def get(self, todo_id: str) -> str:
        return todo_id


class Me(HTTPEndpoint):
    path = "/todos/me"

    async def get(self) -> str:
        return "me"
