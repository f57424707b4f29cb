"""``App``: the application object, a router wrapped in the error and exception middleware.

Besides Starlette's arguments, ``App`` wires resource modules (``resources=[...]``), plans
every typed endpoint class for its routes at construction, serves an OpenAPI document
(``openapi_url=``) and hands the object its lifespan yields to the handlers that ask for it by type.
"""

from __future__ import annotations

import collections.abc
import contextlib
import inspect
import sys
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

import attrs

from framework._exception_handlers import check_handler
from framework.datastructures import State, URLPath
from framework.middleware import Middleware, _MiddlewareFactory
from framework.middleware.bodylimit import BodySizeLimitMiddleware
from framework.middleware.errors import ServerErrorMiddleware
from framework.middleware.exceptions import ExceptionMiddleware
from framework.requests import HTTPConnection, Request
from framework.responses import Response
from framework.routing import BaseRoute, Mount, Route, Router
from framework.typed.converter import default_converter
from framework.typed.openapi import build_openapi, openapi_endpoint
from framework.typed.plan import OperationPlan, WebSocketPlan
from framework.typed.resources import ResourceItem, Wiring, bind_routes, wire_resources
from framework.typed.signature import definition_locals
from framework.types import ASGIApp, ExceptionHandler, Lifespan, Receive, Scope, Send
from framework.websockets import WebSocket

__all__ = ["App", "lifespan_state_type"]

AppType = TypeVar("AppType", bound="App")
P = ParamSpec("P")

TypedLifespan = Callable[[AppType], contextlib.AbstractAsyncContextManager[object]]
"""A lifespan whose context yields any object: a mapping merges into ``scope["state"]``, any
other object is the typed state handlers receive by annotating a parameter with its type."""

# Return annotations whose first argument is what the lifespan yields.
_YIELDING_ORIGINS: frozenset[Any] = frozenset(
    {
        collections.abc.AsyncIterator,
        collections.abc.AsyncGenerator,
        collections.abc.AsyncIterable,
        contextlib.AbstractAsyncContextManager,
        collections.abc.Iterator,
        collections.abc.Generator,
        collections.abc.Iterable,
        contextlib.AbstractContextManager,
    }
)


def _closure_names(func: Callable[..., Any]) -> dict[str, Any]:
    """The names ``func`` takes from the function it is defined in (its closure's cells)."""
    code = getattr(func, "__code__", None)
    cells = getattr(func, "__closure__", None) or ()
    if code is None:
        return {}
    names: dict[str, Any] = {}
    for name, cell in zip(code.co_freevars, cells, strict=False):
        try:
            names[name] = cell.cell_contents
        except ValueError:  # an empty cell: the name is not bound yet.
            continue
    return names


def _return_hint(func: Callable[..., Any], localns: dict[str, Any] | None = None) -> Any:
    # NOTE: a lifespan defined in a function under postponed annotations names its state
    # type in a string; the function's locals (and the lifespan's closure) resolve it.
    names = {**(localns or {}), **_closure_names(func)}
    try:
        hints = typing.get_type_hints(func, localns=names or None)
    except Exception:  # NOTE: any failure to evaluate annotations just means "not typed".
        return None
    return hints.get("return")


def _yielded(annotation: Any) -> Any:
    if typing.get_origin(annotation) in _YIELDING_ORIGINS:
        args = typing.get_args(annotation)
        return args[0] if args else None
    return None


def lifespan_state_type(
    lifespan: Callable[..., Any] | None, localns: dict[str, Any] | None = None
) -> Any:
    """The type of the object ``lifespan`` yields, from its annotations; None if untyped.

    ``localns`` resolves names in string annotations (those of the function defining a
    local lifespan).

    Reads ``-> AsyncIterator[AppState]`` (or ``AsyncGenerator``) on the function that
    ``@asynccontextmanager`` wraps, ``-> AbstractAsyncContextManager[AppState]`` on a factory,
    or ``__aenter__`` of a context manager class. A mapping type is not a typed state: Starlette
    merges mappings into ``request.state``.
    """
    if lifespan is None:
        return None
    state: Any
    if isinstance(lifespan, type):
        enter = getattr(lifespan, "__aenter__", None)
        state = None if enter is None else _return_hint(enter, localns)
    else:
        target = inspect.unwrap(lifespan)
        if not (inspect.isfunction(target) or inspect.ismethod(target)) and callable(target):
            # A callable object: its ``__call__`` carries the annotations.
            target = type(target).__call__
        state = _yielded(_return_hint(target, localns))
    if state is None or state is type(None) or state is Any or isinstance(state, TypeVar):
        return None
    runtime = typing.get_origin(state) or state
    if not isinstance(runtime, type) or issubclass(runtime, collections.abc.Mapping):
        return None
    if typing.is_typeddict(state):
        return None
    return state


def _check_body_size(max_body_size: int | None) -> int | None:
    valid = isinstance(max_body_size, int) and not isinstance(max_body_size, bool)
    if max_body_size is not None and not (valid and max_body_size >= 0):
        raise ValueError(
            f"App(max_body_size={max_body_size!r}): expected a number of bytes, 0 or more, "
            "or None for no limit"
        )
    return max_body_size


class App:
    """An ASGI application: routes, middleware, exception handlers and a lifespan.

    The middleware stack is built on the first call: ``ServerErrorMiddleware`` outermost (it
    gets the handler registered for ``500`` or ``Exception``), then the user's middleware in
    the order given, then ``ExceptionMiddleware`` with every other handler, then (with
    ``max_body_size``) the body size limit, then the router.

    ``resources`` lists modules, packages or dotted module names whose endpoint classes are
    wired after ``routes``. Every typed endpoint class, wired or given to a ``Route``, is
    planned here and its routes bound, so a handler that cannot be served is an error at
    construction; so is, with ``openapi_url``, an operation the OpenAPI document cannot describe.
    """

    def __init__(
        self: AppType,
        debug: bool = False,
        routes: Sequence[BaseRoute] | None = None,
        middleware: Sequence[Middleware] | None = None,
        exception_handlers: Mapping[Any, ExceptionHandler] | None = None,
        lifespan: Lifespan[AppType] | TypedLifespan[AppType] | None = None,
        *,
        resources: Sequence[ResourceItem] | None = None,
        openapi_url: str | None = None,
        title: str = "API",
        version: str = "0.1.0",
        max_body_size: int | None = None,
    ) -> None:
        self._debug = debug
        self.state = State()
        self.title = title
        self.version = version
        self.openapi_url = openapi_url
        self.max_body_size = _check_body_size(max_body_size)
        self.lifespan_state_type: Any = lifespan_state_type(
            lifespan,
            definition_locals(getattr(lifespan, "__qualname__", ""), sys._getframe(1)),
        )
        self._openapi: dict[str, Any] | None = None
        explicit = list(routes or ())
        if openapi_url is not None:
            endpoint = openapi_endpoint(self.openapi)
            explicit.append(
                Route(
                    openapi_url, endpoint, methods=["GET"], name="openapi", include_in_schema=False
                )
            )
        self._wiring = self._bind(explicit)
        if resources is not None:
            # NOTE: checked against the explicit routes too: they are tried first, so one of
            # them may shadow a wired route.
            wired = wire_resources(
                resources,
                state_type=self.lifespan_state_type,
                converter=default_converter,
                before=explicit,
            )
            self._wiring += wired
            explicit.extend(wired.routes)
        self.router = Router(explicit, lifespan=lifespan)
        self._document_at_start_up()
        self.exception_handlers: dict[Any, ExceptionHandler] = {}
        if exception_handlers is not None:
            for key, handler in exception_handlers.items():
                self.add_exception_handler(key, handler)
        self.user_middleware: list[Middleware] = []
        for item in middleware or ():
            if not isinstance(item, Middleware):
                raise TypeError(
                    "App(middleware=...) takes Middleware(cls, *args, **kwargs) items, "
                    f"not {item!r}"
                )
            self.user_middleware.append(item)
        self.middleware_stack: ASGIApp | None = None

    def _bind(self, routes: Sequence[BaseRoute]) -> Wiring:
        """Plans for the typed endpoint classes in ``routes``; an App mounted inside keeps its
        own plans (planned with its own lifespan's state), moved under the mount's prefix."""
        wiring = Wiring()
        for route in routes:
            mounted = getattr(route, "_base_app", None) if isinstance(route, Mount) else None
            if isinstance(route, Mount) and isinstance(mounted, App):
                prefix = route.path
                wiring += Wiring(
                    (),
                    tuple(attrs.evolve(p, path=prefix + p.path) for p in mounted.operation_plans),
                    tuple(attrs.evolve(p, path=prefix + p.path) for p in mounted.websocket_plans),
                )
            else:
                wiring += bind_routes(
                    [route], state_type=self.lifespan_state_type, converter=default_converter
                )
        return wiring

    def _add_plans(self, routes: Sequence[BaseRoute]) -> None:
        self._wiring += self._bind(routes)
        self._openapi = None
        self._document_at_start_up()

    def _document_at_start_up(self) -> None:
        # NOTE: a served document is built now, so a handler it cannot describe is an error
        # here, not a 500 on the first request for it.
        if self.openapi_url is not None:
            self.openapi()

    def _answers_json(self, conn: HTTPConnection) -> bool:
        """Whether an ``HTTPException`` of this request came from a typed handler."""
        endpoint = conn.scope.get("endpoint")
        # NOTE: only classes: a mounted app in "endpoint" might not be hashable.
        if not isinstance(endpoint, type):
            return False
        return (endpoint, conn.scope.get("method")) in self._wiring.json_errors

    @property
    def operation_plans(self) -> tuple[OperationPlan, ...]:
        """The plan of every HTTP operation of every planned endpoint class, in route order."""
        return self._wiring.operations

    @property
    def websocket_plans(self) -> tuple[WebSocketPlan, ...]:
        """The plan of every planned ``WebSocketEndpoint`` route, in route order."""
        return self._wiring.websockets

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document of the app's operations, built once and then cached."""
        if self._openapi is None:
            self._openapi = build_openapi(
                self.operation_plans, title=self.title, version=self.version
            )
        return self._openapi

    @property
    def debug(self) -> bool:
        """Whether unhandled errors are answered with a traceback page."""
        return self._debug

    @debug.setter
    def debug(self, value: bool) -> None:
        self._debug = value
        # NOTE: a running app takes the new value at once; an unstarted one stays lazy.
        if self.middleware_stack is not None:
            self.middleware_stack = self.build_middleware_stack()

    @property
    def routes(self) -> list[BaseRoute]:
        """The router's routes, in matching order."""
        return self.router.routes

    def build_middleware_stack(self) -> ASGIApp:
        """Wrap the router in every middleware, outermost first, and return the outermost app."""
        debug = self._debug
        error_handler: ExceptionHandler | None = None
        exception_handlers: dict[Any, ExceptionHandler] = {}
        for key, handler in self.exception_handlers.items():
            if key == 500 or key is Exception:
                error_handler = handler
            else:
                exception_handlers[key] = handler
        middleware = [
            Middleware(ServerErrorMiddleware, handler=error_handler, debug=debug),
            *self.user_middleware,
            Middleware(
                ExceptionMiddleware,
                handlers=exception_handlers,
                debug=debug,
                json_errors=self._answers_json,
            ),
        ]
        if self.max_body_size is not None:
            # NOTE: inside the exception middleware, so the 413 goes through the app's handlers.
            middleware.append(Middleware(BodySizeLimitMiddleware, max_body_size=self.max_body_size))
        # PERF: the router's own stack, skipping the hop through ``Router.__call__``.
        app: ASGIApp = self.router.middleware_stack
        for cls, args, kwargs in reversed(middleware):
            app = cls(app, *args, **kwargs)
        return app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self
        if "router" not in scope:
            scope["router"] = self.router
        stack = self.middleware_stack
        if stack is None:
            stack = self.middleware_stack = self.build_middleware_stack()
        await stack(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """The path of the route called ``name``, with ``path_params`` filled in."""
        return self.router.url_path_for(name, **path_params)

    def add_middleware(
        self, middleware_class: _MiddlewareFactory[P], *args: P.args, **kwargs: P.kwargs
    ) -> None:
        """Wrap the app in one more middleware, outside those already added."""
        if self.middleware_stack is not None:
            raise RuntimeError("Cannot add middleware after an application has started")
        self.user_middleware.insert(0, Middleware(middleware_class, *args, **kwargs))

    def add_exception_handler(
        self, exc_class_or_status_code: int | type[Exception], handler: ExceptionHandler
    ) -> None:
        """Register ``handler`` for an exception class or status code (read at stack build)."""
        check_handler(exc_class_or_status_code, handler)
        self.exception_handlers[exc_class_or_status_code] = handler

    def add_route(
        self,
        path: str,
        route: Callable[[Request], Awaitable[Response] | Response],
        methods: list[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
    ) -> None:
        """Serve HTTP requests to ``path`` with the endpoint ``route``."""
        self.router.add_route(
            path, route, methods=methods, name=name, include_in_schema=include_in_schema
        )
        self._add_plans(self.router.routes[-1:])

    def add_websocket_route(
        self, path: str, route: Callable[[WebSocket], Awaitable[None]], name: str | None = None
    ) -> None:
        """Serve WebSocket connections to ``path`` with the endpoint ``route``."""
        self.router.add_websocket_route(path, route, name=name)
        self._add_plans(self.router.routes[-1:])

    def mount(self, path: str, app: ASGIApp, name: str | None = None) -> None:
        """Serve everything under the prefix ``path`` with ``app``."""
        self.router.mount(path, app=app, name=name)
        self._add_plans(self.router.routes[-1:])

    def host(self, host: str, app: ASGIApp, name: str | None = None) -> None:
        """Serve requests whose ``Host`` header matches ``host`` with ``app``."""
        self.router.host(host, app=app, name=name)
