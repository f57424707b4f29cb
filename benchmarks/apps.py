"""The benchmarked endpoints, built the same way on each framework and as raw ASGI.

Every app answers the same requests with identical bodies; ``run.py`` checks that before timing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from framework.types import ASGIApp, Receive, Scope, Send

FILLER_ROUTES = 200
AppFactory = Callable[[], ASGIApp]
APPS: dict[str, AppFactory] = {}


def register(name: str) -> Callable[[AppFactory], AppFactory]:
    def decorate(factory: AppFactory) -> AppFactory:
        APPS[name] = factory
        return factory

    return decorate


@register("framework")
def framework_app() -> ASGIApp:
    from framework.applications import App
    from framework.requests import Request
    from framework.responses import JSONResponse, PlainTextResponse, Response
    from framework.routing import Route

    async def plaintext(request: Request) -> Response:
        return PlainTextResponse("Hello, world!")

    async def json_endpoint(request: Request) -> Response:
        return JSONResponse({"message": "Hello, world!"})

    async def user(request: Request) -> Response:
        return JSONResponse({"id": request.path_params["id"]})

    async def search(request: Request) -> Response:
        params = request.query_params
        return JSONResponse({"q": params.get("q", ""), "limit": int(params.get("limit", "10"))})

    async def last(request: Request) -> Response:
        return PlainTextResponse(request.path_params["x"])

    filler = [Route(f"/filler{i}/{{x}}", last) for i in range(FILLER_ROUTES)]
    return App(
        routes=[
            Route("/plaintext", plaintext),
            Route("/json", json_endpoint),
            Route("/users/{id:int}", user),
            Route("/search", search),
            *filler,
            Route("/last/{x}", last),
        ]
    )


@register("starlette")
def starlette_app() -> ASGIApp:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    async def plaintext(request: Request) -> Response:
        return PlainTextResponse("Hello, world!")

    async def json_endpoint(request: Request) -> Response:
        return JSONResponse({"message": "Hello, world!"})

    async def user(request: Request) -> Response:
        return JSONResponse({"id": request.path_params["id"]})

    async def search(request: Request) -> Response:
        params = request.query_params
        return JSONResponse({"q": params.get("q", ""), "limit": int(params.get("limit", "10"))})

    async def last(request: Request) -> Response:
        return PlainTextResponse(request.path_params["x"])

    filler = [Route(f"/filler{i}/{{x}}", last) for i in range(FILLER_ROUTES)]
    app: ASGIApp = Starlette(
        routes=[
            Route("/plaintext", plaintext),
            Route("/json", json_endpoint),
            Route("/users/{id:int}", user),
            Route("/search", search),
            *filler,
            Route("/last/{x}", last),
        ]
    )
    return app


@register("raw")
def raw_app() -> ASGIApp:
    """The floor: a hand-written ASGI callable doing the least work that gives the same answers."""
    from urllib.parse import parse_qsl

    text = [(b"content-type", b"text/plain; charset=utf-8")]
    js = [(b"content-type", b"application/json")]

    async def reply(send: Send, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(body)).encode()), *headers],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def dumps(obj: Any) -> bytes:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if path == "/plaintext":
            await reply(send, text, b"Hello, world!")
        elif path == "/json":
            await reply(send, js, dumps({"message": "Hello, world!"}))
        elif path.startswith("/users/"):
            await reply(send, js, dumps({"id": int(path[7:])}))
        elif path == "/search":
            params = dict(parse_qsl(scope["query_string"].decode("latin-1")))
            await reply(send, js, dumps({"q": params.get("q", ""), "limit": int(params["limit"])}))
        elif path.startswith("/last/"):
            await reply(send, text, path[6:].encode())
        else:
            await reply(send, text, b"Not Found")

    return app


SCALING_SIZES = (10, 100, 1000)
SCALING_APPS: dict[str, AppFactory] = {}


def _scaling_routes(route_class: Any, endpoint: Any, size: int) -> list[Any]:
    return [route_class(f"/r{i}/{{x}}", endpoint) for i in range(size)]


def framework_scaling_app() -> ASGIApp:
    """One mount per table size, each holding that many parameterised routes."""
    from framework.applications import App
    from framework.requests import Request
    from framework.responses import PlainTextResponse, Response
    from framework.routing import Mount, Route

    async def echo(request: Request) -> Response:
        return PlainTextResponse(request.path_params["x"])

    mounts = [Mount(f"/n{n}", routes=_scaling_routes(Route, echo, n)) for n in SCALING_SIZES]
    return App(routes=mounts)


def starlette_scaling_app() -> ASGIApp:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Mount, Route

    async def echo(request: Request) -> Response:
        return PlainTextResponse(request.path_params["x"])

    mounts = [Mount(f"/n{n}", routes=_scaling_routes(Route, echo, n)) for n in SCALING_SIZES]
    app: ASGIApp = Starlette(routes=mounts)
    return app


SCALING_APPS["framework"] = framework_scaling_app
SCALING_APPS["starlette"] = starlette_scaling_app
