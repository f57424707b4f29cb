from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from framework import _keys, endpoints
from framework.endpoints import HTTPEndpoint, WebSocketEndpoint
from framework.exceptions import HTTPException, WebSocketException
from framework.requests import Request
from framework.responses import PlainTextResponse, Response
from framework.typed import signature
from framework.typed.plan import OperationPlan
from framework.types import ASGIApp, Message, Scope
from framework.websockets import WebSocket, WebSocketDisconnect

TestClientFactory = Callable[..., Any]


# -- raw ASGI harness


def http_scope(method: str = "GET", **extra: Any) -> Scope:
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("testclient", 50000),
        "root_path": "",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
    }
    scope.update(extra)
    return scope


class Result:
    def __init__(self, messages: list[Message]) -> None:
        start = messages[0]
        self.status: int = start["status"]
        self.headers = {key.decode(): value.decode() for key, value in start["headers"]}
        self.body = b"".join(message.get("body", b"") for message in messages[1:])


async def call_http(app: ASGIApp, scope: Scope) -> Result:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return Result(sent)


def handler_tables(
    exception_handlers: dict[Any, Any], status_handlers: dict[int, Any] | None = None
) -> dict[str, Any]:
    return {_keys.EXCEPTION_HANDLERS: (exception_handlers, status_handlers or {})}


# -- HTTPEndpoint


class Items(HTTPEndpoint):
    async def get(self, request: Request) -> Response:
        return PlainTextResponse(f"get {request.url.path}")

    def post(self, request: Request) -> Response:
        return PlainTextResponse(f"post in thread {threading.get_ident()}")


@pytest.mark.anyio
async def test_dispatch_by_method() -> None:
    result = await call_http(Items, http_scope("GET", path="/items"))
    assert (result.status, result.body) == (200, b"get /items")


@pytest.mark.anyio
async def test_sync_handlers_run_in_the_thread_pool() -> None:
    result = await call_http(Items, http_scope("POST"))
    assert result.status == 200
    assert result.body != f"post in thread {threading.get_ident()}".encode()
    assert result.body.startswith(b"post in thread ")


@pytest.mark.anyio
async def test_head_falls_back_to_get() -> None:
    result = await call_http(Items, http_scope("HEAD", path="/x"))
    assert result.status == 200
    assert result.headers["content-length"] == str(len(b"get /x"))


@pytest.mark.anyio
async def test_head_handler_wins_over_get() -> None:
    class WithHead(Items):
        async def head(self, request: Request) -> Response:
            return Response(headers={"x-head": "1"})

    result = await call_http(WithHead, http_scope("HEAD"))
    assert result.headers["x-head"] == "1"


@pytest.mark.anyio
async def test_method_not_allowed_outside_an_app() -> None:
    result = await call_http(Items, http_scope("DELETE"))
    assert result.status == 405
    assert result.body == b"Method Not Allowed"
    assert result.headers["allow"] == "GET, HEAD, POST"


@pytest.mark.anyio
async def test_method_not_allowed_inside_an_app_raises() -> None:
    with pytest.raises(HTTPException) as info:
        await call_http(Items, http_scope("PUT", app=object()))
    assert info.value.status_code == 405
    assert info.value.headers == {"Allow": "GET, HEAD, POST"}


@pytest.mark.anyio
async def test_method_not_allowed_reaches_the_app_handlers() -> None:
    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)

    scope = http_scope("PATCH", app=object(), **handler_tables({HTTPException: on_http_error}))
    result = await call_http(Items, scope)
    assert (result.status, result.body) == (405, b"Method Not Allowed")
    assert result.headers["allow"] == "GET, HEAD, POST"


def test_allow_lists_every_handler_in_a_fixed_order() -> None:
    class Everything(HTTPEndpoint):
        async def options(self, request: Request) -> Response:
            return Response()

        async def delete(self, request: Request) -> Response:
            return Response()

        async def patch(self, request: Request) -> Response:
            return Response()

        async def put(self, request: Request) -> Response:
            return Response()

        async def post(self, request: Request) -> Response:
            return Response()

        async def head(self, request: Request) -> Response:
            return Response()

        async def get(self, request: Request) -> Response:
            return Response()

    class Nothing(HTTPEndpoint):
        pass

    class PostOnly(HTTPEndpoint):
        async def post(self, request: Request) -> Response:
            return Response()

    assert Everything._allowed_methods == (
        "GET",
        "HEAD",
        "POST",
        "PUT",
        "PATCH",
        "DELETE",
        "OPTIONS",
    )
    assert Nothing._allowed_methods == ()
    assert PostOnly._allowed_methods == ("POST",)
    assert HTTPEndpoint._allowed_methods == ()
    assert Everything.handler_names() == {
        method: method.lower() for method in Everything._allowed_methods
    }
    assert Nothing.handler_names() == {}
    assert PostOnly.handler_names() == {"POST": "post"}
    assert Items.handler_names() == {"GET": "get", "HEAD": "get", "POST": "post"}


@pytest.mark.anyio
async def test_a_class_without_handlers_allows_nothing() -> None:
    class Nothing(HTTPEndpoint):
        pass

    result = await call_http(Nothing, http_scope("GET"))
    assert (result.status, result.headers["allow"]) == (405, "")


@pytest.mark.anyio
@pytest.mark.parametrize("method", ["DISPATCH", "METHOD_NOT_ALLOWED", "PROPFIND", "get", "Get"])
async def test_other_methods_never_reach_a_method_of_the_class(method: str) -> None:
    class Tricky(HTTPEndpoint):
        async def get(self, request: Request) -> Response:
            return PlainTextResponse("get")

        async def propfind(self, request: Request) -> Response:
            return PlainTextResponse("propfind")

    result = await call_http(Tricky, http_scope(method))
    assert (result.status, result.headers["allow"]) == (405, "GET, HEAD")


@pytest.mark.anyio
async def test_uppercase_method_names_are_not_handlers() -> None:
    class Upper(HTTPEndpoint):
        async def GET(self, request: Request) -> Response:
            return PlainTextResponse("upper")

    result = await call_http(Upper, http_scope("GET"))
    assert result.status == 405


@pytest.mark.anyio
async def test_subclasses_inherit_and_override_handlers() -> None:
    class Child(Items):
        def post(self, request: Request) -> Response:
            return PlainTextResponse("child post")

        async def delete(self, request: Request) -> Response:
            return PlainTextResponse("child delete")

    assert Child._allowed_methods == ("GET", "HEAD", "POST", "DELETE")
    assert (await call_http(Child, http_scope("GET"))).body == b"get /"
    assert (await call_http(Child, http_scope("POST"))).body == b"child post"
    assert (await call_http(Child, http_scope("DELETE"))).body == b"child delete"
    assert Items._allowed_methods == ("GET", "HEAD", "POST")


@pytest.mark.anyio
async def test_handlers_are_looked_up_on_the_instance() -> None:
    class Patched(HTTPEndpoint):
        async def get(self, request: Request) -> Response:
            return PlainTextResponse("original")

    async def replacement(self: HTTPEndpoint, request: Request) -> Response:
        return PlainTextResponse("patched")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Patched, "get", replacement)
        assert (await call_http(Patched, http_scope("GET"))).body == b"patched"


@pytest.mark.anyio
async def test_a_class_served_alone_is_planned_once_per_handler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    planned: list[tuple[str, str]] = []

    def counting(cls: type, method_name: str, path: str, **options: Any) -> OperationPlan:
        planned.append((cls.__name__, method_name))
        return signature.plan_operation(cls, method_name, path, **options)

    monkeypatch.setattr(endpoints, "plan_operation", counting)

    class Numbers(HTTPEndpoint):
        async def get(self, n: int) -> Any:
            return {"n": n}

    attributes = dict(vars(Numbers))
    assert planned == []
    result = await call_http(Numbers, http_scope("GET", query_string=b"n=7"))
    assert result.body == b'{"n":7}'
    # HEAD is served by the GET handler, and its plan.
    result = await call_http(Numbers, http_scope("HEAD", query_string=b"n=8"))
    assert result.body == b'{"n":8}'
    result = await call_http(Numbers, http_scope("GET", query_string=b"n=x"))
    assert result.status == 422
    assert planned == [("Numbers", "get")]
    assert dict(vars(Numbers)) == attributes


@pytest.mark.anyio
async def test_handled_exceptions_become_responses() -> None:
    class Failing(HTTPEndpoint):
        async def get(self, request: Request) -> Response:
            raise ValueError("boom")

        def post(self, request: Request) -> Response:
            raise HTTPException(418)

    def on_value_error(request: Request, exc: Exception) -> Response:
        return PlainTextResponse(f"handled {exc}", status_code=500)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return PlainTextResponse(exc.detail, status_code=exc.status_code)

    tables = handler_tables({ValueError: on_value_error, HTTPException: on_http_error})
    result = await call_http(Failing, http_scope("GET", **tables))
    assert (result.status, result.body) == (500, b"handled boom")
    result = await call_http(Failing, http_scope("POST", **tables))
    assert (result.status, result.body) == (418, b"I'm a Teapot")


@pytest.mark.anyio
async def test_unhandled_exceptions_propagate() -> None:
    class Failing(HTTPEndpoint):
        async def get(self, request: Request) -> Response:
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await call_http(Failing, http_scope("GET"))
    with pytest.raises(ValueError, match="boom"):
        await call_http(Failing, http_scope("GET", **handler_tables({KeyError: print})))


def test_http_endpoint_needs_an_http_scope() -> None:
    async def noop() -> Message:
        return {}

    async def discard(message: Message) -> None:
        return None

    with pytest.raises(AssertionError):
        Items({"type": "websocket"}, noop, discard)


def test_http_endpoint_with_the_test_client(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(Items)
    assert client.get("/a").text == "get /a"
    response = client.put("/a")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"


# -- WebSocketEndpoint: a raw harness


CONNECT: Message = {"type": "websocket.connect"}


def text(data: str) -> Message:
    return {"type": "websocket.receive", "text": data}


def binary(data: bytes) -> Message:
    return {"type": "websocket.receive", "bytes": data}


def disconnect(code: int | None = 1000) -> Message:
    message: Message = {"type": "websocket.disconnect"}
    if code is not None:
        message["code"] = code
    return message


def websocket_scope(**extra: Any) -> Scope:
    scope: Scope = {
        "type": "websocket",
        "scheme": "ws",
        "server": ("testserver", 80),
        "root_path": "",
        "path": "/ws",
        "query_string": b"",
        "headers": [],
    }
    scope.update(extra)
    return scope


class Session:
    def __init__(self, *incoming: Message) -> None:
        self.incoming: Iterator[Message] = iter(incoming)
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        message = next(self.incoming, None)
        assert message is not None, "the endpoint read more messages than the test scripted"
        return message

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    async def run(self, endpoint: type[WebSocketEndpoint], **scope: Any) -> None:
        await endpoint(websocket_scope(**scope), self.receive, self.send)

    @property
    def replies(self) -> list[Any]:
        return [
            message.get("text", message.get("bytes"))
            for message in self.sent
            if message["type"] == "websocket.send"
        ]

    @property
    def close_codes(self) -> list[int]:
        return [message["code"] for message in self.sent if message["type"] == "websocket.close"]


class Recorder(WebSocketEndpoint):
    """Echoes what ``decode`` produced, and records the close code."""

    closed: list[int]

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        await websocket.send_text(repr(data))

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        type(self).closed.append(close_code)


def recorder(encoding: Any = None, **attributes: Any) -> type[Recorder]:
    return type("Endpoint", (Recorder,), {"encoding": encoding, "closed": [], **attributes})


@pytest.mark.anyio
async def test_default_callbacks_accept_and_ignore() -> None:
    session = Session(CONNECT, text("ignored"), disconnect(1001))
    await session.run(WebSocketEndpoint)
    assert session.sent == [{"type": "websocket.accept", "subprotocol": None, "headers": []}]


@pytest.mark.anyio
async def test_without_encoding_data_is_passed_as_received() -> None:
    endpoint = recorder()
    session = Session(CONNECT, text("a"), binary(b"b"), text(""), binary(b""), disconnect(1001))
    await session.run(endpoint)
    assert session.replies == ["'a'", "b'b'", "''", "b''"]
    assert endpoint.closed == [1001]


@pytest.mark.anyio
async def test_text_encoding() -> None:
    endpoint = recorder("text")
    with_none: Message = {"type": "websocket.receive", "text": "", "bytes": None}
    session = Session(CONNECT, text("a"), with_none, disconnect())
    await session.run(endpoint)
    assert session.replies == ["'a'", "''"]
    assert endpoint.closed == [1000]


@pytest.mark.anyio
async def test_bytes_encoding() -> None:
    endpoint = recorder("bytes")
    session = Session(CONNECT, binary(b"a"), disconnect(4000))
    await session.run(endpoint)
    assert session.replies == ["b'a'"]
    assert endpoint.closed == [4000]


@pytest.mark.anyio
async def test_json_encoding_from_text_and_binary_frames() -> None:
    endpoint = recorder("json")
    session = Session(CONNECT, text('{"a": [1, null]}'), binary('"é"'.encode()), disconnect(None))
    await session.run(endpoint)
    assert session.replies == ["{'a': [1, None]}", "'é'"]
    assert endpoint.closed == [1000]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("encoding", "message", "error"),
    [
        ("text", binary(b"x"), "Expected text websocket messages, but got bytes"),
        ("bytes", text("x"), "Expected bytes websocket messages, but got text"),
        ("json", text("{nope"), "Malformed JSON data received."),
        ("json", binary(b"\xff"), "Malformed JSON data received."),
        ("json", text("[" * 100_000), "Malformed JSON data received."),
    ],
)
async def test_undecodable_messages_close_with_1003(
    encoding: str, message: Message, error: str
) -> None:
    endpoint = recorder(encoding)
    session = Session(CONNECT, message)
    with pytest.raises(RuntimeError) as info:
        await session.run(endpoint)
    assert str(info.value) == error
    assert session.close_codes == [1003]
    assert session.replies == []
    assert endpoint.closed == [1011]


def test_unsupported_encoding_fails_at_class_creation() -> None:
    with pytest.raises(ValueError, match="unsupported encoding 'xml'") as info:
        recorder("xml")
    assert "test_endpoints.Endpoint" in str(info.value)


@pytest.mark.parametrize("size", [0, -1, 1.5, True, "10"])
def test_invalid_max_message_size_fails_at_class_creation(size: Any) -> None:
    with pytest.raises(ValueError, match="max_message_size must be a positive integer"):
        recorder(max_message_size=size)


@pytest.mark.anyio
async def test_handler_errors_close_with_1011_and_propagate() -> None:
    class Failing(Recorder):
        closed = []  # noqa: RUF012

        async def on_receive(self, websocket: WebSocket, data: Any) -> None:
            raise KeyError("boom")

    session = Session(CONNECT, text("x"))
    with pytest.raises(KeyError, match="boom"):
        await session.run(Failing)
    assert Failing.closed == [1011]


@pytest.mark.anyio
async def test_max_message_size_closes_with_1009_without_an_error() -> None:
    endpoint = recorder("text", max_message_size=4)
    session = Session(CONNECT, text("abcd"), text("abcde"))
    await session.run(endpoint)
    assert session.replies == ["'abcd'"]
    assert session.close_codes == [1009]
    assert endpoint.closed == [1009]


@pytest.mark.anyio
async def test_max_message_size_from_the_scope() -> None:
    endpoint = recorder("bytes")
    session = Session(CONNECT, binary(b"abc"))
    await session.run(endpoint, **{"framework.websocket.max_message_size": 2})
    assert endpoint.closed == [1009]


@pytest.mark.anyio
async def test_a_dropped_client_is_a_disconnect_not_an_error() -> None:
    class Sender(Recorder):
        closed = []  # noqa: RUF012

        async def on_receive(self, websocket: WebSocket, data: Any) -> None:
            raise WebSocketDisconnect(1006)

    session = Session(CONNECT, text("x"))
    await session.run(Sender)
    assert Sender.closed == [1006]


@pytest.mark.anyio
async def test_rejecting_in_on_connect() -> None:
    class Rejecting(Recorder):
        closed = []  # noqa: RUF012

        async def on_connect(self, websocket: WebSocket) -> None:
            await websocket.close(code=4001)

    session = Session(CONNECT, disconnect(1006))
    await session.run(Rejecting)
    assert session.close_codes == [4001]
    assert Rejecting.closed == [1006]


@pytest.mark.anyio
async def test_exceptions_go_to_the_app_handlers() -> None:
    class Refusing(Recorder):
        closed = []  # noqa: RUF012

        async def on_connect(self, websocket: WebSocket) -> None:
            await websocket.accept()

        async def on_receive(self, websocket: WebSocket, data: Any) -> None:
            raise WebSocketException(1008, "policy")

    seen: list[WebSocket] = []

    async def on_websocket_error(websocket: WebSocket, exc: Exception) -> None:
        assert isinstance(exc, WebSocketException)
        seen.append(websocket)
        await websocket.close(code=exc.code, reason=exc.reason)

    session = Session(CONNECT, text("x"))
    await session.run(Refusing, **handler_tables({WebSocketException: on_websocket_error}))
    assert isinstance(seen[0], WebSocket)
    assert session.sent[-1] == {"type": "websocket.close", "code": 1008, "reason": "policy"}
    assert Refusing.closed == [1011]


def test_websocket_endpoint_needs_a_websocket_scope() -> None:
    async def noop() -> Message:
        return {}

    async def discard(message: Message) -> None:
        return None

    with pytest.raises(AssertionError):
        WebSocketEndpoint(http_scope(), noop, discard)


def test_websocket_endpoint_with_the_test_client(test_client_factory: TestClientFactory) -> None:
    class Echo(WebSocketEndpoint):
        encoding = "json"

        async def on_receive(self, websocket: WebSocket, data: Any) -> None:
            await websocket.send_json({"echo": data})

    client = test_client_factory(Echo)
    close_codes: list[int] = []

    def converse() -> None:
        with client.websocket_connect("/") as session:
            session.send_json([1, 2])
            assert session.receive_json() == {"echo": [1, 2]}
            session.send_text("{bad")
            with pytest.raises(WebSocketDisconnect) as info:
                session.receive_text()
            close_codes.append(info.value.code)

    with pytest.raises(RuntimeError) as error:
        converse()
    assert str(error.value) == "Malformed JSON data received."
    assert close_codes == [1003]


# -- inside an App


def test_endpoints_in_an_app(test_client_factory: TestClientFactory) -> None:
    from framework.applications import App
    from framework.middleware import Middleware
    from framework.routing import Route, WebSocketRoute

    seen_by_middleware: list[BaseException] = []

    class Watcher:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
            try:
                await self.app(scope, receive, send)
            except BaseException as exc:
                seen_by_middleware.append(exc)
                raise

    class Failing(HTTPEndpoint):
        async def get(self, request: Request) -> Response:
            raise ValueError("boom")

    class Room(WebSocketEndpoint):
        encoding = "text"

        async def on_receive(self, websocket: WebSocket, data: Any) -> None:
            raise WebSocketException(4004, f"no room {data}")

    def on_value_error(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("handled", status_code=500)

    async def on_websocket_error(websocket: WebSocket, exc: Exception) -> None:
        assert isinstance(exc, WebSocketException)
        await websocket.close(code=exc.code, reason=exc.reason)

    app = App(
        routes=[Route("/items", Items), Route("/fail", Failing), WebSocketRoute("/ws", Room)],
        middleware=[Middleware(Watcher)],
        exception_handlers={ValueError: on_value_error, WebSocketException: on_websocket_error},
    )
    client = test_client_factory(app)
    response = client.delete("/items")
    assert (response.status_code, response.text) == (405, "Method Not Allowed")
    assert response.headers["allow"] == "GET, HEAD, POST"
    response = client.get("/fail")
    assert (response.status_code, response.text) == (500, "handled")
    with client.websocket_connect("/ws") as session:
        session.send_text("7")
        with pytest.raises(WebSocketDisconnect) as info:
            session.receive_text()
    assert (info.value.code, info.value.reason) == (4004, "no room 7")
    assert seen_by_middleware == []
