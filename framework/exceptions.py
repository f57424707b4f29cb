"""Exceptions that handlers raise to produce an HTTP error or a WebSocket close.

The typed layer's 422 model (``RequestValidationError``, ``ErrorDetail``, ``Loc``,
``capped_errors``) is defined in ``framework.typed.errors`` and re-exported here, resolved on
first use so that the toolkit never loads the typed layer for it.
"""

from __future__ import annotations

import http
import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from framework.typed.errors import ErrorDetail, Loc, RequestValidationError, capped_errors

__all__ = [
    "ErrorDetail",
    "HTTPException",
    "Loc",
    "RequestValidationError",
    "WebSocketException",
    "capped_errors",
]

_TYPED_ERRORS = frozenset({"ErrorDetail", "Loc", "RequestValidationError", "capped_errors"})


def __getattr__(name: str) -> Any:
    if name not in _TYPED_ERRORS:
        raise AttributeError(f"module 'framework.exceptions' has no attribute {name!r}")
    return getattr(importlib.import_module("framework.typed.errors"), name)


# PERF: one dict lookup instead of constructing an HTTPStatus (and catching its ValueError).
_PHRASES = {status.value: status.phrase for status in http.HTTPStatus}


class HTTPException(Exception):
    """Raise to answer the request with ``status_code`` and ``detail``.

    Without a ``detail`` the status code's standard reason phrase is used (empty for a code
    that has none, such as 599).
    """

    def __init__(
        self,
        status_code: int,
        detail: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if detail is None:
            # NOTE: an unregistered code is legal on the wire (RFC 9110 15), so it must not
            # raise here; Starlette 1.x gives it an empty detail too.
            phrase = _PHRASES.get(status_code)
            detail = "" if phrase is None else phrase
        self.status_code = status_code
        self.detail = detail
        self.headers = headers

    def __str__(self) -> str:
        return f"{self.status_code}: {self.detail}"

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(status_code={self.status_code!r}, detail={self.detail!r})"


class WebSocketException(Exception):
    """Raise inside a WebSocket handler to close the connection with ``code`` and ``reason``."""

    def __init__(self, code: int, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, reason={self.reason!r})"
