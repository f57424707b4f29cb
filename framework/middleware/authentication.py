"""``AuthenticationMiddleware``: sets ``scope["auth"]`` and ``scope["user"]`` on connections."""

from __future__ import annotations

from collections.abc import Callable

from framework.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    UnauthenticatedUser,
)
from framework.requests import HTTPConnection
from framework.responses import PlainTextResponse, Response
from framework.types import ASGIApp, Receive, Scope, Send

__all__ = ["AuthenticationMiddleware"]

ErrorHandler = Callable[[HTTPConnection, AuthenticationError], Response]


class AuthenticationMiddleware:
    """Authenticate each HTTP and WebSocket connection with ``backend``.

    A connection without credentials gets an ``UnauthenticatedUser`` and empty credentials. When
    the backend raises ``AuthenticationError``, an HTTP request gets ``on_error``'s response (a
    400 with the error's text by default) and a WebSocket is closed with code 1000.
    """

    def __init__(
        self,
        app: ASGIApp,
        backend: AuthenticationBackend,
        on_error: ErrorHandler | None = None,
    ) -> None:
        self.app = app
        self.backend = backend
        self.on_error: ErrorHandler = on_error if on_error is not None else self.default_on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type != "http" and scope_type != "websocket":
            await self.app(scope, receive, send)
            return
        conn: HTTPConnection = HTTPConnection(scope)
        try:
            result = await self.backend.authenticate(conn)
        except AuthenticationError as exc:
            # NOTE: on_error is called for WebSockets too (it may log), though its response
            # is not sent: the handshake is refused with a plain close instead.
            response = self.on_error(conn, exc)
            if scope_type == "websocket":
                await send({"type": "websocket.close", "code": 1000, "reason": ""})
            else:
                await response(scope, receive, send)
            return
        if result is None:
            scope["auth"] = AuthCredentials()
            scope["user"] = UnauthenticatedUser()
        else:
            scope["auth"], scope["user"] = result
        await self.app(scope, receive, send)

    @staticmethod
    def default_on_error(conn: HTTPConnection, exc: Exception) -> Response:
        """A 400 response whose body is the error's message."""
        return PlainTextResponse(str(exc), status_code=400)
