"""Class-based endpoints: a method per HTTP verb, or callbacks over a WebSocket's life.

Both classes are ASGI apps in the way Starlette's are: ``await Endpoint(scope, receive, send)``
serves one connection, so a class can be handed to ``Route`` or ``WebSocketRoute`` as is.

Handlers may be typed: their signatures are read into plans (``framework.typed.signature``)
and the plans built into invokers (``framework.typed.invoke``) that read, validate and encode
everything the annotations ask for. ``App`` plans each class for the path of each of its
routes at start-up and binds the route to a `BoundHTTPEndpoint` (or `BoundWebSocketEndpoint`)
holding that route's invokers: the class itself never changes, so one class may serve several
routes and several apps. A class served without an ``App`` (a bare ``Router``) is planned on
its first request instead, for the path parameters it matched.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Callable, Generator, Mapping
from typing import Any, ClassVar, Literal, NamedTuple

from framework import _json, _keys, status
from framework._exception_handlers import (
    HandlerTables,
    handle_exception,
    lookup_handler,
    track,
    wrap_app_handling_exceptions,
)
from framework.exceptions import HTTPException
from framework.requests import Request
from framework.responses import PlainTextResponse, Response
from framework.typed.converter import APIConverter, default_converter
from framework.typed.errors import ErrorDetail, RequestValidationError
from framework.typed.invoke import Invoker, build_invoker, build_message_reader, lifespan_state
from framework.typed.plan import WebSocketPlan
from framework.typed.signature import (
    DEFINITION_LOCALS,
    definition_locals,
    plan_operation,
    plan_websocket,
    template_for,
)
from framework.types import Message, Receive, Scope, Send
from framework.websockets import WebSocket, WebSocketDisconnect

__all__ = [
    "BoundHTTPEndpoint",
    "BoundWebSocketEndpoint",
    "HTTPEndpoint",
    "Invoker",
    "WebSocketBinding",
    "WebSocketEndpoint",
]

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
"""The methods an ``HTTPEndpoint`` serves, each from the method of the same name, lowercased."""

_ENCODINGS = (None, "text", "bytes", "json")


def _keep_definition_locals(cls: type) -> None:
    """Keep the locals of the function a class is defined in, for its handlers' annotations."""
    if "<locals>" in cls.__qualname__:
        # NOTE: the frame above ``__init_subclass__`` is the class statement's, or a
        # subclass's ``__init_subclass__``; ``definition_locals`` walks up to the function.
        setattr(cls, DEFINITION_LOCALS, definition_locals(cls.__qualname__, sys._getframe(2)))


def _state_type(scope: Scope) -> Any:
    state = scope.get("state")
    if isinstance(state, dict) and _keys.LIFESPAN_STATE in state:
        return type(state[_keys.LIFESPAN_STATE])
    return None


def _path_shape(scope: Scope) -> tuple[tuple[str, type], ...]:
    """What a plan made for a request's matched path parameters depends on: names and types."""
    return tuple((name, type(value)) for name, value in (scope.get("path_params") or {}).items())


class _LazyPlans:
    """What classes served without an ``App`` were built into, on their first requests.

    NOTE: as Falcon's router does, the work happens once under a lock and the result is
    published in a table that requests read without it; nothing is stored on the user's
    class, and a class collected by the garbage collector takes its entries with it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: weakref.WeakKeyDictionary[type, dict[Any, Any]] = weakref.WeakKeyDictionary()

    def get(self, cls: type, key: Any, build: Callable[[], Any]) -> Any:
        table = self._built.get(cls)
        if table is not None and key in table:
            return table[key]
        with self._lock:
            table = self._built.setdefault(cls, {})
            if key not in table:
                table[key] = build()
            return table[key]


_LAZY = _LazyPlans()


class HTTPEndpoint:
    """Dispatches each request to the method named after its HTTP method (``get``, ``post``...).

    ``HEAD`` falls back to ``get``; handlers may be sync (run in the thread pool) or async. A
    Starlette-style handler takes the :class:`~framework.requests.Request` and returns a
    response; a typed handler declares its parameters and return type instead (path, query,
    headers, cookies, JSON body, forms, injected objects; see API.md §2). A method without a
    handler gets 405 with an ``Allow`` header.
    """

    _allowed_methods: ClassVar[tuple[str, ...]] = ()
    _handler_names: ClassVar[Mapping[str, str]] = {}
    # The invokers of the route serving this instance; None when no App bound the route.
    _bound_invokers: Mapping[str, Invoker] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _keep_definition_locals(cls)
        names = {
            method: method.lower()
            for method in HTTP_METHODS
            if getattr(cls, method.lower(), None) is not None
        }
        if "HEAD" not in names and "GET" in names:
            names["HEAD"] = "get"
        cls._handler_names = names
        cls._allowed_methods = tuple(method for method in HTTP_METHODS if method in names)

    @classmethod
    def handler_names(cls) -> Mapping[str, str]:
        """The handler method serving each HTTP method (``HEAD`` is ``get`` unless defined)."""
        return cls._handler_names

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        self.scope = scope
        self.receive = receive
        self.send = send

    def __await__(self) -> Generator[Any, None, None]:
        return self.dispatch().__await__()

    async def dispatch(self) -> None:
        """Serve the request: call its handler and send the response, or handle the exception."""
        # NOTE: custom verbs (PROPFIND...) are not dispatched: a request must never be able to
        # call an arbitrary method of the class by naming it.
        await self._serve(self._invoker(self.scope))

    async def _serve(self, invoker: Invoker | None) -> None:
        scope = self.scope
        receive = self.receive
        request = Request(scope, receive=receive)
        tables: HandlerTables | None = scope.get(_keys.EXCEPTION_HANDLERS)
        if tables is None:
            if invoker is None:
                response = await self.method_not_allowed(request)
            else:
                response = await invoker(self, request)
            await response(scope, receive, self.send)
            return
        # PERF: what wrap_app_handling_exceptions does, without building two closures per
        # request: exceptions go to the app's handlers, unless the response has started.
        send = track(self.send)
        try:
            if invoker is None:
                response = await self.method_not_allowed(request)
            else:
                response = await invoker(self, request)
            await response(scope, receive, send)
        except Exception as exc:
            handler = lookup_handler(exc, *tables)
            if handler is None:
                raise
            await handle_exception(handler, request, exc, send, scope, receive)

    def _invoker(self, scope: Scope) -> Invoker | None:
        method = scope["method"]
        bound = self._bound_invokers
        if bound is not None:
            return bound.get(method)
        name = self._handler_names.get(method)
        if name is None:
            return None
        cls = type(self)
        state_type = _state_type(scope)

        def build() -> Invoker:
            # NOTE: a bare Route does not tell its endpoint its path template, so it is
            # rebuilt from the path parameters the route matched.
            plan = plan_operation(
                cls,
                name,
                template_for(scope.get("path_params") or {}),
                route_name=cls.__name__,
                state_type=state_type,
            )
            return build_invoker(plan)

        invoker: Invoker = _LAZY.get(cls, (name, _path_shape(scope), state_type), build)
        return invoker

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

    With ``encoding = "json"``, the annotation of ``on_receive``'s ``data`` types the messages:
    each is structured by the converter, and one that does not fit (or is not JSON) never
    reaches ``on_receive``; the client is sent ``{"type": "error", "detail": [...]}`` and the
    connection stays open. :meth:`send_model` encodes outgoing values the same way.

    A callback may also take the object the app's lifespan yields, by annotating a parameter
    with its type (``async def on_receive(self, websocket, data: Msg, state: AppState)``).
    """

    encoding: Literal["text", "bytes", "json"] | None = None
    max_message_size: int | None = None
    # What the route serving this instance was bound to; None when no App bound the route.
    _binding: WebSocketBinding | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _keep_definition_locals(cls)
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
        binding = self._binding
        if binding is None:
            binding = self._binding = _lazy_binding(type(self), self.scope)
        read_message = binding.read_message
        connect_kwargs, receive_kwargs, disconnect_kwargs = self._state_kwargs(binding)
        websocket = WebSocket(
            self.scope, self.receive, self.send, max_message_size=self.max_message_size
        )

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            await self.on_connect(websocket, **connect_kwargs)
            close_code = status.WS_1000_NORMAL_CLOSURE
            try:
                while True:
                    message = await websocket.receive()
                    message_type = message["type"]
                    if message_type == "websocket.receive":
                        if read_message is None:
                            data = await self.decode(websocket, message)
                        else:
                            try:
                                data = read_message(await self._decode_typed(websocket, message))
                            except RequestValidationError as exc:
                                await self._refuse(websocket, exc.errors)
                                continue
                        await self.on_receive(websocket, data, **receive_kwargs)
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
                await self.on_disconnect(websocket, close_code, **disconnect_kwargs)

        await wrap_app_handling_exceptions(app, websocket)(self.scope, self.receive, self.send)

    def _state_kwargs(
        self, binding: WebSocketBinding
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """The keyword arguments carrying the lifespan state to each callback that takes it."""
        wanted = binding.plan.state_parameters
        if not wanted:
            return {}, {}, {}
        cls = type(self)
        state = lifespan_state(self.scope, f"{cls.__module__}.{cls.__qualname__}")
        found = [
            {wanted[callback]: state} if callback in wanted else {}
            for callback in ("on_connect", "on_receive", "on_disconnect")
        ]
        return found[0], found[1], found[2]

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

    async def _decode_typed(self, websocket: WebSocket, message: Message) -> Any:
        """Decode a message for a typed endpoint: malformed JSON is refused like any message
        that does not fit, without closing the connection."""
        if type(self).decode is not WebSocketEndpoint.decode:
            return await self.decode(websocket, message)
        text: str | None = message.get("text")
        if text is None:
            raw: bytes = message.get("bytes") or b""
        else:
            try:
                raw = text.encode("utf-8")
            except UnicodeEncodeError as exc:
                detail = ErrorDetail(("data",), f"invalid JSON ({exc})", "json_invalid")
                raise RequestValidationError([detail]) from None
        return self._converter().decode_json(raw, ("data",))

    def _converter(self) -> APIConverter:
        return default_converter if self._binding is None else self._binding.converter

    async def _refuse(self, websocket: WebSocket, errors: list[ErrorDetail]) -> None:
        await websocket.send_json(
            {"type": "error", "detail": [error.as_dict() for error in errors]}
        )

    async def send_model(self, websocket: WebSocket, value: object, as_type: Any = None) -> None:
        """Send ``value`` as a JSON text message, unstructured by the endpoint's converter as
        ``as_type`` (by default, as the type of ``value``)."""
        encode = self._converter().encode_fn(type(value) if as_type is None else as_type)
        await websocket.send_text(encode(value).decode("utf-8"))

    # NOTE: the callbacks take ``*args, **kwargs`` so that an override may add a parameter
    # for the lifespan state and still type-check as an override.
    async def on_connect(self, websocket: WebSocket, *args: Any, **kwargs: Any) -> None:
        """Called when a client connects; accepts the connection unless overridden."""
        await websocket.accept()

    async def on_receive(self, websocket: WebSocket, data: Any, *args: Any, **kwargs: Any) -> None:
        """Called with each decoded message; override to handle them."""

    async def on_disconnect(
        self, websocket: WebSocket, close_code: int, *args: Any, **kwargs: Any
    ) -> None:
        """Called once the connection has ended, with its close code; override to clean up."""


class WebSocketBinding(NamedTuple):
    """What a ``WebSocketEndpoint`` route is bound to: the plan for its path, the reader of
    typed messages (None for untyped ones) and the converter of its messages."""

    plan: WebSocketPlan
    read_message: Callable[[Any], Any] | None
    converter: APIConverter

    @classmethod
    def build(cls, plan: WebSocketPlan, converter: APIConverter) -> WebSocketBinding:
        return cls(plan, build_message_reader(plan, converter), converter)


def _lazy_binding(cls: type[WebSocketEndpoint], scope: Scope) -> WebSocketBinding:
    state_type = _state_type(scope)

    def build() -> WebSocketBinding:
        plan = plan_websocket(
            cls,
            template_for(scope.get("path_params") or {}),
            route_name=cls.__name__,
            state_type=state_type,
        )
        return WebSocketBinding.build(plan, default_converter)

    binding: WebSocketBinding = _LAZY.get(cls, (_path_shape(scope), state_type), build)
    return binding


class BoundHTTPEndpoint:
    """The ASGI app of a route serving an ``HTTPEndpoint`` class: each request gets an
    instance of the class, served by the invokers built for this route."""

    __slots__ = ("_dispatches", "endpoint", "invokers")

    def __init__(self, endpoint: type[HTTPEndpoint], invokers: Mapping[str, Invoker]) -> None:
        self.endpoint = endpoint
        self.invokers = invokers
        self._dispatches = endpoint.dispatch is not HTTPEndpoint.dispatch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        instance = self.endpoint(scope, receive, send)
        if self._dispatches:
            # An overridden dispatch() finds the invokers through the instance.
            instance._bound_invokers = self.invokers
            await instance.dispatch()
        else:
            # PERF: the common case goes straight to the route's invoker.
            await instance._serve(self.invokers.get(scope["method"]))


class BoundWebSocketEndpoint:
    """The ASGI app of a route serving a ``WebSocketEndpoint`` class, with its binding."""

    __slots__ = ("binding", "endpoint")

    def __init__(self, endpoint: type[WebSocketEndpoint], binding: WebSocketBinding) -> None:
        self.endpoint = endpoint
        self.binding = binding

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        instance = self.endpoint(scope, receive, send)
        instance._binding = self.binding
        await instance.dispatch()
