"""Dispatch of exceptions to the app's handlers, shared by routes and the error middleware.

``ExceptionMiddleware`` puts its handler tables in the scope (``_keys.EXCEPTION_HANDLERS``);
each route runs its endpoint through :func:`wrap_app_handling_exceptions`, so a handled exception
becomes a response *inside* the route, where user middleware still sees it as an ordinary
response.

Every layer that answers exceptions must know whether the response has started (then it is too
late to send another); :class:`TrackedSend` records that, once per connection where it can.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from framework import _keys
from framework._utils import is_async_callable
from framework.concurrency import run_in_threadpool
from framework.exceptions import HTTPException
from framework.types import ASGIApp, ExceptionHandler, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from framework.requests import HTTPConnection

__all__ = [
    "ExceptionHandlers",
    "HandlerTables",
    "StatusHandlers",
    "TrackedSend",
    "check_handler",
    "handle_exception",
    "lookup_handler",
    "run_handler",
    "track",
    "wrap_app_handling_exceptions",
]

ExceptionHandlers = Mapping[Any, ExceptionHandler]
StatusHandlers = Mapping[int, ExceptionHandler]
HandlerTables = tuple[ExceptionHandlers, StatusHandlers]


class TrackedSend:
    """A ``send`` that records whether the HTTP response has started."""

    __slots__ = ("send", "started")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)


def track(send: Send) -> TrackedSend:
    """``send`` as a :class:`TrackedSend`: the tracker itself if it already is one."""
    # PERF: with no middleware wrapping ``send`` in between, the error middleware, the exception
    # middleware and the route share one tracker, so each message crosses one wrapper, not
    # three. Sharing is sound: a start sent on that stream by any layer ends everyone's chance.
    return send if type(send) is TrackedSend else TrackedSend(send)


def check_handler(exc_class_or_status_code: object, handler: object) -> None:
    """Refuse, at registration, a key that can never match or a handler that cannot be called."""
    key = exc_class_or_status_code
    valid_status = isinstance(key, int) and not isinstance(key, bool)
    valid_class = isinstance(key, type) and issubclass(key, Exception)
    if not (valid_status or valid_class):
        raise TypeError(
            "Exception handlers are registered for an HTTP status code (an int) or an "
            f"Exception subclass, not {key!r}"
        )
    if not callable(handler):
        raise TypeError(f"The exception handler for {key!r} must be callable, not {handler!r}")


def lookup_handler(
    exc: Exception, exception_handlers: ExceptionHandlers, status_handlers: StatusHandlers
) -> ExceptionHandler | None:
    """The handler for ``exc``: by status for HTTP errors, else by the nearest class in its MRO."""
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
    tables: HandlerTables | None = conn.scope.get(_keys.EXCEPTION_HANDLERS)
    if tables is None:
        return app
    exception_handlers, status_handlers = tables

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        tracked = track(send)
        try:
            await app(scope, receive, tracked)
        except Exception as exc:
            handler = lookup_handler(exc, exception_handlers, status_handlers)
            if handler is None:
                raise
            await handle_exception(handler, conn, exc, tracked, scope, receive)

    return wrapped


async def handle_exception(
    handler: ExceptionHandler,
    conn: HTTPConnection,
    exc: Exception,
    send: TrackedSend,
    scope: Scope,
    receive: Receive,
) -> None:
    """Answer ``exc`` with ``handler``, unless the response has already started (too late)."""
    if send.started:
        raise RuntimeError("Caught handled exception, but response already started.") from exc
    await run_handler(handler, conn, exc, scope, receive, send)


async def run_handler(
    handler: ExceptionHandler,
    conn: HTTPConnection,
    exc: Exception,
    scope: Scope,
    receive: Receive,
    send: Send,
) -> None:
    """Call ``handler`` (sync handlers in the thread pool) and send the response it returns.

    On a WebSocket the response, if any, goes out as the handshake's denial response.
    """
    if is_async_callable(handler):
        response = await handler(conn, exc)
    else:
        response = await run_in_threadpool(handler, conn, exc)  # type: ignore[arg-type]
    if response is not None:
        await response(scope, receive, send)
