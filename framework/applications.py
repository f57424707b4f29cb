"""``App``: the application object, a router wrapped in the error and exception middleware."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

from framework._exception_handlers import check_handler
from framework.datastructures import State, URLPath
from framework.middleware import Middleware, _MiddlewareFactory
from framework.middleware.errors import ServerErrorMiddleware
from framework.middleware.exceptions import ExceptionMiddleware
from framework.requests import Request
from framework.responses import Response
from framework.routing import BaseRoute, Router
from framework.types import ASGIApp, ExceptionHandler, Lifespan, Receive, Scope, Send
from framework.websockets import WebSocket

__all__ = ["App"]

AppType = TypeVar("AppType", bound="App")
P = ParamSpec("P")


class App:
    """An ASGI application: routes, middleware, exception handlers and a lifespan.

    The middleware stack is built on the first call: ``ServerErrorMiddleware`` outermost (it
    gets the handler registered for ``500`` or ``Exception``), then the user's middleware in
    the order given, then ``ExceptionMiddleware`` with every other handler, then the router.
    """

    def __init__(
        self: AppType,
        debug: bool = False,
        routes: Sequence[BaseRoute] | None = None,
        middleware: Sequence[Middleware] | None = None,
        exception_handlers: Mapping[Any, ExceptionHandler] | None = None,
        lifespan: Lifespan[AppType] | None = None,
    ) -> None:
        self._debug = debug
        self.state = State()
        self.router = Router(routes, lifespan=lifespan)
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
            Middleware(ExceptionMiddleware, handlers=exception_handlers, debug=debug),
        ]
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

    def add_websocket_route(
        self, path: str, route: Callable[[WebSocket], Awaitable[None]], name: str | None = None
    ) -> None:
        """Serve WebSocket connections to ``path`` with the endpoint ``route``."""
        self.router.add_websocket_route(path, route, name=name)

    def mount(self, path: str, app: ASGIApp, name: str | None = None) -> None:
        """Serve everything under the prefix ``path`` with ``app``."""
        self.router.mount(path, app=app, name=name)

    def host(self, host: str, app: ASGIApp, name: str | None = None) -> None:
        """Serve requests whose ``Host`` header matches ``host`` with ``app``."""
        self.router.host(host, app=app, name=name)
