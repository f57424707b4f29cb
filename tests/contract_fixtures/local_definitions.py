"""Apps built inside functions, in a module with postponed annotations (PEP 563).

Every annotation here is a string, and the names it refers to are the function's locals: the
way a test file often defines its models, endpoints and lifespan inside a test function.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import attrs

from framework import App, HTTPEndpoint, WebSocket, WebSocketEndpoint
from framework.routing import Route, WebSocketRoute


def body_app() -> App:
    """A local model as the body and the return type."""

    @attrs.frozen
    class Item:
        name: str
        price: float = 0.0

    class Items(HTTPEndpoint):
        async def post(self, body: Item) -> Item:
            return body

    return App(routes=[Route("/items", Items)])


def state_app() -> App:
    """A local lifespan yielding a local state type, asked for by a local handler.

    The lifespan's body does not name ``AppState``: only this function's locals resolve it.
    """

    @attrs.define
    class AppState:
        greeting: str

    made = AppState("hello")

    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[AppState]:
        yield made

    class Greet(HTTPEndpoint):
        async def get(self, state: AppState) -> str:
            return state.greeting

    return App(routes=[Route("/greet", Greet)], lifespan=lifespan)


def state_parts() -> tuple[
    Callable[[App], AbstractAsyncContextManager[object]], type[HTTPEndpoint]
]:
    """A local lifespan and handler, for an ``App`` built elsewhere: the lifespan's closure
    (its body names ``AppState``) resolves its annotation."""

    @attrs.define
    class AppState:
        greeting: str

    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[AppState]:
        yield AppState("from the closure")

    class Greet(HTTPEndpoint):
        async def get(self, state: AppState) -> str:
            return state.greeting

    return lifespan, Greet


def websocket_app() -> App:
    """A local message type for a typed WebSocket endpoint."""

    @attrs.frozen
    class Message:
        text: str

    class Echo(WebSocketEndpoint):
        encoding = "json"

        async def on_receive(self, websocket: WebSocket, data: Message) -> None:
            await websocket.send_json({"echo": data.text})

    return App(routes=[WebSocketRoute("/ws", Echo)])
