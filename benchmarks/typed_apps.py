"""The typed benchmark: class-based typed endpoints against Starlette doing the same work by hand,
and FastAPI's equivalent with pydantic models.

Every app answers the same requests with identical bodies; ``run.py`` checks that before timing.

NOTE: no ``from __future__ import annotations`` here: FastAPI must see the real types of the
handlers' locally defined pydantic models.
"""

from collections.abc import Callable

import attrs

from benchmarks.apps import AppFactory
from framework.types import ASGIApp

TYPED_APPS: dict[str, AppFactory] = {}


def register(name: str) -> Callable[[AppFactory], AppFactory]:
    def decorate(factory: AppFactory) -> AppFactory:
        TYPED_APPS[name] = factory
        return factory

    return decorate


@attrs.frozen
class NewItem:
    name: str
    price: float
    tags: list[str] = attrs.Factory(list)


@attrs.frozen
class Item:
    id: int
    name: str
    price: float
    tags: list[str]


@attrs.frozen
class User:
    id: int


@attrs.frozen
class SearchResult:
    q: str
    limit: int


@register("framework")
def framework_typed_app() -> ASGIApp:
    from framework import HTTPEndpoint, status_code
    from framework.applications import App
    from framework.routing import Route

    class UserDetail(HTTPEndpoint):
        async def get(self, id: int) -> User:
            return User(id=id)

    class Search(HTTPEndpoint):
        async def get(self, q: str = "", limit: int = 10) -> SearchResult:
            return SearchResult(q=q, limit=limit)

    class Items(HTTPEndpoint):
        @status_code(201)
        async def post(self, body: NewItem) -> Item:
            return Item(id=1, name=body.name, price=body.price, tags=body.tags)

    return App(
        routes=[
            Route("/users/{id:int}", UserDetail),
            Route("/search", Search),
            Route("/items", Items),
        ]
    )


@register("starlette")
def starlette_untyped_app() -> ASGIApp:
    """The same work in plain Starlette: parse and check by hand, answer 422 on bad input."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def user(request: Request) -> Response:
        return JSONResponse({"id": request.path_params["id"]})

    async def search(request: Request) -> Response:
        params = request.query_params
        try:
            limit = int(params.get("limit", "10"))
        except ValueError:
            return JSONResponse({"detail": "limit"}, status_code=422)
        return JSONResponse({"q": params.get("q", ""), "limit": limit})

    async def items(request: Request) -> Response:
        data = await request.json()
        name, price, tags = data.get("name"), data.get("price"), data.get("tags", [])
        valid = (
            isinstance(name, str)
            and isinstance(price, (int, float))
            and not isinstance(price, bool)
            and isinstance(tags, list)
            and all(isinstance(tag, str) for tag in tags)
        )
        if not valid:
            return JSONResponse({"detail": "invalid"}, status_code=422)
        item = {"id": 1, "name": name, "price": float(price), "tags": tags}
        return JSONResponse(item, status_code=201)

    app: ASGIApp = Starlette(
        routes=[
            Route("/users/{id:int}", user),
            Route("/search", search),
            Route("/items", items, methods=["POST"]),
        ]
    )
    return app


@register("fastapi")
def fastapi_app() -> ASGIApp:
    from fastapi import FastAPI
    from pydantic import BaseModel

    class NewItemModel(BaseModel):
        name: str
        price: float
        tags: list[str] = []

    class ItemModel(BaseModel):
        id: int
        name: str
        price: float
        tags: list[str]

    class UserModel(BaseModel):
        id: int

    class SearchModel(BaseModel):
        q: str
        limit: int

    api = FastAPI(openapi_url=None)

    @api.get("/users/{id}")
    async def user(id: int) -> UserModel:
        return UserModel(id=id)

    @api.get("/search")
    async def search(q: str = "", limit: int = 10) -> SearchModel:
        return SearchModel(q=q, limit=limit)

    @api.post("/items", status_code=201)
    async def items(body: NewItemModel) -> ItemModel:
        return ItemModel(id=1, name=body.name, price=body.price, tags=body.tags)

    app: ASGIApp = api
    return app
