"""Differential tests: the same app built from Starlette 1.x and from ``framework``.

Each scenario is written once as ``build(m)``, where ``m`` is a namespace holding either
Starlette's classes or ours under Starlette's names (``m.App`` is ``Starlette`` or ``App``,
``m.TestClient`` is either test client). Both apps are driven with the same requests and the
observations (status, body, the headers users depend on, WebSocket messages and close codes)
must be equal. Where we differ on purpose (each such place has a ``# NOTE:`` in our code),
the test asserts both behaviours explicitly.
"""

from __future__ import annotations

import importlib
import re
import uuid
import warnings
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any

import pytest

with warnings.catch_warnings():
    # NOTE: Starlette's test client warns at import that it prefers ``httpx2``.
    warnings.simplefilter("ignore")
    starlette_testclient = importlib.import_module("starlette.testclient")

_NAMES: dict[str, tuple[str, ...]] = {
    "routing": ("Route", "Mount", "Host", "Router", "WebSocketRoute", "NoMatchFound"),
    "responses": (
        "Response",
        "PlainTextResponse",
        "HTMLResponse",
        "JSONResponse",
        "RedirectResponse",
        "StreamingResponse",
        "FileResponse",
    ),
    "requests": ("Request",),
    "websockets": ("WebSocket", "WebSocketDisconnect", "WebSocketState"),
    "endpoints": ("HTTPEndpoint", "WebSocketEndpoint"),
    "exceptions": ("HTTPException", "WebSocketException"),
    "background": ("BackgroundTask", "BackgroundTasks"),
    "middleware": ("Middleware",),
    "middleware.cors": ("CORSMiddleware",),
    "middleware.gzip": ("GZipMiddleware",),
    "middleware.trustedhost": ("TrustedHostMiddleware",),
    "middleware.httpsredirect": ("HTTPSRedirectMiddleware",),
    "middleware.sessions": ("SessionMiddleware",),
    "middleware.base": ("BaseHTTPMiddleware",),
    "middleware.authentication": ("AuthenticationMiddleware",),
    "authentication": (
        "AuthenticationBackend",
        "AuthenticationError",
        "AuthCredentials",
        "SimpleUser",
        "UnauthenticatedUser",
        "requires",
    ),
    "staticfiles": ("StaticFiles",),
    "templating": ("Jinja2Templates",),
    "config": ("Config", "Environ"),
    "datastructures": ("URL", "Headers", "QueryParams", "Secret", "CommaSeparatedStrings"),
    "convertors": ("Convertor", "register_url_convertor"),
}


def _kit(package: str, app_name: str, client: type[Any]) -> SimpleNamespace:
    kit = SimpleNamespace(name=package, TestClient=client)
    kit.App = getattr(importlib.import_module(f"{package}.applications"), app_name)
    kit.status = importlib.import_module(f"{package}.status")
    for module, names in _NAMES.items():
        loaded = importlib.import_module(f"{package}.{module}")
        for name in names:
            setattr(kit, name, getattr(loaded, name))
    return kit


def _framework_kit() -> SimpleNamespace:
    from testing.client import TestClient

    return _kit("framework", "App", TestClient)


THEIRS = _kit("starlette", "Starlette", starlette_testclient.TestClient)
OURS = _framework_kit()

Builder = Callable[[SimpleNamespace], Any]
Driver = Callable[[Any], Any]

# Headers that legitimately differ between two runs of the same app.
_VOLATILE = frozenset({"date"})


# A cookie's expiry is "now" when deleted: the two runs may straddle a second.
_EXPIRES = re.compile(r"expires=(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT")


def _header(name: str, value: str) -> tuple[str, str]:
    if name == "set-cookie":
        value = _EXPIRES.sub("expires=<http-date>", value)
    return name, value


def snap(response: Any, *, body: bool = True) -> dict[str, Any]:
    """What a user observes of an HTTP response: status, body and headers (in order per name)."""
    items = [_header(k.lower(), v) for k, v in response.headers.multi_items() if k not in _VOLATILE]
    items.sort(key=lambda item: item[0])
    return {
        "status": response.status_code,
        "body": response.content if body else None,
        "headers": items,
    }


def run_both(build: Builder, drive: Driver, **client_options: Any) -> tuple[Any, Any]:
    """Build and drive the app with Starlette, then with ours; return both observations."""
    observed = []
    for kit in (THEIRS, OURS):
        app = build(kit)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            with kit.TestClient(app, **client_options) as client:
                observed.append(drive(client))
    return observed[0], observed[1]


def assert_same(build: Builder, drive: Driver, **client_options: Any) -> Any:
    """Both apps must be observed identically; returns the observation."""
    theirs, ours = run_both(build, drive, **client_options)
    assert ours == theirs
    return ours


def gets(*paths: str, **options: Any) -> Driver:
    """A driver that GETs each path and snapshots the answers."""
    return lambda client: [snap(client.get(path, **options)) for path in paths]


def ws_error(exc: BaseException) -> tuple[str, Any, Any]:
    """A WebSocket failure seen by the client, comparable across the two test clients."""
    return (type(exc).__name__, getattr(exc, "code", None), getattr(exc, "reason", None))


# --- responses ----------------------------------------------------------------------------


def build_responses(m: SimpleNamespace) -> Any:
    async def plain(request: Any) -> Any:
        return m.PlainTextResponse("héllo", headers={"x-extra": "1"})

    async def html(request: Any) -> Any:
        return m.HTMLResponse("<h1>hi</h1>", status_code=201)

    async def json_(request: Any) -> Any:
        return m.JSONResponse({"a": [1, 2.5, None, True], "ü": "ß"})

    async def json_none(request: Any) -> Any:
        return m.JSONResponse(None)

    async def raw(request: Any) -> Any:
        return m.Response(b"\x00\x01", media_type="application/octet-stream")

    async def empty(request: Any) -> Any:
        return m.Response(status_code=204)

    async def no_media(request: Any) -> Any:
        return m.Response("text without media type")

    async def redirect(request: Any) -> Any:
        return m.RedirectResponse("/plain")

    async def redirect_301(request: Any) -> Any:
        return m.RedirectResponse(url="/path with space?q=ä", status_code=301)

    async def stream(request: Any) -> Any:
        async def chunks() -> AsyncIterator[str]:
            for part in ("a", "b", "c"):
                yield part

        return m.StreamingResponse(chunks(), media_type="text/plain")

    async def sync_stream(request: Any) -> Any:
        return m.StreamingResponse(iter([b"x", b"y"]), headers={"x-s": "1"})

    async def cookies(request: Any) -> Any:
        response = m.PlainTextResponse("cookies")
        response.set_cookie("plain", "v")
        response.set_cookie(
            "full",
            "w",
            max_age=60,
            path="/p",
            domain="example.org",
            secure=True,
            httponly=True,
            samesite="strict",
        )
        response.set_cookie("spaced", "a b")
        response.delete_cookie("gone")
        response.delete_cookie("gone2", path="/x", domain="example.org", secure=True)
        return response

    async def head_body(request: Any) -> Any:
        return m.PlainTextResponse("body for head")

    async def custom_headers(request: Any) -> Any:
        response = m.Response("x", headers={"Content-Type": "text/csv"})
        response.headers["x-late"] = "yes"
        response.headers.append("x-many", "1")
        response.headers.append("x-many", "2")
        return response

    return m.App(
        routes=[
            m.Route("/plain", plain),
            m.Route("/html", html),
            m.Route("/json", json_),
            m.Route("/json-none", json_none),
            m.Route("/raw", raw),
            m.Route("/empty", empty),
            m.Route("/no-media", no_media),
            m.Route("/redirect", redirect),
            m.Route("/redirect-301", redirect_301),
            m.Route("/stream", stream),
            m.Route("/sync-stream", sync_stream),
            m.Route("/cookies", cookies),
            m.Route("/head", head_body),
            m.Route("/custom-headers", custom_headers),
        ]
    )


@pytest.mark.parametrize(
    "path",
    [
        "/plain",
        "/html",
        "/json",
        "/json-none",
        "/raw",
        "/empty",
        "/no-media",
        "/stream",
        "/sync-stream",
        "/cookies",
        "/custom-headers",
    ],
)
def test_responses(path: str) -> None:
    assert_same(build_responses, gets(path))


def test_redirects_not_followed() -> None:
    assert_same(build_responses, gets("/redirect", "/redirect-301", follow_redirects=False))


def test_redirect_followed() -> None:
    assert_same(build_responses, lambda c: [snap(c.get("/redirect")), str(c.get("/redirect").url)])


def test_head() -> None:
    assert_same(build_responses, lambda c: snap(c.head("/head")))


# --- background tasks ---------------------------------------------------------------------


def build_background(m: SimpleNamespace) -> Any:
    log: list[str] = []

    async def record(value: str) -> None:
        log.append(value)

    def record_sync(value: str) -> None:
        log.append(value)

    async def single(request: Any) -> Any:
        return m.PlainTextResponse("ok", background=m.BackgroundTask(record, "single"))

    async def many(request: Any) -> Any:
        tasks = m.BackgroundTasks()
        tasks.add_task(record, "first")
        tasks.add_task(record_sync, value="second")
        return m.JSONResponse({"n": 2}, background=tasks)

    async def show(request: Any) -> Any:
        return m.JSONResponse(log)

    return m.App(routes=[m.Route("/single", single), m.Route("/many", many), m.Route("/log", show)])


def test_background_tasks() -> None:
    assert_same(build_background, gets("/single", "/many", "/log"))


# --- routing ------------------------------------------------------------------------------


def build_routing(m: SimpleNamespace) -> Any:
    async def echo(request: Any) -> Any:
        return m.JSONResponse(
            {
                "params": {k: [type(v).__name__, str(v)] for k, v in request.path_params.items()},
                "path": request.url.path,
                "root_path": request.scope.get("root_path", ""),
            }
        )

    async def users(request: Any) -> Any:
        return m.PlainTextResponse("users")

    async def urls(request: Any) -> Any:
        return m.JSONResponse(
            {
                "int": str(request.url_for("int", value=5)),
                "path": str(request.url_for("path", rest="a/b c")),
                "uuid": str(
                    request.url_for("uuid", value=uuid.UUID("12345678-1234-5678-1234-567812345678"))
                ),
                "float": str(request.url_for("float", value=1.5)),
                "api_user": str(request.url_for("api:user", id=7)),
                "api_static": str(request.app.url_path_for("api:users")),
                "nested": str(request.url_for("api:v2:item", name="x")),
                "host": str(request.url_for("sub:host-item", sub="foo", item="9")),
                "mount_path": str(request.url_for("api:static-mount", path="/css/a.css")),
            }
        )

    async def missing(request: Any) -> Any:
        try:
            request.url_for("nope")
        except m.NoMatchFound as exc:
            return m.PlainTextResponse(str(exc))
        return m.PlainTextResponse("?")

    async def missing_param(request: Any) -> Any:
        try:
            request.url_for("int")
        except m.NoMatchFound as exc:
            return m.PlainTextResponse(str(exc))
        return m.PlainTextResponse("?")

    async def methods(request: Any) -> Any:
        return m.PlainTextResponse(request.method)

    async def static_app(scope: Any, receive: Any, send: Any) -> None:
        response = m.PlainTextResponse(f"{scope['root_path']}|{scope['path']}")
        await response(scope, receive, send)

    api = [
        m.Route("/users", users, name="users"),
        m.Route("/users/{id:int}", echo, name="user"),
        m.Mount("/v2", routes=[m.Route("/items/{name}", echo, name="item")], name="v2"),
        m.Mount("/static", app=static_app, name="static-mount"),
    ]
    host_routes = [m.Route("/items/{item}", echo, name="host-item")]
    return m.App(
        routes=[
            m.Route("/str/{value}", echo, name="str"),
            m.Route("/int/{value:int}", echo, name="int"),
            m.Route("/float/{value:float}", echo, name="float"),
            m.Route("/uuid/{value:uuid}", echo, name="uuid"),
            m.Route("/path/{rest:path}", echo, name="path"),
            m.Route("/multi/{a}/{b:int}", echo),
            m.Route("/urls", urls),
            m.Route("/missing", missing),
            m.Route("/missing-param", missing_param),
            m.Route("/methods", methods, methods=["GET", "POST", "DELETE"]),
            m.Route("/post-only", methods, methods=["POST"]),
            m.Route("/slash/", users),
            m.Route("/noslash", users),
            m.Mount("/api", routes=api, name="api"),
            m.Host("{sub}.example.org", app=m.Router(routes=host_routes), name="sub"),
        ]
    )


@pytest.mark.parametrize(
    "path",
    [
        "/str/hello%20world",
        "/int/42",
        "/int/-1",
        "/int/abc",
        "/float/1.5",
        "/float/3",
        "/float/-1",
        "/uuid/12345678-1234-5678-1234-567812345678",
        "/uuid/not-a-uuid",
        "/path/a/b/c",
        "/path/",
        "/multi/x/3",
        "/urls",
        "/missing",
        "/missing-param",
        "/nowhere",
        "/api/users",
        "/api/users/9",
        "/api/v2/items/thing",
        "/api/static/css/site.css",
        "/api/static",
        "/api",
        "/api/",
    ],
)
def test_routing_paths(path: str) -> None:
    assert_same(build_routing, gets(path))


def test_routing_hosts() -> None:
    assert_same(
        build_routing,
        lambda c: [
            snap(c.get("http://foo.example.org/items/3")),
            snap(c.get("http://example.org/items/3")),
        ],
    )


def test_redirect_slashes() -> None:
    assert_same(
        build_routing,
        lambda c: [
            snap(c.get("/slash", follow_redirects=False)),
            snap(c.get("/noslash/", follow_redirects=False)),
            snap(c.get("/noslash/?q=1", follow_redirects=False)),
            snap(c.post("/noslash/", follow_redirects=False)),
            snap(c.get("/nowhere/", follow_redirects=False)),
        ],
    )


def _allowed(observation: dict[str, Any]) -> dict[str, Any]:
    headers = [(k, v) for k, v in observation["headers"] if k != "allow"]
    allow = [v for k, v in observation["headers"] if k == "allow"]
    return {**observation, "headers": headers, "allow": [sorted(a.split(", ")) for a in allow]}


def test_method_not_allowed_and_head() -> None:
    def drive(c: Any) -> Any:
        return [
            snap(c.put("/methods")),
            snap(c.get("/post-only")),
            snap(c.head("/methods")),
            snap(c.post("/methods")),
            snap(c.delete("/methods")),
        ]

    theirs, ours = run_both(build_routing, drive)
    assert [_allowed(o) for o in ours] == [_allowed(o) for o in theirs]
    # NOTE: Starlette builds Allow from a set, so its order varies; ours is sorted.
    allow = dict(ours[0]["headers"])["allow"]
    assert allow == ", ".join(sorted(allow.split(", ")))


# --- endpoints ----------------------------------------------------------------------------


def build_endpoints(m: SimpleNamespace) -> Any:
    # NOTE: handlers are unannotated, as in Starlette's docs: our typed layer reads a
    # ``request: Any`` parameter as a typed handler (reported to the typed layer's owner).
    class Items(m.HTTPEndpoint):  # type: ignore[misc, name-defined]
        async def get(self, request):  # type: ignore[no-untyped-def]
            return m.PlainTextResponse(f"get {request.path_params.get('id')}")

        def post(self, request):  # type: ignore[no-untyped-def]
            return m.PlainTextResponse("post sync")

    return m.App(routes=[m.Route("/items", Items), m.Route("/items/{id}", Items)])


def test_http_endpoint() -> None:
    def drive(c: Any) -> Any:
        return [
            snap(c.get("/items")),
            snap(c.get("/items/3")),
            snap(c.post("/items")),
            snap(c.head("/items")),
            snap(c.delete("/items")),
        ]

    theirs, ours = run_both(build_endpoints, drive)
    assert [_allowed(o) for o in ours] == [_allowed(o) for o in theirs]


# --- exception handlers -------------------------------------------------------------------


class CustomError(Exception):
    pass


def build_errors(m: SimpleNamespace, *, handlers: bool = True, debug: bool = False) -> Any:
    async def teapot(request: Any) -> Any:
        raise m.HTTPException(418, detail="short and stout", headers={"x-tea": "earl grey"})

    async def plain_http(request: Any) -> Any:
        raise m.HTTPException(status_code=401)

    async def no_content(request: Any) -> Any:
        raise m.HTTPException(status_code=304)

    async def custom(request: Any) -> Any:
        raise CustomError("custom")

    async def value(request: Any) -> Any:
        raise ValueError("bad value")

    async def crash(request: Any) -> Any:
        raise RuntimeError("boom")

    async def on_404(request: Any, exc: Any) -> Any:
        return m.JSONResponse({"missing": request.url.path, "detail": exc.detail}, status_code=404)

    async def on_custom(request: Any, exc: Exception) -> Any:
        return m.PlainTextResponse(f"custom handled: {exc}", status_code=409)

    def on_value(request: Any, exc: Exception) -> Any:
        return m.PlainTextResponse(f"value handled: {exc}", status_code=422)

    async def on_500(request: Any, exc: Exception) -> Any:
        return m.PlainTextResponse(f"server error: {type(exc).__name__}", status_code=500)

    async def on_http(request: Any, exc: Any) -> Any:
        return m.JSONResponse(
            {"status": exc.status_code, "detail": exc.detail},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    exception_handlers: dict[Any, Any] = {}
    if handlers:
        exception_handlers = {
            404: on_404,
            CustomError: on_custom,
            ValueError: on_value,
            500: on_500,
            418: on_http,
        }
    return m.App(
        debug=debug,
        routes=[
            m.Route("/teapot", teapot),
            m.Route("/plain-http", plain_http),
            m.Route("/no-content", no_content),
            m.Route("/custom", custom),
            m.Route("/value", value),
            m.Route("/crash", crash),
        ],
        exception_handlers=exception_handlers,
    )


@pytest.mark.parametrize("handlers", [True, False])
@pytest.mark.parametrize(
    "path", ["/teapot", "/plain-http", "/no-content", "/custom", "/value", "/crash", "/nowhere"]
)
def test_exception_handlers(path: str, handlers: bool) -> None:
    assert_same(
        lambda m: build_errors(m, handlers=handlers),
        gets(path),
        raise_server_exceptions=False,
    )


def test_server_error_raised_to_client() -> None:
    def drive(c: Any) -> Any:
        with pytest.raises(RuntimeError, match="boom"):
            c.get("/crash")
        return True

    assert_same(build_errors, drive)


def test_debug_page_content_types() -> None:
    def drive(c: Any) -> Any:
        html = c.get("/crash", headers={"accept": "text/html"})
        text = c.get("/crash")
        return [
            html.status_code,
            html.headers["content-type"],
            "RuntimeError" in html.text,
            text.status_code,
            text.headers["content-type"],
            "RuntimeError" in text.text,
        ]

    assert_same(
        lambda m: build_errors(m, handlers=False, debug=True),
        drive,
        raise_server_exceptions=False,
    )
