from __future__ import annotations

from framework import HTTPEndpoint


class Bad(HTTPEndpoint):
    path = "/bad/{item_id}"

    async def get(self) -> None:
        return None
