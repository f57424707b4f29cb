from __future__ import annotations

import contextlib
import contextvars
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from framework.applications import App
from framework.background import BackgroundTask
from framework.exceptions import HTTPException
from framework.middleware import Middleware
from framework.middleware.base import (
    BaseHTTPMiddleware,
    RequestResponseEndpoint,
    _StreamingResponse,
)
from framework.requests import ClientDisconnect, Request
from framework.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from framework.routing import Route, WebSocketRoute
from framework.types import ASGIApp, Message, Receive, Scope, Send
from framework.websockets import WebSocket

if TYPE_CHECKING:
    from testing.client import TestClient

TestClientFactory = Callable[..., "TestClient"]


class CustomHeader(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers["Custom-Header"] = "Example"
        return response


async def homepage(request: Request) -> Response:
    return PlainTextResponse("Homepage")


async def failing(request: Request) -> Response:
    raise RuntimeError("Exc")


async def http_error(request: Request) -> Response:
    raise HTTPException(status_code=418, detail="teapot")


async def streaming(request: Request) -> Response:
    async def numbers() -> AsyncIterator[str]:
        for n in range(3):
            yield f"{n}\n"

    return StreamingResponse(numbers(), media_type="text/plain")


async def echo_body(request: Request) -> Response:
    return Response(await request.body())


async def echo_ws(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(await websocket.receive_text())
    await websocket.close()


def make_app(*middleware: Middleware, routes: list[Any] | None = None) -> App:
    return App(
        routes=routes
        or [
            Route("/", homepage),
            Route("/fail", failing),
            Route("/teapot", http_error),
            Route("/stream", streaming),
            Route("/echo", echo_body, methods=["POST"]),
            WebSocketRoute("/ws", echo_ws),
        ],
        middleware=list(middleware),
    )


def bounded(app: ASGIApp) -> ASGIApp:
    """``app``, failing instead of hanging if it takes more than a few seconds."""

    async def wrapper(scope: Scope, receive: Receive, send: Send) -> None:
        with anyio.fail_after(10):
            await app(scope, receive, send)

    return wrapper


def test_custom_middleware(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(make_app(Middleware(CustomHeader)))
    response = client.get("/")
    assert response.status_code == 200
    assert response.text == "Homepage"
    assert response.headers["Custom-Header"] == "Example"
    assert response.headers["content-length"] == "8"


def test_dispatch_argument(test_client_factory: TestClientFactory) -> None:
    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers["X-Dispatch"] = request.url.path
        return response

    client = test_client_factory(make_app(Middleware(BaseHTTPMiddleware, dispatch=dispatch)))
    assert client.get("/").headers["x-dispatch"] == "/"


def test_dispatch_must_be_implemented(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(make_app(Middleware(BaseHTTPMiddleware)))
    with pytest.raises(NotImplementedError):
        client.get("/")


def test_call_next_returns_streaming_response(test_client_factory: TestClientFactory) -> None:
    seen: list[Response] = []

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        seen.append(response)
        return response

    client = test_client_factory(make_app(Middleware(BaseHTTPMiddleware, dispatch=dispatch)))
    client.get("/")
    (response,) = seen
    assert isinstance(response, _StreamingResponse)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


def test_streaming_passes_through(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(make_app(Middleware(CustomHeader)))
    with client.stream("GET", "/stream") as response:
        assert response.headers["Custom-Header"] == "Example"
        assert list(response.iter_lines()) == ["0", "1", "2"]


def test_dispatch_reads_response_body(test_client_factory: TestClientFactory) -> None:
    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        assert isinstance(response, _StreamingResponse)
        chunks = [chunk async for chunk in response.body_iterator]
        assert all(isinstance(chunk, bytes) for chunk in chunks)
        body = b"".join(chunk for chunk in chunks if isinstance(chunk, bytes))
        return PlainTextResponse(body.decode().upper(), status_code=response.status_code)

    client = test_client_factory(make_app(Middleware(BaseHTTPMiddleware, dispatch=dispatch)))
    assert client.get("/stream").text == "0\n1\n2\n"
    assert client.get("/").text == "HOMEPAGE"


def test_app_exception_propagates(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(make_app(Middleware(CustomHeader)))
    with pytest.raises(RuntimeError, match="Exc"):
        client.get("/fail")
    client = test_client_factory(make_app(Middleware(CustomHeader)), raise_server_exceptions=False)
    response = client.get("/fail")
    assert response.status_code == 500
    assert "custom-header" not in response.headers


def test_dispatch_can_handle_app_exception(test_client_factory: TestClientFactory) -> None:
    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        try:
            return await call_next(request)
        except RuntimeError as exc:
            return PlainTextResponse(f"handled {exc}", status_code=503)

    client = test_client_factory(make_app(Middleware(BaseHTTPMiddleware, dispatch=dispatch)))
    response = client.get("/fail")
    assert (response.status_code, response.text) == (503, "handled Exc")


def test_http_exception_is_a_response(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(make_app(Middleware(CustomHeader)))
    response = client.get("/teapot")
    assert (response.status_code, response.text) == (418, "teapot")
    assert response.headers["Custom-Header"] == "Example"


def test_dispatch_exception_propagates(test_client_factory: TestClientFactory) -> None:
    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        await call_next(request)
        raise ValueError("from dispatch")

    client = test_client_factory(make_app(Middleware(BaseHTTPMiddleware, dispatch=dispatch)))
    with pytest.raises(ValueError, match="from dispatch"):
        client.get("/")


def test_no_response_returned(test_client_factory: TestClientFactory) -> None:
    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        pass

    app = CustomHeader(silent)
    with pytest.raises(RuntimeError, match=r"No response returned\."):
        test_client_factory(app).get("/")


def test_exception_after_response_started(test_client_factory: TestClientFactory) -> None:
    async def broken_stream(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise RuntimeError("mid-stream")

    app = CustomHeader(broken_stream)
    with pytest.raises(RuntimeError, match="mid-stream"):
        test_client_factory(app).get("/")


def test_unexpected_message_is_an_error(test_client_factory: TestClientFactory) -> None:
    async def body_first(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.body", "body": b"x"})

    with pytest.raises(RuntimeError, match=r"Unexpected message: 'http\.response\.body'"):
        test_client_factory(CustomHeader(body_first)).get("/")

    async def odd_body(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.odd"})

    with pytest.raises(RuntimeError, match=r"Unexpected message: 'http\.response\.odd'"):
        test_client_factory(CustomHeader(odd_body)).get("/")


def test_dispatch_returns_own_response(test_client_factory: TestClientFactory) -> None:
    calls: list[str] = []

    async def endpoint(request: Request) -> Response:
        calls.append("endpoint")  # pragma: no cover
        return Response()  # pragma: no cover

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        return PlainTextResponse("short-circuit", status_code=401)

    app = make_app(Middleware(BaseHTTPMiddleware, dispatch=dispatch), routes=[Route("/", endpoint)])
    response = test_client_factory(app).get("/")
    assert (response.status_code, response.text) == (401, "short-circuit")
    assert calls == []


def test_abandoned_endless_stream_is_stopped(test_client_factory: TestClientFactory) -> None:
    stopped: list[bool] = []

    async def endless(request: Request) -> Response:
        async def forever() -> AsyncIterator[bytes]:
            try:
                while True:
                    yield b"x"
                    await anyio.sleep(0)
            finally:
                stopped.append(True)

        return StreamingResponse(forever())

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        await call_next(request)
        return PlainTextResponse("replaced")

    app = make_app(Middleware(BaseHTTPMiddleware, dispatch=dispatch), routes=[Route("/", endless)])
    response = test_client_factory(bounded(app)).get("/")
    assert response.text == "replaced"
    assert stopped == [True]


# -- background tasks --------------------------------------------------------


def test_background_tasks_run(test_client_factory: TestClientFactory) -> None:
    events: list[str] = []

    async def endpoint(request: Request) -> Response:
        return PlainTextResponse("ok", background=BackgroundTask(events.append, "app task"))

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.background = BackgroundTask(events.append, "middleware task")
        return response

    app = make_app(Middleware(BaseHTTPMiddleware, dispatch=dispatch), routes=[Route("/", endpoint)])
    assert test_client_factory(app).get("/").text == "ok"
    assert sorted(events) == ["app task", "middleware task"]


def test_response_sent_before_background_task_ends(test_client_factory: TestClientFactory) -> None:
    """The client has the whole response while the app's background task is still running."""
    events: list[str] = []
    started = anyio.Event()
    release = anyio.Event()

    async def slow_task() -> None:
        started.set()
        await release.wait()
        events.append("background done")

    async def endpoint(request: Request) -> Response:
        return PlainTextResponse("ok", background=BackgroundTask(slow_task))

    app = make_app(Middleware(CustomHeader), routes=[Route("/", endpoint)])

    async def outer(scope: Scope, receive: Receive, send: Send) -> None:
        async def watching_send(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                events.append("response complete")
                await started.wait()
                release.set()
            await send(message)

        await app(scope, receive, watching_send)

    assert test_client_factory(outer).get("/").text == "ok"
    assert events == ["response complete", "background done"]


# -- request bodies ------------------------------------------------------------


def test_body_read_in_dispatch_and_endpoint(test_client_factory: TestClientFactory) -> None:
    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        body = await request.body()
        response = await call_next(request)
        response.headers["x-seen"] = body.decode()
        return response

    client = test_client_factory(make_app(Middleware(BaseHTTPMiddleware, dispatch=dispatch)))
    response = client.post("/echo", content=b"payload")
    assert response.text == "payload"
    assert response.headers["x-seen"] == "payload"


def test_body_replayed_to_raw_asgi_app(test_client_factory: TestClientFactory) -> None:
    """An app that reads ``receive`` itself gets the body that dispatch already read."""
    received: list[Message] = []

    async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            received.append(message)
            if not message.get("more_body", False):
                break
        body = b"".join(m.get("body", b"") for m in received)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    class ReadsBody(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            assert await request.body() == b"abcdef"
            return await call_next(request)

    def chunks() -> Any:
        yield b"abc"
        yield b"def"

    response = test_client_factory(ReadsBody(raw_app)).post("/", content=chunks())
    assert response.content == b"abcdef"
    assert received == [{"type": "http.request", "body": b"abcdef", "more_body": False}]


def test_body_streamed_through_untouched(test_client_factory: TestClientFactory) -> None:
    """Without dispatch reading it, the body reaches the app chunk by chunk."""
    received: list[Message] = []

    async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            received.append(message)
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body"})

    def chunks() -> Any:
        yield b"abc"
        yield b"def"

    test_client_factory(CustomHeader(raw_app)).post("/", content=chunks())
    assert [m["body"] for m in received] == [b"abc", b"def", b""]
    assert [m["more_body"] for m in received] == [True, True, False]


def test_stream_consumed_in_dispatch(test_client_factory: TestClientFactory) -> None:
    """A body streamed by dispatch is gone: the app gets an empty body rather than hanging."""

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        chunks = [chunk async for chunk in request.stream()]
        response = await call_next(request)
        response.headers["x-streamed"] = b"".join(chunks).decode()
        return response

    app = make_app(Middleware(BaseHTTPMiddleware, dispatch=dispatch))
    response = test_client_factory(bounded(app)).post("/echo", content=b"payload")
    assert response.text == ""
    assert response.headers["x-streamed"] == "payload"


def test_partly_streamed_in_dispatch(test_client_factory: TestClientFactory) -> None:
    """The app gets the part of the body that dispatch did not take."""

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        async with contextlib.aclosing(request.stream()) as stream:
            assert await anext(stream) == b"first"
        return await call_next(request)

    def chunks() -> Any:
        yield b"first"
        yield b"second"
        yield b"third"

    client = test_client_factory(make_app(Middleware(BaseHTTPMiddleware, dispatch=dispatch)))
    assert client.post("/echo", content=chunks()).text == "secondthird"


def test_form_read_in_dispatch(test_client_factory: TestClientFactory) -> None:
    """A form is parsed as it streams in, so, as in Starlette, the app gets an empty body."""

    async def endpoint(request: Request) -> Response:
        form = await request.form()
        return JSONResponse(dict(form))

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        form = await request.form()
        response = await call_next(request)
        response.headers["x-form"] = ",".join(f"{k}={v}" for k, v in form.items())
        return response

    app = make_app(
        Middleware(BaseHTTPMiddleware, dispatch=dispatch),
        routes=[Route("/", endpoint, methods=["POST"])],
    )
    response = test_client_factory(bounded(app)).post("/", data={"a": "1", "b": "2"})
    assert response.json() == {}
    assert response.headers["x-form"] == "a=1,b=2"


def test_stacked_middleware_share_the_body(test_client_factory: TestClientFactory) -> None:
    seen: list[bytes] = []

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        seen.append(await request.body())
        return await call_next(request)

    app = make_app(
        Middleware(BaseHTTPMiddleware, dispatch=dispatch),
        Middleware(BaseHTTPMiddleware, dispatch=dispatch),
    )
    assert test_client_factory(app).post("/echo", content=b"data").text == "data"
    assert seen == [b"data", b"data"]


# -- disconnects -----------------------------------------------------------------


def _run(app: ASGIApp, messages: list[Message], scope_extra: dict[str, Any] | None = None) -> Any:
    """Call ``app`` with ``messages`` as what the client sends; return what the app sends."""
    sent: list[Message] = []

    async def main() -> None:
        inbox = iter(messages)

        async def receive() -> Message:
            message = next(inbox, None)
            if message is None:
                await anyio.sleep_forever()
            assert message is not None
            return message

        async def send(message: Message) -> None:
            sent.append(message)

        scope: Scope = {
            "type": "http",
            "method": "POST",
            "path": "/",
            "root_path": "",
            "query_string": b"",
            "headers": [],
            "scheme": "http",
            "server": ("testserver", 80),
            **(scope_extra or {}),
        }
        with anyio.fail_after(10):
            await app(scope, receive, send)

    anyio.run(main)
    return sent


def test_client_disconnect_reaches_the_app() -> None:
    """The client goes away mid-body: the app's read ends with ClientDisconnect."""
    outcome: list[str] = []

    async def endpoint(request: Request) -> Response:
        try:
            await request.body()
        except ClientDisconnect:
            outcome.append("disconnected")
            raise
        return Response()  # pragma: no cover

    app = CustomHeader(App(routes=[Route("/", endpoint, methods=["POST"])]))
    with pytest.raises(ClientDisconnect):
        _run(
            app,
            [
                {"type": "http.request", "body": b"part", "more_body": True},
                {"type": "http.disconnect"},
            ],
        )
    assert outcome == ["disconnected"]


def test_client_disconnect_while_dispatch_reads() -> None:
    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        try:
            await request.body()
        except ClientDisconnect:
            return PlainTextResponse("gone", status_code=499)
        return Response()  # pragma: no cover

    app = BaseHTTPMiddleware(App(routes=[]), dispatch=dispatch)
    sent = _run(app, [{"type": "http.disconnect"}])
    assert sent[0]["status"] == 499


def test_disconnect_after_body_is_passed_on() -> None:
    """After the body, the app's receive waits for (and gets) the client's disconnect."""
    seen: list[str] = []

    async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((await receive())["type"])
        seen.append((await receive())["type"])
        seen.append((await receive())["type"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})

    sent = _run(
        CustomHeader(raw_app),
        [
            {"type": "http.request", "body": b"x"},
            {"type": "http.request", "body": b"ignored"},
            {"type": "http.disconnect"},
        ],
    )
    assert seen == ["http.request", "http.disconnect", "http.disconnect"]
    assert sent[-1]["body"] == b"done"


def test_app_receive_after_response_is_a_disconnect() -> None:
    """Once the response is out, an app still listening is told the client has gone."""
    seen: list[str] = []

    async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()  # the (empty) body
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})
        seen.append((await receive())["type"])
        seen.append((await receive())["type"])

    sent = _run(CustomHeader(raw_app), [{"type": "http.request", "body": b""}])
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert seen == ["http.disconnect", "http.disconnect"]


def test_disconnect_signalled_by_send_error() -> None:
    """From ASGI 2.4 a server raises OSError from send once the client has gone."""

    async def raising_send(message: Message) -> None:
        raise OSError("client gone")

    async def main() -> None:
        app = CustomHeader(App(routes=[Route("/stream", streaming)]))
        scope: Scope = {
            "type": "http",
            "asgi": {"spec_version": "2.4"},
            "method": "GET",
            "path": "/stream",
            "root_path": "",
            "query_string": b"",
            "headers": [],
            "scheme": "http",
            "server": ("testserver", 80),
        }

        async def receive() -> Message:
            await anyio.sleep_forever()
            raise AssertionError  # pragma: no cover

        with anyio.fail_after(10):
            await app(scope, receive, raising_send)

    with pytest.raises(ClientDisconnect):
        anyio.run(main)


# -- other traffic ---------------------------------------------------------------


def test_websocket_and_lifespan_pass_through(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(make_app(Middleware(CustomHeader)))
    with client, client.websocket_connect("/ws") as websocket:
        websocket.send_text("hello")
        assert websocket.receive_text() == "hello"


def test_state_and_contextvars_reach_the_endpoint(test_client_factory: TestClientFactory) -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    async def endpoint(request: Request) -> Response:
        return JSONResponse({"state": request.state.user, "var": var.get()})

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        request.state.user = "alice"
        var.set("set in dispatch")
        return await call_next(request)

    app = make_app(Middleware(BaseHTTPMiddleware, dispatch=dispatch), routes=[Route("/", endpoint)])
    assert test_client_factory(app).get("/").json() == {
        "state": "alice",
        "var": "set in dispatch",
    }


def test_template_debug_info_passes_through(
    tmp_path: Path, test_client_factory: TestClientFactory
) -> None:
    from framework.templating import Jinja2Templates

    (tmp_path / "page.html").write_text("Hi {{ name }}")
    templates = Jinja2Templates(directory=tmp_path)

    async def page(request: Request) -> Response:
        return templates.TemplateResponse(request, "page.html", {"name": "there"})

    app = make_app(Middleware(CustomHeader), routes=[Route("/", page)])
    response = test_client_factory(app).get("/")
    assert response.text == "Hi there"
    assert response.headers["custom-header"] == "Example"
    assert response.template.name == "page.html"  # type: ignore[attr-defined]
    assert response.context["name"] == "there"  # type: ignore[attr-defined]


def test_pathsend_passes_through(tmp_path: Path) -> None:
    path = tmp_path / "file.txt"
    path.write_bytes(b"content")

    async def endpoint(request: Request) -> Response:
        return FileResponse(path)

    app = make_app(Middleware(CustomHeader), routes=[Route("/", endpoint)])
    sent = _run(
        app,
        [{"type": "http.request", "body": b""}],
        {"method": "GET", "extensions": {"http.response.pathsend": {}}},
    )
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.pathsend"]
    assert (b"custom-header", b"Example") in sent[0]["headers"]
    assert sent[1]["path"] == str(path)


def test_head_request(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(make_app(Middleware(CustomHeader)))
    response = client.head("/")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["custom-header"] == "Example"


def test_pending_receive_is_released_when_response_is_out() -> None:
    """An app task already waiting in ``receive`` is told of the end once the response is out."""
    seen: list[str] = []

    async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()  # the body
        async with anyio.create_task_group() as group:

            async def listen() -> None:
                seen.append((await receive())["type"])

            group.start_soon(listen)
            await anyio.sleep(0.01)
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"done"})

    sent = _run(CustomHeader(raw_app), [{"type": "http.request", "body": b""}])
    assert sent[1]["body"] == b"done"
    assert seen == ["http.disconnect"]


def test_disconnect_seen_by_dispatch_is_passed_on() -> None:
    seen: list[str] = []

    async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((await receive())["type"])
        seen.append((await receive())["type"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        await request.body()
        assert await request.is_disconnected()
        return await call_next(request)

    # The client's messages run out after the disconnect: asking the server again would hang.
    _run(
        BaseHTTPMiddleware(raw_app, dispatch=dispatch),
        [{"type": "http.request", "body": b"x"}, {"type": "http.disconnect"}],
    )
    assert seen == ["http.request", "http.disconnect"]


def test_abandoned_endless_stream_is_stopped_on_asgi_2_4() -> None:
    """Servers on ASGI 2.4 get no disconnect listener: the dropped chunks stop the stream."""
    stopped: list[bool] = []

    async def endless(request: Request) -> Response:
        async def forever() -> AsyncIterator[bytes]:
            try:
                while True:
                    yield b"x"
            finally:
                stopped.append(True)

        return StreamingResponse(forever())

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        await call_next(request)
        return PlainTextResponse("replaced")

    app = make_app(Middleware(BaseHTTPMiddleware, dispatch=dispatch), routes=[Route("/", endless)])
    sent = _run(
        app,
        [{"type": "http.request", "body": b""}],
        {"method": "GET", "asgi": {"spec_version": "2.4"}},
    )
    assert sent[1]["body"] == b"replaced"
    assert stopped == [True]


def test_abandoned_response_still_runs_its_background_task(
    test_client_factory: TestClientFactory,
) -> None:
    events: list[str] = []

    async def endpoint(request: Request) -> Response:
        return PlainTextResponse("ignored", background=BackgroundTask(events.append, "task"))

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        await call_next(request)
        return PlainTextResponse("replaced")

    app = make_app(Middleware(BaseHTTPMiddleware, dispatch=dispatch), routes=[Route("/", endpoint)])
    assert test_client_factory(bounded(app)).get("/").text == "replaced"
    assert events == ["task"]


# -- a body_iterator replaced by dispatch ----------------------------------------


async def _upper(chunks: AsyncIterator[bytes | Message]) -> AsyncIterator[bytes | Message]:
    async for chunk in chunks:
        yield chunk.upper() if isinstance(chunk, bytes) else chunk


class Upper(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        assert isinstance(response, _StreamingResponse)
        response.body_iterator = _upper(response.body_iterator)
        del response.headers["content-length"]
        return response


def test_replaced_body_iterator(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(make_app(Middleware(Upper)))
    assert client.get("/").text == "HOMEPAGE"
    with client.stream("GET", "/stream") as response:
        assert list(response.iter_lines()) == ["0", "1", "2"]

    async def letters(request: Request) -> Response:
        return StreamingResponse(iter(["a", "b"]))

    app = make_app(Middleware(Upper), routes=[Route("/", letters)])
    assert test_client_factory(app).get("/").text == "AB"


def test_replaced_body_iterator_with_pathsend(tmp_path: Path) -> None:
    path = tmp_path / "file.txt"
    path.write_bytes(b"content")

    async def endpoint(request: Request) -> Response:
        return FileResponse(path)

    app = make_app(Middleware(Upper), routes=[Route("/", endpoint)])
    sent = _run(
        app,
        [{"type": "http.request", "body": b""}],
        {"method": "GET", "extensions": {"http.response.pathsend": {}}},
    )
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.pathsend"]

    collected: list[bytes | Message] = []

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        assert isinstance(response, _StreamingResponse)
        collected.extend([chunk async for chunk in response.body_iterator])
        return PlainTextResponse("collected")

    app = make_app(Middleware(BaseHTTPMiddleware, dispatch=dispatch), routes=[Route("/", endpoint)])
    _run(
        app,
        [{"type": "http.request", "body": b""}],
        {"method": "GET", "extensions": {"http.response.pathsend": {}}},
    )
    assert collected == [{"type": "http.response.pathsend", "path": str(path)}]


def test_replaced_body_iterator_when_app_fails_mid_body() -> None:
    sent_to_client: list[Message] = []

    async def broken_stream(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise RuntimeError("mid-stream")

    async def main() -> None:
        async def receive() -> Message:
            await anyio.sleep_forever()
            raise AssertionError  # pragma: no cover

        async def send(message: Message) -> None:
            sent_to_client.append(message)

        scope: Scope = {"type": "http", "method": "GET", "path": "/", "headers": []}
        await Upper(broken_stream)(scope, receive, send)

    with pytest.raises(RuntimeError, match="mid-stream"):
        anyio.run(main)
    assert [m.get("body") for m in sent_to_client[1:]] == [b"PARTIAL", b""]
    assert sent_to_client[-1]["more_body"] is False


def test_exception_mid_body_closes_the_body() -> None:
    sent_to_client: list[Message] = []

    async def broken_stream(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise RuntimeError("mid-stream")

    async def main() -> None:
        async def receive() -> Message:
            await anyio.sleep_forever()
            raise AssertionError  # pragma: no cover

        async def send(message: Message) -> None:
            sent_to_client.append(message)

        scope: Scope = {"type": "http", "method": "GET", "path": "/", "headers": []}
        await CustomHeader(broken_stream)(scope, receive, send)

    with pytest.raises(RuntimeError, match="mid-stream"):
        anyio.run(main)
    assert [m.get("body") for m in sent_to_client[1:]] == [b"partial", b""]
    assert sent_to_client[-1]["more_body"] is False


def test_body_iterator_rejects_unexpected_messages(test_client_factory: TestClientFactory) -> None:
    async def odd_body(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.odd"})

    with pytest.raises(RuntimeError, match=r"Unexpected message: 'http\.response\.odd'"):
        test_client_factory(Upper(odd_body)).get("/")
