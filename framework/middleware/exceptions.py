"""``ExceptionMiddleware``: turns handled exceptions into responses (or WebSocket closes)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from framework import _keys
from framework._exception_handlers import (
    HandlerTables,
    check_handler,
    handle_exception,
    lookup_handler,
    track,
)
from framework.exceptions import HTTPException, WebSocketException
from framework.requests import HTTPConnection, Request
from framework.responses import JSONResponse, PlainTextResponse, Response
from framework.types import ASGIApp, ExceptionHandler, Receive, Scope, Send
from framework.websockets import WebSocket

__all__ = ["ExceptionMiddleware"]

# Statuses whose responses must not carry a body.
_BODYLESS_STATUSES = frozenset({204, 304})


async def _http_exception(request: Request, exc: Exception) -> Response:
    """Default handler for ``HTTPException``: its detail as plain text, with its headers."""
    assert isinstance(exc, HTTPException)
    if exc.status_code in _BODYLESS_STATUSES:
        return Response(status_code=exc.status_code, headers=exc.headers)
    return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)


def _http_exception_as_json_for(
    json_errors: Callable[[HTTPConnection], bool],
) -> Callable[[Request, Exception], Awaitable[Response]]:
    """The default ``HTTPException`` handler, answering ``{"detail": ...}`` as JSON for the
    requests ``json_errors`` picks (those served by typed handlers) and plain text otherwise."""

    async def http_exception(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code not in _BODYLESS_STATUSES and json_errors(request):
            return JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
        return await _http_exception(request, exc)

    return http_exception


async def _websocket_exception(websocket: WebSocket, exc: Exception) -> None:
    """Default handler for ``WebSocketException``: close with its code and reason."""
    assert isinstance(exc, WebSocketException)
    await websocket.close(code=exc.code, reason=exc.reason)


class ExceptionMiddleware:
    """Answers exceptions with handlers registered by exception class or by HTTP status code.

    The handler tables are also put in the scope, so that each route can answer an exception
    raised by its endpoint from inside, before it crosses any user middleware.

    ``json_errors``, when given, picks the requests whose ``HTTPException`` the default handler
    answers as JSON ``{"detail": ...}`` (as OpenAPI documents typed handlers' errors) instead of
    plain text.
    """

    def __init__(
        self,
        app: ASGIApp,
        handlers: Mapping[Any, ExceptionHandler] | None = None,
        debug: bool = False,
        *,
        json_errors: Callable[[HTTPConnection], bool] | None = None,
    ) -> None:
        self.app = app
        self.debug = debug  # NOTE: unused; kept so the signature matches Starlette's.
        # NOTE: the defaults are coroutine functions so that they never cost a thread hop.
        self._exception_handlers: dict[Any, ExceptionHandler] = {
            HTTPException: (
                _http_exception if json_errors is None else _http_exception_as_json_for(json_errors)
            ),
            WebSocketException: _websocket_exception,
        }
        self._status_handlers: dict[int, ExceptionHandler] = {}
        # PERF: one tuple, built once, shares the two dicts: later registrations show through
        # and each request stores a single reference in the scope.
        self._tables: HandlerTables = (self._exception_handlers, self._status_handlers)
        if handlers is not None:
            for key, handler in handlers.items():
                self.add_exception_handler(key, handler)

    def add_exception_handler(
        self, exc_class_or_status_code: int | type[Exception], handler: ExceptionHandler
    ) -> None:
        """Register ``handler`` for an exception class (and its subclasses) or a status code."""
        check_handler(exc_class_or_status_code, handler)
        if isinstance(exc_class_or_status_code, int):
            self._status_handlers[exc_class_or_status_code] = handler
        else:
            self._exception_handlers[exc_class_or_status_code] = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type != "http" and scope_type != "websocket":
            await self.app(scope, receive, send)
            return
        scope[_keys.EXCEPTION_HANDLERS] = self._tables
        tracked = track(send)
        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            handler = lookup_handler(exc, self._exception_handlers, self._status_handlers)
            if handler is None:
                raise
            # PERF: the connection object is only built when there is an exception to answer.
            conn: HTTPConnection
            if scope_type == "http":
                conn = Request(scope, receive)
            else:
                conn = WebSocket(scope, receive, tracked)
            await handle_exception(handler, conn, exc, tracked, scope, receive)
