"""Dispatch of exceptions to the app's handlers, shared by routes and the exception middleware.

``ExceptionMiddleware`` puts its handler tables in the scope under ``SCOPE_KEY``; each route runs
its endpoint through :func:`wrap_app_handling_exceptions`, so a handled exception becomes a
response *inside* the route, where user middleware still sees it as an ordinary response.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from framework._utils import is_async_callable
from framework.concurrency import run_in_threadpool
from framework.exceptions import HTTPException
from framework.types import ASGIApp, ExceptionHandler, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from framework.requests import HTTPConnection

SCOPE_KEY = "framework.exception_handlers"

ExceptionHandlers = Mapping[Any, ExceptionHandler]
StatusHandlers = Mapping[int, ExceptionHandler]


def lookup_handler(
    exc: Exception, exception_handlers: ExceptionHandlers, status_handlers: StatusHandlers
) -> ExceptionHandler | None:
    """The handler for ``exc``: by status code for HTTP errors, else by the nearest class in its MRO."""
    if status_handlers and isinstance(exc, HTTPException):
        handler = status_handlers.get(exc.status_code)
        if handler is not None:
            return handler
    for cls in type(exc).__mro__:
        handler = exception_handlers.get(cls)
        if handler is not None:
            return handler
    return None


def wrap_app_handling_exceptions(app: ASGIApp, conn: HTTPConnection) -> ASGIApp:
    """Wrap ``app`` so that exceptions it raises go to the handlers registered in the scope."""
    tables = conn.scope.get(SCOPE_KEY)
    if tables is None:
        return app
    exception_handlers, status_handlers = tables

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        response_started = False

        async def sender(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await app(scope, receive, sender)
        except Exception as exc:
            handler = lookup_handler(exc, exception_handlers, status_handlers)
            if handler is None:
                raise
            if response_started:
                raise RuntimeError("Caught handled exception, but response already started.") from exc
            await run_handler(handler, conn, exc, scope, receive, sender)

    return wrapped


async def run_handler(
    handler: ExceptionHandler,
    conn: HTTPConnection,
    exc: Exception,
    scope: Scope,
    receive: Receive,
    send: Send,
) -> None:
    """Call ``handler`` (sync handlers in the thread pool) and, for HTTP, send what it returns."""
    if is_async_callable(handler):
        response = await handler(conn, exc)  # type: ignore[arg-type]
    else:
        response = await run_in_threadpool(handler, conn, exc)  # type: ignore[arg-type]
    if scope["type"] == "http" and response is not None:
        await response(scope, receive, send)
