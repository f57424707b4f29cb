from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from framework import _keys
from framework.applications import App
from framework.exceptions import HTTPException
from framework.middleware import Middleware
from framework.middleware.bodylimit import (
    DEFAULT_MAX_BODY_SIZE,
    BodySizeLimitMiddleware,
    RequestBodyTooLarge,
    limit_body,
)
from framework.requests import Request
from framework.responses import PlainTextResponse
from framework.routing import Mount, Route
from framework.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from testing.client import TestClient

TestClientFactory = Callable[..., "TestClient"]


async def echo_length(scope: Scope, receive: Receive, send: Send) -> None:
    """Read the whole body, then answer with its length."""
    body = await Request(scope, receive).body()
    await PlainTextResponse(str(len(body)))(scope, receive, send)


class Client:
    """Drives an app with a body split in chunks, recording what the server side sees."""

    def __init__(self, chunks: Sequence[bytes], content_length: int | str | None = None) -> None:
        self.chunks = list(chunks)
        self.headers: list[tuple[bytes, bytes]] = []
        if content_length is not None:
            self.headers.append((b"content-length", str(content_length).encode()))
        self.received = 0
        self.messages: list[Message] = []

    async def receive(self) -> Message:
        if self.received == len(self.chunks):
            return {"type": "http.disconnect"}
        chunk = self.chunks[self.received]
        self.received += 1
        more_body = self.received < len(self.chunks)
        return {"type": "http.request", "body": chunk, "more_body": more_body}

    async def send(self, message: Message) -> None:
        self.messages.append(message)

    async def run(self, app: ASGIApp, path: str = "/") -> tuple[int, bytes]:
        scope: Scope = {"type": "http", "method": "POST", "path": path, "headers": self.headers}
        await app(scope, self.receive, self.send)
        body = b"".join(message.get("body", b"") for message in self.messages[1:])
        status: int = self.messages[0]["status"]
        return status, body


# ------------------------------------------------------------------------------- the limit


@pytest.mark.anyio
async def test_declared_length_over_the_limit_is_refused_before_reading() -> None:
    client = Client([b"x" * 2000], content_length=2000)
    status, body = await client.run(BodySizeLimitMiddleware(echo_length, max_body_size=1000))
    assert (status, body) == (413, b"Content Too Large")
    assert client.received == 0


@pytest.mark.anyio
async def test_body_within_the_limit_is_read() -> None:
    client = Client([b"x" * 1000], content_length=1000)
    assert await client.run(BodySizeLimitMiddleware(echo_length, max_body_size=1000)) == (
        200,
        b"1000",
    )


@pytest.mark.anyio
async def test_chunked_body_is_refused_as_soon_as_it_passes_the_limit() -> None:
    client = Client([b"x" * 400] * 5)
    status, body = await client.run(BodySizeLimitMiddleware(echo_length, max_body_size=1000))
    assert (status, body) == (413, b"Content Too Large")
    assert client.received == 3


@pytest.mark.anyio
async def test_chunked_body_exactly_at_the_limit_is_read() -> None:
    client = Client([b"x" * 500, b"x" * 500])
    assert await client.run(BodySizeLimitMiddleware(echo_length, max_body_size=1000)) == (
        200,
        b"1000",
    )


@pytest.mark.anyio
async def test_over_limit_chunk_is_never_handed_to_the_app() -> None:
    seen: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            seen.append(len(message["body"]))

    client = Client([b"x" * 600, b"x" * 600])
    assert (await client.run(BodySizeLimitMiddleware(app, max_body_size=1000)))[0] == 413
    assert seen == [600]


@pytest.mark.anyio
@pytest.mark.parametrize("content_length", ["9" * 5000, "1" + "0" * 25])
async def test_absurd_content_length_is_refused(content_length: str) -> None:
    client = Client([b""], content_length=content_length)
    status, _ = await client.run(BodySizeLimitMiddleware(echo_length, max_body_size=1000))
    assert status == 413
    assert client.received == 0


@pytest.mark.anyio
async def test_unparsable_content_length_falls_back_to_counting() -> None:
    client = Client([b"x" * 10], content_length="ten")
    assert await client.run(BodySizeLimitMiddleware(echo_length, max_body_size=1000)) == (
        200,
        b"10",
    )


@pytest.mark.anyio
async def test_no_limit() -> None:
    client = Client([b"x" * 5000], content_length=5000)
    assert await client.run(BodySizeLimitMiddleware(echo_length, max_body_size=None)) == (
        200,
        b"5000",
    )


@pytest.mark.anyio
async def test_default_limit() -> None:
    assert DEFAULT_MAX_BODY_SIZE == 1024 * 1024
    size = DEFAULT_MAX_BODY_SIZE + 1
    client = Client([b"x" * size], content_length=size)
    assert (await client.run(BodySizeLimitMiddleware(echo_length)))[0] == 413


@pytest.mark.anyio
async def test_app_that_ignores_the_body_is_not_refused() -> None:
    client = Client([b"x" * 2000], content_length=2000)
    app = BodySizeLimitMiddleware(PlainTextResponse("ignored"), max_body_size=1000)
    assert await client.run(app) == (200, b"ignored")


# ---------------------------------------------------------------------------- the response


@pytest.mark.anyio
async def test_started_response_is_ended_cleanly() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while True:
            message = await receive()
            await send({"type": "http.response.body", "body": message["body"], "more_body": True})

    client = Client([b"a" * 600, b"b" * 600])
    status, body = await client.run(BodySizeLimitMiddleware(app, max_body_size=1000))
    assert (status, body) == (200, b"a" * 600)
    assert client.messages[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


@pytest.mark.anyio
async def test_completed_response_is_left_alone() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse("done")(scope, receive, send)
        await receive()
        await receive()

    client = Client([b"a" * 600, b"b" * 600])
    assert await client.run(BodySizeLimitMiddleware(app, max_body_size=1000)) == (200, b"done")
    assert len(client.messages) == 2


@pytest.mark.anyio
async def test_error_is_an_http_exception_the_app_may_render() -> None:
    caught: list[HTTPException] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await Request(scope, receive).body()
        except HTTPException as exc:
            caught.append(exc)
            response = PlainTextResponse(f"custom {exc.status_code}", exc.status_code)
            await response(scope, receive, send)

    client = Client([b"x" * 2000])
    assert await client.run(BodySizeLimitMiddleware(app, max_body_size=1000)) == (
        413,
        b"custom 413",
    )
    [error] = caught
    assert isinstance(error, RequestBodyTooLarge)
    assert (error.max_body_size, error.detail) == (1000, "Content Too Large")


@pytest.mark.anyio
async def test_swallowed_error_does_not_allow_more_reading() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for _ in range(3):
            try:
                await receive()
            except RequestBodyTooLarge:
                pass
        await PlainTextResponse("swallowed")(scope, receive, send)

    client = Client([b"x" * 2000, b"y"])
    assert await client.run(BodySizeLimitMiddleware(app, max_body_size=1000)) == (200, b"swallowed")
    assert client.received == 1


@pytest.mark.anyio
async def test_error_inside_an_exception_group_is_still_413() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(Request(scope, receive).body)

    client = Client([b"x" * 2000])
    assert (await client.run(BodySizeLimitMiddleware(app, max_body_size=1000)))[0] == 413


class MixedGroup(Exception):
    """Shaped like an exception group (which Python 3.10 lacks as a builtin)."""

    def __init__(self, *exceptions: Exception) -> None:
        super().__init__("mixed")
        self.exceptions = exceptions


@pytest.mark.anyio
async def test_other_errors_propagate() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await receive()
        except RequestBodyTooLarge as exc:
            raise MixedGroup(exc, KeyError("boom")) from None

    with pytest.raises(MixedGroup):
        await Client([b"x" * 2000]).run(BodySizeLimitMiddleware(app, max_body_size=1000))

    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError):
        await Client([b""]).run(BodySizeLimitMiddleware(broken))


@pytest.mark.anyio
async def test_disconnect_passes_through() -> None:
    messages: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        messages.append(await receive())
        messages.append(await receive())
        await PlainTextResponse("ok")(scope, receive, send)

    await Client([b"abc"]).run(BodySizeLimitMiddleware(app, max_body_size=1000))
    assert messages[1] == {"type": "http.disconnect"}


# ------------------------------------------------------------------------- per-route limits


def router(routes: dict[str, ASGIApp]) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await routes[scope["path"]](scope, receive, send)

    return app


@pytest.mark.anyio
@pytest.mark.parametrize("content_length", [3000, None])
async def test_inner_limit_raises_the_outer_one(content_length: int | None) -> None:
    app = BodySizeLimitMiddleware(
        router({"/upload": limit_body(echo_length, 5000), "/": echo_length}), max_body_size=1000
    )
    upload = Client([b"x" * 1500, b"x" * 1500], content_length=content_length)
    assert await upload.run(app, "/upload") == (200, b"3000")
    other = Client([b"x" * 1500, b"x" * 1500], content_length=content_length)
    assert (await other.run(app, "/"))[0] == 413


@pytest.mark.anyio
async def test_inner_limit_lowers_the_outer_one() -> None:
    inner = BodySizeLimitMiddleware(echo_length, max_body_size=10)
    app = BodySizeLimitMiddleware(router({"/small": inner}), max_body_size=1000)
    assert (await Client([b"x" * 11]).run(app, "/small"))[0] == 413
    assert (await Client([b"x" * 10]).run(app, "/small")) == (200, b"10")


@pytest.mark.anyio
async def test_any_layer_may_set_the_scope_key() -> None:
    async def unlimited(scope: Scope, receive: Receive, send: Send) -> None:
        scope[_keys.MAX_BODY_SIZE] = None
        await echo_length(scope, receive, send)

    app = BodySizeLimitMiddleware(unlimited, max_body_size=10)
    assert await Client([b"x" * 100], content_length=100).run(app) == (200, b"100")


def test_limit_body_builds_the_middleware() -> None:
    wrapped = limit_body(echo_length, 123)
    assert isinstance(wrapped, BodySizeLimitMiddleware)
    assert (wrapped.app, wrapped.max_body_size) == (echo_length, 123)


# ---------------------------------------------------------------------------- configuration


@pytest.mark.parametrize("value", [-1, True, 1.5, "10"])
def test_limit_is_validated(value: Any) -> None:
    with pytest.raises(ValueError, match=r"max_body_size=.*expected a number of bytes"):
        BodySizeLimitMiddleware(echo_length, max_body_size=value)


@pytest.mark.anyio
async def test_other_scopes_pass_through() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    async def receive() -> Message:
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        raise AssertionError("unreachable")

    await BodySizeLimitMiddleware(app)({"type": "websocket"}, receive, send)
    await BodySizeLimitMiddleware(app)({"type": "lifespan"}, receive, send)
    assert seen == [{"type": "websocket"}, {"type": "lifespan"}]


# ------------------------------------------------------------------------------ test client


def test_through_the_test_client(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(BodySizeLimitMiddleware(echo_length, max_body_size=100))
    assert client.post("/", content=b"x" * 100).text == "100"
    response = client.post("/", content=b"x" * 101)
    assert (response.status_code, response.text) == (413, "Content Too Large")

    def chunks() -> Any:
        yield b"x" * 60
        yield b"x" * 60

    response = client.post("/", content=chunks())
    assert (response.status_code, response.text) == (413, "Content Too Large")


# ------------------------------------------------------------------------- with the router


@pytest.mark.anyio
async def test_per_route_limits_in_an_application() -> None:
    async def endpoint(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(len(await request.body())))

    app = App(
        routes=[
            Route("/small", endpoint, methods=["POST"]),
            Route(
                "/avatar",
                endpoint,
                methods=["POST"],
                middleware=[Middleware(BodySizeLimitMiddleware, max_body_size=3000)],
            ),
            Mount("/upload", app=limit_body(echo_length, 5000)),
        ],
        middleware=[Middleware(BodySizeLimitMiddleware, max_body_size=1000)],
    )
    assert await Client([b"x" * 1000]).run(app, "/small") == (200, b"1000")
    # NOTE: the app's exception handling renders the HTTPException raised by receive().
    assert await Client([b"x" * 1001]).run(app, "/small") == (413, b"Content Too Large")
    assert await Client([b"x" * 3000], 3000).run(app, "/avatar") == (200, b"3000")
    assert (await Client([b"x" * 3001], 3001).run(app, "/avatar"))[0] == 413
    assert await Client([b"x" * 2500] * 2).run(app, "/upload/file") == (200, b"5000")
    assert (await Client([b"x" * 2500] * 3).run(app, "/upload/file"))[0] == 413


class ReadFirst:
    """Pure ASGI middleware that reads the body, then passes the same ``receive`` on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await Request(scope, receive).body()
        await self.app(scope, receive, send)


async def echo_body(request: Request) -> PlainTextResponse:
    return PlainTextResponse(await request.body())


@pytest.mark.parametrize(("size", "status"), [(10, 200), (11, 413)])
def test_a_body_read_outside_the_limiter_is_replayed_through_it(
    test_client_factory: TestClientFactory, size: int, status: int
) -> None:
    app = App(
        routes=[Route("/", echo_body, methods=["POST"])],
        middleware=[Middleware(ReadFirst)],
        max_body_size=10,
    )
    response = test_client_factory(app).post("/", content=b"x" * size)
    assert response.status_code == status
    if status == 200:
        assert response.content == b"x" * size
