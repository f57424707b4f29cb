from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from framework.applications import App
from framework.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
    SimpleUser,
    UnauthenticatedUser,
)
from framework.middleware import Middleware
from framework.middleware.authentication import AuthenticationMiddleware
from framework.requests import HTTPConnection, Request
from framework.responses import JSONResponse, PlainTextResponse, Response
from framework.routing import Route, WebSocketRoute
from framework.types import Message, Receive, Scope, Send
from framework.websockets import WebSocket, WebSocketDisconnect

if TYPE_CHECKING:
    from testing.client import TestClient

TestClientFactory = Callable[..., "TestClient"]


class TokenAuth(AuthenticationBackend):
    """``Authorization: Token <name>``; the token "bad" is invalid."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        header = conn.headers.get("authorization")
        if header is None:
            return None
        token = header.removeprefix("Token ")
        if token == "bad":
            raise AuthenticationError("Invalid token")
        return AuthCredentials(["authenticated"]), SimpleUser(token)


BAD = {"Authorization": "Token bad"}


async def whoami(request: Request) -> Response:
    return JSONResponse(
        {
            "user": request.user.display_name,
            "user_type": type(request.user).__name__,
            "scopes": request.auth.scopes,
        }
    )


async def ws_whoami(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(websocket.user.display_name)
    await websocket.close()


def make_app(**options: Any) -> App:
    return App(
        routes=[Route("/", whoami), WebSocketRoute("/ws", ws_whoami)],
        middleware=[Middleware(AuthenticationMiddleware, TokenAuth(), **options)],
    )


def test_sets_user_and_auth(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(make_app())
    assert client.get("/").json() == {
        "user": "",
        "user_type": "UnauthenticatedUser",
        "scopes": [],
    }
    assert client.get("/", headers={"Authorization": "Token alice"}).json() == {
        "user": "alice",
        "user_type": "SimpleUser",
        "scopes": ["authenticated"],
    }


def test_websocket_gets_user(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(make_app())
    with client.websocket_connect("/ws", headers={"Authorization": "Token bob"}) as websocket:
        assert websocket.receive_text() == "bob"
    with client.websocket_connect("/ws") as websocket:
        assert websocket.receive_text() == ""


def test_anonymous_credentials_are_fresh_per_request() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    import anyio

    async def run() -> None:
        middleware = AuthenticationMiddleware(app, TokenAuth())

        async def receive() -> Message:
            raise AssertionError  # pragma: no cover

        async def send(message: Message) -> None:
            raise AssertionError  # pragma: no cover

        for _ in range(2):
            await middleware({"type": "http", "headers": []}, receive, send)

    anyio.run(run)
    first, second = seen
    assert isinstance(first["user"], UnauthenticatedUser)
    assert first["auth"] is not second["auth"]
    first["auth"].scopes.append("leak")
    assert second["auth"].scopes == []


def test_invalid_credentials_give_400(test_client_factory: TestClientFactory) -> None:
    response = test_client_factory(make_app()).get("/", headers=BAD)
    assert response.status_code == 400
    assert response.text == "Invalid token"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


def test_invalid_credentials_close_websocket(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(make_app())
    with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect("/ws", headers=BAD):
        pass  # pragma: no cover
    assert info.value.code == 1000


def test_custom_on_error(test_client_factory: TestClientFactory) -> None:
    seen: list[tuple[str, str]] = []

    def on_error(conn: HTTPConnection, exc: AuthenticationError) -> Response:
        seen.append((conn.scope["type"], str(exc)))
        return JSONResponse({"error": str(exc)}, status_code=401)

    client = test_client_factory(make_app(on_error=on_error))
    response = client.get("/", headers=BAD)
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid token"}
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws", headers=BAD):
        pass  # pragma: no cover
    assert seen == [("http", "Invalid token"), ("websocket", "Invalid token")]


def test_default_on_error() -> None:
    response = AuthenticationMiddleware.default_on_error(
        HTTPConnection({"type": "http"}), AuthenticationError("nope")
    )
    assert isinstance(response, PlainTextResponse)
    assert (response.status_code, response.body) == (400, b"nope")


def test_other_backend_errors_propagate(test_client_factory: TestClientFactory) -> None:
    class Broken(AuthenticationBackend):
        async def authenticate(
            self, conn: HTTPConnection
        ) -> tuple[AuthCredentials, BaseUser] | None:
            raise RuntimeError("backend down")

    app = App(
        routes=[Route("/", whoami)], middleware=[Middleware(AuthenticationMiddleware, Broken())]
    )
    with pytest.raises(RuntimeError, match="backend down"):
        test_client_factory(app).get("/")
    response = test_client_factory(app, raise_server_exceptions=False).get("/")
    assert response.status_code == 500


def test_lifespan_passes_through(test_client_factory: TestClientFactory) -> None:
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "lifespan"
        assert "user" not in scope
        while True:
            message = await receive()
            events.append(message["type"])
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return

    with test_client_factory(AuthenticationMiddleware(app, TokenAuth())):
        pass
    assert events == ["lifespan.startup", "lifespan.shutdown"]
