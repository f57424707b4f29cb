"""A second resource module: it imports TodoList, which must not be wired a second time here."""

from __future__ import annotations

import attrs

from framework import HTTPEndpoint, Resource
from framework.requests import Request
from framework.responses import PlainTextResponse, Response
from tests.resources_fixtures.todo.todos import TodoList

resource = Resource(prefix="/users", tags=["users"])

__all__ = ["TodoList", "User", "UserItem", "UserList"]


@attrs.frozen
class User:
    name: str


class UserList(HTTPEndpoint):
    path = ""

    async def get(self) -> list[User]:
        return [User("ada")]


class UserItem(HTTPEndpoint):
    path = "/{name}"
    name = "user-detail"

    async def get(self, name: str) -> User:
        return User(name)


class UserAvatar(HTTPEndpoint):
    """Starlette-style: it takes the request and answers a response itself."""

    path = "/{name}/avatar"

    async def get(self, request: Request) -> Response:
        return PlainTextResponse(f"avatar of {request.path_params['name']}")


class Helper(HTTPEndpoint):
    """No ``path``: a base class or helper, never wired."""

    async def get(self) -> None:
        return None
