"""One HTTP request/response cycle between a test client and the ASGI app under test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import httpx

from framework.types import ASGIApp, Message, Scope
from testing._asgi import call_app

__all__ = ["HTTPExchange", "body_chunks", "make_response", "no_response", "read_head"]

_DEBUG = "http.response.debug"
_TRAILERS = "http.response.trailers"
_ALLOWED_BEFORE_START = frozenset({"http.response.start", _DEBUG})

NextMessage = Callable[[], "Message | None"]


class HTTPExchange:
    """Feeds one request to the app and queues what it sends, in order, for the client.

    Create it inside the event loop that will run the app. ``buffer_size`` is how many
    response messages the app may send ahead of the client reading them: 0 streams the
    response to a client in another thread, infinity lets the app run to its end first.
    """

    __slots__ = (
        "_app",
        "_body",
        "_body_sent",
        "_cancel_scope",
        "_complete",
        "_outbox",
        "_outbox_reader",
        "_scope",
        "_started",
        "error",
    )

    def __init__(
        self,
        app: ASGIApp,
        scope: Scope,
        body: bytes | Iterator[bytes] | AsyncIterator[bytes],
        buffer_size: float,
    ) -> None:
        self._app = app
        self._scope = scope
        self._body = body
        self._body_sent = False
        self._started = False
        self._complete = anyio.Event()
        self._outbox, self._outbox_reader = anyio.create_memory_object_stream[Message](buffer_size)
        self._cancel_scope = anyio.CancelScope()
        #: What the app raised, if anything; set before the message queue ends.
        self.error: BaseException | None = None

    async def run(self) -> None:
        """Run the app to its end, keeping its exception in ``error``."""
        try:
            with self._cancel_scope:
                self.error = await call_app(self._app, self._scope, self._receive, self._send)
        finally:
            self._outbox.close()
            body = self._body
            # NOTE: an async request body the app did not read to its end is closed here, in
            # its own event loop; left to the garbage collector it would warn.
            if isinstance(body, AsyncIterator):
                aclose = getattr(body, "aclose", None)
                if aclose is not None:
                    await aclose()

    async def next_message(self) -> Message | None:
        """The app's next response message, or ``None`` once the app has returned."""
        try:
            return await self._outbox_reader.receive()
        except anyio.EndOfStream:
            return None

    def next_message_nowait(self) -> Message | None:
        """Like :meth:`next_message`, for use after :meth:`run` has returned."""
        try:
            return self._outbox_reader.receive_nowait()
        except anyio.EndOfStream:
            return None

    def close(self) -> None:
        """Release the response queue; call it once the app's task has finished."""
        # NOTE: with the task finished nothing waits on the queue, so closing it from the
        # client's thread wakes no one and needs no trip to the event loop.
        self._outbox_reader.close()

    def disconnect(self) -> None:
        """The client has gone away before the end of the response: stop the app."""
        self._complete.set()
        self._cancel_scope.cancel()

    async def _receive(self) -> Message:
        if self._body_sent:
            # NOTE: as on a real connection, the client only goes away once it has the whole
            # response; an app that listens for the disconnect meanwhile keeps waiting.
            await self._complete.wait()
            return {"type": "http.disconnect"}
        body = self._body
        if isinstance(body, bytes):
            self._body_sent = True
            return {"type": "http.request", "body": body}
        chunk = next(body, None) if isinstance(body, Iterator) else await anext(body, None)
        if chunk is None:
            self._body_sent = True
            return {"type": "http.request", "body": b""}
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def _send(self, message: Message) -> None:
        kind = message["type"]
        if not self._started:
            if kind not in _ALLOWED_BEFORE_START:
                raise RuntimeError(f"Expected ASGI message 'http.response.start', got {kind!r}.")
            self._started = kind == "http.response.start"
        elif kind == "http.response.body":
            if self._complete.is_set():
                raise RuntimeError("The response is complete; no more body can be sent.")
            if not message.get("more_body", False):
                self._complete.set()
        elif kind == "http.response.start":
            raise RuntimeError("The response has already started.")
        elif kind not in (_TRAILERS, _DEBUG):
            raise RuntimeError(f"Unexpected ASGI message type {kind!r}.")
        await self._outbox.send(message)


def read_head(next_message: NextMessage, extensions: dict[str, Any]) -> Message | None:
    """The response's start message, or ``None`` if the app returned without one."""
    message = next_message()
    while message is not None and message["type"] == _DEBUG:
        extensions[_DEBUG] = message["info"]
        message = next_message()
    return message


def body_chunks(next_message: NextMessage, extensions: dict[str, Any]) -> Iterator[bytes]:
    """The response body, chunk by chunk, until the app returns; trailers go to ``extensions``."""
    while (message := next_message()) is not None:
        kind = message["type"]
        if kind == "http.response.body":
            chunk: bytes = message.get("body", b"")
            if chunk:
                yield chunk
        elif kind == _TRAILERS:
            extensions.setdefault(_TRAILERS, []).extend(message.get("headers", ()))
        else:
            extensions[_DEBUG] = message["info"]


def make_response(
    start: Message, stream: httpx.SyncByteStream | httpx.AsyncByteStream, extensions: dict[str, Any]
) -> httpx.Response:
    """The httpx response for the app's start message, reading its body from ``stream``."""
    response = httpx.Response(start["status"], headers=start.get("headers", ()), stream=stream)
    # NOTE: httpx copies the mapping it is given; the body stream fills this one in as
    # trailers arrive, so the response must hold the very same object.
    response.extensions = extensions
    debug = extensions.get(_DEBUG)
    if debug is not None:
        # NOTE: httpx.Response declares neither attribute; template tests read them directly.
        vars(response).update(template=debug.get("template"), context=debug.get("context"))
    return response


def no_response(exchange: HTTPExchange, raise_server_exceptions: bool) -> httpx.Response:
    """What the client gets when the app returned without starting a response."""
    exchange.close()
    if raise_server_exceptions:
        if exchange.error is not None:
            raise exchange.error
        raise AssertionError(
            "The test client did not receive any response: "
            "the app returned without sending 'http.response.start'."
        )
    return httpx.Response(500)
