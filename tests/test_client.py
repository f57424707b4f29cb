from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest
import sniffio

from framework.types import ASGIApp, Message, Receive, Scope, Send
from framework.websockets import WebSocketDisconnect
from testing.client import (
    AsyncTestClient,
    TestClient,
    WebSocketDenialResponse,
)

TestClientFactory = Callable[..., TestClient]


# --- small raw ASGI apps -------------------------------------------------------------------


async def respond(send: Send, body: bytes = b"", status: int = 200, **extra: Any) -> None:
    headers = [(b"content-type", b"text/plain"), *extra.pop("headers", [])]
    await send({"type": "http.response.start", "status": status, "headers": headers, **extra})
    await send({"type": "http.response.body", "body": body})


async def read_body(receive: Receive) -> list[Message]:
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if not message.get("more_body", False):
            return messages


def scope_recorder() -> tuple[ASGIApp, list[Scope]]:
    scopes: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scopes.append(scope)
        await respond(send, b"ok")

    return app, scopes


async def echo_body(scope: Scope, receive: Receive, send: Send) -> None:
    messages = await read_body(receive)
    await respond(send, b"".join(m["body"] for m in messages))


async def echo_headers(scope: Scope, receive: Receive, send: Send) -> None:
    headers = {k.decode(): v.decode() for k, v in scope["headers"]}
    await respond(send, json.dumps(headers).encode())


def lifespan_app(
    log: list[str],
    *,
    state: dict[str, Any] | None = None,
    startup: str = "complete",
    shutdown: str = "complete",
) -> ASGIApp:
    """An app with a scripted lifespan that answers requests with its scope's state."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await respond(send, repr(sorted(scope["state"].items())).encode())
            return
        assert scope["type"] == "lifespan"
        log.append((await receive())["type"])
        scope["state"].update(state or {})
        if startup == "raise":
            raise ValueError("startup boom")
        await send({"type": f"lifespan.startup.{startup}", "message": "no database"})
        if startup == "failed":
            # A well-behaved app stops here; this one waits, and must not hang the client.
            await receive()
            log.append("unreachable")
        log.append((await receive())["type"])
        if shutdown == "raise":
            raise ValueError("shutdown boom")
        await send({"type": f"lifespan.shutdown.{shutdown}", "message": "disk full"})

    return app


# --- the package surface -------------------------------------------------------------------


def test_client_is_an_httpx_client_not_a_test_class() -> None:
    assert issubclass(TestClient, httpx.Client)
    assert issubclass(AsyncTestClient, httpx.AsyncClient)
    assert TestClient.__test__ is False


# --- the HTTP scope ------------------------------------------------------------------------


def test_http_scope(test_client_factory: TestClientFactory) -> None:
    app, scopes = scope_recorder()
    client = test_client_factory(app)
    client.get("/a%20b/c", params={"x": "1", "y": " "}, headers={"X-Custom": "yes"})
    scope = scopes[0]
    assert scope["type"] == "http"
    assert scope["http_version"] == "1.1"
    assert scope["method"] == "GET"
    assert scope["path"] == "/a b/c"
    assert scope["raw_path"] == b"/a%20b/c"
    assert scope["root_path"] == ""
    assert scope["scheme"] == "http"
    assert scope["query_string"] == b"x=1&y=+"
    assert scope["client"] == ("testclient", 50000)
    assert scope["server"] == ["testserver", 80]
    assert scope["extensions"] == {"http.response.debug": {}, "http.response.trailers": {}}
    assert scope["state"] == {}
    headers = dict(scope["headers"])
    assert headers[b"host"] == b"testserver"
    assert headers[b"user-agent"] == b"testclient"
    assert headers[b"x-custom"] == b"yes"
    assert all(name == name.lower() for name, _ in scope["headers"])


def test_http_scope_from_client_options(test_client_factory: TestClientFactory) -> None:
    app, scopes = scope_recorder()
    client = test_client_factory(
        app,
        base_url="https://example.org:8443",
        root_path="/api",
        client=("10.0.0.1", 1234),
        headers={"User-Agent": "custom"},
    )
    client.post("/items?q=1", content=b"x")
    scope = scopes[0]
    assert scope["method"] == "POST"
    assert scope["scheme"] == "https"
    assert scope["server"] == ["example.org", 8443]
    assert scope["root_path"] == "/api"
    assert scope["path"] == "/items"
    assert scope["query_string"] == b"q=1"
    assert scope["client"] == ("10.0.0.1", 1234)
    headers = dict(scope["headers"])
    assert headers[b"host"] == b"example.org:8443"
    assert headers[b"user-agent"] == b"custom"


def test_default_port_of_https(test_client_factory: TestClientFactory) -> None:
    app, scopes = scope_recorder()
    test_client_factory(app).get("https://secure.example/")
    assert scopes[0]["server"] == ["secure.example", 443]
    assert dict(scopes[0]["headers"])[b"host"] == b"secure.example"


def test_app_runs_on_the_chosen_backend(
    test_client_factory: TestClientFactory, anyio_backend_name: str
) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await respond(send, sniffio.current_async_library().encode())

    assert test_client_factory(app).get("/").text == anyio_backend_name


# --- request and response bodies -----------------------------------------------------------


def test_bytes_body_is_one_message(test_client_factory: TestClientFactory) -> None:
    received: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        received.extend(await read_body(receive))
        await respond(send)

    test_client_factory(app).post("/", content=b"hello")
    assert received == [{"type": "http.request", "body": b"hello"}]


def test_streamed_body_arrives_chunk_by_chunk(test_client_factory: TestClientFactory) -> None:
    received: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        received.extend(await read_body(receive))
        await respond(send)

    def chunks() -> Iterator[bytes]:
        yield b"one"
        yield b"two"

    test_client_factory(app).post("/", content=chunks())
    assert received == [
        {"type": "http.request", "body": b"one", "more_body": True},
        {"type": "http.request", "body": b"two", "more_body": True},
        {"type": "http.request", "body": b""},
    ]


def test_json_form_and_multipart_bodies(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(echo_body)
    assert client.post("/", json={"a": [1, 2]}).json() == {"a": [1, 2]}
    assert client.post("/", data={"a": "1"}).text == "a=1"
    upload = client.post("/", files={"f": ("name.txt", b"file body")}).text
    assert 'filename="name.txt"' in upload
    assert "file body" in upload


def test_disconnect_after_response_complete(test_client_factory: TestClientFactory) -> None:
    after: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await read_body(receive)
        async with anyio.create_task_group() as tg:

            async def listen() -> None:
                after.append(await receive())

            tg.start_soon(listen)
            await anyio.sleep(0.01)
            assert after == []  # nothing yet: the response is not complete
            await respond(send, b"done")

    assert test_client_factory(app).get("/").text == "done"
    assert after == [{"type": "http.disconnect"}]


def test_chunked_response_is_joined(test_client_factory: TestClientFactory) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 201, "headers": [(b"x-a", b"1")]})
        for part in (b"a", b"", b"b"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body"})

    response = test_client_factory(app).get("/")
    assert response.status_code == 201
    assert response.headers["x-a"] == "1"
    assert response.content == b"ab"
    assert "content-length" not in response.headers


def test_response_streams_and_early_close_stops_the_app(
    test_client_factory: TestClientFactory,
) -> None:
    sent: list[int] = []
    stopped = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            for i in range(1_000_000):
                await send({"type": "http.response.body", "body": b"%d," % i, "more_body": True})
                sent.append(i)
        finally:
            stopped.append(True)

    client = test_client_factory(app)
    with client.stream("GET", "/") as response:
        chunks = response.iter_bytes()
        assert [next(chunks), next(chunks)] == [b"0,", b"1,"]
        # NOTE: the app waits for the test to read: it is never far ahead.
        assert len(sent) <= 2
    assert stopped == [True]
    assert len(sent) <= 3


def test_head_drops_the_body(test_client_factory: TestClientFactory) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await respond(send, b"body", headers=[(b"content-length", b"4")])

    response = test_client_factory(app).head("/")
    assert response.status_code == 200
    assert response.headers["content-length"] == "4"
    assert response.content == b""


def test_background_work_finishes_before_the_request_returns(
    test_client_factory: TestClientFactory,
) -> None:
    log: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await respond(send, b"ok")
        await anyio.sleep(0.01)
        log.append("background done")

    test_client_factory(app).get("/")
    assert log == ["background done"]


def test_template_debug_and_trailers(test_client_factory: TestClientFactory) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        info = {"template": "index.html", "context": {"name": "x"}}
        await send({"type": "http.response.debug", "info": info})
        await send({"type": "http.response.start", "status": 200, "headers": [], "trailers": True})
        await send({"type": "http.response.body", "body": b"page"})
        await send(
            {"type": "http.response.trailers", "headers": [(b"x-t", b"1")], "more_trailers": True}
        )
        await send({"type": "http.response.trailers", "headers": [(b"x-u", b"2")]})

    response = test_client_factory(app).get("/")
    assert response.text == "page"
    assert response.template == "index.html"  # type: ignore[attr-defined]
    assert response.context == {"name": "x"}  # type: ignore[attr-defined]
    assert response.extensions["http.response.trailers"] == [(b"x-t", b"1"), (b"x-u", b"2")]
    assert response.extensions["http.response.debug"]["template"] == "index.html"


def test_debug_info_after_start_is_recorded(test_client_factory: TestClientFactory) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.debug", "info": {"template": "late.html"}})
        await send({"type": "http.response.body", "body": b"x"})

    response = test_client_factory(app).get("/")
    assert response.extensions["http.response.debug"] == {"template": "late.html"}


def test_no_template_attributes_without_debug_info(test_client_factory: TestClientFactory) -> None:
    response = test_client_factory(echo_body).get("/")
    assert not hasattr(response, "template")
    assert "http.response.debug" not in response.extensions


# --- headers, cookies, redirects -------------------------------------------------------------


def test_client_headers_and_per_request_headers(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(echo_headers, headers={"x-client": "c"})
    headers = client.get("/", headers={"x-request": "r"}).json()
    assert headers["x-client"] == "c"
    assert headers["x-request"] == "r"
    assert headers["user-agent"] == "testclient"
    assert "x-request" not in client.get("/").json()


def test_cookies_persist_between_requests(test_client_factory: TestClientFactory) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/login":
            await respond(send, headers=[(b"set-cookie", b"session=abc; Path=/")])
        else:
            await respond(send, dict(scope["headers"]).get(b"cookie", b"-"))

    client = test_client_factory(app, cookies={"theme": "dark"})
    assert client.get("/").text == "theme=dark"
    client.get("/login")
    assert client.cookies["session"] == "abc"
    assert client.get("/").text == "theme=dark; session=abc"


def redirecting_app() -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/old":
            await respond(send, status=307, headers=[(b"location", b"/new")])
        else:
            await respond(send, b"new place")

    return app


def test_redirects_are_followed(test_client_factory: TestClientFactory) -> None:
    response = test_client_factory(redirecting_app()).get("/old")
    assert response.status_code == 200
    assert response.text == "new place"
    assert str(response.url) == "http://testserver/new"
    assert [r.status_code for r in response.history] == [307]


def test_redirects_can_be_left_alone(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(redirecting_app(), follow_redirects=False)
    assert client.get("/old").status_code == 307
    assert client.get("/old", follow_redirects=True).status_code == 200


def test_timeout_argument_warns(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(echo_body)
    with pytest.deprecated_call(match="You should not use the 'timeout' argument"):
        client.get("/", timeout=1)


# --- server exceptions -----------------------------------------------------------------------


async def fails_before_response(scope: Scope, receive: Receive, send: Send) -> None:
    raise ValueError("before")


async def fails_after_start(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"partial", "more_body": True})
    raise ValueError("after")


async def fails_after_response(scope: Scope, receive: Receive, send: Send) -> None:
    await respond(send, b"complete")
    raise ValueError("background")


@pytest.mark.parametrize(
    ("app", "message"),
    [
        (fails_before_response, "before"),
        (fails_after_start, "after"),
        (fails_after_response, "background"),
    ],
)
def test_server_exceptions_are_raised(
    test_client_factory: TestClientFactory, app: ASGIApp, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        test_client_factory(app).get("/")


def test_server_exception_mid_stream_is_raised_while_reading(
    test_client_factory: TestClientFactory,
) -> None:
    client = test_client_factory(fails_after_start)
    with client.stream("GET", "/") as response:
        assert response.status_code == 200
        with pytest.raises(ValueError, match="after"):
            response.read()


def test_server_exceptions_become_500(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(fails_before_response, raise_server_exceptions=False)
    response = client.get("/")
    assert response.status_code == 500
    assert response.content == b""


def test_server_exceptions_after_start_keep_what_was_sent(
    test_client_factory: TestClientFactory,
) -> None:
    client = test_client_factory(fails_after_start, raise_server_exceptions=False)
    response = client.get("/")
    assert response.status_code == 200
    assert response.content == b"partial"
    client = test_client_factory(fails_after_response, raise_server_exceptions=False)
    assert client.get("/").text == "complete"


async def silent(scope: Scope, receive: Receive, send: Send) -> None:
    pass


def test_app_without_response(test_client_factory: TestClientFactory) -> None:
    with pytest.raises(AssertionError, match="did not receive any response"):
        test_client_factory(silent).get("/")
    assert test_client_factory(silent, raise_server_exceptions=False).get("/").status_code == 500


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        ([{"type": "http.response.body", "body": b""}], "Expected ASGI message"),
        (
            [
                {"type": "http.response.start", "status": 200},
                {"type": "http.response.start", "status": 200},
            ],
            "already started",
        ),
        (
            [
                {"type": "http.response.start", "status": 200},
                {"type": "http.response.body", "body": b""},
                {"type": "http.response.body", "body": b""},
            ],
            "response is complete",
        ),
        (
            [{"type": "http.response.start", "status": 200}, {"type": "websocket.accept"}],
            "Unexpected ASGI message type 'websocket.accept'",
        ),
    ],
)
def test_protocol_errors_are_raised_in_the_app(
    test_client_factory: TestClientFactory, messages: list[Message], error: str
) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in messages:
            await send(message)

    with pytest.raises(RuntimeError, match=error):
        test_client_factory(app).get("/")


# --- lifespan --------------------------------------------------------------------------------


def test_lifespan_runs_around_the_with_block(test_client_factory: TestClientFactory) -> None:
    log: list[str] = []
    client = test_client_factory(lifespan_app(log, state={"db": "conn"}))
    assert client.portal is None
    with client as entered:
        assert entered is client
        assert entered.portal is not None
        assert log == ["lifespan.startup"]
        assert client.get("/").text == "[('db', 'conn')]"
        assert client.app_state == {"db": "conn"}
    assert log == ["lifespan.startup", "lifespan.shutdown"]
    assert client.portal is None


def test_request_state_is_a_copy(test_client_factory: TestClientFactory) -> None:
    seen: list[dict[str, Any]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await receive()
            scope["state"]["count"] = 0
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        scope["state"]["count"] += 1
        seen.append(scope["state"])
        await respond(send)

    with test_client_factory(app) as client:
        client.get("/")
        client.get("/")
        assert client.app_state == {"count": 0}
    assert seen == [{"count": 1}, {"count": 1}]


def test_without_with_there_is_no_lifespan(test_client_factory: TestClientFactory) -> None:
    log: list[str] = []
    client = test_client_factory(lifespan_app(log, state={"db": "conn"}))
    assert client.get("/").text == "[]"
    assert log == []


def test_client_can_be_entered_again(test_client_factory: TestClientFactory) -> None:
    log: list[str] = []
    client = test_client_factory(lifespan_app(log))
    with client:
        pass
    assert client.get("/").status_code == 200
    with client:
        pass
    assert log == ["lifespan.startup", "lifespan.shutdown"] * 2


def test_startup_exception_is_raised(test_client_factory: TestClientFactory) -> None:
    log: list[str] = []
    client = test_client_factory(lifespan_app(log, startup="raise"))
    with pytest.raises(ValueError, match="startup boom"), client:
        pytest.fail("the block must not run")  # pragma: no cover
    assert client.portal is None


def test_startup_failure_is_raised(test_client_factory: TestClientFactory) -> None:
    log: list[str] = []
    client = test_client_factory(lifespan_app(log, startup="failed"))
    with pytest.raises(RuntimeError, match="Lifespan startup failed: no database"), client:
        pytest.fail("the block must not run")  # pragma: no cover
    assert log == ["lifespan.startup"]


def test_shutdown_exception_is_raised(test_client_factory: TestClientFactory) -> None:
    log: list[str] = []
    client = test_client_factory(lifespan_app(log, shutdown="raise"))
    with pytest.raises(ValueError, match="shutdown boom"), client:
        client.get("/")
    assert log == ["lifespan.startup", "lifespan.shutdown"]
    assert client.portal is None


def test_shutdown_failure_is_raised(test_client_factory: TestClientFactory) -> None:
    log: list[str] = []
    client = test_client_factory(lifespan_app(log, shutdown="failed"))
    with pytest.raises(RuntimeError, match="Lifespan shutdown failed: disk full"), client:
        pass


def test_unexpected_lifespan_message(test_client_factory: TestClientFactory) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "lifespan.shutdown.complete"})
        await anyio.sleep_forever()

    with (
        pytest.raises(RuntimeError, match=r"got 'lifespan\.shutdown\.complete'"),
        test_client_factory(app),
    ):
        pytest.fail("the block must not run")  # pragma: no cover


def test_app_without_lifespan_support(test_client_factory: TestClientFactory) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await respond(send, b"served")

    with test_client_factory(app) as client:
        assert client.get("/").text == "served"


def test_app_rejecting_the_lifespan_scope(test_client_factory: TestClientFactory) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError(f"unsupported scope {scope['type']}")

    with pytest.raises(RuntimeError, match="unsupported scope lifespan"), test_client_factory(app):
        pytest.fail("the block must not run")  # pragma: no cover


def test_lifespan_crash_while_running_is_raised_on_exit(
    test_client_factory: TestClientFactory,
) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "lifespan.startup.complete"})
        raise ValueError("crashed while serving")

    client = test_client_factory(app)
    with pytest.raises(ValueError, match="crashed while serving"), client:
        client.portal.call(anyio.sleep, 0.01)  # type: ignore[union-attr]


# --- WebSockets --------------------------------------------------------------------------------


def ws_echo(log: list[Message] | None = None, **accept: Any) -> ASGIApp:
    """Accepts, then echoes every message back until the client disconnects."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "websocket"
        message = await receive()
        assert message == {"type": "websocket.connect"}
        await send({"type": "websocket.accept", **accept})
        while True:
            message = await receive()
            if log is not None:
                log.append(message)
            if message["type"] == "websocket.disconnect":
                return
            reply = {"text": message.get("text"), "bytes": message.get("bytes")}
            await send({"type": "websocket.send", **reply})

    return app


def test_websocket_scope(test_client_factory: TestClientFactory) -> None:
    scopes: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scopes.append(scope)
        await ws_echo()(scope, receive, send)

    client = test_client_factory(app, root_path="/root", cookies={"c": "1"})
    with client.websocket_connect(
        "/ws/a%20b?q=1", subprotocols=["chat", "json"], headers={"X-Token": "t"}
    ):
        pass
    scope = scopes[0]
    assert scope["type"] == "websocket"
    assert scope["path"] == "/ws/a b"
    assert scope["raw_path"] == b"/ws/a%20b"
    assert scope["root_path"] == "/root"
    assert scope["scheme"] == "ws"
    assert scope["query_string"] == b"q=1"
    assert scope["client"] == ("testclient", 50000)
    assert scope["server"] == ["testserver", 80]
    assert scope["subprotocols"] == ["chat", "json"]
    assert scope["state"] == {}
    assert scope["extensions"] == {"websocket.http.response": {}}
    headers = dict(scope["headers"])
    assert headers[b"host"] == b"testserver"
    assert headers[b"connection"] == b"upgrade"
    assert headers[b"sec-websocket-version"] == b"13"
    assert headers[b"sec-websocket-key"]
    assert headers[b"sec-websocket-protocol"] == b"chat, json"
    assert headers[b"x-token"] == b"t"
    assert headers[b"cookie"] == b"c=1"
    assert headers[b"user-agent"] == b"testclient"


def test_websocket_scheme_follows_base_url(test_client_factory: TestClientFactory) -> None:
    scopes: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scopes.append(scope)
        await ws_echo()(scope, receive, send)

    client = test_client_factory(app, base_url="https://example.org")
    with client.websocket_connect("/ws"):
        pass
    with client.websocket_connect("ws://other.example:8080/x"):
        pass
    assert scopes[0]["scheme"] == "wss"
    assert scopes[0]["server"] == ["example.org", 443]
    assert scopes[0]["subprotocols"] == []
    assert scopes[1]["scheme"] == "ws"
    assert scopes[1]["server"] == ["other.example", 8080]


def test_websocket_accept_details(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(ws_echo(subprotocol="json", headers=[(b"x-server", b"1")]))
    with client.websocket_connect("/", subprotocols=["chat", "json"]) as session:
        assert session.accepted_subprotocol == "json"
        assert session.extra_headers == [(b"x-server", b"1")]
    with test_client_factory(ws_echo()).websocket_connect("/") as session:
        assert session.accepted_subprotocol is None
        assert session.extra_headers is None


def test_websocket_send_and_receive_every_form(test_client_factory: TestClientFactory) -> None:
    with test_client_factory(ws_echo()).websocket_connect("/") as session:
        session.send_text("hello")
        assert session.receive_text() == "hello"
        session.send_bytes(b"\x00\x01")
        assert session.receive_bytes() == b"\x00\x01"
        session.send_json({"name": "é", "n": [1, 2]})
        assert session.receive() == {
            "type": "websocket.send",
            "text": '{"name":"é","n":[1,2]}',
            "bytes": None,
        }
        session.send_json({"a": 1}, mode="binary")
        assert session.receive()["bytes"] == b'{"a":1}'
        session.send_json([1, "x"])
        assert session.receive_json() == [1, "x"]
        session.send_json({"b": True}, mode="binary")
        assert session.receive_json(mode="binary") == {"b": True}
        session.send({"type": "websocket.receive", "text": "raw"})
        assert session.receive_text() == "raw"


def test_websocket_client_close(test_client_factory: TestClientFactory) -> None:
    log: list[Message] = []
    with test_client_factory(ws_echo(log)).websocket_connect("/") as session:
        session.close(1001, "going away")
    assert log == [{"type": "websocket.disconnect", "code": 1001, "reason": "going away"}]


def test_websocket_exit_closes_normally(test_client_factory: TestClientFactory) -> None:
    log: list[Message] = []
    with test_client_factory(ws_echo(log)).websocket_connect("/") as session:
        session.send_text("x")
        session.receive_text()
    assert log[-1] == {"type": "websocket.disconnect", "code": 1000, "reason": None}


def test_websocket_exit_cancels_a_busy_app(test_client_factory: TestClientFactory) -> None:
    cancelled = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            cancelled.append(True)
            raise

    with test_client_factory(app).websocket_connect("/"):
        pass
    assert cancelled == [True]


def closing_app(code: int = 1008, reason: str = "policy") -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "bye"})
        await send({"type": "websocket.close", "code": code, "reason": reason})

    return app


def test_websocket_server_close(test_client_factory: TestClientFactory) -> None:
    with test_client_factory(closing_app()).websocket_connect("/") as session:
        assert session.receive_text() == "bye"
        with pytest.raises(WebSocketDisconnect) as info:
            session.receive_text()
        assert (info.value.code, info.value.reason) == (1008, "policy")
        assert not isinstance(info.value, WebSocketDenialResponse)
        # Once the app is gone every receive says so.
        with pytest.raises(WebSocketDisconnect) as info:
            session.receive()
        assert info.value.code == 1008


@pytest.mark.parametrize("method", ["receive_bytes", "receive_json"])
def test_websocket_server_close_raises_from_every_receive(
    test_client_factory: TestClientFactory, method: str
) -> None:
    with test_client_factory(closing_app(1000, "")).websocket_connect("/") as session:
        session.receive()
        with pytest.raises(WebSocketDisconnect) as info:
            getattr(session, method)()
        assert (info.value.code, info.value.reason) == (1000, "")


def test_websocket_raw_receive_returns_the_close(test_client_factory: TestClientFactory) -> None:
    with test_client_factory(closing_app()).websocket_connect("/") as session:
        session.receive()
        assert session.receive() == {"type": "websocket.close", "code": 1008, "reason": "policy"}


def test_websocket_app_returning_without_close(test_client_factory: TestClientFactory) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})

    with test_client_factory(app).websocket_connect("/") as session:
        with pytest.raises(WebSocketDisconnect) as info:
            session.receive_text()
        assert info.value.code == 1000


def test_websocket_denial_response(test_client_factory: TestClientFactory) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        headers = [(b"content-type", b"text/plain")]
        await send({"type": "websocket.http.response.start", "status": 401, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": b"not ", "more_body": True})
        await send({"type": "websocket.http.response.body", "body": b"allowed"})

    with (
        pytest.raises(WebSocketDenialResponse) as info,
        test_client_factory(app).websocket_connect("/"),
    ):
        pytest.fail("must not connect")  # pragma: no cover
    denial = info.value
    assert isinstance(denial, httpx.Response)
    assert isinstance(denial, WebSocketDisconnect)
    assert denial.status_code == 401
    assert denial.headers["content-type"] == "text/plain"
    assert denial.text == "not allowed"


def test_websocket_denial_cut_short(test_client_factory: TestClientFactory) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.http.response.start", "status": 400, "headers": []})
        await send({"type": "websocket.http.response.body", "body": b"so", "more_body": True})

    with (
        pytest.raises(WebSocketDenialResponse) as info,
        test_client_factory(app).websocket_connect("/"),
    ):
        pytest.fail("must not connect")  # pragma: no cover
    assert (info.value.status_code, info.value.content) == (400, b"so")


def test_websocket_denial_with_unexpected_message(test_client_factory: TestClientFactory) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.http.response.start", "status": 403, "headers": []})
        await send({"type": "websocket.send", "text": "?"})

    with (
        pytest.raises(RuntimeError, match=r"got 'websocket\.send'"),
        test_client_factory(app).websocket_connect("/"),
    ):
        pytest.fail("must not connect")  # pragma: no cover


def test_websocket_close_before_accept_is_a_denial(
    test_client_factory: TestClientFactory,
) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.close", "code": 1003, "reason": "unsupported"})

    with (
        pytest.raises(WebSocketDisconnect) as info,
        test_client_factory(app).websocket_connect("/"),
    ):
        pytest.fail("must not connect")  # pragma: no cover
    denial = info.value
    assert isinstance(denial, WebSocketDenialResponse)
    assert denial.status_code == 403
    assert (denial.code, denial.reason) == (1003, "unsupported")


def test_websocket_app_returning_before_accept(test_client_factory: TestClientFactory) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()

    with (
        pytest.raises(WebSocketDenialResponse) as info,
        test_client_factory(app).websocket_connect("/"),
    ):
        pytest.fail("must not connect")  # pragma: no cover
    assert info.value.status_code == 403


def test_websocket_unexpected_handshake_message(test_client_factory: TestClientFactory) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.send", "text": "too early"})

    with (
        pytest.raises(RuntimeError, match=r"Expected ASGI message 'websocket\.accept'"),
        test_client_factory(app).websocket_connect("/"),
    ):
        pytest.fail("must not connect")  # pragma: no cover


def test_websocket_exception_before_accept(test_client_factory: TestClientFactory) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise ValueError("handshake boom")

    with (
        pytest.raises(ValueError, match="handshake boom"),
        test_client_factory(app).websocket_connect("/"),
    ):
        pytest.fail("must not connect")  # pragma: no cover


def failing_ws_app() -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        raise ValueError("session boom")

    return app


def test_websocket_exception_surfaces_on_receive(test_client_factory: TestClientFactory) -> None:
    with test_client_factory(failing_ws_app()).websocket_connect("/") as session:
        session.send_text("x")
        with pytest.raises(ValueError, match="session boom"):
            session.receive()
        # Seen once, the exception is not raised again on leaving the block.


def test_websocket_exception_surfaces_on_exit(test_client_factory: TestClientFactory) -> None:
    with (
        pytest.raises(ValueError, match="session boom"),
        test_client_factory(failing_ws_app()).websocket_connect("/") as session,
    ):
        session.send_text("x")


def test_websocket_inside_lifespan_shares_state(test_client_factory: TestClientFactory) -> None:
    states: list[dict[str, Any]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan_app([], state={"k": "v"})(scope, receive, send)
            return
        states.append(scope["state"])
        await ws_echo()(scope, receive, send)

    with test_client_factory(app) as client:
        with client.websocket_connect("/") as session:
            session.send_text("x")
            assert session.receive_text() == "x"
        with client.websocket_connect("/") as first, client.websocket_connect("/") as second:
            first.send_text("1")
            second.send_text("2")
            assert (first.receive_text(), second.receive_text()) == ("1", "2")
    assert states == [{"k": "v"}] * 3


# --- AsyncTestClient ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_client_scope_and_backend(anyio_backend_name: str) -> None:
    scopes: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scopes.append(scope)
        await respond(send, sniffio.current_async_library().encode())

    response = await AsyncTestClient(app, root_path="/r").get("/p?x=1")
    assert response.text == anyio_backend_name
    scope = scopes[0]
    assert (scope["type"], scope["method"], scope["path"], scope["root_path"]) == (
        "http",
        "GET",
        "/p",
        "/r",
    )
    assert scope["query_string"] == b"x=1"
    assert dict(scope["headers"])[b"user-agent"] == b"testclient"


@pytest.mark.anyio
async def test_async_client_bodies() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"a"
        yield b"b"

    client = AsyncTestClient(echo_body)
    assert (await client.post("/", content=b"plain")).text == "plain"
    assert (await client.post("/", content=chunks())).text == "ab"
    response = await client.request("HEAD", "/", content=b"gone")
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.anyio
async def test_async_client_stops_reading_an_unread_body() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"a"
        yield b"never read"  # pragma: no cover

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await respond(send, b"early")

    assert (await AsyncTestClient(app).post("/", content=chunks())).text == "early"


@pytest.mark.anyio
async def test_async_client_streaming_response_and_disconnect() -> None:
    after: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"1", "more_body": True})
        await send({"type": "http.response.body", "body": b"2"})
        after.append(await receive())
        after.append(await receive())

    response = await AsyncTestClient(app).get("/")
    assert response.content == b"12"
    assert after == [{"type": "http.request", "body": b""}, {"type": "http.disconnect"}]


@pytest.mark.anyio
async def test_async_client_server_exceptions() -> None:
    with pytest.raises(ValueError, match="before"):
        await AsyncTestClient(fails_before_response).get("/")
    with pytest.raises(ValueError, match="after"):
        await AsyncTestClient(fails_after_start).get("/")
    with pytest.raises(AssertionError, match="did not receive any response"):
        await AsyncTestClient(silent).get("/")
    quiet = AsyncTestClient(fails_before_response, raise_server_exceptions=False)
    assert (await quiet.get("/")).status_code == 500
    quiet = AsyncTestClient(fails_after_start, raise_server_exceptions=False)
    assert (await quiet.get("/")).content == b"partial"


@pytest.mark.anyio
async def test_async_client_cookies_redirects_and_debug() -> None:
    client = AsyncTestClient(redirecting_app(), cookies={"a": "1"}, headers={"x-h": "v"})
    response = await client.get("/old")
    assert response.text == "new place"
    assert client.cookies["a"] == "1"
    assert client.headers["x-h"] == "v"
    client = AsyncTestClient(redirecting_app(), follow_redirects=False)
    assert (await client.get("/old")).status_code == 307


@pytest.mark.anyio
async def test_async_client_lifespan() -> None:
    log: list[str] = []
    client = AsyncTestClient(lifespan_app(log, state={"db": "conn"}))
    assert (await client.get("/")).text == "[]"
    async with client as entered:
        assert entered is client
        assert log == ["lifespan.startup"]
        assert (await client.get("/")).text == "[('db', 'conn')]"
    assert log == ["lifespan.startup", "lifespan.shutdown"]
    async with client:
        pass
    assert len(log) == 4


@pytest.mark.anyio
async def test_async_client_lifespan_failures() -> None:
    with pytest.raises(ValueError, match="startup boom"):
        async with AsyncTestClient(lifespan_app([], startup="raise")):
            pytest.fail("the block must not run")  # pragma: no cover
    with pytest.raises(RuntimeError, match="Lifespan startup failed"):
        async with AsyncTestClient(lifespan_app([], startup="failed")):
            pytest.fail("the block must not run")  # pragma: no cover
    with pytest.raises(ValueError, match="shutdown boom"):
        async with AsyncTestClient(lifespan_app([], shutdown="raise")):
            pass
