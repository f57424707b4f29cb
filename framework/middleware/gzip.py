"""Compress response bodies with gzip for clients that accept it."""

from __future__ import annotations

import zlib
from collections.abc import Callable

from framework.concurrency import run_in_threadpool
from framework.datastructures import MutableHeaders
from framework.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DEFAULT_EXCLUDED_CONTENT_TYPES", "GZipMiddleware"]

DEFAULT_EXCLUDED_CONTENT_TYPES = (
    "application/grpc",
    "application/gzip",
    "application/x-gzip",
    "application/zip",
    "audio/*",
    "font/woff",
    "font/woff2",
    "image/avif",
    "image/gif",
    "image/jpeg",
    "image/png",
    "image/webp",
    "text/event-stream",
    "video/*",
)

# Per-response states of ``_GZipSend``.
_AWAIT_START = 0  # nothing sent yet
_HELD = 1  # the start message is held until the first body shows the response's size
_PASSTHROUGH = 2  # the decision is made and messages go out unchanged
_STREAMING = 3  # a streamed body is being compressed chunk by chunk


def _accepts_gzip(accept_encoding: bytes) -> bool:
    """Whether an ``Accept-Encoding`` value lists gzip (or x-gzip) without refusing it (q=0)."""
    value = accept_encoding.lower()
    if b"gzip" not in value:
        return False
    # PERF: the common "gzip, deflate, br" needs no parsing.
    if b"q=" not in value:
        return True
    for item in value.split(b","):
        coding, _, params = item.partition(b";")
        if coding.strip() not in (b"gzip", b"x-gzip"):
            continue
        for param in params.split(b";"):
            key, _, weight = param.partition(b"=")
            if key.strip() == b"q":
                try:
                    return float(weight) > 0
                except ValueError:
                    return False
        return True
    return False


def _media_type(content_type: str) -> str:
    """``"Text/HTML; charset=utf-8"`` -> ``"text/html"``."""
    return content_type.partition(";")[0].strip().lower()


class GZipMiddleware:
    """Gzip-compress HTTP responses when the request's ``Accept-Encoding`` allows it.

    A response is left alone when its one-shot body is shorter than ``minimum_size``, when it
    already has a ``Content-Encoding`` (it is never encoded twice), when it is a 206 partial
    response, or when its media type matches ``exclude_content_types`` (``"type/*"`` matches a
    whole family; event streams and already-compressed formats are excluded by default).

    A streamed body (``more_body=True``) is compressed chunk by chunk and flushed after each
    chunk, so a client sees data as soon as the app sends it; ``Content-Length`` is dropped
    and the server sends the body chunked. Bodies of ``thread_minimum_size`` bytes or more are
    compressed in a worker thread so the event loop is not blocked. Every response that could
    be compressed gets ``Vary: Accept-Encoding``, compressed or not.
    """

    __slots__ = (
        "_excluded_prefixes",
        "_excluded_types",
        "app",
        "compresslevel",
        "exclude_content_types",
        "minimum_size",
        "thread_minimum_size",
    )

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int = 500,
        compresslevel: int = 9,
        thread_minimum_size: int = 128 * 1024,
        *,
        exclude_content_types: tuple[str, ...] = DEFAULT_EXCLUDED_CONTENT_TYPES,
    ) -> None:
        if not 0 <= compresslevel <= 9:
            raise ValueError(
                f"GZipMiddleware(compresslevel={compresslevel!r}): expected 0 (none) to 9 (best)"
            )
        self.app = app
        self.minimum_size = minimum_size
        self.compresslevel = compresslevel
        self.thread_minimum_size = thread_minimum_size
        self.exclude_content_types = exclude_content_types
        media_types = [_media_type(content_type) for content_type in exclude_content_types]
        self._excluded_types = frozenset(m for m in media_types if not m.endswith("/*"))
        self._excluded_prefixes = tuple(m[:-1] for m in media_types if m.endswith("/*"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        accepts = False
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                accepts = _accepts_gzip(value)
                break
        await self.app(scope, receive, _GZipSend(self, accepts, send))

    def is_compressible(self, start: Message) -> bool:
        """Whether a response, judged by its start message, may be compressed at all."""
        if start["status"] == 206:
            return False
        content_type: bytes | None = None
        for name, value in start.get("headers", ()):
            if name == b"content-encoding":
                return False
            if name == b"content-type" and content_type is None:
                content_type = value
        if content_type is None:
            return True
        media_type = _media_type(content_type.decode("latin-1"))
        if media_type in self._excluded_types:
            return False
        return not (self._excluded_prefixes and media_type.startswith(self._excluded_prefixes))

    async def compress(self, function: Callable[[bytes], bytes], data: bytes) -> bytes:
        """Run a compressor step on ``data``, in a worker thread when ``data`` is large."""
        if len(data) >= self.thread_minimum_size:
            return await run_in_threadpool(function, data)
        return function(data)


class _GZipSend:
    """The ``send`` of one response: decides whether to compress it, then does so."""

    __slots__ = ("accepts", "compressor", "middleware", "send", "start", "state")

    def __init__(self, middleware: GZipMiddleware, accepts: bool, send: Send) -> None:
        self.middleware = middleware
        self.accepts = accepts
        self.send = send
        self.state = _AWAIT_START
        self.start: Message | None = None
        self.compressor: zlib._Compress | None = None

    async def __call__(self, message: Message) -> None:
        state = self.state
        if state == _PASSTHROUGH:
            await self.send(message)
        elif state == _STREAMING:
            if message["type"] == "http.response.body":
                await self._send_chunk(message)
            else:
                await self.send(message)
        elif message["type"] == "http.response.start":
            if self.middleware.is_compressible(message):
                # NOTE: whether to compress depends on the body's size, so the start
                # message waits for the first body message.
                self.start = message
                self.state = _HELD
            else:
                self.state = _PASSTHROUGH
                await self.send(message)
        elif state == _HELD and message["type"] == "http.response.body":
            await self._send_first(message)
        else:
            # NOTE: anything else (such as ``http.response.pathsend``) cannot be compressed
            # here; the held start goes out unchanged before it.
            self.state = _PASSTHROUGH
            if self.start is not None:
                await self.send(self.start)
            await self.send(message)

    async def _send_first(self, message: Message) -> None:
        middleware = self.middleware
        start = self.start
        assert start is not None
        body: bytes = message.get("body", b"")
        more_body: bool = message.get("more_body", False)
        if not more_body and len(body) < middleware.minimum_size:
            self.state = _PASSTHROUGH
            await self.send(start)
            await self.send(message)
            return

        headers = MutableHeaders(scope=start)
        headers.add_vary_header("Accept-Encoding")
        if not self.accepts:
            self.state = _PASSTHROUGH
        elif more_body:
            self.state = _STREAMING
            headers["content-encoding"] = "gzip"
            del headers["content-length"]
            self.compressor = zlib.compressobj(middleware.compresslevel, zlib.DEFLATED, 31)
            await self.send(start)
            await self._send_chunk(message)
            return
        else:
            self.state = _PASSTHROUGH
            compressed = await middleware.compress(self._compress_whole, body)
            headers["content-encoding"] = "gzip"
            headers["content-length"] = str(len(compressed))
            message["body"] = compressed
        await self.send(start)
        await self.send(message)

    def _compress_whole(self, body: bytes) -> bytes:
        compressor = zlib.compressobj(self.middleware.compresslevel, zlib.DEFLATED, 31)
        return compressor.compress(body) + compressor.flush()

    def _compress_chunk(self, chunk: bytes) -> bytes:
        compressor = self.compressor
        assert compressor is not None
        # NOTE: a sync flush after every chunk hands the client everything sent so far,
        # which streaming responses (progress, logs) rely on.
        return compressor.compress(chunk) + compressor.flush(zlib.Z_SYNC_FLUSH)

    def _finish_chunk(self, chunk: bytes) -> bytes:
        compressor = self.compressor
        assert compressor is not None
        return compressor.compress(chunk) + compressor.flush()

    async def _send_chunk(self, message: Message) -> None:
        chunk: bytes = message.get("body", b"")
        if message.get("more_body", False):
            if chunk:
                message["body"] = await self.middleware.compress(self._compress_chunk, chunk)
        else:
            self.state = _PASSTHROUGH
            message["body"] = await self.middleware.compress(self._finish_chunk, chunk)
        await self.send(message)
