"""``Middleware``: a middleware class and its arguments, instantiated when the app is built."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ParamSpec, Protocol

from framework.types import ASGIApp

__all__ = ["Middleware"]

P = ParamSpec("P")


class _MiddlewareFactory(Protocol[P]):
    """Anything called as ``factory(app, *args, **kwargs)`` that returns an ASGI app."""

    def __call__(self, app: ASGIApp, /, *args: P.args, **kwargs: P.kwargs) -> ASGIApp: ...


class Middleware:
    """A middleware factory with the arguments to build it with, wrapped around an app later.

    Unpacks as ``cls, args, kwargs``.
    """

    __slots__ = ("args", "cls", "kwargs")

    def __init__(self, cls: _MiddlewareFactory[P], *args: P.args, **kwargs: P.kwargs) -> None:
        self.cls: _MiddlewareFactory[...] = cls
        self.args: tuple[Any, ...] = args
        self.kwargs: dict[str, Any] = kwargs

    def __iter__(self) -> Iterator[Any]:
        return iter((self.cls, self.args, self.kwargs))

    def __repr__(self) -> str:
        parts = [getattr(self.cls, "__name__", "")]
        parts.extend(repr(arg) for arg in self.args)
        parts.extend(f"{key}={value!r}" for key, value in self.kwargs.items())
        return f"{type(self).__name__}({', '.join(parts)})"
