"""The incoming side of a connection: ``HTTPConnection`` for any scope, ``Request`` for HTTP."""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncGenerator, Generator, Iterator, Mapping
from contextlib import aclosing
from types import TracebackType
from typing import Any, Generic, NoReturn, cast

import anyio
from python_multipart.multipart import parse_options_header

from framework import _keys
from framework._json import loads as json_loads
from framework.datastructures import URL, Address, FormData, Headers, QueryParams, State, URLPath
from framework.exceptions import HTTPException
from framework.formparsers import FormParser, MultiPartException, MultiPartParser
from framework.types import Message, Receive, Scope, Send

if sys.version_info >= (3, 13):
    from typing import TypeVar
else:
    from typing_extensions import TypeVar

__all__ = [
    "SERVER_PUSH_HEADERS_TO_COPY",
    "ClientDisconnect",
    "HTTPConnection",
    "Request",
    "cookie_parser",
    "empty_receive",
    "empty_send",
]

StateT = TypeVar("StateT", bound="Mapping[str, Any] | State", default=State)

# A tuple rather than a set so that pushed requests carry their headers in a stable order.
SERVER_PUSH_HEADERS_TO_COPY = (
    "accept",
    "accept-encoding",
    "accept-language",
    "cache-control",
    "user-agent",
)

# NOTE: the body a Request has read is kept in the scope under this key, so that a later
# Request on the same scope (an endpoint after a middleware) gets the same bytes instead of
# waiting on a receive channel that has nothing left to give.


def body_read_from(scope: Scope, receive: Receive) -> bytes | None:
    """The body an earlier ``Request`` on ``scope`` read in full from ``receive``, if any.

    NOTE: the body is kept with the channel it came from: an app handed another ``receive``
    (a middleware that decompresses or rewrites the body) must read that one instead.
    """
    cached: tuple[Receive, bytes] | None = scope.get(_keys.BODY_CACHE)
    if cached is not None and cached[0] is receive:
        return cached[1]
    return None


_UNSET: Any = object()

_FORM_CONTENT_TYPES = (b"multipart/form-data", b"application/x-www-form-urlencoded")

_COOKIE_ESCAPE = re.compile(r"\\(?:([0-3][0-7][0-7])|(.))")


def _cookie_unescape(match: re.Match[str]) -> str:
    octal, char = match.groups()
    return chr(int(octal, 8)) if octal else char


def _cookie_unquote(value: str) -> str:
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    inner = value[1:-1]
    if "\\" not in inner:
        return inner
    return _COOKIE_ESCAPE.sub(_cookie_unescape, inner)


def cookie_parser(cookie_string: str) -> dict[str, str]:
    """Parse a ``Cookie`` header leniently, as browsers do, into a name-to-value dict.

    Pairs are split on ``;``; a chunk without ``=`` is a value with an empty name; quoted
    values are unquoted; empty chunks are skipped; a later duplicate name wins.
    """
    cookies: dict[str, str] = {}
    for chunk in cookie_string.split(";"):
        name, sep, value = chunk.partition("=")
        if not sep:
            name, value = "", chunk
        name = name.strip()
        value = value.strip()
        if name or value:
            cookies[name] = _cookie_unquote(value)
    return cookies


class ClientDisconnect(Exception):
    """The client went away before the request body was fully received."""


async def empty_receive() -> NoReturn:
    """The receive channel of a Request built without one."""
    raise RuntimeError("Receive channel has not been made available")


async def empty_send(message: Message) -> NoReturn:
    """The send channel of a Request built without one."""
    raise RuntimeError("Send channel has not been made available")


class HTTPConnection(Mapping[str, Any], Generic[StateT]):
    """What HTTP requests and WebSocket connections share: a read-only view of the scope.

    Every derived value (URL, headers, cookies, ...) is computed on first use and cached.
    """

    # PERF: slots keep per-request objects small; caches start as None (cheaper than
    # raising AttributeError on first access).
    __slots__ = ("_base_url", "_cookies", "_headers", "_query_params", "_state", "_url", "scope")

    def __init__(self, scope: Scope, receive: Receive | None = None) -> None:
        assert scope["type"] in ("http", "websocket")
        self.scope = scope
        self._url: URL | None = None
        self._base_url: URL | None = None
        self._headers: Headers | None = None
        self._query_params: QueryParams | None = None
        self._cookies: dict[str, str] | None = None
        self._state: State | None = None

    def __getitem__(self, key: str) -> Any:
        return self.scope[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.scope)

    def __len__(self) -> int:
        return len(self.scope)

    # NOTE: a connection is equal only to itself (Mapping would compare scopes) and hashable.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    @property
    def app(self) -> Any:
        """The application that received the connection."""
        return self.scope["app"]

    @property
    def url(self) -> URL:
        """The full URL of the request."""
        url = self._url
        if url is None:
            url = self._url = URL(scope=self.scope)
        return url

    @property
    def base_url(self) -> URL:
        """The URL of the application's root (its mount point), ending in ``/``."""
        base_url = self._base_url
        if base_url is None:
            scope = dict(self.scope)
            app_root_path: str = scope.get("app_root_path", scope.get("root_path", ""))
            path = app_root_path if app_root_path.endswith("/") else app_root_path + "/"
            scope["path"] = path
            scope["query_string"] = b""
            scope["root_path"] = app_root_path
            base_url = self._base_url = URL(scope=scope)
        return base_url

    @property
    def headers(self) -> Headers:
        """The request headers, case-insensitive."""
        headers = self._headers
        if headers is None:
            headers = self._headers = Headers(scope=self.scope)
        return headers

    @property
    def query_params(self) -> QueryParams:
        """The parsed query string."""
        query_params = self._query_params
        if query_params is None:
            query_params = self._query_params = QueryParams(self.scope["query_string"])
        return query_params

    @property
    def path_params(self) -> dict[str, Any]:
        """The values the router matched in the path."""
        path_params: dict[str, Any] = self.scope.get("path_params", {})
        return path_params

    @property
    def cookies(self) -> dict[str, str]:
        """The cookies of every ``Cookie`` header, parsed on first access."""
        cookies = self._cookies
        if cookies is None:
            cookies = {}
            for header in self.headers.getlist("cookie"):
                cookies.update(cookie_parser(header))
            self._cookies = cookies
        return cookies

    @property
    def client(self) -> Address | None:
        """The client's ``(host, port)``, when the server reports it."""
        host_port = self.scope.get("client")
        if host_port is None:
            return None
        return Address(*host_port)

    @property
    def session(self) -> dict[str, Any]:
        """The session dict that ``SessionMiddleware`` attaches."""
        assert "session" in self.scope, (
            "SessionMiddleware must be installed to access request.session"
        )
        session: dict[str, Any] = self.scope["session"]
        # NOTE: SessionMiddleware adds ``Vary: Cookie`` only to responses whose session was looked
        # at, and a handler may touch ``request.session`` without reading a key from it.
        mark_accessed = getattr(session, "mark_accessed", None)
        if mark_accessed is not None:
            mark_accessed()
        return session

    @property
    def auth(self) -> Any:
        """The credentials that ``AuthenticationMiddleware`` attaches."""
        assert "auth" in self.scope, (
            "AuthenticationMiddleware must be installed to access request.auth"
        )
        return self.scope["auth"]

    @property
    def user(self) -> Any:
        """The user that ``AuthenticationMiddleware`` attaches."""
        assert "user" in self.scope, (
            "AuthenticationMiddleware must be installed to access request.user"
        )
        return self.scope["user"]

    @property
    def state(self) -> StateT:
        """Per-request state, backed by ``scope["state"]`` (created when absent)."""
        state = self._state
        if state is None:
            state = self._state = State(self.scope.setdefault("state", {}))
        return cast(StateT, state)

    def url_for(self, name: str, /, **path_params: Any) -> URL:
        """The absolute URL of the route called ``name``, with ``path_params`` filled in."""
        router = self.scope.get("router")
        if router is None:
            router = self.scope.get("app")
        if router is None:
            raise RuntimeError(
                "The `url_for` method can only be used inside an application or with a router."
            )
        url_path: URLPath = router.url_path_for(name, **path_params)
        return url_path.make_absolute_url(base_url=self.base_url)


class _FormReader:
    """``request.form(...)``: await it for the form, or use it as an async context manager
    that closes the form's files on exit."""

    __slots__ = ("_form", "_max_fields", "_max_files", "_max_part_size", "_request")

    def __init__(
        self,
        request: Request[Any],
        max_files: int | float,
        max_fields: int | float,
        max_part_size: int,
    ) -> None:
        self._request = request
        self._max_files = max_files
        self._max_fields = max_fields
        self._max_part_size = max_part_size
        self._form: FormData | None = None

    def _read(self) -> Generator[Any, None, FormData]:
        # NOTE: the coroutine is created only when awaited, so an unused reader leaves no
        # never-awaited coroutine behind.
        return self._request._read_form(
            self._max_files, self._max_fields, self._max_part_size
        ).__await__()

    def __await__(self) -> Generator[Any, None, FormData]:
        return self._read()

    async def __aenter__(self) -> FormData:
        self._form = await self
        return self._form

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._form is not None:
            await self._form.close()


class Request(HTTPConnection[StateT]):
    """An HTTP request: the connection plus its method and body."""

    __slots__ = (
        "_body",
        "_form",
        "_is_disconnected",
        "_json",
        "_pending",
        "_receive",
        "_send",
        "_stream_consumed",
    )

    def __init__(self, scope: Scope, receive: Receive = empty_receive, send: Send = empty_send):
        assert scope["type"] == "http"
        # PERF: HTTPConnection.__init__ is inlined; a Request is built for every request.
        self.scope = scope
        self._url = None
        self._base_url = None
        self._headers = None
        self._query_params = None
        self._cookies = None
        self._state = None
        self._receive = receive
        self._send = send
        self._body: bytes | None = None
        self._json: Any = _UNSET
        self._form: FormData | None = None
        self._stream_consumed = False
        self._is_disconnected = False
        # A body message that is_disconnected() received while polling, kept for stream().
        self._pending: Message | None = None

    @property
    def method(self) -> str:
        """The HTTP method, upper case."""
        method: str = self.scope["method"]
        return method

    @property
    def receive(self) -> Receive:
        """The ASGI receive channel."""
        return self._receive

    def _cached_body(self) -> bytes | None:
        body = self._body
        if body is None:
            body = self._body = body_read_from(self.scope, self._receive)
        return body

    async def stream(self) -> AsyncGenerator[bytes, None]:
        """Yield the body as it arrives; the last chunk is always ``b""``.

        Raises ``RuntimeError`` if the stream was already consumed and ``ClientDisconnect``
        if the client leaves first. A body already read by ``body()`` (by this Request or an
        earlier one on the same scope) is yielded again.
        """
        body = self._cached_body()
        if body is not None:
            yield body
            yield b""
            return
        if self._stream_consumed:
            raise RuntimeError("Stream consumed")
        while not self._stream_consumed:
            message = self._pending
            if message is None:
                message = await self._receive()
            else:
                self._pending = None
            message_type = message["type"]
            if message_type == "http.request":
                if not message.get("more_body", False):
                    self._stream_consumed = True
                chunk: bytes = message.get("body", b"")
                if chunk:
                    yield chunk
            elif message_type == "http.disconnect":
                self._is_disconnected = True
                raise ClientDisconnect()
        yield b""

    async def body(self) -> bytes:
        """The whole body, read once and cached (also for later Requests on this scope)."""
        body = self._cached_body()
        if body is not None:
            return body
        if self._pending is None and not self._stream_consumed:
            # PERF: most bodies arrive in one message; take it without the stream generator,
            # and leave any other message to stream() as the one it reads first.
            message = await self._receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                self._stream_consumed = True
                body = message.get("body", b"")
            else:
                self._pending = message
        if body is None:
            chunks: list[bytes] = []
            async with aclosing(self.stream()) as stream:
                async for chunk in stream:
                    chunks.append(chunk)
            body = b"".join(chunks)
        self._body = body
        self.scope[_keys.BODY_CACHE] = (self._receive, body)
        return body

    async def json(self) -> Any:
        """The body decoded as JSON (``json.JSONDecodeError`` when it is not JSON)."""
        if self._json is _UNSET:
            self._json = json_loads(await self.body())
        return self._json

    async def _read_form(
        self, max_files: int | float, max_fields: int | float, max_part_size: int
    ) -> FormData:
        form = self._form
        if form is not None:
            return form
        content_type, _ = parse_options_header(self.headers.get("content-type"))
        if content_type not in _FORM_CONTENT_TYPES:
            form = self._form = FormData()
            return form
        try:
            async with aclosing(self.stream()) as stream:
                parser: MultiPartParser | FormParser
                if content_type == b"multipart/form-data":
                    parser = MultiPartParser(
                        self.headers,
                        stream,
                        max_files=max_files,
                        max_fields=max_fields,
                        max_part_size=max_part_size,
                    )
                else:
                    parser = FormParser(
                        self.headers, stream, max_fields=max_fields, max_part_size=max_part_size
                    )
                form = await parser.parse()
        except MultiPartException as exc:
            # NOTE: inside an application the client gets a 400; used standalone, the
            # parser's exception is the caller's to handle.
            if "app" in self.scope:
                raise HTTPException(status_code=400, detail=exc.message) from exc
            raise
        self._form = form
        return form

    def form(
        self,
        *,
        max_files: int | float = 1000,
        max_fields: int | float = 1000,
        max_part_size: int = 1024 * 1024,
    ) -> _FormReader:
        """The parsed form body (urlencoded or multipart); empty for other content types.

        Await the result, or use it as ``async with request.form() as form:`` to close
        uploaded files on exit. Breaking a limit gives a 400 inside an application.
        """
        return _FormReader(self, max_files, max_fields, max_part_size)

    async def close(self) -> None:
        """Close the files of a parsed form."""
        if self._form is not None:
            await self._form.close()

    async def is_disconnected(self) -> bool:
        """Whether the client has gone, polling the receive channel without waiting."""
        # NOTE: with a body chunk already held back for stream(), polling again could take a
        # second one and lose the first; the client was still there when that chunk came.
        if not self._is_disconnected and self._pending is None:
            message: Message = {}
            with anyio.CancelScope() as scope:
                scope.cancel()
                message = await self._receive()
            message_type = message.get("type")
            if message_type == "http.disconnect":
                self._is_disconnected = True
            elif message_type == "http.request":
                # NOTE: the poll may take a body chunk; keep it for stream() so it is not lost.
                self._pending = message
        return self._is_disconnected

    async def send_push_promise(self, path: str) -> None:
        """Ask an HTTP/2 server to push ``path``, when the server supports it."""
        if "http.response.push" in self.scope.get("extensions", {}):
            headers = self.headers
            raw_headers = [
                (name.encode("latin-1"), value.encode("latin-1"))
                for name in SERVER_PUSH_HEADERS_TO_COPY
                for value in headers.getlist(name)
            ]
            await self._send({"type": "http.response.push", "path": path, "headers": raw_headers})

    async def send_early_hints(self, link: str, /, *additional_links: str) -> None:
        """Send a 103 Early Hints response with ``Link`` values, when the server supports it."""
        if "http.response.early_hint" in self.scope.get("extensions", {}):
            links = [item.encode("latin-1") for item in (link, *additional_links)]
            await self._send({"type": "http.response.early_hint", "links": links})
