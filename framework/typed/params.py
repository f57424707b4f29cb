"""Markers that place a handler parameter in the request, and decorators describing its responses.

```python
async def get(self, todo_id: int, x_trace: Annotated[str | None, Header()] = None) -> Todo: ...
```
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

__all__ = [
    "Body",
    "Cookie",
    "File",
    "Form",
    "Header",
    "Param",
    "Path",
    "Query",
    "get_raises",
    "get_status_code",
    "raises",
    "status_code",
]

F = TypeVar("F", bound=Callable[..., Any])

_STATUS_CODE_ATTRIBUTE = "__framework_status_code__"
_RAISES_ATTRIBUTE = "__framework_raises__"


@attrs.frozen
class Param:
    """Where a parameter comes from; ``alias`` is its name on the wire when that differs."""

    alias: str | None = None
    description: str | None = None


@attrs.frozen
class Query(Param):
    """A query-string parameter (the default for parameters not otherwise placed).

    A repeated key (``?page=1&page=2``) gives a scalar its first value and a ``list[T]`` all
    of them; repeats are never an error. Headers and form fields follow the same rule.
    """


@attrs.frozen
class Path(Param):
    """A path parameter (implied by a name in the path template)."""


@attrs.frozen
class Header(Param):
    """A request header; ``x_trace`` reads ``x-trace`` unless an ``alias`` is given.

    A scalar takes the first of repeated header lines, a ``list[T]`` every line.
    """


@attrs.frozen
class Cookie(Param):
    """A request cookie.

    The value is the one ``request.cookies`` holds for the name: when a ``Cookie`` header
    repeats a name, the cookie parser keeps the last.
    """


@attrs.frozen
class Body(Param):
    """The JSON request body (implied for a parameter named ``body``)."""


@attrs.frozen
class Form(Param):
    """A form field (``Annotated[int, Form()]``), or with an attrs class, the whole form read
    into that model field by field (``Annotated[SignUp, Form()]``).

    A repeated field gives a scalar its first value and a ``list[T]`` all of them.
    """


@attrs.frozen
class File(Param):
    """One uploaded file of a multipart form."""


def _check_status(code: int, decorator: str) -> None:
    if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
        raise ValueError(f"@{decorator}() takes HTTP status codes from 100 to 599, not {code!r}")


def status_code(code: int) -> Callable[[F], F]:
    """Set the status of a handler's successful response (200 by default, 204 for ``None``)."""
    _check_status(code, "status_code")

    def decorate(func: F) -> F:
        setattr(func, _STATUS_CODE_ATTRIBUTE, code)
        return func

    return decorate


def raises(*codes: int) -> Callable[[F], F]:
    """Declare the error statuses a handler may answer with (documented in OpenAPI, expected by
    the fuzz harness)."""
    for code in codes:
        _check_status(code, "raises")

    def decorate(func: F) -> F:
        declared: tuple[int, ...] = getattr(func, _RAISES_ATTRIBUTE, ())
        setattr(func, _RAISES_ATTRIBUTE, tuple(sorted({*declared, *codes})))
        return func

    return decorate


def get_status_code(func: Callable[..., Any]) -> int | None:
    """The status set with ``@status_code``, if any."""
    code: int | None = getattr(func, _STATUS_CODE_ATTRIBUTE, None)
    return code


def get_raises(func: Callable[..., Any]) -> tuple[int, ...]:
    """The statuses declared with ``@raises``, sorted."""
    codes: tuple[int, ...] = getattr(func, _RAISES_ATTRIBUTE, ())
    return codes
