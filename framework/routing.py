"""Routes, mounts, hosts and the router that dispatches a request to the first route that matches.

Matching follows Starlette exactly: routes are tried in registration order, the first full match
handles the request, and if none matches fully the first partial match (right path, wrong method)
answers it. The router finds its candidates through an index of literal path prefixes, so the cost
of a lookup does not grow with the number of routes.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import ipaddress
import re
import traceback
import uuid
import warnings
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal, Protocol, SupportsIndex, Union, cast, overload

from framework import _keys
from framework._exception_handlers import (
    HandlerTables,
    handle_exception,
    lookup_handler,
    track,
    wrap_app_handling_exceptions,
)
from framework._utils import get_route_path, is_async_callable
from framework.concurrency import run_in_threadpool
from framework.convertors import (
    CONVERTOR_TYPES,
    PARAMETER_PATTERN,
    Convertor,
    FloatConvertor,
    IntegerConvertor,
    PathConvertor,
    StringConvertor,
    UUIDConvertor,
)
from framework.datastructures import URL, URLPath
from framework.exceptions import HTTPException
from framework.middleware.bodylimit import (
    BodySizeLimitMiddleware,
    RequestBodyTooLarge,
    declared_length_exceeds,
)
from framework.requests import Request
from framework.responses import PlainTextResponse, RedirectResponse, Response
from framework.types import ASGIApp, Lifespan, Receive, Scope, Send
from framework.websockets import WebSocket, WebSocketClose

if TYPE_CHECKING:
    from typing_extensions import Self

    from framework.middleware import Middleware

__all__ = [
    "BaseRoute",
    "Host",
    "Match",
    "Mount",
    "NoMatchFound",
    "Route",
    "Router",
    "WebSocketRoute",
    "compile_path",
    "request_response",
    "websocket_session",
]


class NoMatchFound(Exception):
    """Raised by ``url_path_for`` when no route has that name and those parameters."""

    def __init__(self, name: str, path_params: Mapping[str, Any]) -> None:
        params = ", ".join(path_params)
        super().__init__(f'No route exists for name "{name}" and params "{params}".')


class Match(Enum):
    """How well a route matches a connection: not at all, by path only, or fully."""

    NONE = 0
    PARTIAL = 1
    FULL = 2


# PERF: looking a member up on an Enum class costs ~50 ns; the matching code uses these instead.
_NONE, _PARTIAL, _FULL = Match.NONE, Match.PARTIAL, Match.FULL


class _RouteDefinitionError(ValueError, AssertionError):
    """A route declared with an invalid path.

    NOTE: Starlette reports some of these with ``assert``; deriving from both types keeps
    ``except AssertionError`` working while the error is raised even under ``python -O``.
    """


def request_response(func: Callable[[Request], Awaitable[Response] | Response]) -> ASGIApp:
    """Turn a function taking a ``Request`` and returning a ``Response`` into an ASGI app.

    A sync function runs in the thread pool.
    """
    call = func if is_async_callable(func) else _in_threadpool(func)

    # PERF: the exception handling of ``wrap_app_handling_exceptions`` is inlined here: this
    # runs for every request, and the wrapper builds two closures per call.
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        tables: HandlerTables | None = scope.get(_keys.EXCEPTION_HANDLERS)
        if tables is None:
            _refuse_declared_oversize(scope)
            response = await call(request)
            await response(scope, receive, send)
            return
        tracked = track(send)
        try:
            _refuse_declared_oversize(scope)
            response = await call(request)
            await response(scope, receive, tracked)
        except Exception as exc:
            handler = lookup_handler(exc, *tables)
            if handler is None:
                raise
            await handle_exception(handler, request, exc, tracked, scope, receive)

    return app


def _limit_body(app: ASGIApp, max_body_size: int | None) -> ASGIApp:
    return app if max_body_size is None else BodySizeLimitMiddleware(app, max_body_size)


def _refuse_declared_oversize(scope: Scope) -> None:
    """Refuse a body whose declared length is over the limit in force, before the endpoint runs.

    NOTE: as Starlette does for ``max_body_size``, even an endpoint that never reads the body
    answers 413; the limiters alone would only refuse the body when it is read.
    """
    limit: int | None = scope.get(_keys.MAX_BODY_SIZE)
    if limit is not None and declared_length_exceeds(scope, limit):
        raise RequestBodyTooLarge(limit)


def _in_threadpool(
    func: Callable[[Request], Awaitable[Response] | Response],
) -> Callable[[Request], Awaitable[Response]]:
    sync_func = cast(Callable[[Request], Response], func)

    async def call(request: Request) -> Response:
        return await run_in_threadpool(sync_func, request)

    return call


def websocket_session(func: Callable[[WebSocket], Awaitable[None]]) -> ASGIApp:
    """Turn an async function taking a ``WebSocket`` into an ASGI app."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        session = WebSocket(scope, receive=receive, send=send)

        async def run(scope: Scope, receive: Receive, send: Send) -> None:
            await func(session)

        await wrap_app_handling_exceptions(run, session)(scope, receive, send)

    return app


def _endpoint_name(endpoint: Callable[..., Any]) -> str:
    return getattr(endpoint, "__name__", type(endpoint).__name__)


def _is_plain_function(endpoint: Callable[..., Any]) -> bool:
    """Whether ``endpoint`` is a function or method (possibly in partials), not an ASGI object."""
    while isinstance(endpoint, functools.partial):
        endpoint = endpoint.func
    return inspect.isfunction(endpoint) or inspect.ismethod(endpoint)


def _wrap_middleware(app: ASGIApp, middleware: Sequence[Middleware] | None) -> ASGIApp:
    """Wrap ``app`` so that the first middleware listed is the outermost."""
    if middleware is not None:
        for cls, args, kwargs in reversed(middleware):
            app = cls(app, *args, **kwargs)
    return app


def compile_path(path: str) -> tuple[re.Pattern[str], str, dict[str, Convertor[Any]]]:
    """Compile a path or host template into its regex, its format string and its convertors.

    ``"/users/{id:int}"`` gives ``^/users/(?P<id>[0-9]+)$``, ``"/users/{id}"`` and
    ``{"id": IntegerConvertor()}``. A template that does not start with ``/`` is a host: it
    matches case-insensitively and a literal ``:port`` at its end is not part of the regex.
    """
    is_host = not path.startswith("/")
    regex_parts = ["^"]
    format_parts: list[str] = []
    convertors: dict[str, Convertor[Any]] = {}
    duplicates: set[str] = set()
    end = 0
    for param in PARAMETER_PATTERN.finditer(path):
        name, kind = param.group(1), param.group(2) or "str"
        convertor = CONVERTOR_TYPES.get(kind)
        if convertor is None:
            raise _RouteDefinitionError(f"Unknown path convertor '{kind}'")
        literal = path[end : param.start()]
        regex_parts.append(re.escape(literal))
        regex_parts.append(f"(?P<{name}>{convertor.regex})")
        format_parts.append(literal)
        format_parts.append(f"{{{name}}}")
        if name in convertors:
            duplicates.add(name)
        convertors[name] = convertor
        end = param.end()
    if duplicates:
        names = ", ".join(sorted(duplicates))
        plural = "s" if len(duplicates) > 1 else ""
        raise ValueError(f"Duplicated param name{plural} {names} at path {path}")
    tail = path[end:]
    if is_host and not tail.endswith("]"):
        # NOTE: a host is matched without its port, so a literal ":port" at the end (but not
        # the last colon inside an IPv6 literal) is left out.
        tail = tail.rsplit(":", 1)[0]
    regex_parts.append(re.escape(tail))
    regex_parts.append("$")
    format_parts.append(path[end:])
    flags = re.IGNORECASE if is_host else 0
    return re.compile("".join(regex_parts), flags), "".join(format_parts), convertors


def _replace_params(
    path_format: str, convertors: Mapping[str, Convertor[Any]], path_params: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Fill the format's placeholders, removing each used parameter from ``path_params``."""
    for key, value in list(path_params.items()):
        placeholder = "{" + key + "}"
        if placeholder in path_format:
            path_format = path_format.replace(placeholder, convertors[key].to_string(value))
            del path_params[key]
    return path_format, path_params


_Converting = tuple[tuple[str, Callable[[str], Any]], ...]

# PERF: the built-in convertors' ``convert`` only calls these; calling them directly saves a
# method call per parameter. Exact types only, so a subclass's own ``convert`` is respected.
_DIRECT_CONVERT: dict[type[Convertor[Any]], Callable[[str], Any]] = {
    IntegerConvertor: int,
    FloatConvertor: float,
    UUIDConvertor: uuid.UUID,
}


def _converting_params(convertors: Mapping[str, Convertor[Any]]) -> _Converting:
    """``(name, convert)`` for the parameters whose convertor changes the matched text.

    str and path convertors return the text as it is, so they are left out.
    """
    identity = (StringConvertor.convert, PathConvertor.convert)
    return tuple(
        (name, _DIRECT_CONVERT.get(type(convertor), convertor.convert))
        for name, convertor in convertors.items()
        if type(convertor).convert not in identity
    )


def _apply_convertors(params: dict[str, Any], converting: _Converting) -> bool:
    """Convert the matched text in place; False when a convertor rejects it.

    NOTE: Starlette lets a convertor's ValueError escape as a 500; here it means "no match", so
    e.g. an integer too long for ``int()`` gives a 404.
    """
    try:
        for name, convert in converting:
            params[name] = convert(params[name])
    except ValueError:
        return False
    return True


def _merge_params(scope: Scope, params: dict[str, Any]) -> dict[str, Any]:
    """The connection's path parameters (from an enclosing mount) updated with ``params``."""
    existing: dict[str, Any] | None = scope.get("path_params")
    if existing:
        return {**existing, **params}
    return params


class BaseRoute:
    """A routing table entry: it decides whether it matches a connection and then handles it."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """How well this route matches, and the scope entries to add when it handles the call."""
        raise NotImplementedError()

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """The path of the route called ``name`` with ``path_params``, or ``NoMatchFound``."""
        raise NotImplementedError()

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a connection that this route matched."""
        raise NotImplementedError()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a connection when the route is used on its own as an ASGI app."""
        match, child_scope = self.matches(scope)
        if match is _NONE:
            if scope["type"] == "http":
                await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
            elif scope["type"] == "websocket":
                await WebSocketClose()(scope, receive, send)
            return
        scope.update(child_scope)
        await self.handle(scope, receive, send)


class Route(BaseRoute):
    """An HTTP endpoint at a path, for a set of methods.

    A function or method endpoint takes a ``Request`` and returns a ``Response`` and defaults to
    GET; any other callable (such as an ``HTTPEndpoint`` class) is an ASGI app used as it is.
    HEAD is allowed wherever GET is.
    """

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: Collection[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
        middleware: Sequence[Middleware] | None = None,
        max_body_size: int | None = None,
    ) -> None:
        if not path.startswith("/"):
            raise _RouteDefinitionError("Routed paths must start with '/'")
        self.path = path
        self.endpoint = endpoint
        self.name = _endpoint_name(endpoint) if name is None else name
        self.include_in_schema = include_in_schema
        if _is_plain_function(endpoint):
            self.app = request_response(endpoint)
            if methods is None:
                methods = ["GET"]
        else:
            self.app = endpoint
        self._max_body_size = max_body_size
        self._middleware = middleware
        self.bind(self.app)
        self.methods: set[str] | None = None
        if methods is not None:
            self.methods = {method.upper() for method in methods}
            if "GET" in self.methods:
                self.methods.add("HEAD")
        self._sibling_methods: frozenset[str] = frozenset()
        self.path_regex, self.path_format, self.param_convertors = compile_path(path)
        self._param_names = frozenset(self.param_convertors)
        self._literal = not self.param_convertors
        self._converting = _converting_params(self.param_convertors)

    def bind(self, app: ASGIApp) -> None:
        """Serve the route's requests with ``app``, inside the route's body limit and
        middleware; ``endpoint`` stays what was given. Typed endpoint classes are bound so,
        to an app holding the invokers built for this route's path."""
        self.app = _wrap_middleware(_limit_body(app, self._max_body_size), self._middleware)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """FULL for the right path and method, PARTIAL for the right path only."""
        if scope["type"] != "http":
            return _NONE, {}
        return self._match_path(scope, get_route_path(scope))

    def _match_path(self, scope: Scope, route_path: str) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return _NONE, {}
        if self._literal:
            # PERF: a path without parameters matches by equality; no regex, no groupdict.
            if route_path != self.path:
                return _NONE, {}
            params: dict[str, Any] = {}
        else:
            # NOTE: fullmatch, not match: "$" would also accept a path ending in "\n".
            found = self.path_regex.fullmatch(route_path)
            if found is None:
                return _NONE, {}
            params = found.groupdict()
        if self._converting:
            # PERF: _apply_convertors inlined, in the matcher most requests go through.
            try:
                for name, convert in self._converting:
                    params[name] = convert(params[name])
            except ValueError:
                return _NONE, {}
        existing = scope.get("path_params")
        if existing:
            params = {**existing, **params}
        child_scope = {"endpoint": self.endpoint, "path_params": params}
        methods = self.methods
        if methods and scope["method"] not in methods:
            return _PARTIAL, child_scope
        return _FULL, child_scope

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """This route's path when ``name`` is its name and the parameters are exactly its own."""
        if name != self.name or path_params.keys() != self._param_names:
            raise NoMatchFound(name, path_params)
        path, _ = _replace_params(self.path_format, self.param_convertors, path_params)
        return URLPath(path=path, protocol="http")

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Call the endpoint, or answer 405 with an ``Allow`` header for another method."""
        if self.methods and scope["method"] not in self.methods:
            # NOTE: sorted, so the header does not depend on set order (Starlette's varies).
            headers = {"Allow": ", ".join(sorted(self.methods | self._sibling_methods))}
            if "app" in scope:
                raise HTTPException(status_code=405, headers=headers)
            response = PlainTextResponse("Method Not Allowed", status_code=405, headers=headers)
            await response(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Route)
            and self.path == other.path
            and self.endpoint == other.endpoint
            and self.methods == other.methods
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        methods = sorted(self.methods or ())
        name = type(self).__name__
        return f"{name}(path={self.path!r}, name={self.name!r}, methods={methods!r})"


class WebSocketRoute(BaseRoute):
    """A WebSocket endpoint at a path.

    A function or method endpoint takes a ``WebSocket``; any other callable (such as a
    ``WebSocketEndpoint`` class) is an ASGI app used as it is.
    """

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        name: str | None = None,
        middleware: Sequence[Middleware] | None = None,
    ) -> None:
        if not path.startswith("/"):
            raise _RouteDefinitionError("Routed paths must start with '/'")
        self.path = path
        self.endpoint = endpoint
        self.name = _endpoint_name(endpoint) if name is None else name
        self._middleware = middleware
        self.bind(websocket_session(endpoint) if _is_plain_function(endpoint) else endpoint)
        self.path_regex, self.path_format, self.param_convertors = compile_path(path)
        self._param_names = frozenset(self.param_convertors)
        self._converting = _converting_params(self.param_convertors)

    def bind(self, app: ASGIApp) -> None:
        """Serve the route's connections with ``app``, inside the route's middleware;
        ``endpoint`` stays what was given (see `Route.bind`)."""
        self.app = _wrap_middleware(app, self._middleware)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """FULL for a WebSocket connection to this path."""
        if scope["type"] != "websocket":
            return _NONE, {}
        return self._match_path(scope, get_route_path(scope))

    def _match_path(self, scope: Scope, route_path: str) -> tuple[Match, Scope]:
        if scope["type"] != "websocket":
            return _NONE, {}
        found = self.path_regex.fullmatch(route_path)
        if found is None:
            return _NONE, {}
        params = found.groupdict()
        if self._converting and not _apply_convertors(params, self._converting):
            return _NONE, {}
        return _FULL, {"endpoint": self.endpoint, "path_params": _merge_params(scope, params)}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """This route's path when ``name`` is its name and the parameters are exactly its own."""
        if name != self.name or path_params.keys() != self._param_names:
            raise NoMatchFound(name, path_params)
        path, _ = _replace_params(self.path_format, self.param_convertors, path_params)
        return URLPath(path=path, protocol="websocket")

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the endpoint."""
        await self.app(scope, receive, send)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, WebSocketRoute)
            and self.path == other.path
            and self.endpoint == other.endpoint
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={self.path!r}, name={self.name!r})"


def _url_protocol(url: URLPath) -> Literal["http", "websocket", ""]:
    if url.protocol == "http":
        return "http"
    if url.protocol == "websocket":
        return "websocket"
    return ""


class Mount(BaseRoute):
    """Serve every path under a prefix with an ASGI app or a list of routes.

    The app sees the prefix moved from the path into ``root_path``.
    """

    def __init__(
        self,
        path: str,
        app: ASGIApp | None = None,
        routes: Sequence[BaseRoute] | None = None,
        name: str | None = None,
        *,
        middleware: Sequence[Middleware] | None = None,
        max_body_size: int | None = None,
    ) -> None:
        if path != "" and not path.startswith("/"):
            raise _RouteDefinitionError("Routed paths must start with '/'")
        if app is None and routes is None:
            raise _RouteDefinitionError("Either 'app=...', or 'routes=' must be specified")
        self.path = path.rstrip("/")
        self._base_app: ASGIApp = app if app is not None else Router(routes=routes)
        self.app = _wrap_middleware(_limit_body(self._base_app, max_body_size), middleware)
        self.name = name
        self.path_regex, self.path_format, self.param_convertors = compile_path(
            self.path + "/{path:path}"
        )
        self._converting = _converting_params(self.param_convertors)

    @property
    def routes(self) -> list[BaseRoute]:
        """The mounted app's routes (empty when it has none)."""
        routes: list[BaseRoute] = getattr(self._base_app, "routes", [])
        return routes

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """FULL for an HTTP or WebSocket connection to a path under the prefix."""
        scope_type = scope["type"]
        if scope_type != "http" and scope_type != "websocket":
            return _NONE, {}
        return self._match_path(scope, get_route_path(scope))

    def _match_path(self, scope: Scope, route_path: str) -> tuple[Match, Scope]:
        scope_type = scope["type"]
        if scope_type != "http" and scope_type != "websocket":
            return _NONE, {}
        found = self.path_regex.fullmatch(route_path)
        if found is None:
            return _NONE, {}
        params = found.groupdict()
        remaining: str = params.pop("path")
        if self._converting and not _apply_convertors(params, self._converting):
            return _NONE, {}
        # The prefix actually matched: everything before the "/" that starts the remainder.
        matched_path = route_path[: len(route_path) - len(remaining) - 1]
        root_path: str = scope.get("root_path", "")
        return _FULL, {
            "path_params": _merge_params(scope, params),
            "app_root_path": scope.get("app_root_path", root_path),
            "root_path": root_path + matched_path,
            "endpoint": self.app,
        }

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """The mount's own path (its name plus a ``path`` parameter) or a child route's path.

        Children are addressed as ``"mount_name:child_name"``.
        """
        if self.name is not None and name == self.name and "path" in path_params:
            path_params["path"] = path_params["path"].lstrip("/")
            path, remaining = _replace_params(self.path_format, self.param_convertors, path_params)
            if not remaining:
                return URLPath(path=path)
        elif self.name is None or name.startswith(self.name + ":"):
            child_name = name if self.name is None else name[len(self.name) + 1 :]
            path_kwarg = path_params.get("path")
            path_params["path"] = ""
            prefix, remaining = _replace_params(
                self.path_format, self.param_convertors, path_params
            )
            if path_kwarg is not None:
                remaining["path"] = path_kwarg
            url = _child_url_path(self.routes, child_name, remaining)
            if url is not None:
                return URLPath(path=prefix.rstrip("/") + url, protocol=_url_protocol(url))
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the connection to the mounted app."""
        await self.app(scope, receive, send)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mount) and self.path == other.path and self.app == other.app

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        name = self.name or ""
        return f"{type(self).__name__}(path={self.path!r}, name={name!r}, app={self.app!r})"


def share_allowed_methods(routes: Sequence[Route]) -> None:
    """Make a 405 from any of ``routes`` list the methods of all of them.

    For several routes serving one path with different methods, as resource classes do: the
    first route whose path matches answers the 405 (Starlette's rule), and on its own it would
    name only its own methods.
    """
    methods = frozenset().union(*(route.methods or () for route in routes))
    for route in routes:
        route._sibling_methods = methods


def _child_url_path(
    routes: Sequence[BaseRoute], name: str, path_params: dict[str, Any]
) -> URLPath | None:
    """The path of the first of ``routes`` that can build ``name``, or ``None``."""
    for route in routes:
        try:
            return route.url_path_for(name, **path_params)
        except NoMatchFound:
            continue
    return None


# host [":" port], host being a bracketed IP literal or an RFC 3986 reg-name.
_HOST_HEADER_RE = re.compile(
    r"(?P<host>\[(?P<literal>[^\]]*)\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::[0-9]+)?"
)
_IP_FUTURE_RE = re.compile(r"[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+")


def _host_without_port(scope: Scope) -> str | None:
    """The lower-cased host name from the first Host header, or None when absent or malformed."""
    for key, value in scope.get("headers", ()):
        if key == b"host":
            found = _HOST_HEADER_RE.fullmatch(value.decode("latin-1"))
            if found is None:
                return None
            literal = found.group("literal")
            if literal is not None and not _IP_FUTURE_RE.fullmatch(literal):
                if "%" in literal:
                    return None
                try:
                    ipaddress.IPv6Address(literal)
                except ValueError:
                    return None
            return found.group("host").lower()
    return None


class Host(BaseRoute):
    """Serve requests whose ``Host`` header matches a host template with an ASGI app.

    The port in the header is ignored; the comparison is case-insensitive.
    """

    def __init__(self, host: str, app: ASGIApp, name: str | None = None) -> None:
        if host.startswith("/"):
            raise _RouteDefinitionError("Host must not start with '/'")
        self.host = host
        self.app = app
        self.name = name
        self.host_regex, self.host_format, self.param_convertors = compile_path(host)
        self._converting = _converting_params(self.param_convertors)

    @property
    def routes(self) -> list[BaseRoute]:
        """The app's routes (empty when it has none)."""
        routes: list[BaseRoute] = getattr(self.app, "routes", [])
        return routes

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """FULL for an HTTP or WebSocket connection whose host matches."""
        scope_type = scope["type"]
        if scope_type != "http" and scope_type != "websocket":
            return _NONE, {}
        host = _host_without_port(scope)
        if host is None:
            return _NONE, {}
        found = self.host_regex.fullmatch(host)
        if found is None:
            return _NONE, {}
        params = found.groupdict()
        if self._converting and not _apply_convertors(params, self._converting):
            return _NONE, {}
        return _FULL, {"path_params": _merge_params(scope, params), "endpoint": self.app}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """Like ``Mount.url_path_for``; the returned path also carries the filled-in host."""
        if self.name is not None and name == self.name and "path" in path_params:
            path = path_params.pop("path")
            host, remaining = _replace_params(self.host_format, self.param_convertors, path_params)
            if not remaining:
                return URLPath(path=path, host=host)
        elif self.name is None or name.startswith(self.name + ":"):
            child_name = name if self.name is None else name[len(self.name) + 1 :]
            host, remaining = _replace_params(self.host_format, self.param_convertors, path_params)
            url = _child_url_path(self.routes, child_name, remaining)
            if url is not None:
                return URLPath(path=str(url), protocol=_url_protocol(url), host=host)
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the connection to the app."""
        await self.app(scope, receive, send)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Host) and self.host == other.host and self.app == other.app

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        name = self.name or ""
        return f"{type(self).__name__}(host={self.host!r}, name={name!r}, app={self.app!r})"


# --- The lookup index ------------------------------------------------------------------------

_Matcher = Callable[[Scope, str], "tuple[Match, Scope]"]


class _Served(Protocol):
    """A route whose ``handle`` only passes the connection on to its ``app``."""

    app: ASGIApp


# One candidate: how to match it, the route, and the route again when it may be served by
# calling its ``app`` directly (None when a subclass overrides ``handle``).
_Candidate = tuple[_Matcher, BaseRoute, "_Served | None"]
_Candidates = tuple[_Candidate, ...]


class _Node:
    """A trie node for one literal path segment.

    ``candidates`` holds, in registration order, every route attached here or at an ancestor:
    exactly the routes that can match a path whose literal walk ends at this node.
    """

    __slots__ = ("attached", "candidates", "children")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.attached: list[tuple[int, _Candidate]] = []
        self.candidates: _Candidates = ()


def _literal_segments(path: str) -> list[str]:
    """The segments of a path template before the first one holding a parameter.

    The empty segment before the leading "/" is included: lookups then walk every segment of
    the request path without slicing off the first.
    """
    segments = []
    for segment in path.split("/"):
        if "{" in segment:
            break
        segments.append(segment)
    return segments


def _delegate(route: BaseRoute) -> _Matcher:
    matches = route.matches
    return lambda scope, route_path: matches(scope)


def _index_entry(route: BaseRoute) -> tuple[_Candidate, list[str]]:
    """The route as a candidate, and the literal prefix it is filed under.

    A route whose class keeps our ``matches`` matches only paths starting with the literal
    segments of its template. Anything else (Host, custom routes) is filed at the root, so it
    is a candidate for every path.
    """
    served: _Served | None = None
    if isinstance(route, (Route, WebSocketRoute, Mount, Host)) and type(route).handle in (
        Route.handle,
        WebSocketRoute.handle,
        Mount.handle,
        Host.handle,
    ):
        # PERF: for a full match these ``handle`` methods only call ``app``; skip that frame.
        served = route
    if isinstance(route, (Route, WebSocketRoute, Mount)) and type(route).matches in (
        Route.matches,
        WebSocketRoute.matches,
        Mount.matches,
    ):
        return (route._match_path, route, served), _literal_segments(route.path)
    return (_delegate(route), route, served), []


def _build_index(routes: Sequence[BaseRoute]) -> _Node:
    root = _Node()
    for position, route in enumerate(routes):
        candidate, segments = _index_entry(route)
        node = root
        for segment in segments:
            child = node.children.get(segment)
            if child is None:
                child = node.children[segment] = _Node()
            node = child
        node.attached.append((position, candidate))
    # Merge each node's routes with its ancestors' candidates, keeping registration order.
    stack: list[tuple[_Node, list[tuple[int, _Candidate]]]] = [(root, [])]
    while stack:
        node, inherited = stack.pop()
        merged = sorted(inherited + node.attached, key=lambda entry: entry[0])
        node.candidates = tuple(candidate for _, candidate in merged)
        node.attached = []
        stack.extend((child, merged) for child in node.children.values())
    return root


class _RouteList(list[BaseRoute]):
    """The router's public route list; any change drops the lookup index, rebuilt when next used.

    PERF: knowing about every mutation makes the staleness check a single attribute test per
    request instead of a comparison with a snapshot of the list.
    """

    __slots__ = ("trie",)

    def __init__(self, routes: Iterable[BaseRoute] = ()) -> None:
        super().__init__(routes)
        self.trie: _Node | None = None

    def append(self, route: BaseRoute) -> None:
        self.trie = None
        super().append(route)

    def extend(self, routes: Iterable[BaseRoute]) -> None:
        self.trie = None
        super().extend(routes)

    def insert(self, position: SupportsIndex, route: BaseRoute) -> None:
        self.trie = None
        super().insert(position, route)

    def remove(self, route: BaseRoute) -> None:
        self.trie = None
        super().remove(route)

    def pop(self, position: SupportsIndex = -1) -> BaseRoute:
        self.trie = None
        return super().pop(position)

    def clear(self) -> None:
        self.trie = None
        super().clear()

    def sort(self, *, key: Any = None, reverse: bool = False) -> None:
        self.trie = None
        super().sort(key=key, reverse=reverse)

    def reverse(self) -> None:
        self.trie = None
        super().reverse()

    @overload
    def __setitem__(self, position: SupportsIndex, route: BaseRoute, /) -> None: ...

    @overload
    def __setitem__(self, position: slice, routes: Iterable[BaseRoute], /) -> None: ...

    def __setitem__(self, position: Any, value: Any, /) -> None:
        self.trie = None
        super().__setitem__(position, value)

    def __delitem__(self, position: SupportsIndex | slice, /) -> None:
        self.trie = None
        super().__delitem__(position)

    def __iadd__(self, routes: Iterable[BaseRoute], /) -> Self:  # type: ignore[override,misc]
        self.trie = None
        return super().__iadd__(routes)

    def __imul__(self, times: SupportsIndex, /) -> Self:
        self.trie = None
        return super().__imul__(times)


# --- The router ------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _no_lifespan(app: object) -> AsyncIterator[None]:
    yield


def _sync_generator_lifespan(
    lifespan: Callable[[Any], Iterator[Any]],
) -> Callable[[Any], contextlib.AbstractAsyncContextManager[Any]]:
    sync_context = contextlib.contextmanager(lifespan)

    @contextlib.asynccontextmanager
    async def context(app: Any) -> AsyncIterator[Any]:
        with sync_context(app) as state:
            yield state

    return context


_AnyLifespan = Union[  # noqa: UP007
    Lifespan[Any], Callable[[Any], contextlib.AbstractAsyncContextManager[object]]
]
"""Starlette's lifespans, and those yielding any object as the app's typed state."""


def _lifespan_context(
    lifespan: _AnyLifespan | None,
) -> Callable[[Any], contextlib.AbstractAsyncContextManager[Any]]:
    """An async context manager factory for ``lifespan``; generator functions are deprecated."""
    if lifespan is None:
        return _no_lifespan
    if inspect.isasyncgenfunction(lifespan):
        warnings.warn(
            "async generator function lifespans are deprecated, "
            "use an @contextlib.asynccontextmanager function instead",
            DeprecationWarning,
            stacklevel=3,
        )
        return contextlib.asynccontextmanager(lifespan)
    if inspect.isgeneratorfunction(lifespan):
        warnings.warn(
            "generator function lifespans are deprecated, "
            "use an @contextlib.asynccontextmanager function instead",
            DeprecationWarning,
            stacklevel=3,
        )
        return _sync_generator_lifespan(lifespan)
    return lifespan


class Router:
    """An ASGI app that dispatches each connection to the first of its routes that matches.

    Unmatched HTTP requests are redirected to the same path with the trailing slash toggled when
    that would match (``redirect_slashes``), else passed to ``default`` (404 by default).
    ``lifespan`` is an async context manager factory called with the app; a mapping it yields
    is merged into the lifespan scope's ``state``, and any other object is kept there under
    ``framework._keys.LIFESPAN_STATE`` as the app's typed state.
    """

    def __init__(
        self,
        routes: Sequence[BaseRoute] | None = None,
        redirect_slashes: bool = True,
        default: ASGIApp | None = None,
        lifespan: _AnyLifespan | None = None,
        *,
        middleware: Sequence[Middleware] | None = None,
        max_body_size: int | None = None,
    ) -> None:
        self.routes = [] if routes is None else list(routes)
        self.redirect_slashes = redirect_slashes
        self.default: ASGIApp = self.not_found if default is None else default
        self.lifespan_context = _lifespan_context(lifespan)
        self.middleware_stack = _wrap_middleware(_limit_body(self.app, max_body_size), middleware)

    @property
    def routes(self) -> list[BaseRoute]:
        """The routes in matching order; a plain list to read and change."""
        return self._routes

    @routes.setter
    def routes(self, routes: list[BaseRoute]) -> None:
        # NOTE: a plain list is copied into a _RouteList, so later changes must go through
        # ``router.routes``, not through the list that was assigned.
        self._routes = routes if isinstance(routes, _RouteList) else _RouteList(routes)

    async def not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        """404 for HTTP (an ``HTTPException`` inside an app), a close for WebSocket."""
        if scope["type"] == "websocket":
            await WebSocketClose()(scope, receive, send)
            return
        if "app" in scope:
            raise HTTPException(status_code=404)
        await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """The path of the first route that can build ``name`` with ``path_params``."""
        for route in self._routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)

    def _candidates(self, route_path: str) -> _Candidates:
        """The routes that may match ``route_path``, in order: walk its segments down the trie."""
        routes = self._routes
        node = routes.trie
        if node is None:
            node = routes.trie = _build_index(routes)
        if node.children:
            for segment in route_path.split("/"):
                child = node.children.get(segment)
                if child is None:
                    break
                node = child
                if not node.children:
                    break
        return node.candidates

    async def lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the lifespan protocol around ``lifespan_context``."""
        # NOTE: imported here, not at the top: the typed layer imports this module.

        started = False
        await receive()
        try:
            async with self.lifespan_context(scope.get("app")) as state:
                if state is not None:
                    if "state" not in scope:
                        raise RuntimeError(
                            'The server does not support "state" in the lifespan scope.'
                        )
                    if isinstance(state, Mapping):
                        scope["state"].update(state)
                    else:
                        # NOTE: any other object is the app's typed state; servers copy
                        # ``state`` into every request, so handlers find it there.
                        scope["state"][_keys.LIFESPAN_STATE] = state
                await send({"type": "lifespan.startup.complete"})
                started = True
                await receive()
        except BaseException:
            # NOTE: BaseException too, so that e.g. SystemExit in start-up is reported as a
            # failure and the server stops instead of serving without the app's resources.
            failed = "lifespan.shutdown.failed" if started else "lifespan.startup.failed"
            await send({"type": failed, "message": traceback.format_exc()})
            raise
        await send({"type": "lifespan.shutdown.complete"})

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch a connection: lifespan, first full match, first partial match, redirect, 404."""
        if "router" not in scope:
            scope["router"] = self
        if scope["type"] == "lifespan":
            await self.lifespan(scope, receive, send)
            return
        # PERF: without a root_path the route path is the path; skip the helper call.
        route_path = get_route_path(scope) if scope.get("root_path") else scope["path"]
        partial: BaseRoute | None = None
        partial_scope: Scope = {}
        for matcher, route, served in self._candidates(route_path):
            match, child_scope = matcher(scope, route_path)
            if match is _FULL:
                scope.update(child_scope)
                if served is None:
                    await route.handle(scope, receive, send)
                else:
                    await served.app(scope, receive, send)
                return
            if match is _PARTIAL and partial is None:
                partial, partial_scope = route, child_scope
        if partial is not None:
            scope.update(partial_scope)
            await partial.handle(scope, receive, send)
            return
        if scope["type"] == "http" and self.redirect_slashes and route_path != "/":
            redirect_scope = dict(scope)
            path: str = scope["path"]
            redirect_scope["path"] = path.rstrip("/") if route_path.endswith("/") else path + "/"
            redirect_path = get_route_path(redirect_scope)
            for matcher, _, _ in self._candidates(redirect_path):
                match, _ = matcher(redirect_scope, redirect_path)
                if match is not _NONE:
                    response = RedirectResponse(url=str(URL(scope=redirect_scope)))
                    await response(scope, receive, send)
                    return
        await self.default(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point: the router behind its middleware."""
        await self.middleware_stack(scope, receive, send)

    def mount(self, path: str, app: ASGIApp, name: str | None = None) -> None:
        """Add a ``Mount`` serving ``path`` and everything below it with ``app``."""
        self._routes.append(Mount(path, app=app, name=name))

    def host(self, host: str, app: ASGIApp, name: str | None = None) -> None:
        """Add a ``Host`` route serving requests for ``host`` with ``app``."""
        self._routes.append(Host(host, app=app, name=name))

    def add_route(
        self,
        path: str,
        endpoint: Callable[[Request], Awaitable[Response] | Response],
        methods: Collection[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
    ) -> None:
        """Add a ``Route`` for ``endpoint`` at ``path``."""
        self._routes.append(
            Route(
                path,
                endpoint=endpoint,
                methods=methods,
                name=name,
                include_in_schema=include_in_schema,
            )
        )

    def add_websocket_route(
        self,
        path: str,
        endpoint: Callable[[WebSocket], Awaitable[None]],
        name: str | None = None,
    ) -> None:
        """Add a ``WebSocketRoute`` for ``endpoint`` at ``path``."""
        self._routes.append(WebSocketRoute(path, endpoint=endpoint, name=name))
