"""WebSocket connections: ASGI's websocket message protocol behind a send/receive API.

A :class:`WebSocket` tracks two state machines, one per direction: ``client_state`` follows the
messages received from the server, ``application_state`` the messages the app sends. Each
refuses messages that are illegal in its current state, so protocol mistakes surface as clear
errors in the app rather than as confused servers.
"""

from __future__ import annotations

import enum
import json
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from framework import _json, _keys, status
from framework.requests import HTTPConnection, StateT
from framework.types import Message, Receive, Scope, Send

if TYPE_CHECKING:
    from framework.responses import Response

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "MAX_MESSAGE_SIZE_SCOPE_KEY",
    "WebSocket",
    "WebSocketClose",
    "WebSocketDisconnect",
    "WebSocketDisconnected",
    "WebSocketState",
]

DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024
"""Largest incoming text or binary message, in bytes, unless configured otherwise."""

MAX_MESSAGE_SIZE_SCOPE_KEY = _keys.MAX_MESSAGE_SIZE
"""Scope key through which an app, router or route overrides the default message size limit."""

# NOTE: the JSON that Starlette sends is ``json.dumps(..., ensure_ascii=False,
# separators=(",", ":"))``, which writes NaN and infinities; this encoder keeps that output.
# PERF: built once; ``json.dumps`` with non-default options builds a new encoder per call.
_json_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

_MODE_ERROR = 'The "mode" argument should be "text" or "binary".'
_NOT_CONNECTED = 'WebSocket is not connected. Need to call "accept" first.'


class WebSocketState(enum.Enum):
    """Where one direction of a WebSocket connection stands."""

    CONNECTING = 0
    CONNECTED = 1
    DISCONNECTED = 2
    RESPONSE = 3


class WebSocketDisconnect(Exception):
    """The connection is closed: raised to the app with the close ``code`` and ``reason``."""

    # NOTE: BaseException.__new__ already records the positional arguments as ``args``, so the
    # repr shows exactly what the caller passed, as Starlette's does.
    def __init__(
        self, code: int = status.WS_1000_NORMAL_CLOSURE, reason: str | None = None
    ) -> None:
        self.code = code
        self.reason = reason or ""


class WebSocketDisconnected(RuntimeError):
    """The app used a WebSocket in a state that does not allow it (not accepted, or closed)."""


_CONNECTING = WebSocketState.CONNECTING
_CONNECTED = WebSocketState.CONNECTED
_DISCONNECTED = WebSocketState.DISCONNECTED
_RESPONSE = WebSocketState.RESPONSE


class WebSocket(HTTPConnection[StateT]):
    """One WebSocket connection: accept it, exchange messages, close it.

    Incoming text and binary messages larger than ``max_message_size`` bytes close the
    connection with 1009 (message too big) and raise :class:`WebSocketDisconnect`. The limit is,
    in order of precedence: the ``max_message_size`` argument, the scope's
    ``"framework.websocket.max_message_size"`` entry, then :data:`DEFAULT_MAX_MESSAGE_SIZE`.
    """

    __slots__ = ("_max_message_size", "_receive", "_send", "application_state", "client_state")

    def __init__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        max_message_size: int | None = None,
    ) -> None:
        super().__init__(scope)
        assert scope["type"] == "websocket"
        self._receive = receive
        self._send = send
        self.client_state = _CONNECTING
        self.application_state = _CONNECTING
        if max_message_size is None:
            max_message_size = scope.get(MAX_MESSAGE_SIZE_SCOPE_KEY, DEFAULT_MAX_MESSAGE_SIZE)
        self._max_message_size: int = max_message_size

    @property
    def max_message_size(self) -> int:
        """The largest incoming message accepted, in bytes."""
        return self._max_message_size

    async def receive(self) -> Message:
        """Receive the next ASGI message, checking that it is legal in the current state."""
        state = self.client_state
        if state is _CONNECTED:
            message = await self._receive()
            message_type = message["type"]
            if message_type == "websocket.receive":
                if self._too_big(message):
                    await self._reject_too_big()
                return message
            if message_type == "websocket.disconnect":
                self.client_state = _DISCONNECTED
                return message
            raise RuntimeError(
                'Expected ASGI message "websocket.receive" or "websocket.disconnect", '
                f"but got {message_type!r}"
            )
        if state is _CONNECTING:
            message = await self._receive()
            message_type = message["type"]
            if message_type != "websocket.connect":
                raise RuntimeError(
                    f'Expected ASGI message "websocket.connect", but got {message_type!r}'
                )
            self.client_state = _CONNECTED
            return message
        raise WebSocketDisconnected(
            'Cannot call "receive" once a disconnect message has been received.'
        )

    async def send(self, message: Message) -> None:
        """Send an ASGI message, checking that it is legal in the current state."""
        state = self.application_state
        message_type = message["type"]
        if state is _CONNECTED:
            if message_type == "websocket.close":
                self.application_state = _DISCONNECTED
            elif message_type != "websocket.send":
                raise RuntimeError(
                    'Expected ASGI message "websocket.send" or "websocket.close", '
                    f"but got {message_type!r}"
                )
            try:
                await self._send(message)
            except OSError as exc:
                # NOTE: servers raise OSError for a send on a connection the client dropped;
                # the app sees it as the abnormal closure it is.
                self.application_state = _DISCONNECTED
                raise WebSocketDisconnect(code=status.WS_1006_ABNORMAL_CLOSURE) from exc
            return
        if state is _CONNECTING:
            if message_type == "websocket.accept":
                self.application_state = _CONNECTED
            elif message_type == "websocket.close":
                self.application_state = _DISCONNECTED
            elif message_type == "websocket.http.response.start":
                self.application_state = _RESPONSE
            else:
                raise RuntimeError(
                    'Expected ASGI message "websocket.accept", "websocket.close" or '
                    f'"websocket.http.response.start", but got {message_type!r}'
                )
            await self._send(message)
            return
        if state is _RESPONSE:
            if message_type != "websocket.http.response.body":
                raise RuntimeError(
                    'Expected ASGI message "websocket.http.response.body", '
                    f"but got {message_type!r}"
                )
            if not message.get("more_body", False):
                self.application_state = _DISCONNECTED
            await self._send(message)
            return
        raise WebSocketDisconnected('Cannot call "send" once a close message has been sent.')

    async def accept(
        self,
        subprotocol: str | None = None,
        headers: Iterable[tuple[bytes, bytes]] | None = None,
    ) -> None:
        """Accept the connection, first receiving the client's connect message if still due."""
        if self.client_state is _CONNECTING:
            await self.receive()
        await self.send(
            {
                "type": "websocket.accept",
                "subprotocol": subprotocol,
                "headers": [] if headers is None else list(headers),
            }
        )

    async def receive_text(self) -> str:
        """Receive a text message; a disconnect raises :class:`WebSocketDisconnect`."""
        text: str | None = (await self._receive_data()).get("text")
        if text is None:
            await self._reject_unexpected("text")
        return text

    async def receive_bytes(self) -> bytes:
        """Receive a binary message; a disconnect raises :class:`WebSocketDisconnect`."""
        data: bytes | None = (await self._receive_data()).get("bytes")
        if data is None:
            await self._reject_unexpected("bytes")
        return data

    async def receive_json(self, mode: Literal["text", "binary"] = "text") -> Any:
        """Receive a message holding JSON, from a text frame or a UTF-8 binary frame."""
        if mode == "text":
            return _json.loads(await self.receive_text())
        if mode == "binary":
            return _json.loads((await self.receive_bytes()).decode("utf-8"))
        raise RuntimeError(_MODE_ERROR)

    async def iter_text(self) -> AsyncIterator[str]:
        """Yield text messages until the connection closes."""
        try:
            while True:
                yield await self.receive_text()
        except WebSocketDisconnect:
            pass

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """Yield binary messages until the connection closes."""
        try:
            while True:
                yield await self.receive_bytes()
        except WebSocketDisconnect:
            pass

    async def iter_json(self) -> AsyncIterator[Any]:
        """Yield decoded JSON text messages until the connection closes."""
        try:
            while True:
                yield await self.receive_json()
        except WebSocketDisconnect:
            pass

    async def send_text(self, data: str) -> None:
        """Send a text message."""
        await self.send({"type": "websocket.send", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        await self.send({"type": "websocket.send", "bytes": data})

    async def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        """Send ``data`` as compact JSON, in a text frame or a UTF-8 binary frame."""
        if mode == "text":
            await self.send({"type": "websocket.send", "text": _json_encoder.encode(data)})
        elif mode == "binary":
            encoded = _json_encoder.encode(data).encode("utf-8")
            await self.send({"type": "websocket.send", "bytes": encoded})
        else:
            raise RuntimeError(_MODE_ERROR)

    async def close(
        self, code: int = status.WS_1000_NORMAL_CLOSURE, reason: str | None = None
    ) -> None:
        """Close the connection (before accepting, this rejects it with HTTP 403)."""
        await self.send({"type": "websocket.close", "code": code, "reason": reason or ""})

    async def send_denial_response(self, response: Response) -> None:
        """Reject the handshake with an HTTP ``response``; needs the server's denial extension."""
        extensions = self.scope.get("extensions") or {}
        if "websocket.http.response" not in extensions:
            raise RuntimeError(
                "The server doesn't support the Websocket Denial Response extension."
            )
        await response(self.scope, self.receive, self.send)

    async def _receive_data(self) -> Message:
        """The next data message; a disconnect raises, as the ``receive_*`` helpers promise."""
        if self.application_state is not _CONNECTED:
            raise WebSocketDisconnected(_NOT_CONNECTED)
        message = await self.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(
                message.get("code") or status.WS_1000_NORMAL_CLOSURE, message.get("reason")
            )
        return message

    def _too_big(self, message: Message) -> bool:
        limit = self._max_message_size
        data = message.get("bytes")
        if data is not None:
            return len(data) > limit
        text = message.get("text")
        if text is None:
            return False
        length = len(text)
        # PERF: UTF-8 takes 1 to 4 bytes per character, so encoding is needed only in between.
        if length > limit:
            return True
        if length * 4 <= limit:
            return False
        return len(text.encode("utf-8", "surrogatepass")) > limit

    async def _reject_too_big(self) -> NoReturn:
        await self._abandon(status.WS_1009_MESSAGE_TOO_BIG, "Message too big")

    async def _reject_unexpected(self, expected: str) -> NoReturn:
        got = "bytes" if expected == "text" else "text"
        await self._abandon(
            status.WS_1003_UNSUPPORTED_DATA, f"Expected {expected} messages, but got {got}"
        )

    async def _abandon(self, code: int, reason: str) -> NoReturn:
        # NOTE: nothing more is read from a client that broke the rules; the app gets the same
        # clean WebSocketDisconnect as for a client-side close.
        self.client_state = _DISCONNECTED
        if self.application_state is _CONNECTED:
            await self.close(code, reason)
        raise WebSocketDisconnect(code, reason)


class WebSocketClose:
    """An ASGI app that closes the WebSocket with ``code`` and ``reason``."""

    __slots__ = ("code", "reason")

    def __init__(
        self, code: int = status.WS_1000_NORMAL_CLOSURE, reason: str | None = None
    ) -> None:
        self.code = code
        self.reason = reason or ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "websocket.close", "code": self.code, "reason": self.reason})
