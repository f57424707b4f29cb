"""Cross-Origin Resource Sharing: answer preflight requests and label simple responses."""

from __future__ import annotations

import re
from collections.abc import Collection

from framework.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ALL_METHODS", "SAFELISTED_HEADERS", "CORSMiddleware"]

ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY")
SAFELISTED_HEADERS = frozenset({"Accept", "Accept-Language", "Content-Language", "Content-Type"})

_RawHeaders = list[tuple[bytes, bytes]]

_ALLOW_ORIGIN = b"access-control-allow-origin"
_ALLOW_HEADERS = b"access-control-allow-headers"
_VARY = b"vary"
_WILDCARD = b"*"
_ALLOW_CREDENTIALS = (b"access-control-allow-credentials", b"true")
_PREFLIGHT_VARY = (
    b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers, "
    b"Access-Control-Request-Private-Network"
)
_TEXT_PLAIN = (b"content-type", b"text/plain; charset=utf-8")


class CORSMiddleware:
    """Apply a CORS policy to every HTTP request.

    A preflight request (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) is
    answered here: 200 "OK", or 400 "Disallowed CORS ..." naming what failed. Any other
    request goes to the app, and its response gets the CORS headers for an allowed origin.

    With ``allow_credentials`` the wildcard origin is never sent: the request's own origin is
    echoed instead, since browsers refuse ``*`` on credentialed responses. Every response
    carries ``Vary: Origin`` because its CORS headers depend on the request's origin.
    """

    __slots__ = (
        "_allow_all_headers",
        "_allow_all_origins",
        "_allowed_header_names",
        "_allowed_methods",
        "_credentials",
        "_origin_regex",
        "_origins",
        "_preflight_headers",
        "_simple_headers",
        "_simple_names",
        "allow_private_network",
        "app",
    )

    def __init__(
        self,
        app: ASGIApp,
        allow_origins: Collection[str] = (),
        allow_methods: Collection[str] = ("GET",),
        allow_headers: Collection[str] = (),
        allow_credentials: bool = False,
        allow_origin_regex: str | None = None,
        allow_private_network: bool = False,
        expose_headers: Collection[str] = (),
        max_age: int = 600,
    ) -> None:
        for name, value in (
            ("allow_origins", allow_origins),
            ("allow_methods", allow_methods),
            ("allow_headers", allow_headers),
            ("expose_headers", expose_headers),
        ):
            if isinstance(value, str):
                raise TypeError(
                    f"CORSMiddleware({name}=...) takes a collection of strings, not a string: "
                    f"write {name}=[{value!r}]"
                )
        self.app = app
        self.allow_private_network = allow_private_network

        methods = ALL_METHODS if "*" in allow_methods else tuple(allow_methods)
        self._allow_all_origins = "*" in allow_origins
        self._allow_all_headers = "*" in allow_headers
        self._origins = frozenset(allow_origins) - {"*"}
        self._origin_regex = re.compile(allow_origin_regex) if allow_origin_regex else None
        self._credentials = allow_credentials
        self._allowed_methods = frozenset(methods)
        listed_headers = sorted(SAFELISTED_HEADERS.union(allow_headers))
        self._allowed_header_names = frozenset(name.lower() for name in listed_headers)

        # PERF: every header that does not depend on the request's origin is encoded once, here.
        simple: _RawHeaders = []
        if expose_headers:
            exposed = ", ".join(expose_headers).encode("latin-1")
            simple.append((b"access-control-expose-headers", exposed))
        self._simple_headers = simple
        self._simple_names = frozenset(name for name, _ in simple)

        preflight: _RawHeaders = [(_VARY, _PREFLIGHT_VARY)]
        preflight.append((b"access-control-allow-methods", ", ".join(methods).encode("latin-1")))
        preflight.append((b"access-control-max-age", str(max_age).encode("latin-1")))
        if not self._allow_all_headers:
            preflight.append((_ALLOW_HEADERS, ", ".join(listed_headers).encode("latin-1")))
        self._preflight_headers = preflight

    def _grant(self, origin: bytes) -> tuple[bytes, bool] | None:
        """The ``Access-Control-Allow-Origin`` value for ``origin`` and whether credentials go
        with it; ``None`` when the policy refuses the origin."""
        if self._allow_all_origins and not self._credentials:
            return _WILDCARD, False
        text = origin.decode("latin-1")
        regex = self._origin_regex
        if text in self._origins or (regex is not None and regex.fullmatch(text) is not None):
            return origin, self._credentials
        if self._allow_all_origins:
            # NOTE: a wildcard never grants credentials. Echoing any origin with credentials
            # (which Starlette does when the request carries cookies) would let every site read
            # the user's authenticated responses; "*" makes browsers refuse credentialed use.
            return _WILDCARD, False
        return None

    def is_allowed_origin(self, origin: str) -> bool:
        """Whether ``origin`` passes the policy (``allow_origins`` or the full-match regex)."""
        if self._allow_all_origins or origin in self._origins:
            return True
        regex = self._origin_regex
        return regex is not None and regex.fullmatch(origin) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        # PERF: one pass over the raw headers instead of building a Headers object.
        origin: bytes | None = None
        request_method: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"origin":
                if origin is None:
                    origin = value
            elif name == b"access-control-request-method" and request_method is None:
                request_method = value

        if origin is None:
            await self.app(scope, receive, _VaryOriginSend(send))
        elif request_method is not None and scope["method"] == "OPTIONS":
            await self._preflight(scope, origin, request_method, send)
        else:
            await self.app(scope, receive, _SimpleResponseSend(self, origin, send))

    async def _preflight(
        self, scope: Scope, origin: bytes, request_method: bytes, send: Send
    ) -> None:
        headers = list(self._preflight_headers)
        failures: list[str] = []

        grant = self._grant(origin)
        if grant is None:
            failures.append("origin")
            credentials = self._credentials
        else:
            allow_origin, credentials = grant
            headers.append((_ALLOW_ORIGIN, allow_origin))
        if credentials:
            headers.append(_ALLOW_CREDENTIALS)

        if request_method.decode("latin-1") not in self._allowed_methods:
            failures.append("method")

        requested_headers: bytes | None = None
        private_network = False
        for name, value in scope["headers"]:
            if name == b"access-control-request-headers":
                if requested_headers is None:
                    requested_headers = value
            elif name == b"access-control-request-private-network":
                private_network = True

        if requested_headers is not None:
            if self._allow_all_headers:
                headers.append((_ALLOW_HEADERS, requested_headers))
            else:
                allowed = self._allowed_header_names
                tokens = requested_headers.decode("latin-1").split(",")
                # NOTE: like Starlette, an empty entry (as in "a,,b" or "") is refused.
                if any(token.strip().lower() not in allowed for token in tokens):
                    failures.append("headers")

        if private_network:
            if self.allow_private_network:
                headers.append((b"access-control-allow-private-network", b"true"))
            else:
                failures.append("private-network")

        if failures:
            status = 400
            body = ("Disallowed CORS " + ", ".join(failures)).encode()
        else:
            status = 200
            body = b"OK"
        headers.append((b"content-length", str(len(body)).encode()))
        headers.append(_TEXT_PLAIN)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _add_vary_origin(headers: _RawHeaders) -> None:
    """Add ``Origin`` to the response's ``Vary`` header, merging existing ones into one."""
    existing = [value for name, value in headers if name == _VARY]
    if not existing:
        headers.append((_VARY, b"Origin"))
        return
    headers[:] = [item for item in headers if item[0] != _VARY]
    headers.append((_VARY, b", ".join([*existing, b"Origin"])))


class _VaryOriginSend:
    """``send`` for a request without ``Origin``: its response only gets ``Vary: Origin``."""

    __slots__ = ("send",)

    def __init__(self, send: Send) -> None:
        self.send = send

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message["headers"])
            _add_vary_origin(headers)
            message["headers"] = headers
        await self.send(message)


class _SimpleResponseSend:
    """``send`` that adds the CORS headers of a cross-origin, non-preflight response."""

    __slots__ = ("middleware", "origin", "send")

    def __init__(self, middleware: CORSMiddleware, origin: bytes, send: Send) -> None:
        self.middleware = middleware
        self.origin = origin
        self.send = send

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            middleware = self.middleware
            grant = middleware._grant(self.origin)
            allow_origin, credentials = grant or (None, middleware._credentials)
            # NOTE: the policy's headers replace any the app set itself; the app's own
            # Access-Control-Allow-Origin survives only when the policy refuses the origin.
            replaced = middleware._simple_names
            if allow_origin is not None:
                replaced = replaced | {_ALLOW_ORIGIN}
            if credentials:
                replaced = replaced | {_ALLOW_CREDENTIALS[0]}
            headers = [item for item in message["headers"] if item[0] not in replaced]
            headers.extend(middleware._simple_headers)
            if allow_origin is not None:
                headers.append((_ALLOW_ORIGIN, allow_origin))
            if credentials:
                headers.append(_ALLOW_CREDENTIALS)
            _add_vary_origin(headers)
            message["headers"] = headers
        await self.send(message)
