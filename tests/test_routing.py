from __future__ import annotations

import contextlib
import functools
import re
import threading
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from framework import _keys, routing
from framework._utils import get_route_path
from framework.datastructures import URLPath
from framework.endpoints import HTTPEndpoint
from framework.exceptions import HTTPException
from framework.middleware import Middleware
from framework.requests import Request
from framework.responses import JSONResponse, PlainTextResponse, Response
from framework.routing import (
    BaseRoute,
    Host,
    Match,
    Mount,
    NoMatchFound,
    Route,
    Router,
    WebSocketRoute,
    compile_path,
    request_response,
    websocket_session,
)
from framework.types import ASGIApp, Message, Receive, Scope, Send
from framework.websockets import WebSocket

if TYPE_CHECKING:
    from tests.conftest import TestClientFactory

# --- Helpers ---------------------------------------------------------------------------------


def http_scope(
    path: str = "/",
    method: str = "GET",
    *,
    root_path: str = "",
    headers: Sequence[tuple[bytes, bytes]] = ((b"host", b"testserver"),),
    query_string: bytes = b"",
    **extra: Any,
) -> Scope:
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": root_path,
        "query_string": query_string,
        "headers": list(headers),
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1234),
    }
    scope.update(extra)
    return scope


def ws_scope(path: str = "/", **extra: Any) -> Scope:
    scope = http_scope(path, **extra)
    scope["type"] = "websocket"
    scope["scheme"] = "ws"
    del scope["method"]
    return scope


async def call(app: ASGIApp, scope: Scope, inbox: Sequence[Message] = ()) -> list[Message]:
    """Run ``app`` on ``scope`` and return what it sent."""
    pending = list(inbox)
    sent: list[Message] = []

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if scope["type"] == "websocket":
            return {"type": "websocket.disconnect", "code": 1000}
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


class Result:
    def __init__(self, messages: list[Message]) -> None:
        start = messages[0]
        assert start["type"] == "http.response.start"
        self.status: int = start["status"]
        self.headers = {key.decode(): value.decode() for key, value in start["headers"]}
        self.text = b"".join(m.get("body", b"") for m in messages[1:]).decode()


async def get(app: ASGIApp, path: str = "/", method: str = "GET", **extra: Any) -> Result:
    return Result(await call(app, http_scope(path, method, **extra)))


async def homepage(request: Request) -> Response:
    return PlainTextResponse("home")


async def echo(request: Request) -> Response:
    return JSONResponse(
        {
            "endpoint": request.scope["endpoint"].__name__,
            "path_params": {k: str(v) for k, v in request.path_params.items()},
            "root_path": request.scope.get("root_path"),
            "method": request.method,
        }
    )


class Recorder:
    """An ASGI app reporting which route handled a connection and with what parameters."""

    def __init__(self, ident: int) -> None:
        self.ident = ident

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "test.handled",
                "ident": self.ident,
                "path_params": dict(scope.get("path_params", {})),
                "root_path": scope.get("root_path", ""),
            }
        )


def _drive(coroutine: Any) -> None:
    """Run a coroutine that never suspends (routing with recorder endpoints never does)."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    coroutine.close()
    raise AssertionError("the coroutine suspended")


def _reference_dispatch(
    routes: Sequence[BaseRoute], scope: Scope, redirect_slashes: bool
) -> tuple[Any, ...]:
    """Starlette's dispatch, written as the obvious linear scan over ``matches()``."""
    partial: tuple[BaseRoute, Scope] | None = None
    for route in routes:
        match, child_scope = route.matches(scope)
        if match is Match.FULL:
            return _reference_handle(route, {**scope, **child_scope})
        if match is Match.PARTIAL and partial is None:
            partial = (route, child_scope)
    if partial is not None:
        return _reference_handle(partial[0], {**scope, **partial[1]})
    route_path = get_route_path(scope)
    if scope["type"] == "http" and redirect_slashes and route_path != "/":
        path = scope["path"]
        toggled = path.rstrip("/") if route_path.endswith("/") else path + "/"
        redirect_scope = {**scope, "path": toggled}
        if any(route.matches(redirect_scope)[0] is not Match.NONE for route in routes):
            return ("redirect", toggled)
    return ("not found",) if scope["type"] == "http" else ("close",)


def _reference_handle(route: BaseRoute, scope: Scope) -> tuple[Any, ...]:
    if isinstance(route, Route) and route.methods and scope["method"] not in route.methods:
        return ("405", frozenset(route.methods))
    if isinstance(route, (Mount, Host)):
        inner = route.app
        assert isinstance(inner, Router)
        return _reference_dispatch(inner.routes, scope, inner.redirect_slashes)
    endpoint = route.app if isinstance(route, (Route, WebSocketRoute)) else None
    assert isinstance(endpoint, Recorder)
    return ("handled", endpoint.ident, scope["path_params"], scope["root_path"])


def _observed(messages: list[Message]) -> tuple[Any, ...]:
    first = messages[0]
    if first["type"] == "test.handled":
        return ("handled", first["ident"], first["path_params"], first["root_path"])
    if first["type"] == "websocket.close":
        return ("close",)
    headers = {key.decode(): value.decode() for key, value in first["headers"]}
    if first["status"] == 405:
        return ("405", frozenset(headers["allow"].split(", ")))
    if first["status"] == 307:
        return ("redirect", urllib.parse.urlsplit(headers["location"]).path)
    assert first["status"] == 404
    return ("not found",)


def _run(app: Any, scope: Scope) -> tuple[Any, ...]:
    sent: list[Message] = []

    async def receive() -> Message:
        raise AssertionError("routing must not read the body")

    async def send(message: Message) -> None:
        sent.append(message)

    _drive(app(dict(scope), receive, send))
    return _observed(sent)


# --- Exported surface, Match, NoMatchFound ---------------------------------------------------


def test_match_values() -> None:
    assert [(m.name, m.value) for m in Match] == [("NONE", 0), ("PARTIAL", 1), ("FULL", 2)]


def test_no_match_found_message() -> None:
    assert (
        str(NoMatchFound("x", {"a": 1, "b": 2}))
        == 'No route exists for name "x" and params "a, b".'
    )
    assert str(NoMatchFound("x", {})) == 'No route exists for name "x" and params "".'


# --- compile_path ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "regex", "path_format", "convertor_names"),
    [
        ("/", "^/$", "/", {}),
        ("/a/{x}", "^/a/(?P<x>[^/]+)$", "/a/{x}", {"x": "StringConvertor"}),
        ("/a/{x:int}/b", "^/a/(?P<x>[0-9]+)/b$", "/a/{x}/b", {"x": "IntegerConvertor"}),
        ("/{f:float}", r"^/(?P<f>[0-9]+(\.[0-9]+)?)$", "/{f}", {"f": "FloatConvertor"}),
        ("/p/{rest:path}", "^/p/(?P<rest>.*)$", "/p/{rest}", {"rest": "PathConvertor"}),
        (
            "/f/{name}.{ext}",
            r"^/f/(?P<name>[^/]+)\.(?P<ext>[^/]+)$",
            "/f/{name}.{ext}",
            {"name": "StringConvertor", "ext": "StringConvertor"},
        ),
        ("/a b/c.d", r"^/a\ b/c\.d$", "/a b/c.d", {}),
        # Braces that do not hold a valid parameter are literal text.
        ("/a/{x-y}", r"^/a/\{x\-y\}$", "/a/{x-y}", {}),
        ("/{x:}", r"^/\{x:\}$", "/{x:}", {}),
        ("/{ x }", r"^/\{\ x\ \}$", "/{ x }", {}),
        ("/{{x}}", r"^/\{(?P<x>[^/]+)\}$", "/{{x}}", {"x": "StringConvertor"}),
        # Hosts: a literal port at the end is not part of the regex.
        ("example.com", r"^example\.com$", "example.com", {}),
        ("example.com:8000", r"^example\.com$", "example.com:8000", {}),
        ("a:b:c", "^a:b$", "a:b:c", {}),
        ("[::1]", r"^\[::1\]$", "[::1]", {}),
        ("[::1]:80", r"^\[::1\]$", "[::1]:80", {}),
        ("[a:b]c:d", r"^\[a:b\]c$", "[a:b]c:d", {}),
        (
            "{sub}.example.com:{port:int}",
            r"^(?P<sub>[^/]+)\.example\.com:(?P<port>[0-9]+)$",
            "{sub}.example.com:{port}",
            {"sub": "StringConvertor", "port": "IntegerConvertor"},
        ),
    ],
)
def test_compile_path(
    path: str, regex: str, path_format: str, convertor_names: dict[str, str]
) -> None:
    compiled, fmt, convertors = compile_path(path)
    assert compiled.pattern == regex
    assert fmt == path_format
    assert {k: type(v).__name__ for k, v in convertors.items()} == convertor_names


def test_compile_path_hosts_ignore_case_and_paths_do_not() -> None:
    assert compile_path("Example.com")[0].flags & re.IGNORECASE
    assert not compile_path("/Example")[0].flags & re.IGNORECASE


def test_compile_path_unknown_convertor() -> None:
    with pytest.raises(ValueError, match=r"^Unknown path convertor 'foo'$"):
        compile_path("/a/{x:foo}")
    # Starlette raises this with assert, so users may catch AssertionError.
    with pytest.raises(AssertionError):
        compile_path("/a/{x:Int}")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/a/{x}/{x}", "Duplicated param name x at path /a/{x}/{x}"),
        ("/{x:int}/{x:str}", "Duplicated param name x at path /{x:int}/{x:str}"),
        ("/{x}/{x}/{x}", "Duplicated param name x at path /{x}/{x}/{x}"),
        ("/{b}/{a}/{a}/{b}", "Duplicated param names a, b at path /{b}/{a}/{a}/{b}"),
    ],
)
def test_compile_path_duplicated_params(path: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        compile_path(path)


# --- Route -----------------------------------------------------------------------------------


class _Methods:
    def handler(self, request: Request) -> Response:
        return PlainTextResponse("method")


class _AsgiObject:
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse(f"asgi {scope['method']}")(scope, receive, send)


def test_route_attributes() -> None:
    route = Route("/a/{x:int}", homepage)
    assert route.path == "/a/{x:int}"
    assert route.endpoint is homepage
    assert route.name == "homepage"
    assert route.include_in_schema is True
    assert route.methods == {"GET", "HEAD"}
    assert route.path_regex.pattern == "^/a/(?P<x>[0-9]+)$"
    assert route.path_format == "/a/{x}"
    assert list(route.param_convertors) == ["x"]


def test_route_names_and_default_methods() -> None:
    assert Route("/", functools.partial(homepage)).name == "partial"
    assert Route("/", functools.partial(homepage)).methods == {"GET", "HEAD"}
    assert Route("/", _Methods().handler).name == "handler"
    assert Route("/", _Methods().handler).methods == {"GET", "HEAD"}
    # An object with __call__ is an ASGI app: no default methods, named after its class.
    assert Route("/", _AsgiObject()).name == "_AsgiObject"
    assert Route("/", _AsgiObject()).methods is None
    assert Route("/", homepage, name="custom", include_in_schema=False).name == "custom"


def test_route_methods_are_upper_cased_and_get_implies_head() -> None:
    assert Route("/", homepage, methods=["get", "post"]).methods == {"GET", "HEAD", "POST"}
    assert Route("/", homepage, methods=["POST"]).methods == {"POST"}
    assert Route("/", homepage, methods=[]).methods == set()


def test_route_path_must_start_with_slash() -> None:
    with pytest.raises(ValueError, match=r"^Routed paths must start with '/'$"):
        Route("a", homepage)
    with pytest.raises(AssertionError):
        WebSocketRoute("a", homepage)


def test_route_repr_and_eq() -> None:
    route = Route("/a", homepage, methods=["POST", "GET"])
    assert repr(route) == "Route(path='/a', name='homepage', methods=['GET', 'HEAD', 'POST'])"
    assert repr(Route("/b", _AsgiObject())) == "Route(path='/b', name='_AsgiObject', methods=[])"
    assert route == Route("/a", homepage, methods=["GET", "POST"], name="other")
    assert route != Route("/a", homepage)
    assert route != Route("/b", homepage, methods=["POST", "GET"])
    assert route != "/a"
    with pytest.raises(TypeError):
        hash(route)


def test_route_matches() -> None:
    route = Route("/a/{x:int}", homepage)
    match, child = route.matches(http_scope("/a/5"))
    assert match is Match.FULL
    assert child == {"endpoint": homepage, "path_params": {"x": 5}}
    match, child = route.matches(http_scope("/a/5", "POST"))
    assert match is Match.PARTIAL
    assert child == {"endpoint": homepage, "path_params": {"x": 5}}
    assert route.matches(http_scope("/a/x")) == (Match.NONE, {})
    assert route.matches(ws_scope("/a/5")) == (Match.NONE, {})
    assert route.matches({"type": "lifespan"}) == (Match.NONE, {})


def test_route_matches_below_root_path_and_merges_mount_params() -> None:
    route = Route("/a/{x}", homepage)
    match, child = route.matches(http_scope("/r/a/1", root_path="/r", path_params={"m": "0"}))
    assert match is Match.FULL
    assert child["path_params"] == {"m": "0", "x": "1"}
    # A route parameter wins over a mount parameter with the same name.
    _, child = route.matches(http_scope("/a/1", path_params={"x": "0", "m": "0"}))
    assert child["path_params"] == {"x": "1", "m": "0"}


def test_route_does_not_match_a_trailing_newline() -> None:
    # NOTE: Starlette's "$" would accept "/a\n"; fullmatch does not.
    assert Route("/a", homepage).matches(http_scope("/a\n"))[0] is Match.NONE


def test_route_with_integer_too_long_for_int_is_not_a_match() -> None:
    route = Route("/a/{x:int}", homepage)
    assert route.matches(http_scope("/a/" + "9" * 5000)) == (Match.NONE, {})


@pytest.mark.anyio
async def test_integer_too_long_gives_404_not_500() -> None:
    router = Router([Route("/a/{x:int}", homepage)])
    assert (await get(router, "/a/" + "9" * 5000)).status == 404


@pytest.mark.anyio
async def test_route_called_directly() -> None:
    route = Route("/a", homepage)
    assert (await get(route, "/a")).text == "home"
    result = await get(route, "/b")
    assert (result.status, result.text) == (404, "Not Found")
    assert await call(route, ws_scope("/a")) == [
        {"type": "websocket.close", "code": 1000, "reason": ""}
    ]
    assert await call(route, {"type": "lifespan"}) == []


@pytest.mark.anyio
async def test_route_405_with_allow_header() -> None:
    route = Route("/a", homepage, methods=["PUT", "POST"])
    result = await get(route, "/a")
    assert result.status == 405
    assert result.text == "Method Not Allowed"
    assert result.headers["allow"] == "POST, PUT"


@pytest.mark.anyio
async def test_route_405_raises_inside_an_app() -> None:
    route = Route("/a", homepage)
    with pytest.raises(HTTPException) as info:
        await call(route, http_scope("/a", "DELETE", app=object()))
    assert info.value.status_code == 405
    assert info.value.headers == {"Allow": "GET, HEAD"}


@pytest.mark.anyio
async def test_route_methods_can_be_changed_after_creation() -> None:
    route = Route("/a", homepage, methods=["POST"])
    assert route.methods is not None
    route.methods.add("PATCH")
    assert (await get(route, "/a")).headers["allow"] == "PATCH, POST"


@pytest.mark.anyio
async def test_asgi_endpoint_is_used_as_is_for_every_method() -> None:
    route = Route("/a", _AsgiObject())
    assert (await get(route, "/a", "DELETE")).text == "asgi DELETE"


class _Endpoint(HTTPEndpoint):
    async def get(self, request: Request) -> Response:
        return PlainTextResponse("endpoint get")


@pytest.mark.anyio
async def test_http_endpoint_class() -> None:
    route = Route("/e", _Endpoint)
    assert route.methods is None
    assert route.name == "_Endpoint"
    assert (await get(route, "/e")).text == "endpoint get"
    result = await get(route, "/e", "POST")
    assert result.status == 405


@pytest.mark.anyio
async def test_sync_endpoint_runs_in_a_worker_thread() -> None:
    loop_thread = threading.get_ident()
    seen: list[int] = []

    def sync_endpoint(request: Request) -> Response:
        seen.append(threading.get_ident())
        return PlainTextResponse("sync")

    assert (await get(Route("/s", sync_endpoint), "/s")).text == "sync"
    assert len(seen) == 1
    assert seen[0] != loop_thread


@pytest.mark.anyio
async def test_request_response_sends_the_response_and_passes_the_request() -> None:
    app = request_response(echo)
    scope = http_scope("/x", "PUT", endpoint=echo, path_params={"a": "1"})
    result = Result(await call(app, scope))
    assert result.status == 200
    assert '"method":"PUT"' in result.text.replace(" ", "")


@pytest.mark.anyio
async def test_request_response_exceptions_go_to_the_handlers_in_the_scope() -> None:
    async def failing(request: Request) -> Response:
        raise HTTPException(status_code=418, detail="teapot")

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return PlainTextResponse(f"handled {exc.detail}", status_code=exc.status_code)

    scope = http_scope("/")
    scope[_keys.EXCEPTION_HANDLERS] = ({HTTPException: handler}, {})
    result = Result(await call(request_response(failing), scope))
    assert (result.status, result.text) == (418, "handled teapot")
    # Without handlers the exception propagates.
    with pytest.raises(HTTPException):
        await call(request_response(failing), http_scope("/"))


def _recording_middleware(log: list[str], label: str) -> Callable[[ASGIApp], ASGIApp]:
    def factory(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            log.append(label)
            await app(scope, receive, send)

        return wrapped

    return factory


@pytest.mark.anyio
async def test_route_middleware_first_listed_is_outermost() -> None:
    log: list[str] = []
    middleware = [
        Middleware(_recording_middleware(log, "outer")),
        Middleware(_recording_middleware(log, "inner")),
    ]
    route = Route("/", homepage, middleware=middleware)
    assert (await get(route, "/")).text == "home"
    assert log == ["outer", "inner"]


@pytest.mark.anyio
async def test_route_middleware_does_not_run_on_405() -> None:
    log: list[str] = []
    route = Route("/", homepage, middleware=[Middleware(_recording_middleware(log, "m"))])
    assert (await get(route, "/", "POST")).status == 405
    assert log == []


def test_route_url_path_for() -> None:
    route = Route("/a/{x:int}/{y}", homepage)
    url = route.url_path_for("homepage", x=5, y="b")
    assert isinstance(url, URLPath)
    assert (url, url.protocol, url.host) == ("/a/5/b", "http", "")
    with pytest.raises(NoMatchFound, match='"homepage" and params "x"'):
        route.url_path_for("homepage", x=5)
    with pytest.raises(NoMatchFound, match='"homepage" and params "x, y, z"'):
        route.url_path_for("homepage", x=5, y="b", z=1)
    with pytest.raises(NoMatchFound, match='"other" and params "x, y"'):
        route.url_path_for("other", x=5, y="b")
    with pytest.raises(AssertionError, match="Negative integers are not supported"):
        route.url_path_for("homepage", x=-1, y="b")
    # "name" is positional-only, so a route may have a parameter called name.
    assert Route("/u/{name}", homepage).url_path_for("homepage", name="n") == "/u/n"


def test_base_route_is_abstract() -> None:
    base = BaseRoute()
    with pytest.raises(NotImplementedError):
        base.matches(http_scope())
    with pytest.raises(NotImplementedError):
        base.url_path_for("x")


@pytest.mark.anyio
async def test_base_route_handle_is_abstract() -> None:
    with pytest.raises(NotImplementedError):
        await BaseRoute().handle(http_scope(), _never_receive, _never_send)


async def _never_receive() -> Message:
    raise AssertionError("unexpected receive")


async def _never_send(message: Message) -> None:
    raise AssertionError("unexpected send")


# --- WebSocketRoute --------------------------------------------------------------------------


async def ws_endpoint(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(f"hello {websocket.path_params}")
    await websocket.close()


def test_websocket_route_attributes_repr_eq() -> None:
    route = WebSocketRoute("/ws/{room}", ws_endpoint)
    assert route.name == "ws_endpoint"
    assert route.path_format == "/ws/{room}"
    assert repr(route) == "WebSocketRoute(path='/ws/{room}', name='ws_endpoint')"
    assert route == WebSocketRoute("/ws/{room}", ws_endpoint, name="other")
    assert route != WebSocketRoute("/ws/{x}", ws_endpoint)
    assert route != Route("/ws/{room}", ws_endpoint)
    with pytest.raises(TypeError):
        hash(route)


def test_websocket_route_matches_only_websockets() -> None:
    route = WebSocketRoute("/ws/{room}", ws_endpoint)
    match, child = route.matches(ws_scope("/ws/a"))
    assert match is Match.FULL
    assert child == {"endpoint": ws_endpoint, "path_params": {"room": "a"}}
    assert route.matches(http_scope("/ws/a")) == (Match.NONE, {})
    assert route.matches(ws_scope("/ws/a/b")) == (Match.NONE, {})


@pytest.mark.anyio
async def test_websocket_route_session() -> None:
    route = WebSocketRoute("/ws/{room}", ws_endpoint)
    sent = await call(route, ws_scope("/ws/a"), [{"type": "websocket.connect"}])
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.send", "websocket.close"]
    assert sent[1]["text"] == "hello {'room': 'a'}"


@pytest.mark.anyio
async def test_websocket_session_exceptions_go_to_the_handlers_in_the_scope() -> None:
    handled: list[str] = []

    async def failing(websocket: WebSocket) -> None:
        raise RuntimeError("boom")

    async def handler(websocket: WebSocket, exc: Exception) -> None:
        handled.append(str(exc))
        await websocket.close(code=1011)

    scope = ws_scope("/")
    scope[_keys.EXCEPTION_HANDLERS] = ({RuntimeError: handler}, {})
    sent = await call(websocket_session(failing), scope, [{"type": "websocket.connect"}])
    assert handled == ["boom"]
    assert sent[-1]["type"] == "websocket.close"


@pytest.mark.anyio
async def test_websocket_route_with_asgi_endpoint_and_middleware() -> None:
    log: list[str] = []
    route = WebSocketRoute(
        "/ws", Recorder(7), middleware=[Middleware(_recording_middleware(log, "m"))]
    )
    sent = await call(route, ws_scope("/ws"))
    assert sent[0]["ident"] == 7
    assert log == ["m"]


def test_websocket_route_url_path_for() -> None:
    route = WebSocketRoute("/ws/{room}", ws_endpoint)
    url = route.url_path_for("ws_endpoint", room="a")
    assert (url, url.protocol) == ("/ws/a", "websocket")
    with pytest.raises(NoMatchFound):
        route.url_path_for("ws_endpoint")
    with pytest.raises(NoMatchFound):
        route.url_path_for("other", room="a")


# --- Mount -----------------------------------------------------------------------------------


def test_mount_attributes() -> None:
    child = Route("/a/{x}", homepage, name="a")
    mount = Mount("/m/{k}/", routes=[child], name="mm")
    assert mount.path == "/m/{k}"
    assert mount.name == "mm"
    assert mount.path_regex.pattern == "^/m/(?P<k>[^/]+)/(?P<path>.*)$"
    assert mount.path_format == "/m/{k}/{path}"
    assert mount.routes == [child]
    assert isinstance(mount.app, Router)
    assert repr(mount) == f"Mount(path='/m/{{k}}', name='mm', app={mount.app!r})"


def test_mount_of_an_app() -> None:
    app = Recorder(1)
    mount = Mount("/s", app=app)
    assert mount.app is app
    assert mount.routes == []
    assert mount.name is None
    assert repr(mount) == f"Mount(path='/s', name='', app={app!r})"
    # An app wins over routes when both are given.
    assert Mount("/s", app=app, routes=[Route("/", homepage)]).app is app
    assert Mount("/s", app=Router([Route("/q", homepage)])).routes == [Route("/q", homepage)]


def test_mount_validation() -> None:
    with pytest.raises(ValueError, match=r"^Either 'app=\.\.\.', or 'routes=' must be specified$"):
        Mount("/s")
    with pytest.raises(AssertionError, match=r"^Routed paths must start with '/'$"):
        Mount("s", app=Recorder(1))
    assert Mount("", routes=[]).path_regex.pattern == "^/(?P<path>.*)$"


def test_mount_eq() -> None:
    app = Recorder(1)
    assert Mount("/s", app=app) == Mount("/s", app=app, name="other")
    assert Mount("/s", app=app) != Mount("/t", app=app)
    assert Mount("/s", app=app) != Mount("/s", app=Recorder(1))
    assert Mount("/s", app=app) != Route("/s", homepage)


def test_mount_matches() -> None:
    mount = Mount("/m/{k}", routes=[])
    match, child = mount.matches(http_scope("/m/1/a/2"))
    assert match is Match.FULL
    assert child == {
        "path_params": {"k": "1"},
        "app_root_path": "",
        "root_path": "/m/1",
        "endpoint": mount.app,
    }
    _, child = mount.matches(http_scope("/m/1/", path_params={"q": 1}))
    assert child["path_params"] == {"q": 1, "k": "1"}
    assert child["root_path"] == "/m/1"
    _, child = mount.matches(http_scope("/r/m/1/a/x", "POST", root_path="/r"))
    assert (child["app_root_path"], child["root_path"]) == ("/r", "/r/m/1")
    _, child = mount.matches(ws_scope("/m/1/x", app_root_path="/app"))
    assert child["app_root_path"] == "/app"
    assert mount.matches(http_scope("/m/1")) == (Match.NONE, {})
    assert mount.matches({"type": "lifespan"}) == (Match.NONE, {})


@pytest.mark.anyio
async def test_mounted_app_sees_the_prefix_in_root_path() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        await PlainTextResponse(f"{scope['root_path']} {request.url.path}")(scope, receive, send)

    router = Router([Mount("/static", app=app)])
    assert (await get(router, "/static/css/a.css")).text == "/static /static/css/a.css"
    result = await get(router, "/r/static/x", root_path="/r")
    assert result.text == "/r/static /r/static/x"


@pytest.mark.anyio
async def test_nested_mounts_dispatch_with_params_and_root_path() -> None:
    router = Router(
        [
            Mount(
                "/users/{uid:int}",
                routes=[
                    Route("/", echo),
                    Mount("/posts", routes=[Route("/{pid}", echo, methods=["GET", "POST"])]),
                ],
            )
        ]
    )
    result = await get(router, "/users/3/posts/9", "POST")
    assert '"path_params":{"uid":"3","pid":"9"}' in result.text.replace(" ", "")
    assert '"root_path":"/users/3/posts"' in result.text.replace(" ", "")
    assert (await get(router, "/users/3/")).status == 200
    assert (await get(router, "/users/x/")).status == 404


@pytest.mark.anyio
async def test_mount_middleware_and_direct_call() -> None:
    log: list[str] = []
    mount = Mount(
        "/m",
        routes=[Route("/a", homepage)],
        middleware=[Middleware(_recording_middleware(log, "m"))],
    )
    assert isinstance(mount.routes[0], Route)
    assert (await get(mount, "/m/a")).text == "home"
    assert log == ["m"]
    assert (await get(mount, "/other")).status == 404


def test_mount_url_path_for() -> None:
    mount = Mount(
        "/m/{k}/",
        routes=[
            Route("/a/{x}", homepage, name="a"),
            Route("/", homepage, name="root"),
            Mount("/n", routes=[Route("/z", homepage, name="z")], name="n"),
            WebSocketRoute("/w", ws_endpoint, name="w"),
        ],
        name="mm",
    )
    assert mount.url_path_for("mm:a", k="1", x="2") == "/m/1/a/2"
    assert mount.url_path_for("mm:root", k=1) == "/m/1/"
    assert mount.url_path_for("mm:n:z", k=1) == "/m/1/n/z"
    url = mount.url_path_for("mm:w", k=1)
    assert (url, url.protocol) == ("/m/1/w", "websocket")
    url = mount.url_path_for("mm", k=1, path="/zz")
    assert (url, url.protocol) == ("/m/1/zz", "")
    with pytest.raises(NoMatchFound, match='"mm" and params "k"'):
        mount.url_path_for("mm", k=1)
    with pytest.raises(NoMatchFound, match='"mm" and params "z"'):
        mount.url_path_for("mm", k=1, path="/p", z=2)
    with pytest.raises(NoMatchFound, match='"mm:a" and params ""'):
        mount.url_path_for("mm:a", k=1)
    with pytest.raises(NoMatchFound, match='"a" and params "k, x"'):
        mount.url_path_for("a", k=1, x=2)
    with pytest.raises(AssertionError, match="May not contain path separators"):
        mount.url_path_for("mm:a", k="a/b", x=1)


def test_unnamed_mount_url_path_for_passes_names_through() -> None:
    mount = Mount("/s", routes=[Route("/a", homepage, name="a"), Mount("/p", app=Recorder(1))])
    assert mount.url_path_for("a") == "/s/a"
    assert Mount("/s", app=Recorder(1), name="x").url_path_for("x", path="zz") == "/s/zz"
    with pytest.raises(NoMatchFound):
        Mount("/s", app=Recorder(1), name="x").url_path_for("x")


def test_nested_mount_url_path_for_passes_the_path_param_down() -> None:
    outer = Mount("/o", routes=[Mount("/i", app=Recorder(1), name="i")], name="o")
    url = outer.url_path_for("o:i", path="/x")
    assert (url, url.protocol) == ("/o/i/x", "")


def test_integers_too_long_for_int_do_not_match_websockets_or_mounts() -> None:
    digits = "9" * 5000
    assert WebSocketRoute("/{n:int}", ws_endpoint).matches(ws_scope("/" + digits))[0] is Match.NONE
    mount = Mount("/{n:int}", app=Recorder(1))
    assert mount.matches(http_scope(f"/{digits}/x"))[0] is Match.NONE


# --- Host ------------------------------------------------------------------------------------


def host_scope(host: str | None, scope_type: str = "http") -> Scope:
    headers = [] if host is None else [(b"host", host.encode())]
    scope = http_scope("/", headers=headers)
    scope["type"] = scope_type
    return scope


@pytest.mark.parametrize(
    ("pattern", "header", "params"),
    [
        ("example.com", "example.com", {}),
        ("example.com", "example.com:8000", {}),
        ("example.com", "EXAMPLE.COM", {}),
        ("EXAMPLE.com", "example.com", {}),
        ("example.com:8000", "example.com", {}),
        ("example.com", "a.example.com", None),
        ("example.com", None, None),
        ("example.com", "", None),
        ("example.com", "example.com:", None),
        ("example.com", "example.com:abc", None),
        ("{sub}.example.com", "a.example.com:80", {"sub": "a"}),
        ("{sub}.example.com", "A.EXAMPLE.COM", {"sub": "a"}),
        ("{sub}.example.com", "example.com", None),
        # The port is never part of what is matched.
        ("example.com:{port:int}", "example.com:8000", None),
        ("[::1]", "[::1]:80", {}),
        ("[::1]", "[::1]", {}),
        ("{h}", "[v1.x]", {"h": "[v1.x]"}),
        ("{h}", "[::ffff:1.2.3.4]", {"h": "[::ffff:1.2.3.4]"}),
        ("{h}", "a_b~c!$&'()*+,;=%zz", {"h": "a_b~c!$&'()*+,;=%zz"}),
        ("{h}", "[g::]", None),
        ("{h}", "[1:2]", None),
        ("{h}", "[fe80::1%25eth0]", None),
        ("{h}", "[::1", None),
        ("{h}", "::1", None),
        ("{h}", "a:b:c", None),
        ("{h}", "exa mple.com", None),
        ("{h}", "a/b", None),
        ("{h}", "a@b", None),
        ("{h}", "\u00e9.com", None),
        ("{h}", "a.com:\u0663", None),
        ("{h}", "a.com:-1", None),
    ],
)
def test_host_matches(pattern: str, header: str | None, params: dict[str, str] | None) -> None:
    app = Recorder(1)
    match, child = Host(pattern, app).matches(host_scope(header))
    if params is None:
        assert (match, child) == (Match.NONE, {})
    else:
        assert match is Match.FULL
        assert child == {"path_params": params, "endpoint": app}


def test_host_uses_the_first_host_header_and_only_http_and_websocket() -> None:
    host = Host("a.com", Recorder(1))
    scope = http_scope("/", headers=[(b"host", b"b.com"), (b"host", b"a.com")])
    assert host.matches(scope)[0] is Match.NONE
    scope = http_scope("/", headers=[(b"accept", b"*/*"), (b"host", b"a.com")])
    assert host.matches(scope)[0] is Match.FULL
    assert host.matches(host_scope("a.com", "websocket"))[0] is Match.FULL
    assert host.matches(host_scope("a.com", "lifespan"))[0] is Match.NONE


def test_host_with_integer_too_long_for_int_is_not_a_match() -> None:
    host = Host("{n:int}.a.com", Recorder(1))
    assert host.matches(host_scope("9" * 5000 + ".a.com"))[0] is Match.NONE


def test_host_attributes_repr_eq_validation() -> None:
    app = Router([Route("/x", homepage)])
    host = Host("{sub}.ex.com", app, name="h")
    assert (host.host, host.host_format, host.name) == ("{sub}.ex.com", "{sub}.ex.com", "h")
    assert host.routes == [Route("/x", homepage)]
    assert Host("a", Recorder(1)).routes == []
    assert repr(host) == f"Host(host='{{sub}}.ex.com', name='h', app={app!r})"
    assert host == Host("{sub}.ex.com", app)
    assert host != Host("x.ex.com", app)
    assert host != Route("/x", homepage)
    with pytest.raises(ValueError, match=r"^Host must not start with '/'$"):
        Host("/a", app)


def test_host_url_path_for() -> None:
    host = Host("{sub}.ex.com", Router([Route("/x/{y}", homepage, name="r")]), name="hh")
    url = host.url_path_for("hh:r", sub="a", y="1")
    assert (url, url.host, url.protocol) == ("/x/1", "a.ex.com", "http")
    url = host.url_path_for("hh", sub="a", path="/p")
    assert (url, url.host, url.protocol) == ("/p", "a.ex.com", "")
    with pytest.raises(NoMatchFound, match='"hh" and params "z"'):
        host.url_path_for("hh", sub="a", path="/p", z=1)
    with pytest.raises(NoMatchFound, match='"hh:r" and params ""'):
        host.url_path_for("hh:r", sub="a")
    with pytest.raises(NoMatchFound, match='"other" and params "sub"'):
        host.url_path_for("other", sub="a")
    unnamed = Host("ex.com", Router([Route("/x", homepage, name="r")]))
    assert unnamed.url_path_for("r").host == "ex.com"


@pytest.mark.anyio
async def test_host_called_directly() -> None:
    host = Host("a.com", Router([Route("/", homepage)]))
    assert (await get(host, "/", headers=[(b"host", b"a.com")])).text == "home"
    assert (await get(host, "/", headers=[(b"host", b"b.com")])).status == 404


@pytest.mark.anyio
async def test_host_dispatch() -> None:
    router = Router(
        [
            Host("api.ex.com", Router([Route("/", homepage)])),
            Host("{sub}.ex.com", Router([Route("/", echo)])),
        ]
    )
    assert (await get(router, "/", headers=[(b"host", b"api.ex.com")])).text == "home"
    result = await get(router, "/", headers=[(b"host", b"www.ex.com:8080")])
    assert '"sub":"www"' in result.text.replace(" ", "")
    assert (await get(router, "/", headers=[(b"host", b"other.org")])).status == 404


# --- Router ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_router_first_registered_full_match_wins() -> None:
    router = Router(
        [
            Route("/users/me", Recorder(1)),
            Route("/users/{name}", Recorder(2)),
            Route("/users/me", Recorder(3)),
        ]
    )
    sent = await call(router, http_scope("/users/me"))
    assert sent[0]["ident"] == 1
    sent = await call(router, http_scope("/users/x"))
    assert (sent[0]["ident"], sent[0]["path_params"]) == (2, {"name": "x"})


@pytest.mark.anyio
async def test_router_full_match_beats_an_earlier_partial_match() -> None:
    router = Router(
        [
            Route("/a", Recorder(1), methods=["POST"]),
            Route("/{x}", Recorder(2), methods=["GET"]),
        ]
    )
    assert (await call(router, http_scope("/a")))[0]["ident"] == 2


@pytest.mark.anyio
async def test_router_405_comes_from_the_first_partial_match() -> None:
    router = Router(
        [
            Route("/a", homepage, methods=["POST", "PUT"]),
            Route("/a", homepage, methods=["DELETE"]),
        ]
    )
    result = await get(router, "/a")
    assert (result.status, result.text) == (405, "Method Not Allowed")
    assert result.headers["allow"] == "POST, PUT"
    with pytest.raises(HTTPException) as info:
        await call(router, http_scope("/a", app=object()))
    assert (info.value.status_code, info.value.headers) == (405, {"Allow": "POST, PUT"})


@pytest.mark.anyio
async def test_router_head_is_served_by_get_routes() -> None:
    router = Router([Route("/a", homepage), Route("/b", homepage, methods=["POST"])])
    assert (await get(router, "/a", "HEAD")).status == 200
    result = await get(router, "/b", "HEAD")
    assert (result.status, result.headers["allow"]) == (405, "POST")


@pytest.mark.anyio
async def test_router_not_found() -> None:
    router = Router([Route("/a", homepage)])
    result = await get(router, "/zz")
    assert (result.status, result.text) == (404, "Not Found")
    with pytest.raises(HTTPException) as info:
        await call(router, http_scope("/zz", app=object()))
    assert info.value.status_code == 404
    assert await call(router, ws_scope("/zz")) == [
        {"type": "websocket.close", "code": 1000, "reason": ""}
    ]


@pytest.mark.anyio
async def test_router_default_app() -> None:
    router = Router(default=PlainTextResponse("fallback", status_code=418))
    result = await get(router, "/anything")
    assert (result.status, result.text) == (418, "fallback")


@pytest.mark.anyio
async def test_router_sets_itself_in_the_scope_once() -> None:
    inner = Router([Route("/x", Recorder(1))])
    outer = Router([Mount("/m", app=inner)])
    scope = http_scope("/m/x")
    await call(outer, scope)
    assert scope["router"] is outer
    assert scope["endpoint"].ident == 1
    assert scope["path_params"] == {}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("routes", "path", "extra", "location"),
    [
        ([Route("/b/", homepage)], "/b", {}, "http://testserver/b/"),
        ([Route("/b", homepage)], "/b/", {}, "http://testserver/b"),
        ([Route("/b", homepage)], "/b//", {}, "http://testserver/b"),
        ([Route("/b/", homepage)], "/b", {"query_string": b"q=1"}, "http://testserver/b/?q=1"),
        ([Route("/b/", homepage)], "/b", {"method": "POST"}, "http://testserver/b/"),
        # A partial match is enough to redirect; the 405 comes after the redirect.
        ([Route("/d", homepage, methods=["POST"])], "/d/", {}, "http://testserver/d"),
        ([Mount("/m", routes=[Route("/", homepage)])], "/m", {}, "http://testserver/m/"),
        ([Mount("/m", routes=[Route("/x", homepage)])], "/m/x/", {}, "http://testserver/m/x"),
        ([Route("/", homepage)], "/r", {"root_path": "/r"}, "http://testserver/r/"),
        ([Route("/b/", homepage)], "/r/b", {"root_path": "/r"}, "http://testserver/r/b/"),
        (
            [Route("/b/", homepage)],
            "/b",
            {"headers": [(b"host", b"example.org:81")]},
            "http://example.org:81/b/",
        ),
    ],
)
async def test_redirect_slashes(
    routes: list[BaseRoute], path: str, extra: dict[str, Any], location: str
) -> None:
    extra = dict(extra)
    method = extra.pop("method", "GET")
    result = await get(Router(routes), path, method, **extra)
    assert result.status == 307
    assert result.headers["location"] == location


@pytest.mark.anyio
async def test_redirect_slashes_disabled_or_not_applicable() -> None:
    assert (await get(Router([Route("/b/", homepage)], redirect_slashes=False), "/b")).status == 404
    # "/" is never redirected, nor are WebSocket connections.
    assert (await get(Router([Route("/x", homepage)]), "/")).status == 404
    sent = await call(Router([WebSocketRoute("/ws/", ws_endpoint)]), ws_scope("/ws"))
    assert sent == [{"type": "websocket.close", "code": 1000, "reason": ""}]
    # Nothing matches with the slash toggled either.
    assert (await get(Router([Route("/b", homepage)]), "/c/")).status == 404


def test_router_url_path_for() -> None:
    router = Router(
        [
            Route("/a", homepage, name="a"),
            Mount("/m", routes=[Route("/x/{y:int}", homepage, name="x")], name="m"),
            WebSocketRoute("/ws", ws_endpoint, name="ws"),
        ]
    )
    assert router.url_path_for("a") == "/a"
    assert router.url_path_for("m:x", y=3) == "/m/x/3"
    assert router.url_path_for("ws").protocol == "websocket"
    with pytest.raises(NoMatchFound, match=r'^No route exists for name "m:x" and params "z"\.$'):
        router.url_path_for("m:x", z=3)


@pytest.mark.anyio
async def test_router_helpers_add_routes() -> None:
    router = Router()
    router.add_route("/r", homepage, methods=["POST"], name="r", include_in_schema=False)
    router.add_websocket_route("/w", ws_endpoint, name="w")
    router.mount("/m", Recorder(1), name="m")
    router.host("h.com", Recorder(2), name="h")
    assert [type(r).__name__ for r in router.routes] == ["Route", "WebSocketRoute", "Mount", "Host"]
    route = router.routes[0]
    assert isinstance(route, Route)
    assert (route.methods, route.name, route.include_in_schema) == ({"POST"}, "r", False)
    assert (await get(router, "/r", "POST")).text == "home"
    assert (await call(router, http_scope("/m/x")))[0]["ident"] == 1
    sent = await call(router, http_scope("/zz", headers=[(b"host", b"h.com")]))
    assert sent[0]["ident"] == 2


@pytest.mark.anyio
async def test_router_middleware() -> None:
    log: list[str] = []
    router = Router(
        [Route("/", homepage)],
        middleware=[
            Middleware(_recording_middleware(log, "outer")),
            Middleware(_recording_middleware(log, "inner")),
        ],
    )
    assert (await get(router, "/")).text == "home"
    assert log == ["outer", "inner"]
    # ``app`` is the router without its middleware.
    assert Result(await call(router.app, http_scope("/"))).text == "home"
    assert log == ["outer", "inner"]


@pytest.mark.anyio
async def test_router_in_an_app_raises_http_exceptions_for_its_handlers() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = app
        try:
            await router(scope, receive, send)
        except HTTPException as exc:
            await PlainTextResponse(f"caught {exc.status_code}", exc.status_code)(
                scope, receive, send
            )

    router = Router([Route("/a", homepage)])
    assert (await get(app, "/zz")).text == "caught 404"
    assert (await get(app, "/a", "POST")).text == "caught 405"


# --- The route list stays a live, mutable list -----------------------------------------------


def _ident(route: BaseRoute) -> int:
    assert isinstance(route, Route)
    assert isinstance(route.app, Recorder)
    return route.app.ident


MUTATIONS: dict[str, Callable[[list[BaseRoute]], object]] = {
    "append": lambda routes: routes.append(Route("/new", Recorder(9))),
    "insert": lambda routes: routes.insert(0, Route("/old", Recorder(9))),
    "extend": lambda routes: routes.extend([Route("/new", Recorder(9))]),
    "iadd": lambda routes: routes.__iadd__([Route("/new", Recorder(9))]),
    "setitem": lambda routes: routes.__setitem__(0, Route("/old", Recorder(9))),
    "setslice": lambda routes: routes.__setitem__(slice(0, 1), [Route("/old", Recorder(9))]),
    "delitem": lambda routes: routes.__delitem__(0),
    "pop": lambda routes: routes.pop(0),
    "remove": lambda routes: routes.remove(routes[0]),
    "clear": lambda routes: routes.clear(),
    "reverse": lambda routes: routes.reverse(),
    "sort": lambda routes: routes.sort(key=lambda route: -_ident(route)),
    "imul": lambda routes: routes.__imul__(0),
}


def _outcome(router: Router, path: str) -> tuple[Any, ...]:
    return _run(router, http_scope(path))


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_changes_to_routes_are_seen_by_the_next_request(mutation: str) -> None:
    router = Router([Route("/old", Recorder(1)), Route("/old", Recorder(2))])
    # Dispatch first, so that a lookup index exists and must be invalidated.
    before = (_outcome(router, "/old"), _outcome(router, "/new"))
    MUTATIONS[mutation](router.routes)
    after = (_outcome(router, "/old"), _outcome(router, "/new"))
    assert after != before
    assert after == tuple(
        _reference_dispatch(router.routes, http_scope(path), True) for path in ("/old", "/new")
    )


def test_routes_can_be_replaced_and_stay_a_list() -> None:
    router = Router([Route("/a", Recorder(1))])
    assert _outcome(router, "/a")[1] == 1
    router.routes = [Route("/a", Recorder(2))]
    assert isinstance(router.routes, list)
    assert _outcome(router, "/a")[1] == 2
    other = Router()
    other.routes = router.routes
    router.routes.append(Route("/b", Recorder(3)))
    assert _outcome(other, "/b")[1] == 3
    assert router.routes.index(router.routes[1]) == 1


def test_mount_routes_changes_are_seen() -> None:
    mount = Mount("/m", routes=[Route("/a", Recorder(1))])
    router = Router([mount])
    assert _outcome(router, "/m/a")[1] == 1
    mount.routes.insert(0, Route("/a", Recorder(2)))
    assert _outcome(router, "/m/a")[1] == 2


# --- Lookup cost -----------------------------------------------------------------------------


def _candidate_count(router: Router, path: str) -> int:
    return len(router._candidates(path))


def test_lookup_candidates_do_not_grow_with_the_table() -> None:
    routes: list[BaseRoute] = [Route(f"/r{i}/{{x}}", Recorder(i)) for i in range(1000)]
    routes += [Route(f"/static/s{i}", Recorder(i)) for i in range(1000)]
    router = Router(routes)
    assert _candidate_count(router, "/r999/abc") == 1
    assert _candidate_count(router, "/static/s999") == 1
    assert _candidate_count(router, "/nothing/here") == 0
    assert _outcome(router, "/r999/abc")[1] == 999


def test_routes_of_unknown_structure_are_candidates_everywhere_in_order() -> None:
    class CustomRoute(Route):
        def matches(self, scope: Scope) -> tuple[Match, Scope]:
            return super().matches(scope)

    routes: list[BaseRoute] = [
        Route("/a/b", Recorder(1)),
        Host("x.com", Recorder(2)),
        CustomRoute("/a/b", Recorder(3)),
        Route("/a/{x}", Recorder(4)),
    ]
    router = Router(routes)
    candidates = [route for _, route, _ in router._candidates("/a/b")]
    assert candidates == routes
    assert [route for _, route, _ in router._candidates("/zz")] == [routes[1], routes[2]]
    assert _outcome(router, "/a/c")[1] == 4


def test_subclass_handle_and_replaced_app_are_respected() -> None:
    handled: list[str] = []

    class LoggingRoute(Route):
        async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
            handled.append(scope["path"])
            await super().handle(scope, receive, send)

    plain = Route("/plain", Recorder(1))
    router = Router([LoggingRoute("/logged", Recorder(2)), plain])
    assert _outcome(router, "/logged")[1] == 2
    assert handled == ["/logged"]
    # The app is read when the request comes, not when the index was built.
    plain.app = Recorder(3)
    assert _outcome(router, "/plain")[1] == 3


# --- Lifespan --------------------------------------------------------------------------------


def _raise(exc: BaseException) -> None:
    raise exc


async def run_lifespan(router: Router, scope: Scope) -> tuple[str, list[Message]]:
    inbox: list[Message] = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[Message] = []

    async def receive() -> Message:
        return inbox.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    try:
        await router(scope, receive, send)
    except BaseException as exc:
        return f"{type(exc).__name__}: {exc}", sent
    return "ok", sent


@pytest.mark.anyio
async def test_lifespan_without_a_context() -> None:
    outcome, sent = await run_lifespan(Router(), {"type": "lifespan"})
    assert outcome == "ok"
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]


@pytest.mark.anyio
async def test_lifespan_runs_around_the_server_and_gets_the_app() -> None:
    events: list[Any] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        events.append(("startup", app))
        yield
        events.append("shutdown")

    marker = object()
    outcome, sent = await run_lifespan(
        Router(lifespan=lifespan), {"type": "lifespan", "app": marker}
    )
    assert outcome == "ok"
    assert events == [("startup", marker), "shutdown"]
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


@pytest.mark.anyio
async def test_lifespan_state_updates_the_scope_state() -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        yield {"db": "conn"}

    scope: Scope = {"type": "lifespan", "state": {"existing": 1}}
    outcome, _ = await run_lifespan(Router(lifespan=lifespan), scope)
    assert outcome == "ok"
    assert scope["state"] == {"existing": 1, "db": "conn"}


@pytest.mark.anyio
async def test_lifespan_state_without_server_support() -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        yield {"db": "conn"}

    outcome, sent = await run_lifespan(Router(lifespan=lifespan), {"type": "lifespan"})
    message = 'The server does not support "state" in the lifespan scope.'
    assert outcome == f"RuntimeError: {message}"
    assert [m["type"] for m in sent] == ["lifespan.startup.failed"]
    assert sent[0]["message"].endswith(f"RuntimeError: {message}\n")


@pytest.mark.anyio
async def test_lifespan_startup_failure() -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        _raise(ValueError("boom"))
        yield

    outcome, sent = await run_lifespan(Router(lifespan=lifespan), {"type": "lifespan"})
    assert outcome == "ValueError: boom"
    assert [m["type"] for m in sent] == ["lifespan.startup.failed"]
    assert sent[0]["message"].startswith("Traceback (most recent call last):")
    assert sent[0]["message"].endswith("ValueError: boom\n")


@pytest.mark.anyio
async def test_lifespan_shutdown_failure() -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        raise ValueError("bang")

    outcome, sent = await run_lifespan(Router(lifespan=lifespan), {"type": "lifespan"})
    assert outcome == "ValueError: bang"
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.failed"]
    assert sent[1]["message"].endswith("ValueError: bang\n")


@pytest.mark.anyio
async def test_lifespan_system_exit_is_reported_as_a_startup_failure() -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        _raise(SystemExit(3))
        yield

    outcome, sent = await run_lifespan(Router(lifespan=lifespan), {"type": "lifespan"})
    assert outcome == "SystemExit: 3"
    assert [m["type"] for m in sent] == ["lifespan.startup.failed"]


@pytest.mark.anyio
async def test_generator_lifespans_are_deprecated_but_work() -> None:
    events: list[str] = []

    async def async_gen(app: Any) -> AsyncIterator[None]:
        events.append("async up")
        yield
        events.append("async down")

    def sync_gen(app: Any) -> Iterator[None]:
        events.append("sync up")
        yield
        events.append("sync down")

    with pytest.warns(DeprecationWarning, match="async generator function lifespans"):
        async_router = Router(lifespan=async_gen)  # type: ignore[arg-type]
    with pytest.warns(DeprecationWarning, match="^generator function lifespans"):
        sync_router = Router(lifespan=sync_gen)  # type: ignore[arg-type]
    assert (await run_lifespan(async_router, {"type": "lifespan"}))[0] == "ok"
    assert (await run_lifespan(sync_router, {"type": "lifespan"}))[0] == "ok"
    assert events == ["async up", "async down", "sync up", "sync down"]


# --- Property: the indexed router agrees with a plain first-match scan -----------------------


LITERALS = ["a", "b", "users", "v1", ""]
HOSTS = ["a.com", "{sub}.a.com", "b.com"]
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE"]


@st.composite
def path_templates(draw: st.DrawFn, prefix: str, allow_tail_param: bool = True) -> str:
    """A route path made of literal segments, parameters of every kind, and mixtures."""
    segments: list[str] = []
    for i in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["lit", "lit", "lit", "str", "int", "float", "mid", "pre"]))
        name = f"{prefix}{i}"
        segments.append(
            {
                "lit": draw(st.sampled_from(LITERALS)),
                "str": f"{{{name}}}",
                "int": f"{{{name}:int}}",
                "float": f"{{{name}:float}}",
                "mid": f"{{{name}}}.{{{name}e}}",
                "pre": f"x{{{name}}}",
            }[kind]
        )
    if allow_tail_param and draw(st.integers(0, 5)) == 0:
        segments.append(f"{{{prefix}rest:path}}")
    path = "/" + "/".join(segments)
    if segments and not path.endswith("/") and draw(st.booleans()):
        path += "/"
    return path


# A route spec is a nested tuple; ``_build`` turns it into routes for either implementation.
RouteSpec = tuple[Any, ...]


@st.composite
def route_specs(draw: st.DrawFn, depth: int = 0) -> RouteSpec:
    kinds = ["route"] * 6 + ["ws"] + (["mount", "mount", "host"] if depth < 2 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "route":
        methods = draw(st.none() | st.lists(st.sampled_from(METHODS), min_size=1, max_size=3))
        return ("route", draw(path_templates(f"p{depth}_")), methods)
    if kind == "ws":
        return ("ws", draw(path_templates(f"p{depth}_")))
    children = draw(st.lists(route_specs(depth + 1), max_size=4))
    if kind == "host":
        return ("host", draw(st.sampled_from(HOSTS)), children)
    prefix = draw(path_templates(f"m{depth}_", allow_tail_param=False))
    return ("mount", prefix.rstrip("/") if draw(st.booleans()) else prefix, children)


def _build(specs: Sequence[RouteSpec], module: Any, counter: Iterator[int]) -> list[Any]:
    """Build routes from specs with ``module``'s classes; idents come from ``counter``."""
    routes = []
    for spec in specs:
        if spec[0] == "route":
            routes.append(module.Route(spec[1], Recorder(next(counter)), methods=spec[2]))
        elif spec[0] == "ws":
            routes.append(module.WebSocketRoute(spec[1], Recorder(next(counter))))
        elif spec[0] == "mount":
            routes.append(module.Mount(spec[1], routes=_build(spec[2], module, counter)))
        else:
            app = module.Router(_build(spec[2], module, counter))
            routes.append(module.Host(spec[1], app))
    return routes


def _full_templates(specs: Sequence[RouteSpec], prefix: str = "") -> list[str]:
    """Every path template in the table, mount prefixes included."""
    templates = []
    for spec in specs:
        if spec[0] in ("route", "ws"):
            templates.append(prefix + spec[1])
        elif spec[0] == "mount":
            templates.extend(_full_templates(spec[2], prefix + spec[1].rstrip("/")))
        else:
            templates.extend(_full_templates(spec[2], prefix))
    return templates


# Values that fit each convertor, plus some that fit none of the stricter ones.
FITTING_VALUES = {"int": ["7", "42"], "float": ["2.5", "3"], "path": ["a/b", "", "v1/"]}
OTHER_VALUES = ["1", "ab", "a.b", "xy", "a/b", "2.5"]


@st.composite
def request_paths(draw: st.DrawFn, templates: Sequence[str]) -> str:
    """A random path, or one of the table's templates filled in and perhaps altered."""

    def fill(param: re.Match[str]) -> str:
        fitting = FITTING_VALUES.get(param.group(1) or "str", ["ab", "1", "x.y"])
        choices = fitting if draw(st.integers(0, 3)) > 0 else OTHER_VALUES
        return draw(st.sampled_from(choices))

    if templates and draw(st.integers(0, 3)) > 0:
        template = draw(st.sampled_from(templates))
        path = re.sub(r"{[a-zA-Z0-9_]+(?::([a-z]+))?}", fill, template)
        alteration = draw(st.sampled_from(["none"] * 4 + ["slash", "cut", "extend"]))
        if alteration == "slash":
            path = path.rstrip("/") if path.endswith("/") else path + "/"
        elif alteration == "cut":
            path = path.rsplit("/", 1)[0] or "/"
        elif alteration == "extend":
            path = path + "/" + draw(st.sampled_from(LITERALS))
        return path
    pool = [*LITERALS, "1", "2.5", "x1", "f.txt", "zz"]
    random_segment = st.text(alphabet="ab1._-x", max_size=4)
    return "/" + "/".join(draw(st.lists(st.sampled_from(pool) | random_segment, max_size=5)))


@st.composite
def request_scopes(draw: st.DrawFn, templates: Sequence[str]) -> Scope:
    path = draw(request_paths(templates))
    root_path = draw(st.sampled_from(["", "", "/root"]))
    if root_path and draw(st.booleans()):
        path = path.rstrip("/")
    host = draw(st.sampled_from(["a.com", "x.a.com", "b.com:8080", "c.com"]))
    scope = http_scope(
        root_path + path,
        draw(st.sampled_from(METHODS)),
        root_path=root_path,
        headers=[(b"host", host.encode())],
    )
    if draw(st.integers(0, 5)) == 0:
        scope["type"] = "websocket"
        del scope["method"]
    return scope


def _draw_scopes(data: st.DataObject, specs: Sequence[RouteSpec]) -> list[Scope]:
    strategy = request_scopes(_full_templates(specs))
    return data.draw(st.lists(strategy, min_size=1, max_size=8), label="scopes")


@settings(max_examples=500, deadline=None)
@given(st.lists(route_specs(), max_size=10), st.booleans(), st.data())
def test_indexed_router_agrees_with_linear_first_match(
    specs: list[RouteSpec], redirect_slashes: bool, data: st.DataObject
) -> None:
    routes = _build(specs, routing, iter(range(10_000)))
    router = Router(routes, redirect_slashes=redirect_slashes)
    for scope in _draw_scopes(data, specs):
        expected = _reference_dispatch(routes, scope, redirect_slashes)
        assert _run(router, scope) == expected, scope


@settings(max_examples=300, deadline=None)
@given(st.lists(route_specs(), max_size=10), st.booleans(), st.data())
def test_router_agrees_with_starlette(
    specs: list[RouteSpec], redirect_slashes: bool, data: st.DataObject
) -> None:
    starlette_routing = pytest.importorskip("starlette.routing")
    ours = Router(_build(specs, routing, iter(range(10_000))), redirect_slashes=redirect_slashes)
    theirs = starlette_routing.Router(
        _build(specs, starlette_routing, iter(range(10_000))), redirect_slashes=redirect_slashes
    )
    for scope in _draw_scopes(data, specs):
        assert _run(ours, scope) == _run(theirs, scope), scope


def test_mixed_parameter_shapes_end_to_end() -> None:
    routes = [
        Route("/f/{name}.{ext}", Recorder(1)),
        Route("/f/x{p}", Recorder(2)),
        Mount("/users/{uid:int}", routes=[Route("/{rest:path}", Recorder(3))]),
        Route("/u/{id:uuid}", Recorder(4)),
    ]
    router = Router(routes)
    assert _run(router, http_scope("/f/a.txt"))[:3] == (
        "handled",
        1,
        {"name": "a", "ext": "txt"},
    )
    assert _run(router, http_scope("/f/xy"))[1] == 2
    assert _run(router, http_scope("/users/3/a/b"))[2] == {"uid": 3, "rest": "a/b"}
    value = uuid.uuid4()
    assert _run(router, http_scope(f"/u/{value}"))[2] == {"id": value}


# --- Through the test client -----------------------------------------------------------------


def test_router_through_the_test_client(test_client_factory: TestClientFactory) -> None:
    async def user(request: Request) -> Response:
        return JSONResponse({"id": request.path_params["id"]})

    router = Router(
        [
            Route("/", homepage),
            Route("/users/{id:int}", user, methods=["GET", "DELETE"]),
            Mount("/api", routes=[Route("/items/", homepage)]),
            WebSocketRoute("/ws/{room}", ws_endpoint),
        ]
    )
    client = test_client_factory(router)
    assert client.get("/").text == "home"
    assert client.get("/users/7").json() == {"id": 7}
    response = client.post("/users/7")
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, HEAD"
    assert client.get("/users/x").status_code == 404
    response = client.get("/api/items", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "http://testserver/api/items/"
    assert client.get("/api/items").text == "home"
    with client.websocket_connect("/ws/lobby") as session:
        assert session.receive_text() == "hello {'room': 'lobby'}"


def test_lifespan_through_the_test_client(test_client_factory: TestClientFactory) -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        yield {"greeting": "hi"}
        events.append("shutdown")

    async def state(request: Request) -> Response:
        return PlainTextResponse(request.state.greeting)

    router = Router([Route("/", state)], lifespan=lifespan)
    with test_client_factory(router) as client:
        assert events == ["startup"]
        assert client.get("/").text == "hi"
    assert events == ["startup", "shutdown"]


def test_startup_failure_through_the_test_client(test_client_factory: TestClientFactory) -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        _raise(RuntimeError("no database"))
        yield

    with (
        pytest.raises(RuntimeError, match="no database"),
        test_client_factory(Router(lifespan=lifespan)),
    ):
        pass  # pragma: no cover
