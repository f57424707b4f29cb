"""A test WebSocket connected in-process to the ASGI app under test."""

from __future__ import annotations

import contextlib
import json
import math
from concurrent.futures import Future
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import anyio
import anyio.lowlevel
import httpx

from framework.types import ASGIApp, Message, Scope
from framework.websockets import WebSocketDisconnect
from testing._asgi import call_app

if TYPE_CHECKING:
    from typing_extensions import Self

    from testing._transport import PortalFactory

__all__ = ["WebSocketDenialResponse", "WebSocketTestSession"]

_NORMAL_CLOSURE = 1000
_FORBIDDEN = 403


# NOTE: both bases define __setstate__ for pickling; the response's one applies.
class WebSocketDenialResponse(httpx.Response, WebSocketDisconnect):  # type: ignore[misc]
    """The app refused the handshake with an HTTP response, which this exception is.

    A close before the handshake is accepted counts as a 403 denial carrying the close's
    ``code`` and ``reason``, since that is what a server answers to it.
    """

    def __init__(
        self,
        status_code: int,
        headers: httpx.Headers | list[tuple[bytes, bytes]] | None = None,
        content: bytes = b"",
        *,
        code: int = _NORMAL_CLOSURE,
        reason: str | None = None,
    ) -> None:
        httpx.Response.__init__(self, status_code, headers=headers, content=content)
        WebSocketDisconnect.__init__(self, code, reason)


class _Connection:
    """The event-loop side of a test WebSocket: runs the app and queues messages both ways."""

    __slots__ = (
        "_app",
        "_cancel_scope",
        "_done",
        "_from_app",
        "_inbox",
        "_outbox",
        "_scope",
        "_to_app",
        "error",
    )

    def __init__(self, app: ASGIApp, scope: Scope) -> None:
        self._app = app
        self._scope = scope
        self._to_app, self._inbox = anyio.create_memory_object_stream[Message](math.inf)
        self._outbox, self._from_app = anyio.create_memory_object_stream[Message](math.inf)
        self._cancel_scope = anyio.CancelScope()
        self._done = anyio.Event()
        #: What the app raised, if anything; set before the outgoing queue ends.
        self.error: BaseException | None = None

    async def run(self) -> None:
        """Run the app until it returns or the session stops it."""
        try:
            with self._cancel_scope:
                self.error = await call_app(
                    self._app, self._scope, self._inbox.receive, self._outbox.send
                )
        finally:
            self._inbox.close()
            self._outbox.close()
            self._done.set()

    def push(self, message: Message) -> None:
        """Queue ``message`` for the app; once the app has returned, drop it."""
        with contextlib.suppress(anyio.BrokenResourceError):
            self._to_app.send_nowait(message)

    async def pull(self) -> Message | None:
        """The app's next message, or ``None`` once it has returned."""
        try:
            return await self._from_app.receive()
        except anyio.EndOfStream:
            return None

    async def stop(self, farewell: Message | None) -> None:
        """Give the app ``farewell`` (if any) and one turn to react to it, then cancel it."""
        if farewell is not None:
            self.push(farewell)
            await anyio.lowlevel.checkpoint()
        self._cancel_scope.cancel()
        await self._done.wait()
        self._to_app.close()
        self._from_app.close()


class WebSocketTestSession:
    """A WebSocket client talking to the app; entering it performs the handshake.

    Entering raises :class:`WebSocketDenialResponse` if the app refuses the connection, and
    whatever the app raised if it failed. Leaving it closes the connection with code 1000
    (unless it is already closed), cancels the app if it is still running and raises any
    exception the app raised that the test has not seen yet.
    """

    def __init__(self, app: ASGIApp, scope: Scope, portal_factory: PortalFactory) -> None:
        self.app = app
        self.scope = scope
        #: The subprotocol the app accepted, if any.
        self.accepted_subprotocol: str | None = None
        #: The extra response headers the app accepted with, if any.
        self.extra_headers: list[tuple[bytes, bytes]] | None = None
        self._portal_factory = portal_factory
        self._accepted = False
        self._client_closed = False
        self._server_close: tuple[int, str] | None = None

    def __enter__(self) -> Self:
        with contextlib.ExitStack() as stack:
            self._portal = portal = stack.enter_context(self._portal_factory())
            self._connection = connection = portal.call(_Connection, self.app, self.scope)
            self._task: Future[None] = portal.start_task_soon(connection.run)
            stack.callback(self._stop)
            self.send({"type": "websocket.connect"})
            message = self.receive()
            self._raise_on_close(message)
            if message["type"] != "websocket.accept":
                raise RuntimeError(
                    f"Expected ASGI message 'websocket.accept', got {message['type']!r}."
                )
            self._accepted = True
            self.accepted_subprotocol = message.get("subprotocol")
            self.extra_headers = message.get("headers")
            self._exit_stack = stack.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._exit_stack.__exit__(exc_type, exc_value, traceback)

    def send(self, message: Message) -> None:
        """Send a raw ASGI message to the app."""
        self._portal.call(self._connection.push, message)

    def send_text(self, data: str) -> None:
        """Send a text message."""
        self.send({"type": "websocket.receive", "text": data})

    def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        self.send({"type": "websocket.receive", "bytes": data})

    def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        """Send ``data`` encoded as compact JSON, in a text or a binary message."""
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        if mode == "text":
            self.send({"type": "websocket.receive", "text": text})
        else:
            self.send({"type": "websocket.receive", "bytes": text.encode("utf-8")})

    def close(self, code: int = _NORMAL_CLOSURE, reason: str | None = None) -> None:
        """Close the connection from the client's side."""
        self._client_closed = True
        self.send({"type": "websocket.disconnect", "code": code, "reason": reason})

    def receive(self) -> Message:
        """The app's next raw ASGI message; a close message is returned, not raised.

        Once the app has returned, raise what it raised, or :class:`WebSocketDisconnect`.
        """
        message = self._portal.call(self._connection.pull)
        if message is None:
            raise self._ended()
        if message["type"] == "websocket.close":
            self._server_close = (message.get("code", _NORMAL_CLOSURE), message.get("reason") or "")
        return message

    def receive_text(self) -> str:
        """The next text message; raise :class:`WebSocketDisconnect` if the app closed."""
        message = self.receive()
        self._raise_on_close(message)
        text: str = message["text"]
        return text

    def receive_bytes(self) -> bytes:
        """The next binary message; raise :class:`WebSocketDisconnect` if the app closed."""
        message = self.receive()
        self._raise_on_close(message)
        data: bytes = message["bytes"]
        return data

    def receive_json(self, mode: Literal["text", "binary"] = "text") -> Any:
        """The next message decoded from JSON, read from a text or a binary message."""
        message = self.receive()
        self._raise_on_close(message)
        if mode == "text":
            return json.loads(message["text"])
        return json.loads(message["bytes"].decode("utf-8"))

    def _raise_on_close(self, message: Message) -> None:
        kind = message["type"]
        if kind == "websocket.close":
            code = message.get("code", _NORMAL_CLOSURE)
            reason = message.get("reason")
            if self._accepted:
                raise WebSocketDisconnect(code, reason)
            raise WebSocketDenialResponse(_FORBIDDEN, code=code, reason=reason)
        if kind == "websocket.http.response.start":
            raise self._read_denial(message)

    def _read_denial(self, start: Message) -> WebSocketDenialResponse:
        chunks: list[bytes] = []
        more_body = True
        while more_body:
            message = self._portal.call(self._connection.pull)
            if message is None:
                break
            if message["type"] != "websocket.http.response.body":
                raise RuntimeError(
                    "Expected ASGI message 'websocket.http.response.body', "
                    f"got {message['type']!r}."
                )
            chunks.append(message.get("body", b""))
            more_body = message.get("more_body", False)
        return WebSocketDenialResponse(
            start["status"], headers=start.get("headers", []), content=b"".join(chunks)
        )

    def _ended(self) -> BaseException:
        error, self._connection.error = self._connection.error, None
        if error is not None:
            return error
        if self._server_close is not None:
            return WebSocketDisconnect(*self._server_close)
        if not self._accepted:
            return WebSocketDenialResponse(_FORBIDDEN)
        return WebSocketDisconnect(_NORMAL_CLOSURE)

    def _stop(self) -> None:
        farewell = None
        if not self._client_closed:
            self._client_closed = True
            farewell = {"type": "websocket.disconnect", "code": _NORMAL_CLOSURE, "reason": None}
        self._portal.call(self._connection.stop, farewell)
        self._task.result()
        error, self._connection.error = self._connection.error, None
        if error is not None:
            raise error
