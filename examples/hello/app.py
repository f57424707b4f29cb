"""A small app showing the toolkit: routes, a mount, a redirect, a streaming response,
a WebSocket echo and static files.

Serve it with ``uvicorn examples.hello.app:app``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio

from framework.applications import App
from framework.requests import Request
from framework.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from framework.routing import Mount, Route, WebSocketRoute
from framework.staticfiles import StaticFiles
from framework.websockets import WebSocket

STATIC_DIRECTORY = Path(__file__).parent / "static"


async def home(request: Request) -> Response:
    return PlainTextResponse("Hello, world!")


async def greet(request: Request) -> Response:
    name = request.path_params["name"]
    return JSONResponse({"greeting": f"Hello, {name}!"})


async def old_home(request: Request) -> Response:
    return RedirectResponse(url=request.url_for("home"))


async def countdown(request: Request) -> Response:
    start = int(request.query_params.get("from", "5"))
    if not 0 <= start <= 100:
        return PlainTextResponse("'from' must be between 0 and 100", status_code=400)

    async def numbers() -> AsyncIterator[str]:
        for n in range(start, -1, -1):
            yield f"{n}\n"
            await anyio.sleep(0)

    return StreamingResponse(numbers(), media_type="text/plain")


async def user_detail(request: Request) -> Response:
    return JSONResponse({"id": request.path_params["user_id"]})


async def user_list(request: Request) -> Response:
    return JSONResponse([{"id": 1}, {"id": 2}])


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    async for message in websocket.iter_text():
        await websocket.send_text(message)


app = App(
    routes=[
        Route("/", home, name="home"),
        Route("/hello/{name}", greet, name="greet"),
        Route("/old-home", old_home),
        Route("/countdown", countdown),
        Mount(
            "/users",
            name="users",
            routes=[
                Route("/", user_list, name="list"),
                Route("/{user_id:int}", user_detail, name="detail"),
            ],
        ),
        WebSocketRoute("/ws/echo", echo),
        Mount("/static", StaticFiles(directory=STATIC_DIRECTORY, html=True), name="static"),
    ]
)
