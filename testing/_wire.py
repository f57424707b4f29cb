"""A generated case as an ASGI request: the scope a server would build, and the body bytes."""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from framework.types import Scope
from testing.report import Case

__all__ = ["http_request", "json_bytes", "multipart", "websocket_scope"]


def json_bytes(value: Any) -> bytes:
    """``value`` as JSON. Floats that JSON cannot spell (``inf``) and lone surrogates, which
    orjson refuses, are written as lenient encoders write them, so invalid cases can carry them."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, allow_nan=True).encode()


def multipart(
    form: tuple[tuple[str, str], ...], files: tuple[tuple[str, str, bytes, str], ...]
) -> tuple[bytes, str]:
    """The ``multipart/form-data`` body of ``form`` and ``files``, and its media type."""
    boundary = secrets.token_hex(16)
    chunks: list[bytes] = []
    for name, value in form:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{_quoted(name)}"\r\n\r\n'
        chunks.append(head.encode() + value.encode("utf-8", "surrogatepass") + b"\r\n")
    for name, filename, data, media_type in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{_quoted(name)}"; '
            f'filename="{_quoted(filename)}"\r\nContent-Type: {media_type}\r\n\r\n'
        )
        chunks.append(head.encode() + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def _quoted(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', "%22")


def _body(case: Case) -> tuple[bytes, str | None]:
    if case.has_json:
        return json_bytes(case.json), "application/json"
    if case.content is not None:
        return case.content, case.media_type
    if case.files:
        return multipart(case.form, case.files)
    if case.form:
        encoded = urlencode(case.form, quote_via=quote, encoding="utf-8", errors="surrogatepass")
        return encoded.encode("ascii"), "application/x-www-form-urlencoded"
    return b"", None


def http_request(case: Case, state: dict[str, Any]) -> tuple[Scope, bytes]:
    """The ``http`` scope of ``case`` (HTTP/1.1 on ``localhost``) and its body."""
    body, media_type = _body(case)
    headers: list[tuple[bytes, bytes]] = [(b"host", b"localhost")]
    headers += [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in case.headers
    ]
    if case.cookies:
        cookie = "; ".join(f"{name}={value}" for name, value in case.cookies)
        headers.append((b"cookie", cookie.encode("latin-1")))
    if media_type is not None:
        headers.append((b"content-type", media_type.encode("latin-1")))
    if body or case.method not in {"GET", "HEAD", "DELETE", "OPTIONS"}:
        headers.append((b"content-length", str(len(body)).encode()))
    scope = _scope("http", case, headers, state)
    scope["method"] = case.method
    scope["http_version"] = "1.1"
    return scope, body


def websocket_scope(case: Case, state: dict[str, Any]) -> Scope:
    """The ``websocket`` scope of connecting to ``case``'s path."""
    scope = _scope("websocket", case, [(b"host", b"localhost")], state)
    scope["subprotocols"] = []
    return scope


def _scope(
    kind: str, case: Case, headers: list[tuple[bytes, bytes]], state: dict[str, Any]
) -> Scope:
    raw_path = quote(case.path, safe="/", errors="surrogatepass").encode("ascii")
    query = urlencode(case.query, quote_via=quote, encoding="utf-8", errors="surrogatepass")
    return {
        "type": kind,
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "scheme": "http" if kind == "http" else "ws",
        "path": case.path,
        "raw_path": raw_path,
        "root_path": "",
        "query_string": query.encode("ascii"),
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("localhost", 80),
        # NOTE: a shallow copy, as a server gives each connection its own view of the state.
        "state": state.copy(),
    }
