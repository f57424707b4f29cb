"""Building ASGI connection scopes from the requests that httpx prepares."""

from __future__ import annotations

from typing import Any

import httpx

from framework.types import Scope

__all__ = ["http_scope", "websocket_scope"]

_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


def _common(
    kind: str,
    request: httpx.Request,
    root_path: str,
    client: tuple[str, int],
    app_state: dict[str, Any],
) -> Scope:
    url = request.url
    scheme = url.scheme
    return {
        "type": kind,
        "path": url.path,
        "raw_path": url.raw_path.partition(b"?")[0],
        "root_path": root_path,
        "scheme": scheme,
        "query_string": url.query,
        # NOTE: httpx keeps header names as the caller spelled them; ASGI wants lower case.
        "headers": [(name.lower(), value) for name, value in request.headers.raw],
        "client": client,
        "server": [url.host, url.port or _DEFAULT_PORTS.get(scheme, 80)],
        # NOTE: a shallow copy, as a server gives each connection its own view of the state
        # that the lifespan filled in.
        "state": app_state.copy(),
    }


def http_scope(
    request: httpx.Request, root_path: str, client: tuple[str, int], app_state: dict[str, Any]
) -> Scope:
    """The ``http`` scope of ``request``, as an HTTP/1.1 server would build it."""
    scope = _common("http", request, root_path, client, app_state)
    scope["http_version"] = "1.1"
    scope["method"] = request.method
    # NOTE: "http.response.debug" lets template responses report their template and context,
    # which the client exposes as ``response.template`` and ``response.context``.
    scope["extensions"] = {"http.response.debug": {}, "http.response.trailers": {}}
    return scope


def websocket_scope(
    request: httpx.Request, root_path: str, client: tuple[str, int], app_state: dict[str, Any]
) -> Scope:
    """The ``websocket`` scope of the upgrade ``request``; subprotocols come from its headers."""
    scope = _common("websocket", request, root_path, client, app_state)
    offered = request.headers.get("sec-websocket-protocol")
    scope["subprotocols"] = [] if offered is None else [p.strip() for p in offered.split(",")]
    scope["extensions"] = {"websocket.http.response": {}}
    return scope
