"""HTTP responses: ASGI callables that send a status, headers and a body."""

from __future__ import annotations

import hashlib
import http.cookies
import os
import re
import stat
import sys
import time
from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from datetime import datetime
from email.utils import format_datetime, formatdate, mktime_tz, parsedate_tz
from mimetypes import guess_type
from secrets import token_hex
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import quote

import anyio
import anyio.to_thread

from framework._json import dumps as json_dumps
from framework.background import BackgroundTask
from framework.concurrency import iterate_in_threadpool
from framework.datastructures import URL, MutableHeaders
from framework.requests import ClientDisconnect
from framework.types import Message, Receive, Scope, Send

if TYPE_CHECKING:
    from framework.sse import EventSourceResponse, ServerSentEvent

__all__ = [
    "EventSourceResponse",
    "FileResponse",
    "HTMLResponse",
    "JSONResponse",
    "PlainTextResponse",
    "RedirectResponse",
    "Response",
    "ServerSentEvent",
    "StreamingResponse",
]

T = TypeVar("T")
RawHeaders = list[tuple[bytes, bytes]]

# PERF: Content-Type values by charset then media type, so the common response types skip the
# "text/" and "charset=" checks; bounded because a media type may carry per-response parameters.
_CONTENT_TYPES: dict[str, dict[str, bytes]] = {}
_CONTENT_TYPES_MAX = 256


def _content_type(media_type: str, charset: str) -> bytes:
    """The Content-Type value for ``media_type``, with ``charset`` added to ``text/*`` types."""
    text = media_type
    if text.startswith("text/") and "charset=" not in text.lower():
        text = f"{text}; charset={charset}"
    value = text.encode("latin-1")
    cache = _CONTENT_TYPES.setdefault(charset, {})
    if len(cache) < _CONTENT_TYPES_MAX:
        cache[media_type] = value
    return value


# Cookie names as http.cookies accepts them: RFC 6265 token characters, and not an attribute name.
_LEGAL_COOKIE_KEY = re.compile(r"[\w!#$%&'*+\-.^`|~:]+", re.ASCII)
_RESERVED_COOKIE_KEYS = frozenset(
    ("expires", "path", "comment", "domain", "max-age", "secure", "httponly", "version", "samesite")
    + (("partitioned",) if sys.version_info >= (3, 14) else ())
)
# Quotes cookie values exactly as the standard library does.
_COOKIE_CODEC: http.cookies.SimpleCookie = http.cookies.SimpleCookie()

# Statuses whose responses have no body, so no Content-Length either (RFC 9110 8.6).
_BODILESS_STATUSES = frozenset((*range(100, 200), 204, 304))
# PERF: Content-Length values of small bodies, formatted once.
_LENGTHS = [b"%d" % n for n in range(1024)]


def _get_raw(raw: RawHeaders, key: bytes) -> bytes | None:
    for name, value in raw:
        if name == key:
            return value
    return None


def _set_raw(raw: RawHeaders, key: bytes, value: bytes) -> None:
    """Set ``key`` in place of its first occurrence, dropping any others, as ``MutableHeaders``."""
    index = None
    for i in range(len(raw) - 1, -1, -1):
        if raw[i][0] == key:
            if index is not None:
                del raw[index]
            index = i
    if index is None:
        raw.append((key, value))
    else:
        raw[index] = (key, value)


def _setdefault_raw(raw: RawHeaders, key: bytes, value: bytes) -> None:
    if _get_raw(raw, key) is None:
        raw.append((key, value))


class Response:
    """A complete response whose body is rendered once, at construction."""

    media_type: str | None = None
    charset = "utf-8"

    def __init__(
        self,
        content: Any = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.background = background
        self.body = self.render(content)
        self.init_headers(headers)

    def render(self, content: Any) -> bytes | memoryview:
        """Turn ``content`` into the body: ``None`` is empty, text is encoded with ``charset``."""
        if isinstance(content, str):
            return content.encode(self.charset)
        if content is None:
            return b""
        if isinstance(content, (bytes, memoryview)):
            return content
        encoded: bytes = content.encode(self.charset)
        return encoded

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        """Build ``raw_headers``: the caller's headers, then Content-Length and Content-Type."""
        body = getattr(self, "body", None)
        media_type = self.media_type
        if headers is None:
            raw: RawHeaders = []
            add_length = add_type = True
        else:
            raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
            add_length = add_type = True
            for name, _ in raw:
                if name == b"content-length":
                    add_length = False
                elif name == b"content-type":
                    add_type = False
        if add_length and body is not None and self.status_code not in _BODILESS_STATUSES:
            length = len(body)
            raw.append((b"content-length", _LENGTHS[length] if length < 1024 else b"%d" % length))
        if add_type and media_type is not None:
            charset = self.charset
            cached = _CONTENT_TYPES.get(charset)
            content_type = cached.get(media_type) if cached is not None else None
            if content_type is None:
                content_type = _content_type(media_type, charset)
            raw.append((b"content-type", content_type))
        self.raw_headers = raw

    @property
    def headers(self) -> MutableHeaders:
        """A mutable view of ``raw_headers``; changes write through to the list."""
        # PERF: built on access only, so responses whose headers nobody touches never pay for it.
        return MutableHeaders(raw=self.raw_headers)

    def set_cookie(
        self,
        key: str,
        value: str = "",
        max_age: int | None = None,
        expires: datetime | str | int | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Add a ``Set-Cookie`` header; an ``int`` ``expires`` counts seconds from now."""
        # PERF: formatted by hand, as http.cookies.Morsel.OutputString would (attributes sorted by
        # name, empty values left out): building a Morsel costs several microseconds.
        if key.lower() in _RESERVED_COOKIE_KEYS:
            raise http.cookies.CookieError(f"Attempt to set a reserved key {key!r}")
        if _LEGAL_COOKIE_KEY.fullmatch(key) is None:
            raise http.cookies.CookieError(f"Illegal key {key!r}")
        parts = [f"{key}={_COOKIE_CODEC.value_encode(value)[1]}"]
        if domain:
            parts.append(f"Domain={domain}")
        if expires is not None:
            if isinstance(expires, datetime):
                expires = format_datetime(expires, usegmt=True)
            elif isinstance(expires, int):
                expires = formatdate(time.time() + expires, usegmt=True)
            if expires:
                parts.append(f"expires={expires}")
        if httponly:
            parts.append("HttpOnly")
        if max_age is not None:
            parts.append(f"Max-Age={max_age:d}")
        if partitioned:
            # NOTE: Starlette refuses this before Python 3.14, whose http.cookies added it; being
            # formatted here, it works on every version.
            parts.append("Partitioned")
        if path:
            parts.append(f"Path={path}")
        if samesite is not None:
            if samesite.lower() not in ("strict", "lax", "none"):
                # NOTE: AssertionError is what Starlette raises here; raised explicitly so that the
                # check survives ``python -O``.
                raise AssertionError("samesite must be either 'strict', 'lax' or 'none'")
            parts.append(f"SameSite={samesite}")
        if secure:
            parts.append("Secure")
        self.raw_headers.append((b"set-cookie", "; ".join(parts).encode("latin-1")))

    def delete_cookie(
        self,
        key: str,
        path: str = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Expire the cookie ``key`` on the client."""
        self.set_cookie(
            key,
            max_age=0,
            expires=0,
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
            partitioned=partitioned,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # PERF: constant message types rather than "websocket." + ... on every call.
        if scope["type"] != "websocket":
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            await send({"type": "http.response.body", "body": self.body})
        else:
            await send(
                {
                    "type": "websocket.http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            await send({"type": "websocket.http.response.body", "body": self.body})
        if self.background is not None:
            await self.background()


class HTMLResponse(Response):
    """A ``text/html`` response."""

    media_type = "text/html"


class PlainTextResponse(Response):
    """A ``text/plain`` response."""

    media_type = "text/plain"


class JSONResponse(Response):
    """A response whose body is ``content`` encoded as compact UTF-8 JSON."""

    media_type = "application/json"

    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        super().__init__(content, status_code, headers, media_type, background)

    def render(self, content: Any) -> bytes:
        """Encode as ``json.dumps(ensure_ascii=False, allow_nan=False, separators=(",", ":"))``."""
        return json_dumps(content)


# Characters a Location header keeps as they are; everything else is percent-encoded.
_REDIRECT_SAFE = ":/%#?=@[]!$&'()*+,;"


class RedirectResponse(Response):
    """An empty response pointing the client at ``url`` (307 by default)."""

    def __init__(
        self,
        url: str | URL,
        status_code: int = 307,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        super().__init__(
            content=b"", status_code=status_code, headers=headers, background=background
        )
        # NOTE: surrogatepass, so a lone surrogate (undecodable bytes a server passed through)
        # is percent-encoded instead of failing the response.
        location = quote(str(url), safe=_REDIRECT_SAFE, errors="surrogatepass").encode("latin-1")
        if headers is None:
            self.raw_headers.append((b"location", location))
        else:
            _set_raw(self.raw_headers, b"location", location)


Content = str | bytes | memoryview
SyncContentStream = Iterable[Content]
AsyncContentStream = AsyncIterable[Content]
ContentStream = (
    AsyncContentStream | SyncContentStream | Callable[[], AsyncContentStream | SyncContentStream]
)


def _as_async_iterable(
    content: AsyncIterable[T] | Iterable[T] | Callable[[], AsyncIterable[T] | Iterable[T]],
) -> AsyncIterable[T]:
    """An async iterable over ``content``; blocking iterables are iterated in the thread pool."""
    if isinstance(content, AsyncIterable):
        return content
    if isinstance(content, Iterable):
        return iterate_in_threadpool(content)
    if callable(content):
        produced = content()
        if isinstance(produced, AsyncIterable):
            return produced
        if isinstance(produced, Iterable):
            return iterate_in_threadpool(produced)
    raise TypeError(
        f"expected an iterable, an async iterable or a callable returning one, got {content!r}"
    )


async def _close_iterator(iterator: AsyncIterable[Any]) -> None:
    """Close an async generator now, so its ``finally`` runs even if the stream stopped early."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


def _denial_send(send: Send) -> Send:
    """``send`` with ``http.response.*`` messages renamed for a WebSocket denial response."""

    async def wrapped(message: Message) -> None:
        message["type"] = "websocket." + message["type"]
        await send(message)

    return wrapped


def _disconnect_aware_send(send: Send) -> Send:
    """``send`` raising ``ClientDisconnect`` where an ASGI 2.4 server raises ``OSError``."""

    # NOTE: only send's OSError means the client is gone; one from the body iterator (a failed
    # read, say) is a genuine error and must stay one.
    async def wrapped(message: Message) -> None:
        try:
            await send(message)
        except OSError:
            raise ClientDisconnect() from None

    return wrapped


def _spec_version(scope: Scope) -> tuple[int, ...]:
    version: str = scope.get("asgi", {}).get("spec_version", "2.0")
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (2, 0)


class StreamingResponse(Response):
    """A response whose body is sent chunk by chunk as an iterable produces it."""

    body_iterator: AsyncContentStream

    def __init__(
        self,
        content: ContentStream,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        self.body_iterator = _as_async_iterable(content)
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.background = background
        self.init_headers(headers)

    async def listen_for_disconnect(self, receive: Receive) -> None:
        """Return once the client has disconnected."""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return

    async def stream_response(self, send: Send) -> None:
        """Send the start message, every chunk with ``more_body``, then the closing message."""
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        charset = self.charset
        try:
            async for chunk in self.body_iterator:
                if not isinstance(chunk, (bytes, memoryview)):
                    chunk = chunk.encode(charset)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            await _close_iterator(self.body_iterator)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            send = _denial_send(send)
        if _spec_version(scope) >= (2, 4):
            await self.stream_response(_disconnect_aware_send(send))
        else:
            await self._stream_until_disconnect(receive, send)
        if self.background is not None:
            await self.background()

    async def _stream_until_disconnect(self, receive: Receive, send: Send) -> None:
        # NOTE: failures are caught inside the task group and re-raised after it, so callers see
        # the original exception rather than an ExceptionGroup around it.
        failures: list[Exception] = []
        async with anyio.create_task_group() as group:

            async def watch() -> None:
                try:
                    await self.listen_for_disconnect(receive)
                except Exception as exc:
                    failures.append(exc)
                group.cancel_scope.cancel()

            group.start_soon(watch)
            try:
                await self.stream_response(send)
            except Exception as exc:
                failures.append(exc)
            group.cancel_scope.cancel()
        if failures:
            raise failures[0]


class _MalformedRange(Exception):
    """The Range header cannot be parsed: answered with 400 and this message."""


class _RangeNotSatisfiable(Exception):
    """A requested range starts beyond the end of the file: answered with 416."""


# NOTE: a Range header may not make a response larger than the whole file. After overlapping and
# adjacent ranges are merged, more than MAX_RANGES parts, or requested ranges that add up to more
# than the file, get the whole file with 200 (RFC 9110 14.2 lets a server ignore Range). 200 rather
# than 416 because the request is legitimate, just wasteful: clients handle a 200 everywhere,
# whereas a 416 would fail a download that a plain GET would have served.
MAX_RANGES = 16
# Numbers longer than this are clamped instead of parsed: they are beyond any file's size anyway,
# and int() refuses strings over 4300 digits.
_MAX_DIGITS = 18
_HUGE = 10**_MAX_DIGITS


def _parse_int(text: str) -> int:
    text = text.lstrip("0") or "0"
    return int(text) if len(text) <= _MAX_DIGITS else _HUGE


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _parse_range(header: str, size: int) -> list[tuple[int, int]] | None:
    """The byte ranges ``header`` asks for as merged ``(start, stop)`` pairs, sorted.

    ``None`` means "ignore Range and send the whole file" (see ``MAX_RANGES``).
    """
    unit, equals, specs = header.partition("=")
    if not equals:
        raise _MalformedRange("Malformed range header.")
    if unit.strip().lower() != "bytes":
        raise _MalformedRange("Only support bytes range")
    ranges: list[tuple[int, int]] = []
    for spec in specs.split(","):
        first, dash, last = spec.partition("-")
        first = first.strip()
        last = last.strip()
        # NOTE: specs that are not "digits-digits", "digits-" or "-digits" are skipped, as
        # Starlette does; the header is malformed only when no spec is left.
        if not dash or not (first or last):
            continue
        if (first and not _is_digits(first)) or (last and not _is_digits(last)):
            continue
        if first:
            start = _parse_int(first)
            stop = min(_parse_int(last) + 1, size) if last else size
        else:
            start = max(size - _parse_int(last), 0)
            stop = size
        ranges.append((start, stop))
    if not ranges:
        raise _MalformedRange("Range header: range must be requested")
    if any(start >= size for start, _ in ranges):
        raise _RangeNotSatisfiable
    if any(start >= stop for start, stop in ranges):
        raise _MalformedRange("Range header: start must be less than end")
    requested = sum(stop - start for start, stop in ranges)
    ranges.sort()
    merged = [ranges[0]]
    for start, stop in ranges[1:]:
        last_start, last_stop = merged[-1]
        if start <= last_stop:
            merged[-1] = (last_start, max(last_stop, stop))
        else:
            merged.append((start, stop))
    if len(merged) > MAX_RANGES or requested > size:
        return None
    return merged


def _etag_matches(header: str, etag: bytes | None) -> bool:
    """Weak comparison of an If-None-Match list against the response's ETag."""
    if etag is None:
        return False
    current = etag.decode("latin-1").removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == current:
            return True
    return False


def _not_modified_since(header: str, mtime: float) -> bool:
    # NOTE: the header is client input, and email.utils has raised on malformed dates in some
    # Python versions; an unreadable date just means "not known to be unmodified".
    try:
        parsed = parsedate_tz(header)
        if parsed is None:
            return False
        return int(mtime) <= mktime_tz(parsed)
    except (TypeError, ValueError, OverflowError, IndexError):
        return False


# Headers a 304 keeps (RFC 9110 15.4.5), plus Set-Cookie, which the endpoint meant to send anyway.
_NOT_MODIFIED_HEADERS = frozenset(
    (b"cache-control", b"content-location", b"date", b"etag", b"expires", b"vary", b"set-cookie")
)


class FileResponse(Response):
    """A file from disk, with conditional requests (304) and byte ranges (206)."""

    chunk_size = 64 * 1024

    def __init__(
        self,
        path: str | os.PathLike[str],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
        filename: str | None = None,
        stat_result: os.stat_result | None = None,
        method: str | None = None,
        content_disposition_type: str = "attachment",
    ) -> None:
        self.path = path
        self.status_code = status_code
        self.filename = filename
        # NOTE: ``method`` is kept for code written against older Starlette; the request's own
        # method decides as well.
        self.send_header_only = method is not None and method.upper() == "HEAD"
        if media_type is None:
            media_type = guess_type(filename or path)[0] or "application/octet-stream"
        self.media_type = media_type
        self.background = background
        self.init_headers(headers)
        raw = self.raw_headers
        _setdefault_raw(raw, b"accept-ranges", b"bytes")
        if filename is not None:
            quoted = quote(filename)
            if quoted != filename:
                disposition = f"{content_disposition_type}; filename*=utf-8''{quoted}"
            else:
                disposition = f'{content_disposition_type}; filename="{filename}"'
            _setdefault_raw(raw, b"content-disposition", disposition.encode("latin-1"))
        self.stat_result = stat_result
        if stat_result is not None:
            self.set_stat_headers(stat_result)

    def set_stat_headers(self, stat_result: os.stat_result) -> None:
        """Add Content-Length, Last-Modified and ETag from the file's metadata, unless given."""
        size = stat_result.st_size
        mtime = stat_result.st_mtime
        etag = hashlib.md5(f"{mtime}-{size}".encode(), usedforsecurity=False).hexdigest()
        raw = self.raw_headers
        _setdefault_raw(raw, b"content-length", b"%d" % size)
        _setdefault_raw(raw, b"last-modified", formatdate(mtime, usegmt=True).encode("latin-1"))
        _setdefault_raw(raw, b"etag", f'"{etag}"'.encode("latin-1"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            send = _denial_send(send)
        method = scope.get("method", "GET").upper()
        header_only = self.send_header_only or method == "HEAD"
        stat_result = self.stat_result
        if stat_result is None:
            try:
                stat_result = await anyio.to_thread.run_sync(os.stat, self.path)
            except FileNotFoundError:
                raise RuntimeError(f"File at path {self.path} does not exist.") from None
            if not stat.S_ISREG(stat_result.st_mode):
                raise RuntimeError(f"File at path {self.path} is not a file.")
            self.stat_result = stat_result
            self.set_stat_headers(stat_result)
        size = stat_result.st_size

        outcome = None
        # NOTE: unlike Starlette's, whose FileResponse sends the whole file whatever the
        # conditional headers say (only StaticFiles answers 304 there), ours honours
        # If-None-Match and If-Modified-Since itself, as its Range handling already reads them.
        if self.status_code == 200 and (method == "GET" or method == "HEAD"):
            outcome = self._negotiate(scope["headers"], stat_result)
        if outcome is None:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            if header_only:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            elif "http.response.pathsend" in scope.get("extensions", {}):
                await send({"type": "http.response.pathsend", "path": os.path.abspath(self.path)})
            else:
                await self._send_file(send, [(0, size)], [b""], b"")
        elif isinstance(outcome, Response):
            await send(
                {
                    "type": "http.response.start",
                    "status": outcome.status_code,
                    "headers": outcome.raw_headers,
                }
            )
            await send({"type": "http.response.body", "body": outcome.body})
        elif len(outcome) == 1:
            await self._send_single_range(send, outcome[0], size, header_only)
        else:
            await self._send_multipart(send, outcome, size, header_only)
        # NOTE: the background task runs after 304, 400 and 416 answers too (Starlette skips it
        # for 400 and 416): it may be cleaning up the very file that was asked for.
        if self.background is not None:
            await self.background()

    def _negotiate(
        self, request_headers: Iterable[tuple[bytes, bytes]], stat_result: os.stat_result
    ) -> Response | list[tuple[int, int]] | None:
        """Weigh conditional and Range headers.

        Returns the byte ranges to send, ``None`` for the whole file, or a response to send instead.
        """
        if_none_match = if_modified_since = range_header = if_range = None
        for name, value in request_headers:
            if name == b"range":
                range_header = value
            elif name == b"if-none-match":
                if_none_match = value
            elif name == b"if-modified-since":
                if_modified_since = value
            elif name == b"if-range":
                if_range = value
        raw = self.raw_headers
        etag = _get_raw(raw, b"etag")
        # NOTE: If-None-Match wins over If-Modified-Since, and both over Range (RFC 9110 13.2.2).
        if if_none_match is not None:
            not_modified = _etag_matches(if_none_match.decode("latin-1"), etag)
        elif if_modified_since is not None:
            not_modified = _not_modified_since(
                if_modified_since.decode("latin-1"), stat_result.st_mtime
            )
        else:
            not_modified = False
        if not_modified:
            response = Response(status_code=304)
            response.raw_headers = [(k, v) for k, v in raw if k in _NOT_MODIFIED_HEADERS]
            return response
        if range_header is None:
            return None
        if (
            if_range is not None
            and if_range != etag
            and if_range != _get_raw(raw, b"last-modified")
        ):
            return None
        size = stat_result.st_size
        try:
            return _parse_range(range_header.decode("latin-1"), size)
        except _MalformedRange as exc:
            return PlainTextResponse(str(exc), status_code=400)
        except _RangeNotSatisfiable:
            return PlainTextResponse(status_code=416, headers={"content-range": f"bytes */{size}"})

    async def _send_single_range(
        self, send: Send, byte_range: tuple[int, int], size: int, header_only: bool
    ) -> None:
        start, stop = byte_range
        headers = list(self.raw_headers)
        _set_raw(headers, b"content-length", b"%d" % (stop - start))
        headers.append((b"content-range", b"bytes %d-%d/%d" % (start, stop - 1, size)))
        await send({"type": "http.response.start", "status": 206, "headers": headers})
        if header_only:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        else:
            await self._send_file(send, [byte_range], [b""], b"")

    async def _send_multipart(
        self, send: Send, ranges: list[tuple[int, int]], size: int, header_only: bool
    ) -> None:
        boundary = token_hex(13).encode("ascii")
        content_type = _get_raw(self.raw_headers, b"content-type") or b""
        part_headers = [
            b"--%s\r\nContent-Type: %s\r\nContent-Range: bytes %d-%d/%d\r\n\r\n"
            % (boundary, content_type, start, stop - 1, size)
            for start, stop in ranges
        ]
        closing = b"\r\n--%s--" % boundary
        length = sum(len(part) for part in part_headers) + 2 * (len(ranges) - 1) + len(closing)
        length += sum(stop - start for start, stop in ranges)
        headers = list(self.raw_headers)
        _set_raw(headers, b"content-type", b"multipart/byteranges; boundary=" + boundary)
        _set_raw(headers, b"content-length", b"%d" % length)
        await send({"type": "http.response.start", "status": 206, "headers": headers})
        if header_only:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        # Each part's data follows its headers; parts after the first start with the CRLF that
        # ends the previous part's data.
        prefixes = [part_headers[0]] + [b"\r\n" + part for part in part_headers[1:]]
        await self._send_file(send, ranges, prefixes, closing)

    async def _send_file(
        self, send: Send, ranges: list[tuple[int, int]], prefixes: list[bytes], suffix: bytes
    ) -> None:
        """Send each range of the file after its prefix, then ``suffix``, closing the body."""
        chunk_size = self.chunk_size
        if len(ranges) == 1 and ranges[0][1] - ranges[0][0] <= chunk_size:
            # PERF: open, seek, read and close in one thread trip instead of four; most files
            # served (icons, scripts, stylesheets) fit in a single chunk.
            start, stop = ranges[0]
            data = await anyio.to_thread.run_sync(_read_range, self.path, start, stop - start)
            body = prefixes[0] + data + suffix
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        last_index = len(ranges) - 1
        async with await anyio.open_file(self.path, mode="rb") as file:
            for index, (start, stop) in enumerate(ranges):
                if prefixes[index]:
                    await send(
                        {"type": "http.response.body", "body": prefixes[index], "more_body": True}
                    )
                await file.seek(start)
                remaining = stop - start
                while remaining > 0:
                    chunk = await file.read(min(chunk_size, remaining))
                    if not chunk:
                        # The file shrank since it was measured: stop at what is there.
                        break
                    remaining -= len(chunk)
                    more_body = remaining > 0 or index != last_index or bool(suffix)
                    await send(
                        {"type": "http.response.body", "body": chunk, "more_body": more_body}
                    )
                    if not more_body:
                        return
        await send({"type": "http.response.body", "body": suffix, "more_body": False})


def _read_range(path: str | os.PathLike[str], start: int, length: int) -> bytes:
    with open(path, "rb") as file:
        file.seek(start)
        return file.read(length)


def __getattr__(name: str) -> Any:
    # NOTE: the SSE names are re-exported lazily because framework.sse subclasses
    # StreamingResponse, so importing it here at module level would be circular.
    if name in ("EventSourceResponse", "ServerSentEvent"):
        from framework import sse

        return getattr(sse, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
