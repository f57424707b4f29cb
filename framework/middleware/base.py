"""``BaseHTTPMiddleware``: middleware written as ``dispatch(request, call_next) -> response``."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeAlias

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup

from framework.background import BackgroundTask
from framework.requests import ClientDisconnect, Request
from framework.responses import Response
from framework.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BaseHTTPMiddleware", "DispatchFunction", "RequestResponseEndpoint"]

RequestResponseEndpoint: TypeAlias = Callable[[Request], Awaitable[Response]]
DispatchFunction: TypeAlias = Callable[[Request, RequestResponseEndpoint], Awaitable[Response]]
BodyStream: TypeAlias = AsyncIterator["bytes | Message"]


def _disconnect() -> Message:
    return {"type": "http.disconnect"}


class _CachedRequest(Request):
    """The request ``dispatch`` sees, which also replays the body to the app behind it.

    Whatever ``dispatch`` did with the body, the app can still receive it: all of it if
    ``dispatch`` read it with ``body()``, the rest of it if ``dispatch`` read only part of the
    stream, and an empty body if ``dispatch`` consumed the stream (so the app does not hang).
    """

    __slots__ = ("_replay_disconnected", "_replay_done")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        super().__init__(scope, receive)
        self._replay_done = False
        self._replay_disconnected = False

    async def wrapped_receive(self) -> Message:
        """The ASGI ``receive`` for the app: the body, then (only) the client's disconnect."""
        if self._replay_disconnected:
            return _disconnect()
        if self._replay_done:
            return await self._wait_for_disconnect()
        # NOTE: this reads the Request's own body state (cached body, consumed stream), so
        # whatever dispatch already took is not asked of the server a second time.
        body = self._cached_body()
        if body is not None:
            self._replay_done = True
            return {"type": "http.request", "body": body, "more_body": False}
        if self._stream_consumed:
            self._replay_done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        # A fresh generator per call: if this receive is cancelled while waiting, nothing
        # is lost, and the next call carries on from the Request's state.
        stream = self.stream()
        try:
            chunk = await stream.__anext__()
        except ClientDisconnect:
            self._replay_disconnected = True
            return _disconnect()
        finally:
            await stream.aclose()
        more_body = not self._stream_consumed
        self._replay_done = not more_body
        return {"type": "http.request", "body": chunk, "more_body": more_body}

    async def _wait_for_disconnect(self) -> Message:
        while not self._is_disconnected:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                break
        self._replay_disconnected = True
        return _disconnect()


# PERF: how many response messages the app may send before waiting for the middleware to
# take them. With two, a plain response (start, then one body message) goes through without
# a single task switch; a stream still only gets this far ahead.
_AHEAD = 2


class _Channel:
    """Carries the app's response messages to the middleware, in order.

    Lighter than an anyio memory stream: putting and getting only wait (and switch tasks)
    when they must, not at every message.
    """

    __slots__ = (
        "_messages",
        "_reader_closed",
        "_reader_wakeup",
        "_writer_closed",
        "_writer_wakeup",
    )

    def __init__(self) -> None:
        self._messages: deque[Message] = deque()
        self._reader_closed = False
        self._writer_closed = False
        self._reader_wakeup: anyio.Event | None = None
        self._writer_wakeup: anyio.Event | None = None

    async def put(self, message: Message) -> bool:
        """Queue ``message``; ``False`` if the reader is gone and the message was dropped."""
        if self._reader_closed:
            return False
        messages = self._messages
        messages.append(message)
        self._wake_reader()
        while len(messages) > _AHEAD and not self._reader_closed:
            wakeup = self._writer_wakeup = anyio.Event()
            await wakeup.wait()
        return True

    async def get(self) -> Message | None:
        """The next message, or ``None`` once the writer has closed and nothing is left."""
        messages = self._messages
        while not messages:
            if self._writer_closed:
                return None
            wakeup = self._reader_wakeup = anyio.Event()
            await wakeup.wait()
        message = messages.popleft()
        self._wake_writer()
        return message

    def close_writer(self) -> None:
        """The app is done: the reader gets what is queued, then ``None``."""
        self._writer_closed = True
        self._wake_reader()

    def close_reader(self) -> None:
        """Nobody reads any more: queued and later messages are dropped."""
        self._reader_closed = True
        self._messages.clear()
        self._wake_writer()

    def _wake_reader(self) -> None:
        wakeup = self._reader_wakeup
        if wakeup is not None:
            self._reader_wakeup = None
            wakeup.set()

    def _wake_writer(self) -> None:
        wakeup = self._writer_wakeup
        if wakeup is not None:
            self._writer_wakeup = None
            wakeup.set()


class _StreamingResponse(Response):
    """The response ``call_next`` returns: the app's status and headers, its body streamed.

    ``body_iterator`` yields the body's chunks (and a final non-body message such as
    ``http.response.pathsend``, when the app ends with one).
    """

    # Set by call_next: the channel the app's messages arrive on, and the body_iterator it
    # made. While body_iterator is untouched, the messages are forwarded as they are.
    _channel: _Channel | None = None
    _own_body: BodyStream | None = None

    def __init__(
        self,
        content: BodyStream,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        self.info = info
        self.body_iterator = content
        self.status_code = status_code
        self.media_type = media_type
        self.init_headers(headers)
        self.background: BackgroundTask | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            if self.info is not None:
                await send({"type": "http.response.debug", "info": self.info})
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            channel = self._channel
            if channel is not None and self.body_iterator is self._own_body:
                await self._forward(channel, send)
            else:
                await self._stream(send)
        except OSError:
            # NOTE: from ASGI 2.4 on, the server reports a gone client by raising OSError.
            raise ClientDisconnect() from None
        if self.background is not None:
            await self.background()

    async def _stream(self, send: Send) -> None:
        async for chunk in self.body_iterator:
            if isinstance(chunk, bytes):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            else:
                # A message that ends the response another way (pathsend).
                await send(chunk)
                return
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _forward(self, channel: _Channel, send: Send) -> None:
        # PERF: the app's own body messages go out unchanged: no re-chunking, no extra closing
        # message, no generator in between.
        while True:
            message = await channel.get()
            if message is None:
                # The app stopped before the end of its body (it raised): close the body.
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            message_type = message["type"]
            if message_type == "http.response.body":
                await send(message)
                if not message.get("more_body", False):
                    return
            elif message_type == "http.response.pathsend":
                await send(message)
                return
            else:
                raise RuntimeError(f"Unexpected message: {message_type!r}")


class _Exchange:
    """One request's traffic between ``dispatch`` and the app, which runs in its own task."""

    __slots__ = (
        "app",
        "app_exc",
        "app_exc_raised",
        "app_scope",
        "body_stream",
        "channel",
        "request",
        "response_sent",
        "scope",
        "task_group",
        "waiting",
    )

    def __init__(
        self, app: ASGIApp, scope: Scope, request: _CachedRequest, task_group: TaskGroup
    ) -> None:
        self.app = app
        self.scope = scope
        self.request = request
        self.task_group = task_group
        self.channel = _Channel()
        self.app_exc: Exception | None = None
        self.app_exc_raised = False
        self.response_sent = False
        self.app_scope = anyio.CancelScope()
        self.body_stream: AsyncGenerator[bytes | Message, None] | None = None
        # Cancel scopes of the app's receive calls in progress; see finish().
        self.waiting: set[anyio.CancelScope] = set()

    async def call_next(self, request: Request) -> Response:
        """Run the app and return its response once it has started; the body follows lazily."""
        self.task_group.start_soon(self.run_app)
        channel = self.channel
        message = await channel.get()
        info = None
        if message is not None and message["type"] == "http.response.debug":
            info = message.get("info")
            message = await channel.get()
        if message is None:
            if self.app_exc is not None:
                self.app_exc_raised = True
                raise self.app_exc
            raise RuntimeError("No response returned.")
        if message["type"] != "http.response.start":
            raise RuntimeError(f"Unexpected message: {message['type']!r}")
        body_stream = self.body_stream = self.body()
        response = _StreamingResponse(body_stream, status_code=message["status"], info=info)
        response._channel = channel
        response._own_body = body_stream
        headers = message.get("headers", [])
        # MutableHeaders edits the list in place, so it must be a list of its own.
        response.raw_headers = headers if isinstance(headers, list) else list(headers)
        return response

    async def body(self) -> AsyncGenerator[bytes | Message, None]:
        """The app's body chunks, then the message that ends the body if it is not a chunk."""
        channel = self.channel
        while (message := await channel.get()) is not None:
            message_type = message["type"]
            if message_type == "http.response.body":
                chunk: bytes = message.get("body", b"")
                if chunk:
                    yield chunk
                if not message.get("more_body", False):
                    return
            elif message_type == "http.response.pathsend":
                yield message
                return
            else:
                raise RuntimeError(f"Unexpected message: {message_type!r}")

    async def run_app(self) -> None:
        try:
            with self.app_scope:
                await self.app(self.scope, self.receive, self.send)
        except Exception as exc:
            self.app_exc = exc
        finally:
            self.channel.close_writer()

    async def receive(self) -> Message:
        """The app's ``receive``: the request's, until the response has gone out."""
        if self.response_sent:
            return _disconnect()
        with anyio.CancelScope() as cancel_scope:
            self.waiting.add(cancel_scope)
            try:
                message = await self.request.wrapped_receive()
            finally:
                self.waiting.discard(cancel_scope)
        if cancel_scope.cancelled_caught or self.response_sent:
            return _disconnect()
        return message

    async def send(self, message: Message) -> None:
        """The app's ``send``; messages after the middleware stopped listening are dropped."""
        if not await self.channel.put(message) and message.get("more_body", False):
            # NOTE: nobody reads this response any more. An app that keeps streaming into
            # the void (an endless stream would never end) is stopped; one that has finished
            # sending is left to run its background tasks. The checkpoint delivers the
            # cancellation even to a stream that never awaits anything else.
            self.app_scope.cancel()
            await anyio.lowlevel.checkpoint()

    def finish(self) -> None:
        """The response is out: the app's pending and future receives get a disconnect."""
        self.response_sent = True
        self.channel.close_reader()
        for cancel_scope in self.waiting:
            cancel_scope.cancel()

    async def close(self) -> None:
        """Close the body stream if ``dispatch`` left it unfinished."""
        if self.body_stream is not None:
            await self.body_stream.aclose()


class BaseHTTPMiddleware:
    """Middleware as a function of the request and ``call_next``.

    Subclass it and override :meth:`dispatch`, or pass ``dispatch=``. ``call_next(request)``
    runs the rest of the app and returns its response as soon as the response starts; its
    body streams through. The body stays readable in ``dispatch`` and again in the app, and
    an exception the app raises comes out of ``call_next``.
    """

    def __init__(self, app: ASGIApp, dispatch: DispatchFunction | None = None) -> None:
        self.app = app
        self.dispatch_func: DispatchFunction = self.dispatch if dispatch is None else dispatch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = _CachedRequest(scope, receive)
        failure: Exception | None = None
        # NOTE: failures are caught inside the task group and raised after it, so callers see
        # the exception itself rather than an ExceptionGroup around it.
        async with anyio.create_task_group() as task_group:
            exchange = _Exchange(self.app, scope, request, task_group)
            try:
                response = await self.dispatch_func(request, exchange.call_next)
                await response(scope, request.wrapped_receive, send)
            except Exception as exc:
                failure = exc
                # Nobody will read the app's response any more: stop it.
                task_group.cancel_scope.cancel()
            exchange.finish()
        await exchange.close()
        if failure is not None:
            raise failure
        if exchange.app_exc is not None and not exchange.app_exc_raised:
            raise exchange.app_exc

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        """Handle ``request``; subclasses override this (or pass ``dispatch=`` instead)."""
        raise NotImplementedError()
