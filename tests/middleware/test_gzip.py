from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import framework.middleware.gzip as gzip_module
from framework.concurrency import run_in_threadpool
from framework.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from framework.responses import StreamingResponse
from framework.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from testing.client import TestClient

TestClientFactory = Callable[..., "TestClient"]
T = TypeVar("T")

BIG = b"x" * 1000


def make_app(
    chunks: Sequence[bytes],
    headers: Sequence[tuple[bytes, bytes]] = ((b"content-type", b"text/plain"),),
    status: int = 200,
) -> ASGIApp:
    """An app that sends ``chunks`` as its body, streamed when there is more than one."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": status, "headers": list(headers)})
        for index, chunk in enumerate(chunks):
            more_body = index < len(chunks) - 1
            await send({"type": "http.response.body", "body": chunk, "more_body": more_body})

    return app


async def call(app: ASGIApp, accept_encoding: str | None = "gzip, deflate, br") -> list[Message]:
    headers = [] if accept_encoding is None else [(b"accept-encoding", accept_encoding.encode())]
    scope: Scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    await app(scope, receive, send)
    return messages


def headers_of(messages: list[Message]) -> dict[bytes, bytes]:
    return dict(messages[0]["headers"])


def body_of(messages: list[Message]) -> bytes:
    return b"".join(message.get("body", b"") for message in messages[1:])


# ------------------------------------------------------------------------------ one-shot bodies


@pytest.mark.anyio
async def test_large_body_is_compressed() -> None:
    messages = await call(GZipMiddleware(make_app([BIG])))
    headers = headers_of(messages)
    assert headers[b"content-encoding"] == b"gzip"
    assert headers[b"vary"] == b"Accept-Encoding"
    body = body_of(messages)
    assert headers[b"content-length"] == str(len(body)).encode()
    assert len(body) < len(BIG)
    assert zlib.decompress(body, 31) == BIG
    assert len(messages) == 2


@pytest.mark.anyio
async def test_minimum_size_is_inclusive() -> None:
    small = await call(GZipMiddleware(make_app([b"x" * 499])))
    assert headers_of(small) == {b"content-type": b"text/plain"}
    assert body_of(small) == b"x" * 499
    exact = await call(GZipMiddleware(make_app([b"x" * 500])))
    assert headers_of(exact)[b"content-encoding"] == b"gzip"
    custom = await call(GZipMiddleware(make_app([b"x" * 20]), minimum_size=10))
    assert headers_of(custom)[b"content-encoding"] == b"gzip"


@pytest.mark.anyio
async def test_client_without_gzip_gets_identity_but_vary() -> None:
    for accept in (None, "br", "deflate", "identity"):
        messages = await call(GZipMiddleware(make_app([BIG])), accept)
        headers = headers_of(messages)
        assert b"content-encoding" not in headers
        assert headers[b"vary"] == b"Accept-Encoding"
        assert body_of(messages) == BIG


@pytest.mark.anyio
async def test_existing_vary_is_extended() -> None:
    app = make_app([BIG], [(b"content-type", b"text/plain"), (b"vary", b"Cookie")])
    messages = await call(GZipMiddleware(app))
    assert headers_of(messages)[b"vary"] == b"Cookie, Accept-Encoding"


@pytest.mark.anyio
@pytest.mark.parametrize("encoding", [b"gzip", b"br", b"identity"])
async def test_encoded_response_is_never_encoded_twice(encoding: bytes) -> None:
    headers = [(b"content-type", b"text/plain"), (b"content-encoding", encoding)]
    messages = await call(GZipMiddleware(make_app([BIG], headers)))
    assert messages[0]["headers"] == headers
    assert body_of(messages) == BIG


@pytest.mark.anyio
async def test_partial_content_is_not_compressed() -> None:
    messages = await call(GZipMiddleware(make_app([BIG], status=206)))
    assert b"content-encoding" not in headers_of(messages)
    assert b"vary" not in headers_of(messages)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "content_type",
    [
        b"text/event-stream",
        b"text/event-stream; charset=utf-8",
        b"image/png",
        b"IMAGE/PNG; x=1",
        b"audio/mpeg",
        b"video/mp4",
        b"application/zip",
        b"font/woff2",
    ],
)
async def test_default_exclusions(content_type: bytes) -> None:
    messages = await call(GZipMiddleware(make_app([BIG], [(b"content-type", content_type)])))
    assert b"content-encoding" not in headers_of(messages)
    assert body_of(messages) == BIG
    assert "text/event-stream" in DEFAULT_EXCLUDED_CONTENT_TYPES


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("content_type", "compressed"),
    [
        (b"text/html", False),
        (b"text/plain; charset=utf-8", False),
        (b"application/json", True),
        (b"image/png", True),
        (b"application/x-custom", False),
    ],
)
async def test_custom_exclusions(content_type: bytes, compressed: bool) -> None:
    middleware = GZipMiddleware(
        make_app([BIG], [(b"content-type", content_type)]),
        exclude_content_types=("Text/*", "application/x-custom; v=1"),
    )
    messages = await call(middleware)
    assert (b"content-encoding" in headers_of(messages)) is compressed


@pytest.mark.anyio
async def test_response_without_content_type_is_compressed() -> None:
    messages = await call(GZipMiddleware(make_app([BIG], headers=[])))
    assert headers_of(messages)[b"content-encoding"] == b"gzip"


@pytest.mark.anyio
async def test_compresslevel_is_used() -> None:
    data = bytes(range(256)) * 20
    fast = body_of(await call(GZipMiddleware(make_app([data]), compresslevel=1)))
    best = body_of(await call(GZipMiddleware(make_app([data]), compresslevel=9)))
    assert zlib.decompress(fast, 31) == zlib.decompress(best, 31) == data
    assert fast[8:9] == b"\x04"  # gzip XFL byte: fastest
    assert best[8:9] == b"\x02"  # gzip XFL byte: best compression


def test_compresslevel_is_validated() -> None:
    with pytest.raises(ValueError, match=r"compresslevel=10"):
        GZipMiddleware(make_app([]), compresslevel=10)


# ------------------------------------------------------------------------------- streaming


@pytest.mark.anyio
async def test_streaming_is_compressed_and_flushed_per_chunk() -> None:
    chunks = [b"first chunk " * 3, b"", b"second " * 2, b"last"]
    app = make_app(chunks, [(b"content-type", b"text/plain"), (b"content-length", b"64")])
    messages = await call(GZipMiddleware(app))
    headers = headers_of(messages)
    assert headers[b"content-encoding"] == b"gzip"
    assert headers[b"vary"] == b"Accept-Encoding"
    assert b"content-length" not in headers
    assert [message["more_body"] for message in messages[1:]] == [True, True, True, False]

    decompressor = zlib.decompressobj(31)
    for chunk, message in zip(chunks, messages[1:], strict=True):
        # NOTE: each message alone yields its chunk: the compressor was flushed after it.
        assert decompressor.decompress(message["body"]) == chunk
    assert decompressor.eof


@pytest.mark.anyio
async def test_streaming_without_gzip_passes_through_with_vary() -> None:
    chunks = [b"a" * 10, b"b" * 10]
    messages = await call(GZipMiddleware(make_app(chunks)), "br")
    assert headers_of(messages) == {b"content-type": b"text/plain", b"vary": b"Accept-Encoding"}
    assert [message["body"] for message in messages[1:]] == chunks


@pytest.mark.anyio
async def test_streamed_event_stream_is_not_compressed() -> None:
    chunks = [b"data: 1\n\n", b"data: 2\n\n"]
    app = make_app(chunks, [(b"content-type", b"text/event-stream")])
    messages = await call(GZipMiddleware(app))
    assert [message["body"] for message in messages[1:]] == chunks
    assert b"content-encoding" not in headers_of(messages)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=6))
def test_any_body_round_trips(chunks: list[bytes]) -> None:
    messages = anyio.run(call, GZipMiddleware(make_app(chunks), minimum_size=1))
    body = body_of(messages)
    if headers_of(messages).get(b"content-encoding") == b"gzip":
        body = zlib.decompress(body, 31)
    assert body == b"".join(chunks)


@pytest.mark.anyio
async def test_large_bodies_are_compressed_in_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = run_in_threadpool

    async def spy(function: Callable[[bytes], T], data: bytes) -> T:
        calls.append(len(data))
        return await real(function, data)

    monkeypatch.setattr(gzip_module, "run_in_threadpool", spy)
    middleware = GZipMiddleware(make_app([BIG]), thread_minimum_size=1000)
    assert zlib.decompress(body_of(await call(middleware)), 31) == BIG
    stream = GZipMiddleware(make_app([b"a" * 999, BIG, b""]), thread_minimum_size=1000)
    assert zlib.decompress(body_of(await call(stream)), 31) == b"a" * 999 + BIG
    assert calls == [1000, 1000]


# ------------------------------------------------------------------------- accept-encoding


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("accept", "compressed"),
    [
        ("gzip", True),
        ("GZip", True),
        ("deflate, gzip;q=0.5", True),
        ("x-gzip", True),
        ("br;q=1, gzip ; q=0.001", True),
        ("gzip;level=1", True),
        ("gzip;q=0", False),
        ("gzip;q=0.0, br", False),
        ("gzip;q=abc", False),
        ("br, deflate;q=0.5", False),
        ("", False),
    ],
)
async def test_accept_encoding_parsing(accept: str, compressed: bool) -> None:
    messages = await call(GZipMiddleware(make_app([BIG])), accept)
    assert (headers_of(messages).get(b"content-encoding") == b"gzip") is compressed


# ---------------------------------------------------------------------- other message kinds


@pytest.mark.anyio
async def test_pathsend_goes_out_with_the_unchanged_start() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/plain"), (b"content-length", b"1000")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.pathsend", "path": "/some/file"})

    messages = await call(GZipMiddleware(app))
    assert messages == [
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"1000")],
        },
        {"type": "http.response.pathsend", "path": "/some/file"},
    ]


@pytest.mark.anyio
async def test_trailers_after_a_compressed_body_pass_through() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        start = {"type": "http.response.start", "status": 200, "headers": [], "trailers": True}
        await send(start)
        await send({"type": "http.response.body", "body": BIG, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        await send({"type": "http.response.trailers", "headers": [], "more_trailers": False})

    messages = await call(GZipMiddleware(app))
    assert messages[-1]["type"] == "http.response.trailers"
    assert zlib.decompress(body_of(messages[:-1]), 31) == BIG


@pytest.mark.anyio
async def test_other_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def receive() -> Message:
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        raise AssertionError("unreachable")

    await GZipMiddleware(app)({"type": "websocket", "headers": []}, receive, send)
    await GZipMiddleware(app)({"type": "lifespan"}, receive, send)
    assert seen == ["websocket", "lifespan"]


# ----------------------------------------------------------------------------- test client


def test_through_the_test_client(test_client_factory: TestClientFactory) -> None:
    async def numbers() -> AsyncIterator[str]:
        for number in range(200):
            yield f"{number}\n"

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response: Any = StreamingResponse(numbers(), media_type="text/plain")
        await response(scope, receive, send)

    client = test_client_factory(GZipMiddleware(app))
    response = client.get("/", headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert "content-length" not in response.headers
    assert response.text == "".join(f"{number}\n" for number in range(200))
