"""Redirect plain ``http``/``ws`` requests to their ``https``/``wss`` equivalent."""

from __future__ import annotations

from framework.datastructures import URL
from framework.middleware.trustedhost import parse_host_header
from framework.responses import PlainTextResponse, RedirectResponse, Response
from framework.types import ASGIApp, Receive, Scope, Send

__all__ = ["HTTPSRedirectMiddleware"]

_SECURE_SCHEMES = {"http": "https", "ws": "wss"}
_DEFAULT_PORTS = frozenset({80, 443})


def _secure_netloc(scope: Scope) -> str | None:
    """The authority to redirect to: the Host header (or else the server address) without a
    default port; ``None`` when the request names no usable host at all."""
    for name, value in scope["headers"]:
        if name == b"host":
            parsed = parse_host_header(value.decode("latin-1"))
            if parsed is not None:
                host, port = parsed
                if port is None or int(port) in _DEFAULT_PORTS:
                    return host
                return f"{host}:{port}"
            # NOTE: an invalid Host header is not echoed into the Location; the server's
            # own address is used instead.
            break
    server = scope.get("server")
    if server is None:
        return None
    server_host, server_port = server
    if ":" in server_host:
        server_host = f"[{server_host}]"
    if server_port is None or server_port in _DEFAULT_PORTS:
        return str(server_host)
    return f"{server_host}:{server_port}"


class HTTPSRedirectMiddleware:
    """Answer every ``http`` or ``ws`` request with a 307 redirect to the secure scheme.

    Ports 80 and 443 are dropped from the redirect target; any other port is kept.
    """

    __slots__ = ("app",)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type in ("http", "websocket"):
            # NOTE: ASGI makes "scheme" optional, defaulting to "http" or "ws".
            default_scheme = "http" if scope_type == "http" else "ws"
            scheme = _SECURE_SCHEMES.get(scope.get("scheme", default_scheme))
            if scheme is not None:
                netloc = _secure_netloc(scope)
                response: Response
                if netloc is None:
                    response = PlainTextResponse("Invalid host header", status_code=400)
                else:
                    url = URL(scope=scope).replace(scheme=scheme, netloc=netloc)
                    response = RedirectResponse(url, status_code=307)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
