"""In-process test clients for ASGI apps, built on httpx.

:class:`TestClient` is synchronous: each request runs the app on an event loop in a helper
thread (asyncio or trio), and ``with client:`` runs the app's lifespan around the block.
:class:`AsyncTestClient` is its twin for async tests: it runs the app in the test's own
event loop, and ``async with client:`` runs the lifespan.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import anyio
import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal
from httpx._client import USE_CLIENT_DEFAULT, UseClientDefault
from httpx._types import (
    AuthTypes,
    CookieTypes,
    HeaderTypes,
    QueryParamTypes,
    RequestContent,
    RequestData,
    RequestExtensions,
    RequestFiles,
    TimeoutTypes,
)

from framework.types import ASGIApp
from testing._lifespan import LifespanDriver
from testing._scope import websocket_scope
from testing._transport import AsyncASGITransport, SyncASGITransport
from testing._websocket import WebSocketDenialResponse, WebSocketTestSession

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["AsyncTestClient", "TestClient", "WebSocketDenialResponse", "WebSocketTestSession"]

_WEBSOCKET_SCHEMES = {"http": "ws", "https": "wss"}


def _default_headers(headers: HeaderTypes | None) -> httpx.Headers:
    merged = httpx.Headers(headers)
    merged.setdefault("user-agent", "testclient")
    return merged


class TestClient(httpx.Client):
    """A synchronous httpx client whose requests go straight to ``app``.

    With ``raise_server_exceptions`` an exception raised by the app is raised in the test;
    without it the client answers 500 when the app failed before responding. ``backend``
    and ``backend_options`` choose the event loop, as for :func:`anyio.run`.
    """

    __test__ = False  # pytest would otherwise try to collect this class as tests

    def __init__(
        self,
        app: ASGIApp,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
        root_path: str = "",
        backend: Literal["asyncio", "trio"] = "asyncio",
        backend_options: dict[str, Any] | None = None,
        cookies: CookieTypes | None = None,
        headers: HeaderTypes | None = None,
        follow_redirects: bool = True,
        client: tuple[str, int] = ("testclient", 50000),
    ) -> None:
        self.app = app
        #: The state the app's lifespan filled in; each request's scope gets a copy.
        self.app_state: dict[str, Any] = {}
        #: The portal of the event loop that runs the app inside ``with client:``.
        self.portal: BlockingPortal | None = None
        self._backend = backend
        self._backend_options = backend_options
        self._client = client
        self._root_path = root_path
        transport = SyncASGITransport(
            app,
            self._portal_factory,
            raise_server_exceptions=raise_server_exceptions,
            root_path=root_path,
            client=client,
            app_state=self.app_state,
        )
        super().__init__(
            base_url=base_url,
            headers=_default_headers(headers),
            transport=transport,
            follow_redirects=follow_redirects,
            cookies=cookies,
        )

    @contextlib.contextmanager
    def _portal_factory(self) -> Iterator[BlockingPortal]:
        if self.portal is not None:
            yield self.portal
        else:
            with start_blocking_portal(self._backend, self._backend_options) as portal:
                yield portal

    def request(
        self,
        method: str,
        url: httpx.URL | str,
        *,
        content: RequestContent | None = None,
        data: RequestData | None = None,
        files: RequestFiles | None = None,
        json: Any = None,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: AuthTypes | UseClientDefault | None = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        extensions: RequestExtensions | None = None,
    ) -> httpx.Response:
        """Send a request to the app; as :meth:`httpx.Client.request`, without timeouts."""
        if timeout is not USE_CLIENT_DEFAULT:
            warnings.warn(
                "You should not use the 'timeout' argument with the TestClient: "
                "the app runs in-process, so a request cannot time out.",
                DeprecationWarning,
                stacklevel=2,
            )
        return super().request(
            method,
            url,
            content=content,
            data=data,
            files=files,
            json=json,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
            extensions=extensions,
        )

    def websocket_connect(
        self,
        url: str,
        subprotocols: list[str] | None = None,
        *,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
    ) -> WebSocketTestSession:
        """A WebSocket session with the app at ``url``; enter it to connect.

        A relative ``url`` is joined to the client's base URL, whose scheme becomes ``ws`` or
        ``wss``; the client's headers and cookies are sent with the handshake.
        """
        handshake = httpx.Headers(headers)
        handshake.setdefault("connection", "upgrade")
        handshake.setdefault("sec-websocket-key", "testserver==")
        handshake.setdefault("sec-websocket-version", "13")
        if subprotocols is not None:
            handshake.setdefault("sec-websocket-protocol", ", ".join(subprotocols))
        request = self.build_request("GET", url, params=params, headers=handshake, cookies=cookies)
        scheme = request.url.scheme
        request.url = request.url.copy_with(scheme=_WEBSOCKET_SCHEMES.get(scheme, scheme))
        scope = websocket_scope(request, self._root_path, self._client, self.app_state)
        return WebSocketTestSession(self.app, scope, self._portal_factory)

    def __enter__(self) -> Self:
        with contextlib.ExitStack() as stack:
            self.portal = portal = stack.enter_context(
                start_blocking_portal(self._backend, self._backend_options)
            )
            stack.callback(self._forget_portal)
            lifespan = portal.call(LifespanDriver, self.app, self.app_state)
            portal.start_task_soon(lifespan.run)
            portal.call(lifespan.startup)
            stack.callback(portal.call, lifespan.shutdown)
            self._exit_stack = stack.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        self._exit_stack.__exit__(exc_type, exc_value, traceback)

    def _forget_portal(self) -> None:
        self.portal = None


class AsyncTestClient(httpx.AsyncClient):
    """The async twin of :class:`TestClient`, running the app in the test's event loop.

    Each request runs the app to its end before answering, so an endless streaming
    response never completes here; use :class:`TestClient` to read one.
    """

    def __init__(
        self,
        app: ASGIApp,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
        root_path: str = "",
        cookies: CookieTypes | None = None,
        headers: HeaderTypes | None = None,
        follow_redirects: bool = True,
        client: tuple[str, int] = ("testclient", 50000),
    ) -> None:
        self.app = app
        #: The state the app's lifespan filled in; each request's scope gets a copy.
        self.app_state: dict[str, Any] = {}
        transport = AsyncASGITransport(
            app,
            raise_server_exceptions=raise_server_exceptions,
            root_path=root_path,
            client=client,
            app_state=self.app_state,
        )
        super().__init__(
            base_url=base_url,
            headers=_default_headers(headers),
            transport=transport,
            follow_redirects=follow_redirects,
            cookies=cookies,
        )

    async def __aenter__(self) -> Self:
        # NOTE: the task group is entered and left by hand, not through an exit stack, so
        # that a lifespan error reaches the test as itself rather than wrapped in an
        # exception group: it is raised outside the group, after the app's task has ended.
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        lifespan = LifespanDriver(self.app, self.app_state)
        task_group.start_soon(lifespan.run)
        try:
            await lifespan.startup()
        except BaseException:
            task_group.cancel_scope.cancel()
            await task_group.__aexit__(None, None, None)
            raise
        self._lifespan = (task_group, lifespan)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        task_group, lifespan = self._lifespan
        try:
            await lifespan.shutdown()
        finally:
            await task_group.__aexit__(None, None, None)
