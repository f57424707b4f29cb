"""One of two modules serving GET /things."""

from framework import HTTPEndpoint


class ThingsA(HTTPEndpoint):
    path = "/things"

    async def get(self) -> str:
        return "a"
