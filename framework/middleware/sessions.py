"""Signed-cookie sessions: ``request.session`` is a dict stored, signed, in a cookie."""

from __future__ import annotations

import json
from base64 import b64decode, b64encode
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

import itsdangerous
from itsdangerous.exc import BadSignature

from framework.requests import cookie_parser
from framework.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from _collections_abc import dict_items, dict_keys, dict_values

    from framework.datastructures import Secret

__all__ = ["Session", "SessionMiddleware"]

_SAME_SITE_VALUES = ("lax", "strict", "none")
_MISSING: Any = object()


class Session(dict[str, Any]):
    """The session dict; it records whether it was read (``accessed``) or changed (``modified``).

    ``SessionMiddleware`` uses the flags to add ``Vary: Cookie`` to responses that depend on
    the session and to write the cookie only when the session changed.
    """

    __slots__ = ("accessed", "modified")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.accessed = False
        self.modified = False

    def mark_accessed(self) -> None:
        """Record that the response depends on the session."""
        self.accessed = True

    def mark_modified(self) -> None:
        """Record that the session changed and its cookie must be written again."""
        self.accessed = True
        self.modified = True

    # NOTE: reads mark the session accessed too, so ``Vary: Cookie`` is right even for code
    # that reads ``scope["session"]`` directly rather than through ``request.session``.
    def __getitem__(self, key: str) -> Any:
        self.accessed = True
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.accessed = True
        return super().__contains__(key)

    def __iter__(self) -> Iterator[str]:
        self.accessed = True
        return super().__iter__()

    def __len__(self) -> int:
        self.accessed = True
        return super().__len__()

    def keys(self) -> dict_keys[str, Any]:
        """The session's keys."""
        self.accessed = True
        return super().keys()

    def values(self) -> dict_values[str, Any]:
        """The session's values."""
        self.accessed = True
        return super().values()

    def items(self) -> dict_items[str, Any]:
        """The session's items."""
        self.accessed = True
        return super().items()

    def get(self, key: str, default: Any = None, /) -> Any:
        """The value of ``key``, or ``default``."""
        self.accessed = True
        return super().get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        self.mark_modified()
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.mark_modified()
        super().__delitem__(key)

    def clear(self) -> None:
        """Empty the session; its cookie is then deleted."""
        self.mark_modified()
        super().clear()

    def pop(self, key: str, default: Any = _MISSING, /) -> Any:
        """Remove ``key`` and return its value (or ``default`` if absent)."""
        self.accessed = True
        if super().__contains__(key):
            self.mark_modified()
            return super().pop(key)
        if default is _MISSING:
            raise KeyError(key)
        return default

    def popitem(self) -> tuple[str, Any]:
        """Remove and return the last inserted item."""
        self.accessed = True
        item = super().popitem()
        self.mark_modified()
        return item

    def setdefault(self, key: str, default: Any = None, /) -> Any:
        """The value of ``key``, storing ``default`` first if it is absent."""
        self.accessed = True
        if not super().__contains__(key):
            self.mark_modified()
        return super().setdefault(key, default)

    def update(  # type: ignore[override]
        self, other: Mapping[str, Any] | Iterable[tuple[str, Any]] = (), /, **kwargs: Any
    ) -> None:
        """Add or replace items, as ``dict.update``."""
        self.mark_modified()
        super().update(other, **kwargs)

    def __ior__(self, other: Any) -> Session:  # type: ignore[override,misc]
        self.mark_modified()
        super().update(other)
        return self


class SessionMiddleware:
    """Provide ``scope["session"]`` (``request.session``), kept in a signed cookie.

    The session is JSON, base64-encoded and signed with ``itsdangerous.TimestampSigner``; a
    cookie that is tampered with, malformed or older than ``max_age`` seconds gives an empty
    session, never an error. The cookie is written when the session was modified and is not
    empty, and deleted when a session that came with a valid cookie was emptied.
    """

    __slots__ = (
        "_cookie_prefix",
        "_cookie_suffix",
        "_delete_cookie",
        "app",
        "max_age",
        "session_cookie",
        "signer",
    )

    def __init__(
        self,
        app: ASGIApp,
        secret_key: str | Secret,
        session_cookie: str = "session",
        max_age: int | None = 14 * 24 * 60 * 60,
        path: str = "/",
        same_site: Literal["lax", "strict", "none"] = "lax",
        https_only: bool = False,
        domain: str | None = None,
        partitioned: bool = False,
    ) -> None:
        if same_site not in _SAME_SITE_VALUES:
            raise ValueError(
                f"SessionMiddleware(same_site={same_site!r}): expected one of "
                + ", ".join(repr(value) for value in _SAME_SITE_VALUES)
            )
        self.app = app
        self.signer = itsdangerous.TimestampSigner(str(secret_key))
        self.session_cookie = session_cookie
        self.max_age = max_age

        flags = f"httponly; samesite={same_site}"
        if https_only:
            flags += "; secure"
        if domain is not None:
            flags += f"; domain={domain}"
        if partitioned:
            flags += "; partitioned"
        lifetime = "" if max_age is None else f"Max-Age={max_age}; "
        # PERF: everything in the Set-Cookie header but the signed value is encoded once.
        self._cookie_prefix = f"{session_cookie}=".encode("latin-1")
        self._cookie_suffix = f"; path={path}; {lifetime}{flags}".encode("latin-1")
        self._delete_cookie = (
            f"{session_cookie}=null; path={path}; expires=Thu, 01 Jan 1970 00:00:00 GMT; {flags}"
        ).encode("latin-1")

    def load(self, cookie: str) -> dict[str, Any] | None:
        """The session stored in a cookie value; ``None`` if it is invalid or expired."""
        try:
            payload = self.signer.unsign(cookie.encode("utf-8"), max_age=self.max_age)
            data = json.loads(b64decode(payload))
        except (BadSignature, ValueError):
            # NOTE: ValueError covers bad base64, bad UTF-8 and bad JSON.
            return None
        return data if isinstance(data, dict) else None

    def dump(self, session: Mapping[str, Any]) -> bytes:
        """The signed cookie value for ``session``."""
        return self.signer.sign(b64encode(json.dumps(session).encode("utf-8")))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return

        # PERF: the raw headers are scanned directly; most requests carry no cookie at all.
        cookie: str | None = None
        for name, value in scope["headers"]:
            if name == b"cookie":
                # NOTE: as in HTTPConnection.cookies, a later Cookie header wins.
                cookie = cookie_parser(value.decode("latin-1")).get(self.session_cookie, cookie)
        stored = None if cookie is None else self.load(cookie)
        scope["session"] = Session() if stored is None else Session(stored)

        if scope_type == "websocket":
            # NOTE: a WebSocket cannot set cookies, so its session is read-only in effect.
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _SessionSend(self, scope, stored is not None, send))

    def set_cookie_value(self, session: Mapping[str, Any], had_cookie: bool) -> bytes | None:
        """The ``Set-Cookie`` value after ``session`` was modified: the new cookie, a deletion
        (an emptied session that came with a valid cookie) or ``None`` (nothing to store)."""
        if session:
            return self._cookie_prefix + self.dump(session) + self._cookie_suffix
        return self._delete_cookie if had_cookie else None


class _SessionSend:
    """The ``send`` of one HTTP response: adds the session's headers to its start."""

    __slots__ = ("had_cookie", "middleware", "scope", "send")

    def __init__(
        self, middleware: SessionMiddleware, scope: Scope, had_cookie: bool, send: Send
    ) -> None:
        self.middleware = middleware
        self.scope = scope
        self.had_cookie = had_cookie
        self.send = send

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            session = self.scope["session"]
            if isinstance(session, Session):
                accessed, modified = session.accessed, session.modified
            else:
                # NOTE: the app replaced the session with a plain dict; assume it changed.
                accessed = modified = True
            if accessed or modified:
                # PERF: raw header edits; a MutableHeaders costs more than this whole step.
                headers = list(message.get("headers", ()))
                vary = [value for name, value in headers if name == b"vary"]
                if vary:
                    headers = [item for item in headers if item[0] != b"vary"]
                    headers.append((b"vary", b", ".join([*vary, b"Cookie"])))
                else:
                    headers.append((b"vary", b"Cookie"))
                if modified:
                    value = self.middleware.set_cookie_value(session, self.had_cookie)
                    if value is not None:
                        headers.append((b"set-cookie", value))
                message["headers"] = headers
        await self.send(message)
