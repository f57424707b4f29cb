from __future__ import annotations

from framework import HTTPEndpoint


class MoreThings(HTTPEndpoint):
    path = "/things"

    async def post(self) -> None:
        return None

    async def get(self) -> list[str]:
        return []
