"""A Starlette-style app, fully annotated: routes, a mount, middleware, a lifespan, TestClient."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from framework.applications import App
from framework.background import BackgroundTask
from framework.exceptions import HTTPException
from framework.middleware import Middleware
from framework.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from framework.middleware.cors import CORSMiddleware
from framework.middleware.gzip import GZipMiddleware
from framework.requests import Request
from framework.responses import JSONResponse, PlainTextResponse, Response
from framework.routing import Mount, Route, Router, WebSocketRoute
from framework.websockets import WebSocket
from testing.client import TestClient


async def home(request: Request) -> Response:
    return PlainTextResponse("Hello, world!")


async def user(request: Request) -> Response:
    reveal_type(request.path_params)  # R: dict[str, Any]
    user_id: int = request.path_params["user_id"]
    return JSONResponse({"id": user_id}, background=BackgroundTask(print, "served", user_id))


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    text = await websocket.receive_text()
    reveal_type(text)  # R: str
    await websocket.send_text(text)
    await websocket.close()


async def not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return PlainTextResponse(exc.detail, status_code=exc.status_code)


class Timing(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers["x-timing"] = "0"
        return response


@contextlib.asynccontextmanager
async def lifespan(app: App) -> AsyncIterator[dict[str, Any]]:
    yield {"greeting": "hello"}


users = Router(routes=[Route("/{user_id:int}", user, name="user")])

app = App(
    routes=[
        Route("/", home, name="home"),
        Mount("/users", app=users, name="users"),
        WebSocketRoute("/ws", echo),
    ],
    middleware=[
        Middleware(CORSMiddleware, allow_origins=["*"]),
        Middleware(GZipMiddleware, minimum_size=500),
    ],
    exception_handlers={404: not_found},
    lifespan=lifespan,
)
app.add_middleware(Timing)

with TestClient(app) as client:
    response = client.get("/")
    reveal_type(response)  # R: httpx._models.Response
    body: str = response.text
    path: str = app.url_path_for("users:user", user_id=1)
    with client.websocket_connect("/ws") as session:
        session.send_text("ping")
        reveal_type(session.receive_text())  # R: str
