from __future__ import annotations

import html
from collections.abc import Callable

import pytest

from framework.middleware.errors import ServerErrorMiddleware
from framework.requests import Request
from framework.responses import JSONResponse, PlainTextResponse, Response
from framework.types import ASGIApp, ExceptionHandler, Message, Receive, Scope, Send
from testing.client import TestClient

TestClientFactory = Callable[..., TestClient]

SECRET = "<script>alert('secret & token')</script>"


def http_scope(headers: list[tuple[bytes, bytes]] | None = None) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }


async def call_and_collect(app: ASGIApp, scope: Scope) -> tuple[list[Message], BaseException]:
    """Run ``app`` on ``scope``; return what it sent and the exception it must raise."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    with pytest.raises(Exception) as info:  # noqa: PT011 - any exception; checked by callers
        await app(scope, receive, send)
    return sent, info.value


def body_of(sent: list[Message]) -> bytes:
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


async def failing_app(scope: Scope, receive: Receive, send: Send) -> None:
    raise ValueError(SECRET)


def test_production_500_reveals_nothing(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(ServerErrorMiddleware(failing_app), raise_server_exceptions=False)
    for accept in ("text/html", "*/*", "application/json"):
        response = client.get("/", headers={"accept": accept})
        assert response.status_code == 500
        assert response.text == "Internal Server Error"
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert "secret" not in response.text
        assert "Traceback" not in response.text


@pytest.mark.anyio
async def test_exception_is_always_reraised_after_the_500() -> None:
    sent, exc = await call_and_collect(ServerErrorMiddleware(failing_app), http_scope())
    assert isinstance(exc, ValueError)
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 500
    assert body_of(sent) == b"Internal Server Error"


def test_client_sees_the_reraised_exception(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(ServerErrorMiddleware(failing_app))
    with pytest.raises(ValueError, match="secret"):
        client.get("/")


@pytest.mark.anyio
async def test_nothing_is_sent_once_the_response_has_started() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise ValueError("late")

    sent, exc = await call_and_collect(ServerErrorMiddleware(app, debug=True), http_scope())
    assert str(exc) == "late"
    assert [m["type"] for m in sent] == ["http.response.start"]
    assert sent[0]["status"] == 200


@pytest.mark.anyio
async def test_other_scopes_pass_straight_through() -> None:
    scope = http_scope()
    scope["type"] = "websocket"
    sent, exc = await call_and_collect(ServerErrorMiddleware(failing_app, debug=True), scope)
    assert isinstance(exc, ValueError)
    assert sent == []


async def async_handler(request: Request, exc: Exception) -> Response:
    return JSONResponse({"handler": "async", "error": type(exc).__name__}, status_code=500)


def sync_handler(request: Request, exc: Exception) -> Response:
    return JSONResponse({"handler": "sync", "path": request.url.path}, status_code=503)


def test_async_handler_gives_the_response(test_client_factory: TestClientFactory) -> None:
    middleware = ServerErrorMiddleware(failing_app, handler=async_handler)
    response = test_client_factory(middleware, raise_server_exceptions=False).get("/")
    assert response.status_code == 500
    assert response.json() == {"handler": "async", "error": "ValueError"}


def test_sync_handler_gives_the_response(test_client_factory: TestClientFactory) -> None:
    middleware = ServerErrorMiddleware(failing_app, handler=sync_handler)
    response = test_client_factory(middleware, raise_server_exceptions=False).get("/x")
    assert response.status_code == 503
    assert response.json() == {"handler": "sync", "path": "/x"}


def test_handler_does_not_stop_the_reraise(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(ServerErrorMiddleware(failing_app, handler=sync_handler))
    with pytest.raises(ValueError, match="secret"):
        client.get("/")


def test_debug_html_page_is_escaped(test_client_factory: TestClientFactory) -> None:
    middleware = ServerErrorMiddleware(failing_app, debug=True)
    client = test_client_factory(middleware, raise_server_exceptions=False)
    response = client.get("/", headers={"accept": "text/html,application/xhtml+xml"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert page.startswith("<!DOCTYPE html>")
    assert "<script>" not in page
    assert html.escape(f"ValueError: {SECRET}") in page
    # The failing frame: its file, its function and its source line, escaped too.
    assert html.escape(__file__) in page
    assert "<code>failing_app</code>" in page
    assert html.escape("raise ValueError(SECRET)") in page
    assert '<span class="current">' in page


def test_debug_plain_text_for_other_clients(test_client_factory: TestClientFactory) -> None:
    middleware = ServerErrorMiddleware(failing_app, debug=True)
    client = test_client_factory(middleware, raise_server_exceptions=False)
    response = client.get("/", headers={"accept": "application/json"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text.startswith("Traceback (most recent call last):")
    assert response.text.rstrip().endswith(f"ValueError: {SECRET}")
    assert "in failing_app\n    raise ValueError(SECRET)" in response.text


def test_debug_wins_over_the_handler(test_client_factory: TestClientFactory) -> None:
    middleware = ServerErrorMiddleware(failing_app, handler=sync_handler, debug=True)
    response = test_client_factory(middleware, raise_server_exceptions=False).get("/")
    assert response.status_code == 500
    assert "Traceback" in response.text


def test_suppressed_context_is_not_shown(test_client_factory: TestClientFactory) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            raise KeyError("hidden")
        except KeyError:
            raise TypeError("shown") from None

    page = (
        test_client_factory(ServerErrorMiddleware(app, debug=True), raise_server_exceptions=False)
        .get("/", headers={"accept": "text/html"})
        .text
    )
    assert page.count('<section class="exception">') == 1
    assert "TypeError: shown</strong>" in page


def test_debug_page_links_causes_and_contexts(test_client_factory: TestClientFactory) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            try:
                raise KeyError("first")
            except KeyError as exc:
                raise LookupError("second") from exc
        except LookupError:
            raise TypeError("third")  # noqa: B904 - the implicit context is what is tested

    page = (
        test_client_factory(ServerErrorMiddleware(app, debug=True), raise_server_exceptions=False)
        .get("/", headers={"accept": "text/html"})
        .text
    )
    first = page.index("KeyError: &#x27;first&#x27;")
    cause = page.index("direct cause of the following exception")
    second = page.index("LookupError: second</strong>")
    context = page.index("During handling of the above exception")
    third = page.index("TypeError: third</strong>")
    assert first < cause < second < context < third


def test_debug_page_without_source(test_client_factory: TestClientFactory) -> None:
    namespace: dict[str, object] = {}
    # Code without a source file on disk.
    exec("async def app(scope, receive, send):\n    raise ValueError('no source')\n", namespace)
    app = namespace["app"]
    assert callable(app)
    middleware = ServerErrorMiddleware(app, debug=True)
    client = test_client_factory(middleware, raise_server_exceptions=False)
    page = client.get("/", headers={"accept": "text/html"}).text
    assert "File <code>&lt;string&gt;</code>, line 2, in <code>app</code>" in page
    assert "ValueError: no source" in page


def test_error_and_debug_responses_are_overridable(test_client_factory: TestClientFactory) -> None:
    class Custom(ServerErrorMiddleware):
        def error_response(self, request: Request, exc: Exception) -> Response:
            return PlainTextResponse("custom", status_code=500)

    client = test_client_factory(Custom(failing_app), raise_server_exceptions=False)
    assert client.get("/").text == "custom"


@pytest.mark.parametrize("handler", [None, sync_handler])
def test_attributes(handler: ExceptionHandler | None) -> None:
    middleware = ServerErrorMiddleware(failing_app, handler=handler, debug=True)
    assert (middleware.app, middleware.handler, middleware.debug) == (failing_app, handler, True)
