"""httpx transports that hand each request to an ASGI app in the same process."""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal

from framework.types import ASGIApp, Message
from testing._exchange import HTTPExchange, body_chunks, make_response, no_response, read_head
from testing._scope import http_scope

__all__ = ["AsyncASGITransport", "PortalFactory", "SyncASGITransport"]

PortalFactory = Callable[[], contextlib.AbstractContextManager[BlockingPortal]]


class SyncASGITransport(httpx.BaseTransport):
    """Runs the app on the event loop behind a blocking portal and streams its response back.

    ``app_state`` is the live lifespan state: each request's scope gets a copy of it.
    """

    def __init__(
        self,
        app: ASGIApp,
        portal_factory: PortalFactory,
        *,
        raise_server_exceptions: bool,
        root_path: str,
        client: tuple[str, int],
        app_state: dict[str, Any],
    ) -> None:
        self._app = app
        self._portal_factory = portal_factory
        self._raise_server_exceptions = raise_server_exceptions
        self._root_path = root_path
        self._client = client
        self._app_state = app_state

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Start the app on ``request`` and answer as soon as the response has started."""
        scope = http_scope(request, self._root_path, self._client, self._app_state)
        body = _sync_body(request)
        with contextlib.ExitStack() as stack:
            portal = stack.enter_context(self._portal_factory())
            # PERF: a zero-size queue makes the app wait until the test reads each chunk, so an
            # endless stream is produced lazily and costs no memory.
            exchange = portal.call(HTTPExchange, self._app, scope, body, 0)
            task = portal.start_task_soon(exchange.run)

            def next_message() -> Message | None:
                return portal.call(exchange.next_message)

            extensions: dict[str, Any] = {}
            start = read_head(next_message, extensions)
            if start is None:
                task.result()
                return no_response(exchange, self._raise_server_exceptions)
            stream = _PortalStream(
                body_chunks(next_message, extensions),
                exchange,
                portal,
                task,
                stack.pop_all(),
                raise_server_exceptions=self._raise_server_exceptions,
                discard=request.method == "HEAD",
            )
        return make_response(start, stream, extensions)


class _PortalStream(httpx.SyncByteStream):
    """The body of a response the app is still producing on the portal's event loop."""

    def __init__(
        self,
        chunks: Iterator[bytes],
        exchange: HTTPExchange,
        portal: BlockingPortal,
        task: Future[None],
        exit_stack: contextlib.ExitStack,
        *,
        raise_server_exceptions: bool,
        discard: bool,
    ) -> None:
        self._chunks = chunks
        self._exchange = exchange
        self._portal = portal
        self._task = task
        self._exit_stack = exit_stack
        self._raise_server_exceptions = raise_server_exceptions
        self._discard = discard
        self._open = True

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            if not self._discard:
                yield chunk
        self._finish()

    def close(self) -> None:
        """Stop the app if the test closes the response before its end."""
        if self._open:
            self._portal.call(self._exchange.disconnect)
            self._finish()

    def _finish(self) -> None:
        self._open = False
        try:
            # NOTE: the app's task outlives its last message by a moment; waiting for it
            # means background work after the response is done when the request returns.
            self._task.result()
        finally:
            self._exchange.close()
            self._exit_stack.close()
        error = self._exchange.error
        if error is not None and self._raise_server_exceptions:
            raise error


class AsyncASGITransport(httpx.AsyncBaseTransport):
    """Runs the app in the calling task, to its end, then answers with the whole response."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        raise_server_exceptions: bool,
        root_path: str,
        client: tuple[str, int],
        app_state: dict[str, Any],
    ) -> None:
        self._app = app
        self._raise_server_exceptions = raise_server_exceptions
        self._root_path = root_path
        self._client = client
        self._app_state = app_state

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Run the app on ``request`` and collect what it sent."""
        scope = http_scope(request, self._root_path, self._client, self._app_state)
        exchange = HTTPExchange(self._app, scope, _async_body(request), math.inf)
        await exchange.run()
        next_message = exchange.next_message_nowait
        extensions: dict[str, Any] = {}
        start = read_head(next_message, extensions)
        if start is None:
            return no_response(exchange, self._raise_server_exceptions)
        content = b"".join(body_chunks(next_message, extensions))
        exchange.close()
        if exchange.error is not None and self._raise_server_exceptions:
            raise exchange.error
        if request.method == "HEAD":
            content = b""
        return make_response(start, httpx.ByteStream(content), extensions)


def _sync_body(request: httpx.Request) -> bytes | Iterator[bytes]:
    try:
        return request.content
    except httpx.RequestNotRead:
        stream = request.stream
        if not isinstance(stream, httpx.SyncByteStream):
            raise TypeError("A synchronous client cannot send an asynchronous body.") from None
        return iter(stream)


def _async_body(request: httpx.Request) -> bytes | AsyncIterator[bytes]:
    try:
        return request.content
    except httpx.RequestNotRead:
        stream = request.stream
        if not isinstance(stream, httpx.AsyncByteStream):
            raise TypeError("An asynchronous client cannot send a synchronous body.") from None
        return aiter(stream)
