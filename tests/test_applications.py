from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import pytest

from framework.applications import App
from framework.datastructures import State
from framework.exceptions import HTTPException
from framework.middleware import Middleware
from framework.middleware.errors import ServerErrorMiddleware
from framework.middleware.exceptions import ExceptionMiddleware
from framework.requests import Request
from framework.responses import JSONResponse, PlainTextResponse, Response
from framework.routing import Host, Mount, NoMatchFound, Route, Router, WebSocketRoute
from framework.types import ASGIApp, Message, Receive, Scope, Send
from framework.websockets import WebSocket
from testing.client import TestClient

TestClientFactory = Callable[..., TestClient]


async def home(request: Request) -> Response:
    return PlainTextResponse("home")


async def user(request: Request) -> Response:
    return PlainTextResponse(f"user {request.path_params['name']}")


async def echo_ws(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(await websocket.receive_text())
    await websocket.close()


async def boom(request: Request) -> Response:
    raise ValueError("<secret>")


class Recorder:
    """Middleware that records its name on the way in and tags the response on the way out."""

    def __init__(self, app: ASGIApp, name: str, log: list[str]) -> None:
        self.app = app
        self.name = name
        self.log = log
        log.append(f"init {name}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.log.append(self.name)

        async def tagging_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (b"x-seen-by", self.name.encode())]
            await send(message)

        await self.app(scope, receive, tagging_send)


# Routes and routing


def test_routes_mounts_and_hosts(test_client_factory: TestClientFactory) -> None:
    sub = App(routes=[Route("/", home)])
    app = App(
        routes=[
            Route("/", home),
            Route("/users/{name}", user),
            WebSocketRoute("/ws", echo_ws),
            Mount("/sub", sub),
            Host("api.example.org", Router([Route("/", user_on_host)])),
        ]
    )
    client = test_client_factory(app)
    assert client.get("/").text == "home"
    assert client.get("/users/ann").text == "user ann"
    assert client.get("/sub/").text == "home"
    with client.websocket_connect("/ws") as websocket:
        websocket.send_text("hello")
        assert websocket.receive_text() == "hello"


async def user_on_host(request: Request) -> Response:
    return PlainTextResponse("on host")


def test_not_found_and_method_not_allowed(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(App(routes=[Route("/", home)]))
    response = client.get("/missing")
    assert (response.status_code, response.text) == (404, "Not Found")
    response = client.post("/")
    assert (response.status_code, response.text) == (405, "Method Not Allowed")
    assert response.headers["allow"] == "GET, HEAD"


def test_host_routes(test_client_factory: TestClientFactory) -> None:
    app = App(routes=[Host("api.example.org", Router([Route("/", user_on_host)]))])
    client = test_client_factory(app)
    assert client.get("/", headers={"host": "api.example.org"}).text == "on host"
    assert client.get("/").status_code == 404


def test_scope_app_is_the_innermost_app_and_router_the_outermost(
    test_client_factory: TestClientFactory,
) -> None:
    seen: dict[str, Any] = {}

    async def endpoint(request: Request) -> Response:
        seen.update(app=request.scope["app"], router=request.scope["router"])
        return PlainTextResponse("ok")

    inner = App(routes=[Route("/", endpoint)])
    outer = App(routes=[Mount("/inner", inner), Route("/", endpoint)])
    client = test_client_factory(outer)
    client.get("/inner/")
    assert seen == {"app": inner, "router": outer.router}
    client.get("/")
    assert seen == {"app": outer, "router": outer.router}


def test_middleware_sees_the_app_and_router_in_the_scope(
    test_client_factory: TestClientFactory,
) -> None:
    seen: list[tuple[object, object]] = []

    def spy(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            seen.append((scope.get("app"), scope.get("router")))
            await app(scope, receive, send)

        return middleware

    app = App(routes=[Route("/", home)], middleware=[Middleware(spy)])
    test_client_factory(app).get("/")
    assert seen == [(app, app.router)]


def test_add_route_websocket_route_mount_and_host(test_client_factory: TestClientFactory) -> None:
    app = App()
    app.add_route("/home", home, methods=["GET"], name="home")
    app.add_websocket_route("/ws", echo_ws, name="ws")
    app.mount("/static", App(routes=[Route("/file", home, name="file")]), name="static")
    app.host("api.example.org", Router([Route("/", user_on_host)]), name="api")
    client = test_client_factory(app)
    assert client.get("/home").text == "home"
    assert client.get("/static/file").text == "home"
    assert client.get("/", headers={"host": "api.example.org"}).text == "on host"
    with client.websocket_connect("/ws") as websocket:
        websocket.send_text("hi")
        assert websocket.receive_text() == "hi"
    assert app.url_path_for("static:file") == "/static/file"
    assert [getattr(route, "name", None) for route in app.routes] == [
        "home",
        "ws",
        "static",
        "api",
    ]


def test_url_path_for() -> None:
    app = App(
        routes=[
            Route("/users/{name}", user, name="user"),
            Mount("/api", routes=[Route("/items/{id:int}", home, name="item")], name="api"),
        ]
    )
    # ``name`` is positional-only, so a path parameter may be called ``name`` too.
    assert app.url_path_for("user", name="ann") == "/users/ann"
    assert app.url_path_for("api:item", id=3) == "/api/items/3"
    with pytest.raises(NoMatchFound):
        app.url_path_for("nope")


def test_attributes() -> None:
    routes = [Route("/", home)]
    app = App(routes=routes)
    assert isinstance(app.router, Router)
    assert app.routes is app.router.routes
    assert [route.path for route in app.routes] == ["/"]  # type: ignore[attr-defined]
    assert isinstance(app.state, State)
    assert app.debug is False
    assert app.middleware_stack is None
    assert app.user_middleware == []
    assert app.exception_handlers == {}


def test_constructor_copies_its_arguments() -> None:
    handlers: dict[Any, Any] = {404: home}
    middleware = [Middleware(Recorder, name="a", log=[])]
    app = App(exception_handlers=handlers, middleware=middleware)
    handlers.clear()
    middleware.clear()
    assert list(app.exception_handlers) == [404]
    assert len(app.user_middleware) == 1


def test_configuration_errors_are_reported_at_registration() -> None:
    with pytest.raises(TypeError, match="takes Middleware"):
        App(middleware=[Recorder])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"status code .* or an Exception subclass, not '404'"):
        App(exception_handlers={"404": sync_key_handler})
    app = App()
    with pytest.raises(TypeError, match="not True"):
        app.add_exception_handler(True, sync_key_handler)
    with pytest.raises(TypeError, match="not <class 'KeyboardInterrupt'>"):
        app.add_exception_handler(KeyboardInterrupt, sync_key_handler)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be callable"):
        app.add_exception_handler(404, "handler")  # type: ignore[arg-type]
    assert app.exception_handlers == {}


def test_surface_matches_starlette_1() -> None:
    """Starlette 1.0 removed the startup/shutdown hooks and the decorator APIs.

    Starlette's positional parameters come first, in its order; the typed layer's are
    keyword-only, as is ``max_body_size`` in Starlette 1.x.
    """
    parameters = inspect.signature(App).parameters.values()
    assert [p.name for p in parameters if p.kind is not p.KEYWORD_ONLY] == [
        "debug",
        "routes",
        "middleware",
        "exception_handlers",
        "lifespan",
    ]
    assert [p.name for p in parameters if p.kind is p.KEYWORD_ONLY] == [
        "resources",
        "openapi_url",
        "title",
        "version",
        "max_body_size",
    ]
    for removed in ("route", "websocket_route", "middleware", "exception_handler", "on_event"):
        assert not hasattr(App, removed)


# Middleware


def test_middleware_order_and_lazy_single_instantiation(
    test_client_factory: TestClientFactory,
) -> None:
    log: list[str] = []
    app = App(
        routes=[Route("/", home)],
        middleware=[Middleware(Recorder, name="a", log=log), Middleware(Recorder, "b", log)],
    )
    app.add_middleware(Recorder, name="outer", log=log)
    assert log == []
    client = test_client_factory(app)
    response = client.get("/")
    client.get("/")
    assert log == ["init b", "init a", "init outer", "outer", "a", "b", "outer", "a", "b"]
    # The innermost middleware tags the response first.
    assert response.headers.get_list("x-seen-by") == ["b", "a", "outer"]


def test_add_middleware_after_start_is_an_error(test_client_factory: TestClientFactory) -> None:
    app = App(routes=[Route("/", home)])
    test_client_factory(app).get("/")
    with pytest.raises(
        RuntimeError, match=r"^Cannot add middleware after an application has started$"
    ):
        app.add_middleware(Recorder, name="late", log=[])


def test_add_middleware_after_lifespan_is_an_error(test_client_factory: TestClientFactory) -> None:
    app = App()
    with test_client_factory(app):
        pass
    with pytest.raises(RuntimeError, match="after an application has started"):
        app.add_middleware(Recorder, name="late", log=[])


def test_build_middleware_stack_layers() -> None:
    async def on_500(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("500", status_code=500)

    async def on_key(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("key")

    app = App(
        debug=True,
        middleware=[Middleware(Recorder, name="a", log=[])],
        exception_handlers={500: on_500, KeyError: on_key},
    )
    stack = app.build_middleware_stack()
    assert isinstance(stack, ServerErrorMiddleware)
    assert (stack.handler, stack.debug) == (on_500, True)
    recorder = stack.app
    assert isinstance(recorder, Recorder)
    exceptions = recorder.app
    assert isinstance(exceptions, ExceptionMiddleware)
    assert exceptions.debug is True
    assert exceptions.app == app.router.middleware_stack


def test_middleware_repr_and_unpacking() -> None:
    middleware = Middleware(Recorder, "a", log=["x"])
    cls, args, kwargs = middleware
    assert (cls, args, kwargs) == (Recorder, ("a",), {"log": ["x"]})
    assert repr(middleware) == "Middleware(Recorder, 'a', log=['x'])"
    assert repr(Middleware(ServerErrorMiddleware)) == "Middleware(ServerErrorMiddleware)"
    nameless = functools.partial(Recorder, log=[])
    assert repr(Middleware(nameless, "n")) == "Middleware(, 'n')"


# Exception handling


def test_http_exception_headers_and_default_handler(test_client_factory: TestClientFactory) -> None:
    async def endpoint(request: Request) -> Response:
        raise HTTPException(401, "who are you", headers={"WWW-Authenticate": "Basic"})

    response = test_client_factory(App(routes=[Route("/", endpoint)])).get("/")
    assert (response.status_code, response.text) == (401, "who are you")
    assert response.headers["www-authenticate"] == "Basic"


async def async_key_handler(request: Request, exc: Exception) -> Response:
    return JSONResponse({"handled": "async", "path": request.url.path}, status_code=400)


def sync_key_handler(request: Request, exc: Exception) -> Response:
    return JSONResponse({"handled": "sync", "path": request.url.path}, status_code=400)


async def raise_key_error(request: Request) -> Response:
    raise KeyError("k")


async def raise_http_404(request: Request) -> Response:
    raise HTTPException(404, "no such thing")


@pytest.mark.parametrize(
    ("handler", "kind"), [(async_key_handler, "async"), (sync_key_handler, "sync")]
)
def test_exception_handler_by_class(
    test_client_factory: TestClientFactory, handler: Any, kind: str
) -> None:
    log: list[str] = []
    app = App(
        routes=[Route("/key", raise_key_error)],
        middleware=[Middleware(Recorder, name="user", log=log)],
        exception_handlers={KeyError: handler},
    )
    response = test_client_factory(app).get("/key")
    assert response.status_code == 400
    assert response.json() == {"handled": kind, "path": "/key"}
    # Handled inside the stack, so user middleware sees the handler's response.
    assert response.headers["x-seen-by"] == "user"


@pytest.mark.parametrize(
    ("handler", "kind"), [(async_key_handler, "async"), (sync_key_handler, "sync")]
)
def test_exception_handler_by_status(
    test_client_factory: TestClientFactory, handler: Any, kind: str
) -> None:
    app = App(routes=[Route("/thing", raise_http_404)])
    app.add_exception_handler(404, handler)
    client = test_client_factory(app)
    assert client.get("/thing").json() == {"handled": kind, "path": "/thing"}
    # The router's own 404 goes through the same handler.
    assert client.get("/elsewhere").json() == {"handled": kind, "path": "/elsewhere"}


def test_mounted_app_uses_its_own_handlers(test_client_factory: TestClientFactory) -> None:
    inner = App(
        routes=[Route("/key", raise_key_error)], exception_handlers={KeyError: sync_key_handler}
    )
    outer = App(routes=[Mount("/inner", inner), Route("/key", raise_key_error)])
    client = test_client_factory(outer, raise_server_exceptions=False)
    assert client.get("/inner/key").json() == {"handled": "sync", "path": "/inner/key"}
    assert client.get("/key").status_code == 500


@pytest.mark.parametrize("key", [500, Exception])
@pytest.mark.parametrize("asynchronous", [True, False], ids=["async", "sync"])
def test_server_error_handler(
    test_client_factory: TestClientFactory, key: Any, asynchronous: bool
) -> None:
    def on_error(request: Request, exc: Exception) -> Response:
        return PlainTextResponse(f"sorry: {type(exc).__name__}", status_code=500)

    async def on_error_async(request: Request, exc: Exception) -> Response:
        return on_error(request, exc)

    log: list[str] = []
    app = App(
        routes=[Route("/", boom)],
        middleware=[Middleware(Recorder, name="user", log=log)],
        exception_handlers={key: on_error_async if asynchronous else on_error},
    )
    response = test_client_factory(app, raise_server_exceptions=False).get("/")
    assert (response.status_code, response.text) == (500, "sorry: ValueError")
    # ServerErrorMiddleware is outside user middleware.
    assert "x-seen-by" not in response.headers
    # And the exception still reaches the server.
    with pytest.raises(ValueError, match="secret"):
        test_client_factory(app).get("/")


def test_no_traceback_outside_debug(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(App(routes=[Route("/", boom)]), raise_server_exceptions=False)
    for accept in ("text/html", "text/plain"):
        response = client.get("/", headers={"accept": accept})
        assert (response.status_code, response.text) == (500, "Internal Server Error")


def test_debug_page_is_escaped_and_negotiated(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(
        App(debug=True, routes=[Route("/", boom)]), raise_server_exceptions=False
    )
    page = client.get("/", headers={"accept": "text/html"})
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "ValueError: &lt;secret&gt;" in page.text
    assert "<secret>" not in page.text
    text = client.get("/", headers={"accept": "*/*"})
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert "ValueError: <secret>" in text.text


def test_debug_setter(test_client_factory: TestClientFactory) -> None:
    app = App(routes=[Route("/", boom)])
    app.debug = True
    # Not started yet: still lazy, so middleware may still be added.
    assert app.middleware_stack is None
    client = test_client_factory(app, raise_server_exceptions=False)
    assert "Traceback" in client.get("/").text
    app.debug = False
    assert app.debug is False
    assert client.get("/").text == "Internal Server Error"


# Lifespan


def test_lifespan_state_reaches_requests(test_client_factory: TestClientFactory) -> None:
    events: list[str] = []
    seen_app: list[App] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[Mapping[str, Any]]:
        seen_app.append(app)
        events.append("startup")
        yield {"greeting": "hello"}
        events.append("shutdown")

    async def endpoint(request: Request) -> Response:
        return PlainTextResponse(request.state.greeting)

    app = App(routes=[Route("/", endpoint)], lifespan=lifespan)
    with test_client_factory(app) as client:
        assert events == ["startup"]
        assert client.get("/").text == "hello"
    assert events == ["startup", "shutdown"]
    assert seen_app == [app]


def test_stateless_lifespan_runs_through_middleware(test_client_factory: TestClientFactory) -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("shutdown")

    log: list[str] = []
    app = App(lifespan=lifespan, middleware=[Middleware(Recorder, name="m", log=log)])
    with test_client_factory(app):
        assert events == ["startup"]
    assert events == ["startup", "shutdown"]
    # The stack was built for the lifespan; the recorder let the lifespan scope through.
    assert log == ["init m"]
