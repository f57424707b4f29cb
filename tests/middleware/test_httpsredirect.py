from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from framework.middleware.httpsredirect import HTTPSRedirectMiddleware
from framework.responses import PlainTextResponse
from framework.types import Message, Receive, Scope, Send

if TYPE_CHECKING:
    from testing.client import TestClient

TestClientFactory = Callable[..., "TestClient"]


async def ok_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.accept"})
        return
    await PlainTextResponse("ok")(scope, receive, send)


def make_scope(host: str | None, **extra: Any) -> Scope:
    scope: Scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "root_path": "",
        "query_string": b"",
        "server": ("example.com", 80),
        "headers": [] if host is None else [(b"host", host.encode("latin-1"))],
    }
    scope.update(extra)
    return scope


async def call(scope: Scope) -> list[Message]:
    messages: list[Message] = []

    async def receive() -> Message:
        if scope["type"] == "websocket":
            return {"type": "websocket.connect"}
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    await HTTPSRedirectMiddleware(ok_app)(scope, receive, send)
    return messages


async def location(host: str | None, **extra: Any) -> str:
    start = (await call(make_scope(host, **extra)))[0]
    assert start["status"] == 307
    location: bytes = dict(start["headers"])[b"location"]
    return location.decode()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("example.com", "https://example.com/"),
        ("example.com:80", "https://example.com/"),
        ("example.com:443", "https://example.com/"),
        ("example.com:0080", "https://example.com/"),
        ("example.com:8080", "https://example.com:8080/"),
        ("[::1]", "https://[::1]/"),
        ("[::1]:80", "https://[::1]/"),
        ("[::1]:8443", "https://[::1]:8443/"),
    ],
)
async def test_http_redirects_to_https_dropping_default_ports(host: str, expected: str) -> None:
    assert await location(host) == expected


@pytest.mark.anyio
async def test_path_and_query_are_kept() -> None:
    url = await location("example.com", path="/a b/ä", query_string=b"x=1&y=%20")
    assert url == "https://example.com/a%20b/%C3%A4?x=1&y=%20"


@pytest.mark.anyio
@pytest.mark.parametrize(
    "host", ["bad host", "evil.com/path", "u:p@evil.com", "example.com:abc", "[::1", ""]
)
async def test_invalid_host_header_is_not_echoed(host: str) -> None:
    assert await location(host, server=("10.0.0.1", 8000)) == "https://10.0.0.1:8000/"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("server", "expected"),
    [
        (("10.0.0.1", 80), "https://10.0.0.1/"),
        (("10.0.0.1", 443), "https://10.0.0.1/"),
        (("10.0.0.1", 8000), "https://10.0.0.1:8000/"),
        (("::1", 8000), "https://[::1]:8000/"),
        (("sock", None), "https://sock/"),
    ],
)
async def test_without_host_header_the_server_address_is_used(
    server: tuple[str, int | None], expected: str
) -> None:
    assert await location(None, server=server) == expected


@pytest.mark.anyio
async def test_no_host_at_all_is_a_bad_request() -> None:
    start, body = await call(make_scope(None, server=None))
    assert start["status"] == 400
    assert body["body"] == b"Invalid host header"


@pytest.mark.anyio
async def test_https_passes_through() -> None:
    messages = await call(make_scope("example.com", scheme="https"))
    assert messages[0]["status"] == 200


@pytest.mark.anyio
async def test_missing_scheme_defaults_to_http() -> None:
    scope = make_scope("example.com")
    del scope["scheme"]
    assert (await call(scope))[0]["status"] == 307


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("example.com", "wss://example.com/ws"),
        ("example.com:80", "wss://example.com/ws"),
        ("example.com:9000", "wss://example.com:9000/ws"),
    ],
)
async def test_ws_redirects_to_wss(host: str, expected: str) -> None:
    scope = make_scope(host, type="websocket", scheme="ws", path="/ws")
    start = (await call(scope))[0]
    assert start["type"] == "websocket.http.response.start"
    assert start["status"] == 307
    assert dict(start["headers"])[b"location"] == expected.encode()


@pytest.mark.anyio
async def test_wss_passes_through() -> None:
    scope = make_scope("example.com", type="websocket", scheme="wss")
    assert await call(scope) == [{"type": "websocket.accept"}]


@pytest.mark.anyio
async def test_lifespan_passes_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def receive() -> Message:
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        raise AssertionError("unreachable")

    await HTTPSRedirectMiddleware(app)({"type": "lifespan"}, receive, send)
    assert seen == ["lifespan"]


def test_through_the_test_client(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(HTTPSRedirectMiddleware(ok_app))
    response = client.get("/path?x=1", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "https://testserver/path?x=1"
    https_client = test_client_factory(
        HTTPSRedirectMiddleware(ok_app), base_url="https://testserver"
    )
    assert https_client.get("/").text == "ok"
