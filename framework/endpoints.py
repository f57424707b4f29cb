"""Class-based endpoints: a method per HTTP verb, or callbacks over a WebSocket's life.

Both classes are ASGI apps in the way Starlette's are: ``await Endpoint(scope, receive, send)``
serves one connection, so a class can be handed to ``Route`` or ``WebSocketRoute`` as is.

Handlers may be typed: their signatures are compiled (see ``framework.typed.signature``) into plans
that read, validate and encode everything the annotations ask for. ``App(resources=...)``
compiles each class for its path at start-up through ``__compile__``; a class served by a plain
``Route`` compiles on its first request instead.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Generator, Sequence
from typing import Any, ClassVar, Literal

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
from framework.typed.plan import OperationPlan, WebSocketPlan
from framework.typed.signature import (
    DEFINITION_LOCALS,
    build_invoker,
    build_message_reader,
    compile_operation,
    compile_websocket,
    definition_locals,
    lifespan_state,
    template_for,
    websocket_state_parameters,
)
from framework.types import Message, Receive, Scope, Send
from framework.websockets import WebSocket, WebSocketDisconnect

__all__ = ["HTTPEndpoint", "Invoker", "WebSocketEndpoint"]

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
"""The methods an ``HTTPEndpoint`` serves, each from the method of the same name, lowercased."""

Invoker = Callable[["HTTPEndpoint", Request], Awaitable[Response]]
"""Serves a request on an endpoint instance: calls the handler and returns its response."""

_ENCODINGS = (None, "text", "bytes", "json")


def _keep_definition_locals(cls: type) -> None:
    """Keep the locals of the function a class is defined in, for its handlers' annotations."""
    if "<locals>" in cls.__qualname__:
        # NOTE: the frame above ``__init_subclass__`` is the class statement's, or a
        # subclass's ``__init_subclass__``; ``definition_locals`` walks up to the function.
        setattr(cls, DEFINITION_LOCALS, definition_locals(cls.__qualname__, sys._getframe(2)))


class HTTPEndpoint:
    """Dispatches each request to the method named after its HTTP method (``get``, ``post``...).

    ``HEAD`` falls back to ``get``; handlers may be sync (run in the thread pool) or async. A
    Starlette-style handler takes the :class:`~framework.requests.Request` and returns a
    response; a typed handler declares its parameters and return type instead (path, query,
    headers, cookies, JSON body, forms, injected objects; see API.md §2). A method without a
    handler gets 405 with an ``Allow`` header.

    Handlers are found once per class, when it is defined: each becomes an :data:`Invoker` made
    by :meth:`_make_invoker`, which subclasses override to change how handlers are called.
    """

    _allowed_methods: ClassVar[tuple[str, ...]] = ()
    _invokers: ClassVar[dict[str, Invoker]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _keep_definition_locals(cls)
        invokers: dict[str, Invoker] = {}
        for method in HTTP_METHODS:
            name = method.lower()
            if getattr(cls, name, None) is not None:
                invokers[method] = cls._make_invoker(name)
        cls._install(invokers)

    @classmethod
    def _install(cls, invokers: dict[str, Invoker]) -> None:
        if "HEAD" not in invokers and "GET" in invokers:
            invokers["HEAD"] = invokers["GET"]
        cls._invokers = invokers
        cls._allowed_methods = tuple(method for method in HTTP_METHODS if method in invokers)

    @classmethod
    def __compile__(
        cls,
        path: str,
        *,
        route_name: str | None = None,
        state_type: Any = None,
        tags: Sequence[str] = (),
        converter: APIConverter = default_converter,
    ) -> dict[str, OperationPlan]:
        """Compile every handler for ``path`` and serve requests through the plans from now on.

        Returns the plans by HTTP method. ``state_type`` is the type of the object the app's
        lifespan yields (parameters of that type receive it); ``route_name`` defaults to the
        class name. Raises ``HandlerDefinitionError`` for a handler that cannot be served, and
        then changes nothing.
        """
        name = cls.__name__ if route_name is None else route_name
        plans: dict[str, OperationPlan] = {}
        for method in HTTP_METHODS:
            handler_name = method.lower()
            if getattr(cls, handler_name, None) is not None:
                plans[method] = compile_operation(
                    cls,
                    handler_name,
                    path,
                    route_name=name,
                    state_type=state_type,
                    tags=tags,
                    converter=converter,
                )
        cls._install({method: build_invoker(plan, converter) for method, plan in plans.items()})
        return plans

    @classmethod
    def _make_invoker(cls, name: str) -> Invoker:
        """How a request reaches the handler method ``name``: called once per class and method.

        The invoker made here compiles the handler on its first request, for the path
        parameters that request matched, and then stands aside for the compiled invoker.
        """

        async def invoke_first(endpoint: HTTPEndpoint, request: Request) -> Response:
            invoker = cls._compile_for(name, request, invoke_first)
            return await invoker(endpoint, request)

        return invoke_first

    @classmethod
    def _compile_for(cls, name: str, request: Request, placeholder: Invoker) -> Invoker:
        # NOTE: a plain Route does not tell its endpoint its path template, so the template is
        # rebuilt from the path parameters the route matched: their names, and the convertors
        # their values' types come from. Only the parameters' names and types matter to a plan.
        scope = request.scope
        state = scope.get("state")
        state_type = None
        if isinstance(state, dict) and _keys.LIFESPAN_STATE in state:
            state_type = type(state[_keys.LIFESPAN_STATE])
        plan = compile_operation(
            cls,
            name,
            template_for(scope.get("path_params") or {}),
            route_name=cls.__name__,
            state_type=state_type,
        )
        invoker = build_invoker(plan)
        invokers = cls._invokers
        for method, current in list(invokers.items()):
            if current is placeholder:
                invokers[method] = invoker
        return invoker

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        self.scope = scope
        self.receive = receive
        self.send = send

    def __await__(self) -> Generator[Any, None, None]:
        return self.dispatch().__await__()

    async def dispatch(self) -> None:
        """Serve the request: call its handler and send the response, or handle the exception."""
        scope = self.scope
        receive = self.receive
        request = Request(scope, receive=receive)
        # NOTE: custom verbs (PROPFIND...) are not dispatched: a request must never be able to
        # call an arbitrary method of the class by naming it.
        invoker = self._invokers.get(scope["method"])
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
    _plan: ClassVar[WebSocketPlan | None] = None
    _read_message: ClassVar[Callable[[Any], Any] | None] = None
    _converter: ClassVar[APIConverter] = default_converter
    _state_parameters: ClassVar[dict[str, str]] = {}

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
        cls._plan = None
        cls._read_message = None
        cls._state_parameters = {}

    @classmethod
    def __compile__(
        cls,
        path: str,
        *,
        route_name: str | None = None,
        state_type: Any = None,
        tags: Sequence[str] = (),
        converter: APIConverter = default_converter,
    ) -> WebSocketPlan:
        """Compile the endpoint for ``path``: with ``encoding = "json"``, read the type of
        incoming messages from ``on_receive``'s ``data`` annotation; callbacks with a parameter
        of type ``state_type`` (what the app's lifespan yields) receive that object. Returns
        the plan; raises ``HandlerDefinitionError`` for an annotation that cannot be served."""
        state_parameters = websocket_state_parameters(cls, state_type)
        plan = compile_websocket(
            cls,
            path,
            route_name=cls.__name__ if route_name is None else route_name,
            tags=tags,
            converter=converter,
        )
        cls._read_message = build_message_reader(plan, converter)
        cls._converter = converter
        cls._state_parameters = state_parameters
        cls._plan = plan
        return plan

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "websocket"
        self.scope = scope
        self.receive = receive
        self.send = send

    def __await__(self) -> Generator[Any, None, None]:
        return self.dispatch().__await__()

    async def dispatch(self) -> None:
        """Run the connection: connect, feed each message to ``on_receive``, then disconnect."""
        cls = type(self)
        scope = self.scope
        if cls._plan is None:
            state = scope.get("state")
            state_type = None
            if isinstance(state, dict) and _keys.LIFESPAN_STATE in state:
                state_type = type(state[_keys.LIFESPAN_STATE])
            cls.__compile__(template_for(scope.get("path_params") or {}), state_type=state_type)
        read_message = cls._read_message
        connect_kwargs, receive_kwargs, disconnect_kwargs = self._state_kwargs()
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

    def _state_kwargs(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """The keyword arguments carrying the lifespan state to each callback that takes it."""
        wanted = type(self)._state_parameters
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
        return type(self)._converter.decode_json(raw, ("data",))

    async def _refuse(self, websocket: WebSocket, errors: list[ErrorDetail]) -> None:
        await websocket.send_json(
            {"type": "error", "detail": [error.as_dict() for error in errors]}
        )

    async def send_model(self, websocket: WebSocket, value: object, as_type: Any = None) -> None:
        """Send ``value`` as a JSON text message, unstructured by the endpoint's converter as
        ``as_type`` (by default, as the type of ``value``)."""
        encode = type(self)._converter.encode_fn(type(value) if as_type is None else as_type)
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
