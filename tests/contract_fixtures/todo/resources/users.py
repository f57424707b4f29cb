"""A second resource module: a class defined here, one merely imported, and one without a path."""

import attrs

from framework import HTTPEndpoint, Resource
from tests.contract_fixtures.todo.resources.todos import TodoList  # noqa: F401  (imported, not wired here)

resource = Resource(prefix="/users", tags=["users"])


@attrs.frozen
class User:
    name: str


class UserList(HTTPEndpoint):
    path = ""

    async def get(self) -> list[User]:
        return [User("ada")]


class Me(HTTPEndpoint):
    path = "/me"
    name = "current_user"

    async def get(self) -> User:
        return User("me")


class UserBase(HTTPEndpoint):
    """No ``path``: a base class, not wired."""

    async def get(self) -> str:
        return "never served"
