"""Tags: create and list them (``PUT /todos/{id}/tags/{tag_id}`` attaches one)."""

from __future__ import annotations

from examples.todo.models import NewTag, Tag
from examples.todo.state import AppState
from framework import HTTPEndpoint, HTTPException, Resource, raises, status_code

__all__ = ["TagList"]

resource = Resource(prefix="/tags", tags=["tags"])


class TagList(HTTPEndpoint):
    path = ""

    async def get(self, state: AppState) -> list[Tag]:
        """List every tag, by name."""
        return await state.db.list_tags()

    @status_code(201)
    @raises(409)
    async def post(self, state: AppState, body: NewTag) -> Tag:
        """Create a tag; names are unique."""
        tag = await state.db.create_tag(body.name)
        if tag is None:
            raise HTTPException(409, f"a tag named {body.name!r} exists")
        return tag
