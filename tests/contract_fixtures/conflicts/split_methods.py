"""Several classes serving one path with different methods: allowed."""

from framework import HTTPEndpoint, status_code


class ReadThing(HTTPEndpoint):
    path = "/thing"

    async def get(self) -> str:
        return "read"


class WriteThing(HTTPEndpoint):
    path = "/thing"

    @status_code(201)
    async def post(self) -> str:
        return "written"
