"""Users, credentials and the ``requires`` decorator that guards endpoints by scope."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlencode

from framework._utils import is_async_callable
from framework.exceptions import HTTPException
from framework.requests import HTTPConnection, Request
from framework.responses import RedirectResponse
from framework.websockets import WebSocket

__all__ = [
    "AuthCredentials",
    "AuthenticationBackend",
    "AuthenticationError",
    "BaseUser",
    "SimpleUser",
    "UnauthenticatedUser",
    "has_required_scope",
    "requires",
]

P = ParamSpec("P")
C = TypeVar("C", bound=HTTPConnection)


def has_required_scope(conn: HTTPConnection, scopes: Sequence[str]) -> bool:
    """Whether the connection's credentials grant every one of ``scopes``."""
    granted = conn.auth.scopes
    # PERF: an explicit loop; all() over a generator costs more for the usual one or two scopes.
    for scope in scopes:  # noqa: SIM110
        if scope not in granted:
            return False
    return True


def _connection_parameter(func: Callable[..., Any]) -> tuple[str, int]:
    """The name (``request`` or ``websocket``) and position of the connection parameter."""
    for index, parameter in enumerate(inspect.signature(func).parameters.values()):
        if parameter.name == "request" or parameter.name == "websocket":
            return parameter.name, index
    # NOTE: a TypeError (Starlette raises a bare Exception, which this still satisfies).
    raise TypeError(f'No "request" or "websocket" argument on function "{func}"')


def _connection(
    expected: type[C], name: str, index: int, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> C:
    """The connection argument of a call, by keyword or by position."""
    conn = kwargs.get(name, args[index] if index < len(args) else None)
    if not isinstance(conn, expected):
        raise TypeError(f"expected a {expected.__name__} as argument {name!r}, got {conn!r}")
    return conn


def requires(
    scopes: str | Sequence[str],
    status_code: int = 403,
    redirect: str | None = None,
) -> Callable[[Callable[P, Any]], Callable[P, Any]]:
    """Guard an endpoint: only connections whose credentials hold every scope get through.

    The endpoint must take a ``request`` or ``websocket`` parameter. A refused request gets an
    ``HTTPException(status_code)``, or a 303 redirect to the route named ``redirect`` with the
    original URL as ``?next=``; a refused WebSocket is closed. Sync and async endpoints (and
    endpoint methods) are supported, and the wrapper keeps the endpoint's signature.
    """
    scopes_list = [scopes] if isinstance(scopes, str) else list(scopes)

    def refuse(request: Request) -> RedirectResponse:
        if redirect is None:
            raise HTTPException(status_code=status_code)
        next_query = urlencode({"next": str(request.url)})
        return RedirectResponse(url=f"{request.url_for(redirect)}?{next_query}", status_code=303)

    def decorator(func: Callable[P, Any]) -> Callable[P, Any]:
        # PERF: the signature is read once, here, not on every call.
        name, index = _connection_parameter(func)

        if name == "websocket":

            @functools.wraps(func)
            async def websocket_wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
                websocket = _connection(WebSocket, name, index, args, kwargs)
                if has_required_scope(websocket, scopes_list):
                    await func(*args, **kwargs)
                else:
                    await websocket.close()

            return websocket_wrapper

        if is_async_callable(func):

            @functools.wraps(func)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                request = _connection(Request, name, index, args, kwargs)
                if has_required_scope(request, scopes_list):
                    return await func(*args, **kwargs)
                return refuse(request)

            return async_wrapper

        @functools.wraps(func)
        def sync_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            request = _connection(Request, name, index, args, kwargs)
            if has_required_scope(request, scopes_list):
                return func(*args, **kwargs)
            return refuse(request)

        return sync_wrapper

    return decorator


class AuthenticationError(Exception):
    """Raised by a backend when credentials are present but invalid (answered with 400)."""


class AuthCredentials:
    """The scopes (permissions) granted to a connection."""

    __slots__ = ("scopes",)

    def __init__(self, scopes: Sequence[str] | None = None) -> None:
        self.scopes: list[str] = [] if scopes is None else list(scopes)


class BaseUser:
    """The interface of the user that ``AuthenticationMiddleware`` puts on a connection."""

    __slots__ = ()

    @property
    def is_authenticated(self) -> bool:
        """Whether the user has been authenticated."""
        raise NotImplementedError()

    @property
    def display_name(self) -> str:
        """A name to show for the user."""
        raise NotImplementedError()

    @property
    def identity(self) -> str:
        """A stable identifier of the user."""
        raise NotImplementedError()


class SimpleUser(BaseUser):
    """An authenticated user known only by a user name."""

    __slots__ = ("username",)

    def __init__(self, username: str) -> None:
        self.username = username

    @property
    def is_authenticated(self) -> bool:
        """Always ``True``."""
        return True

    @property
    def display_name(self) -> str:
        """The user name."""
        return self.username

    @property
    def identity(self) -> str:
        """The user name."""
        return self.username


class UnauthenticatedUser(BaseUser):
    """The user of a connection that presented no credentials."""

    __slots__ = ()

    @property
    def is_authenticated(self) -> bool:
        """Always ``False``."""
        return False

    @property
    def display_name(self) -> str:
        """An empty string."""
        return ""

    @property
    def identity(self) -> str:
        """An empty string."""
        return ""


class AuthenticationBackend:
    """Decides who a connection's user is; subclasses implement :meth:`authenticate`."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        """Credentials and user for ``conn``; ``None`` when it carries no credentials.

        Raise :class:`AuthenticationError` for credentials that are present but invalid.
        """
        raise NotImplementedError()
