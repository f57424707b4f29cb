from __future__ import annotations

from framework import HTTPEndpoint


class Things(HTTPEndpoint):
    path = "/things"

    async def get(self) -> list[str]:
        return []
