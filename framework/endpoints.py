"""Class-based endpoints: a method per HTTP verb, or callbacks over a WebSocket's life.

Both classes are ASGI apps in the way Starlette's are: ``await Endpoint(scope, receive, send)``
serves one connection, so a class can be handed to ``Route`` or ``WebSocketRoute`` as is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any, ClassVar, Literal

from framework import _json, status
from framework._exception_handlers import wrap_app_handling_exceptions
from framework._utils import is_async_callable
from framework.concurrency import run_in_threadpool
from framework.exceptions import HTTPException
from framework.requests import Request
from framework.responses import PlainTextResponse, Response
from framework.types import Message, Receive, Scope, Send
from framework.websockets import WebSocket, WebSocketDisconnect

__all__ = ["HTTPEndpoint", "Invoker", "WebSocketEndpoint"]

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
"""The methods an ``HTTPEndpoint`` serves, each from the method of the same name, lowercased."""

Invoker = Callable[["HTTPEndpoint", Request], Awaitable[Response]]
"""Serves a request on an endpoint instance: calls the handler and returns its response."""

_ENCODINGS = (None, "text", "bytes", "json")


class HTTPEndpoint:
    """Dispatches each request to the method named after its HTTP method (``get``, ``post``...).

    ``HEAD`` falls back to ``get``; handlers may be sync (run in the thread pool) or async, take
    the :class:`~framework.requests.Request` and return a response. A method without a handler
    gets 405 with an ``Allow`` header.

    Handlers are found once per class, when it is defined: each becomes an :data:`Invoker` made
    by :meth:`_make_invoker`, which subclasses override to change how handlers are called.
    """

    _allowed_methods: ClassVar[tuple[str, ...]] = ()
    _invokers: ClassVar[dict[str, Invoker]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        invokers: dict[str, Invoker] = {}
        for method in HTTP_METHODS:
            name = method.lower()
            if getattr(cls, name, None) is not None:
                invokers[method] = cls._make_invoker(name)
        if "HEAD" not in invokers and "GET" in invokers:
            invokers["HEAD"] = invokers["GET"]
        cls._invokers = invokers
        cls._allowed_methods = tuple(method for method in HTTP_METHODS if method in invokers)

    @classmethod
    def _make_invoker(cls, name: str) -> Invoker:
        """How a request reaches the handler method ``name``: called once per class and method."""
        # NOTE: the handler is looked up on the instance at call time, as Starlette does, so
        # instance attributes and test doubles patched onto the class take effect.
        if is_async_callable(getattr(cls, name)):

            async def invoke_async(endpoint: HTTPEndpoint, request: Request) -> Response:
                response: Response = await getattr(endpoint, name)(request)
                return response

            return invoke_async

        async def invoke_sync(endpoint: HTTPEndpoint, request: Request) -> Response:
            response: Response = await run_in_threadpool(getattr(endpoint, name), request)
            return response

        return invoke_sync

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        self.scope = scope
        self.receive = receive
        self.send = send

    def __await__(self) -> Generator[Any, None, None]:
        return self.dispatch().__await__()

    async def dispatch(self) -> None:
        """Serve the request: call its handler and send the response, or handle the exception."""
        request = Request(self.scope, receive=self.receive)
        # NOTE: custom verbs (PROPFIND...) are not dispatched: a request must never be able to
        # call an arbitrary method of the class by naming it.
        invoker = self._invokers.get(self.scope["method"])

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if invoker is None:
                response = await self.method_not_allowed(request)
            else:
                response = await invoker(self, request)
            await response(scope, receive, send)

        await wrap_app_handling_exceptions(app, request)(self.scope, self.receive, self.send)

    async def method_not_allowed(self, request: Request) -> Response:
        """Answer 405: raise ``HTTPException`` inside an app (its handlers apply), else respond."""
        headers = {"Allow": ", ".join(self._allowed_methods)}
        if "app" in self.scope:
            raise HTTPException(status_code=405, headers=headers)
        return PlainTextResponse("Method Not Allowed", status_code=405, headers=headers)


class WebSocketEndpoint:
    """Serves a WebSocket through callbacks: ``on_connect``, ``on_receive``, ``on_disconnect``.

    ``encoding`` decides what ``on_receive`` gets: ``"text"`` (str), ``"bytes"``, ``"json"``
    (decoded from text or UTF-8 binary frames), or ``None`` for whichever the frame held. A frame
    of the wrong kind, or malformed JSON, closes the connection with 1003 and raises
    ``RuntimeError``. ``max_message_size`` (bytes) overrides the WebSocket's incoming size limit.
    """

    encoding: Literal["text", "bytes", "json"] | None = None
    max_message_size: int | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        where = f"{cls.__module__}.{cls.__qualname__}"
        if cls.encoding not in _ENCODINGS:
            raise ValueError(
                f"{where}: unsupported encoding {cls.encoding!r}; "
                "use 'text', 'bytes', 'json' or None."
            )
        size = cls.max_message_size
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 1):
            raise ValueError(f"{where}: max_message_size must be a positive integer, got {size!r}.")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "websocket"
        self.scope = scope
        self.receive = receive
        self.send = send

    def __await__(self) -> Generator[Any, None, None]:
        return self.dispatch().__await__()

    async def dispatch(self) -> None:
        """Run the connection: connect, feed each message to ``on_receive``, then disconnect."""
        websocket = WebSocket(
            self.scope, self.receive, self.send, max_message_size=self.max_message_size
        )

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            await self.on_connect(websocket)
            close_code = status.WS_1000_NORMAL_CLOSURE
            try:
                while True:
                    message = await websocket.receive()
                    message_type = message["type"]
                    if message_type == "websocket.receive":
                        data = await self.decode(websocket, message)
                        await self.on_receive(websocket, data)
                    elif message_type == "websocket.disconnect":
                        close_code = int(message.get("code") or status.WS_1000_NORMAL_CLOSURE)
                        break
            except WebSocketDisconnect as exc:
                # NOTE: the connection ended (client gone, or a message over the size limit):
                # that is a disconnect with its code, not an error of the app.
                close_code = exc.code
            except Exception:
                close_code = status.WS_1011_INTERNAL_ERROR
                raise
            finally:
                await self.on_disconnect(websocket, close_code)

        await wrap_app_handling_exceptions(app, websocket)(self.scope, self.receive, self.send)

    async def decode(self, websocket: WebSocket, message: Message) -> Any:
        """The payload of a ``websocket.receive`` message, as ``encoding`` asks."""
        encoding = self.encoding
        text: str | None = message.get("text")
        if encoding == "text":
            if text is None:
                await websocket.close(code=status.WS_1003_UNSUPPORTED_DATA)
                raise RuntimeError("Expected text websocket messages, but got bytes")
            return text
        data: bytes | None = message.get("bytes")
        if encoding == "bytes":
            if data is None:
                await websocket.close(code=status.WS_1003_UNSUPPORTED_DATA)
                raise RuntimeError("Expected bytes websocket messages, but got text")
            return data
        if encoding == "json":
            # NOTE: invalid UTF-8 (a ValueError) and nesting too deep to decode are malformed
            # input like any other, not server errors.
            try:
                if text is None:
                    text = (data or b"").decode("utf-8")
                return _json.loads(text)
            except (ValueError, RecursionError) as exc:
                await websocket.close(code=status.WS_1003_UNSUPPORTED_DATA)
                raise RuntimeError("Malformed JSON data received.") from exc
        return data if text is None else text

    async def on_connect(self, websocket: WebSocket) -> None:
        """Called when a client connects; accepts the connection unless overridden."""
        await websocket.accept()

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        """Called with each decoded message; override to handle them."""

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        """Called once the connection has ended, with its close code; override to clean up."""
