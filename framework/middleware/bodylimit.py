"""Refuse request bodies over a size limit with 413, without reading past the limit.

Wrap the whole application, or a single route or mounted app to give it its own limit::

    limited = Middleware(BodySizeLimitMiddleware, max_body_size=1_000_000)
    app = App(routes=[...], middleware=[limited])
    Mount("/upload", app=limit_body(upload_app, 100_000_000))
    Route("/avatar", avatar, middleware=[Middleware(BodySizeLimitMiddleware, max_body_size=5_000)])

The innermost limit wins, so a route may raise or lower the application's limit. Every
limiter stores its limit in ``scope[_keys.MAX_BODY_SIZE]`` and checks
the body against the value found there when the body is read; any layer may set that key
before the body is read to change the limit of the request (``None`` lifts it).
"""

from __future__ import annotations

from framework import _keys
from framework.exceptions import HTTPException
from framework.requests import body_read_from
from framework.responses import PlainTextResponse
from framework.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "BodySizeLimitMiddleware",
    "RequestBodyTooLarge",
    "declared_length_exceeds",
    "limit_body",
]

DEFAULT_MAX_BODY_SIZE = 1024 * 1024

# NOTE: Python refuses to convert integers of more than 4300 digits from text; any
# Content-Length this long is far over every limit anyway.
_MAX_LENGTH_DIGITS = 20


class RequestBodyTooLarge(HTTPException):
    """Raised by ``receive()`` when the request body exceeds the limit.

    It is an ``HTTPException(413)``, so the app's exception handlers may render it; when
    nothing inside handles it, the middleware answers 413 "Content Too Large" itself.
    """

    def __init__(self, max_body_size: int) -> None:
        # NOTE: RFC 9110's phrase, spelled out: Python before 3.13 still calls 413 "Request
        # Entity Too Large", and Starlette answers "Content Too Large" on every version.
        super().__init__(413, "Content Too Large")
        self.max_body_size = max_body_size


def _check_limit(max_body_size: int | None) -> int | None:
    if max_body_size is None:
        return None
    if isinstance(max_body_size, bool) or not isinstance(max_body_size, int) or max_body_size < 0:
        raise ValueError(
            f"BodySizeLimitMiddleware(max_body_size={max_body_size!r}): expected a number of "
            "bytes, 0 or more, or None for no limit"
        )
    return max_body_size


def _only_body_too_large(exc: BaseException) -> bool:
    """Whether ``exc`` is a ``RequestBodyTooLarge``, alone or in an exception group."""
    if isinstance(exc, RequestBodyTooLarge):
        return True
    # NOTE: a task group in the app (a streaming response, say) wraps the error in an
    # exception group; it still means "body too large" when that is all it holds.
    inner: tuple[BaseException, ...] | None = getattr(exc, "exceptions", None)
    return bool(inner) and all(_only_body_too_large(item) for item in inner or ())


def declared_length_exceeds(scope: Scope, limit: int) -> bool:
    """Whether the request's ``Content-Length`` header announces more than ``limit`` bytes."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value.isdigit() and (len(value) > _MAX_LENGTH_DIGITS or int(value) > limit)
    return False


class BodySizeLimitMiddleware:
    """Answer 413 when a request body is larger than ``max_body_size`` bytes.

    A declared ``Content-Length`` over the limit is refused before any of the body is read.
    A body of unknown length (chunked) is counted as it arrives and refused as soon as it
    passes the limit; the chunk that crossed it is never handed to the app. The check
    happens when the app reads the body: ``receive()`` raises ``RequestBodyTooLarge``. If the
    app had already started its response, that response is ended cleanly instead.
    """

    __slots__ = ("app", "max_body_size")

    def __init__(self, app: ASGIApp, max_body_size: int | None = DEFAULT_MAX_BODY_SIZE) -> None:
        self.app = app
        self.max_body_size = _check_limit(max_body_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # NOTE: set before the app runs, so an inner limiter (or any inner layer) can
        # replace it; outer limiters read the key when the body arrives.
        scope[_keys.MAX_BODY_SIZE] = self.max_body_size
        limiter = _Limiter(scope, receive, send)
        try:
            await self.app(scope, limiter.receive, limiter.send)
        except Exception as exc:
            if not _only_body_too_large(exc):
                raise
            if not limiter.response_started:
                response = PlainTextResponse("Content Too Large", status_code=413)
                await response(scope, receive, send)
            elif not limiter.response_complete:
                await send({"type": "http.response.body", "body": b"", "more_body": False})


def limit_body(app: ASGIApp, max_body_size: int | None) -> BodySizeLimitMiddleware:
    """Give one route's or mounted app's requests their own body size limit."""
    return BodySizeLimitMiddleware(app, max_body_size=max_body_size)


class _Limiter:
    """The ``receive`` and ``send`` of one request, counting the body and tracking the reply."""

    __slots__ = (
        "_receive",
        "_send",
        "exceeded",
        "length_checked",
        "received",
        "replayed",
        "response_complete",
        "response_started",
        "scope",
    )

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self._receive = receive
        self._send = send
        self.received = 0
        self.replayed = False
        self.length_checked = False
        self.exceeded: int | None = None
        self.response_started = False
        self.response_complete = False

    def _too_large(self, limit: int) -> RequestBodyTooLarge:
        self.exceeded = limit
        return RequestBodyTooLarge(limit)

    async def receive(self) -> Message:
        if self.exceeded is not None:
            # NOTE: an app that swallowed the error must not read the rest of the body.
            raise RequestBodyTooLarge(self.exceeded)
        limit: int | None = self.scope.get(_keys.MAX_BODY_SIZE)
        if limit is not None and not self.length_checked:
            self.length_checked = True
            if declared_length_exceeds(self.scope, limit):
                raise self._too_large(limit)
        message = await self._next_message()
        if limit is not None and message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > limit:
                raise self._too_large(limit)
        return message

    async def _next_message(self) -> Message:
        # NOTE: a layer outside may have read the whole body already (a Request built on the
        # receive this limiter wraps): replay it once rather than wait for a body that is gone.
        if not self.replayed:
            self.replayed = True
            body = body_read_from(self.scope, self._receive)
            if body is not None:
                return {"type": "http.request", "body": body, "more_body": False}
        return await self._receive()

    async def send(self, message: Message) -> None:
        message_type = message["type"]
        if message_type == "http.response.start":
            self.response_started = True
        elif message_type == "http.response.body" and not message.get("more_body", False):
            self.response_complete = True
        await self._send(message)
