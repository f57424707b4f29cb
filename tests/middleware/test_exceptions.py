from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from framework import _keys
from framework._exception_handlers import TrackedSend
from framework.exceptions import HTTPException, WebSocketException
from framework.middleware.errors import ServerErrorMiddleware
from framework.middleware.exceptions import ExceptionMiddleware
from framework.requests import Request
from framework.responses import JSONResponse, PlainTextResponse, Response
from framework.routing import Route, Router, WebSocketRoute
from framework.types import ASGIApp, ExceptionHandler, Message, Receive, Scope, Send
from framework.websockets import WebSocket, WebSocketDisconnect
from testing.client import TestClient

TestClientFactory = Callable[..., TestClient]


def http_scope(path: str = "/") -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }


async def call(app: ASGIApp, scope: Scope, incoming: list[Message] | None = None) -> list[Message]:
    """Run ``app`` on ``scope`` and return every message it sent."""
    pending = list(incoming or [{"type": "http.request", "body": b"", "more_body": False}])
    sent: list[Message] = []

    async def receive() -> Message:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def raiser(exc: Exception) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise exc

    return app


def client_for(
    factory: TestClientFactory,
    exc: Exception,
    handlers: Mapping[Any, ExceptionHandler] | None = None,
) -> TestClient:
    return factory(ExceptionMiddleware(raiser(exc), handlers=handlers))


def test_http_exception_becomes_plain_text_with_its_headers(
    test_client_factory: TestClientFactory,
) -> None:
    exc = HTTPException(401, "no token", headers={"WWW-Authenticate": "Bearer"})
    response = client_for(test_client_factory, exc).get("/")
    assert response.status_code == 401
    assert response.text == "no token"
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


def test_http_exception_default_detail_is_the_reason_phrase(
    test_client_factory: TestClientFactory,
) -> None:
    response = client_for(test_client_factory, HTTPException(418)).get("/")
    assert (response.status_code, response.text) == (418, "I'm a Teapot")


@pytest.mark.parametrize("status_code", [204, 304])
def test_bodyless_statuses_get_an_empty_response(
    test_client_factory: TestClientFactory, status_code: int
) -> None:
    exc = HTTPException(status_code, headers={"x-kept": "yes"})
    response = client_for(test_client_factory, exc).get("/")
    assert response.status_code == status_code
    assert response.content == b""
    assert response.headers["x-kept"] == "yes"
    assert "content-type" not in response.headers


async def async_handler(request: Request, exc: Exception) -> Response:
    return JSONResponse({"async": type(exc).__name__}, status_code=409)


def sync_handler(request: Request, exc: Exception) -> Response:
    return JSONResponse({"sync": type(exc).__name__}, status_code=409)


@pytest.mark.parametrize(
    ("handler", "key"), [(async_handler, "async"), (sync_handler, "sync")], ids=["async", "sync"]
)
def test_handler_by_status_code(
    test_client_factory: TestClientFactory, handler: ExceptionHandler, key: str
) -> None:
    client = client_for(test_client_factory, HTTPException(404), {404: handler})
    response = client.get("/")
    assert response.status_code == 409
    assert response.json() == {key: "HTTPException"}


@pytest.mark.parametrize(
    ("handler", "key"), [(async_handler, "async"), (sync_handler, "sync")], ids=["async", "sync"]
)
def test_handler_by_exception_class(
    test_client_factory: TestClientFactory, handler: ExceptionHandler, key: str
) -> None:
    client = client_for(test_client_factory, KeyError("k"), {KeyError: handler})
    assert client.get("/").json() == {key: "KeyError"}


def test_nearest_class_in_the_mro_wins(test_client_factory: TestClientFactory) -> None:
    async def for_lookup(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("lookup")

    async def for_exception(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("exception")

    handlers = {Exception: for_exception, LookupError: for_lookup}
    assert client_for(test_client_factory, KeyError(), handlers).get("/").text == "lookup"
    assert client_for(test_client_factory, ValueError(), handlers).get("/").text == "exception"


def test_status_handler_beats_class_handler(test_client_factory: TestClientFactory) -> None:
    async def by_class(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("class")

    async def by_status(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("status")

    handlers: dict[Any, ExceptionHandler] = {HTTPException: by_class, 404: by_status}
    assert client_for(test_client_factory, HTTPException(404), handlers).get("/").text == "status"
    assert client_for(test_client_factory, HTTPException(400), handlers).get("/").text == "class"


def test_handler_receives_the_request(test_client_factory: TestClientFactory) -> None:
    async def handler(request: Request, exc: Exception) -> Response:
        return PlainTextResponse(f"{request.method} {request.url.path} {exc}")

    client = client_for(test_client_factory, HTTPException(400, "bad"), {HTTPException: handler})
    assert client.get("/some/where").text == "GET /some/where 400: bad"


def test_add_exception_handler_after_construction_takes_effect(
    test_client_factory: TestClientFactory,
) -> None:
    middleware = ExceptionMiddleware(raiser(ValueError("v")))
    client = test_client_factory(middleware)
    with pytest.raises(ValueError, match="v"):
        client.get("/")
    middleware.add_exception_handler(ValueError, sync_handler)
    assert client.get("/").json() == {"sync": "ValueError"}


def test_invalid_registrations_are_refused() -> None:
    with pytest.raises(TypeError, match="not 'x'"):
        ExceptionMiddleware(raiser(ValueError()), handlers={"x": sync_handler})
    middleware = ExceptionMiddleware(raiser(ValueError()))
    with pytest.raises(TypeError, match="must be callable"):
        middleware.add_exception_handler(ValueError, None)  # type: ignore[arg-type]


def test_unhandled_exception_propagates(test_client_factory: TestClientFactory) -> None:
    client = client_for(test_client_factory, RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom"):
        client.get("/")


@pytest.mark.anyio
async def test_handled_exception_after_response_started_is_an_error() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise HTTPException(400)

    with pytest.raises(RuntimeError, match="response already started") as info:
        await call(ExceptionMiddleware(app), http_scope())
    assert isinstance(info.value.__cause__, HTTPException)


@pytest.mark.anyio
async def test_tables_are_put_in_the_scope_once_built() -> None:
    seen: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope[_keys.EXCEPTION_HANDLERS])
        await PlainTextResponse("ok")(scope, receive, send)

    middleware = ExceptionMiddleware(app, handlers={404: sync_handler, KeyError: sync_handler})
    await call(middleware, http_scope())
    await call(middleware, http_scope())
    exception_handlers, status_handlers = seen[0]
    assert seen[1] is seen[0]
    assert status_handlers == {404: sync_handler}
    assert exception_handlers[KeyError] is sync_handler
    assert set(exception_handlers) == {HTTPException, WebSocketException, KeyError}


@pytest.mark.anyio
async def test_other_scopes_pass_straight_through() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)
        raise HTTPException(500)

    scope: Scope = {"type": "lifespan"}
    with pytest.raises(HTTPException):
        await call(ExceptionMiddleware(app), scope, [{"type": "lifespan.startup"}])
    assert _keys.EXCEPTION_HANDLERS not in seen[0]


def test_route_level_handling_uses_the_tables(test_client_factory: TestClientFactory) -> None:
    async def endpoint(request: Request) -> Response:
        raise KeyError("missing")

    router = Router([Route("/", endpoint)])
    client = test_client_factory(ExceptionMiddleware(router, handlers={KeyError: async_handler}))
    response = client.get("/")
    assert response.status_code == 409
    assert response.json() == {"async": "KeyError"}


def test_routes_without_the_middleware_let_exceptions_through(
    test_client_factory: TestClientFactory,
) -> None:
    async def endpoint(request: Request) -> Response:
        raise HTTPException(418)

    client = test_client_factory(Router([Route("/", endpoint)]))
    with pytest.raises(HTTPException) as info:
        client.get("/")
    assert info.value.status_code == 418


def test_websocket_exception_closes_with_its_code_and_reason(
    test_client_factory: TestClientFactory,
) -> None:
    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        raise WebSocketException(1008, "policy violated")

    client = test_client_factory(ExceptionMiddleware(Router([WebSocketRoute("/ws", endpoint)])))
    with client.websocket_connect("/ws") as websocket, pytest.raises(WebSocketDisconnect) as info:
        websocket.receive_text()
    assert (info.value.code, info.value.reason) == (1008, "policy violated")


def test_websocket_handler_receives_a_websocket(test_client_factory: TestClientFactory) -> None:
    received: list[object] = []

    async def handler(websocket: WebSocket, exc: Exception) -> None:
        received.append(websocket)
        await websocket.close(code=4000, reason=str(exc))

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        raise KeyError("gone")

    router = Router([WebSocketRoute("/ws", endpoint)])
    client = test_client_factory(ExceptionMiddleware(router, handlers={KeyError: handler}))
    with client.websocket_connect("/ws") as websocket, pytest.raises(WebSocketDisconnect) as info:
        websocket.receive_text()
    assert info.value.code == 4000
    assert isinstance(received[0], WebSocket)


@pytest.mark.anyio
async def test_http_exception_before_accept_is_a_denial_response() -> None:
    scope = http_scope("/ws")
    scope["type"] = "websocket"
    scope["extensions"] = {"websocket.http.response": {}}
    sent = await call(
        ExceptionMiddleware(raiser(HTTPException(403, "go away"))),
        scope,
        [{"type": "websocket.connect"}],
    )
    assert sent[0]["type"] == "websocket.http.response.start"
    assert sent[0]["status"] == 403
    assert b"".join(m.get("body", b"") for m in sent[1:]) == b"go away"


def test_debug_flag_is_kept() -> None:
    assert ExceptionMiddleware(raiser(ValueError()), debug=True).debug is True


@pytest.mark.anyio
async def test_stacked_layers_share_one_send_tracker() -> None:
    seen: list[Send] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(send)
        await PlainTextResponse("ok")(scope, receive, send)

    sent: list[Message] = []

    async def server_send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    stack = ServerErrorMiddleware(ExceptionMiddleware(app))
    await stack(http_scope(), receive, server_send)
    tracker = seen[0]
    assert isinstance(tracker, TrackedSend)
    assert tracker.send is server_send
    assert tracker.started is True
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
