"""``/items/{name}`` comes first and matches every path of ``/items/{item_id:int}``."""

from framework import HTTPEndpoint


class ItemByName(HTTPEndpoint):
    path = "/items/{name}"

    async def get(self, name: str) -> str:
        return name


class ItemById(HTTPEndpoint):
    path = "/items/{item_id:int}"

    async def get(self, item_id: int) -> int:
        return item_id
