"""The other module serving GET /things."""

from framework import HTTPEndpoint


class ThingsB(HTTPEndpoint):
    path = "/things"

    async def get(self) -> str:
        return "b"
