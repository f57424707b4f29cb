"""Users and statistics: a role enum, a session cookie, a ``Literal`` query parameter."""

from __future__ import annotations

from typing import Annotated, Literal

from annotated_types import Ge, Le

from examples.todo.models import NewUser, Stats, User
from examples.todo.state import AppState
from framework import Cookie, HTTPEndpoint, HTTPException, Resource, raises, status_code

__all__ = ["CurrentUser", "StatsView", "UserList"]

resource = Resource(tags=["users"])

UserId = Annotated[int, Ge(1), Le(2**63 - 1)]


class UserList(HTTPEndpoint):
    path = "/users"

    @status_code(201)
    async def post(self, state: AppState, body: NewUser) -> User:
        """Create a user (``role`` is ``admin`` or ``member``)."""
        return await state.db.create_user(body.name, body.role)


class CurrentUser(HTTPEndpoint):
    path = "/users/me"

    @raises(401)
    async def get(self, state: AppState, session: Annotated[UserId, Cookie()]) -> User:
        """The user whose id the ``session`` cookie holds."""
        user = await state.db.get_user(session)
        if user is None:
            raise HTTPException(401, "no such session")
        return user


class StatsView(HTTPEndpoint):
    path = "/stats"

    async def get(self, state: AppState, count: Literal["all", "done", "open"] = "all") -> Stats:
        """How many todos there are; ``count`` zeroes the figures it leaves out."""
        stats = await state.db.stats()
        if count == "done":
            return Stats(total=stats.done, done=stats.done, open=0)
        if count == "open":
            return Stats(total=stats.open, done=0, open=stats.open)
        return stats
