"""``App`` with the typed layer: resources, compiled routes, OpenAPI, typed lifespan state, JSON
errors from typed handlers and ``max_body_size``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
from typing import Any, TypedDict

import attrs
import pytest
from openapi_spec_validator import validate

from framework import App, HTTPEndpoint, HTTPException, status_code
from framework._keys import LIFESPAN_STATE
from framework.applications import lifespan_state_type
from framework.exceptions import HTTPException as StarletteHTTPException
from framework.requests import Request
from framework.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from framework.routing import Mount, NoMatchFound, Route, Router, WebSocketRoute
from framework.typed.converter import default_converter
from framework.typed.plan import HandlerDefinitionError
from framework.typed.resources import RouteConflictError
from tests.conftest import TestClientFactory
from tests.resources_fixtures import stateful
from tests.resources_fixtures.todo import todos

TODO_PACKAGE = "tests.resources_fixtures.todo"


@pytest.fixture(autouse=True)
def empty_todos() -> Iterator[None]:
    todos.TODOS.clear()
    yield
    todos.TODOS.clear()


# API.md §2 and §3, as written


def test_the_todo_resources_serve_as_documented(test_client_factory: TestClientFactory) -> None:
    app = App(resources=[TODO_PACKAGE])
    client = test_client_factory(app)
    created = client.post("/todos", json={"title": "write docs"})
    assert created.status_code == 201
    assert created.json() == {"id": 1, "title": "write docs", "done": False}
    client.post("/todos", json={"title": "ship", "done": True})
    assert client.get("/todos", params={"limit": 1, "offset": 1}).json() == [
        {"id": 2, "title": "ship", "done": True}
    ]
    assert client.get("/todos/1", headers={"x-trace": "abc"}).json()["title"] == "write docs"
    deleted = client.delete("/todos/1")
    assert (deleted.status_code, deleted.content) == (204, b"")
    missing = client.get("/todos/1")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/json"
    assert missing.json() == {"detail": "todo not found"}


def test_invalid_requests_get_every_problem_at_once(
    test_client_factory: TestClientFactory,
) -> None:
    client = test_client_factory(App(resources=[TODO_PACKAGE]))
    response = client.post("/todos", json={"title": 1, "done": "no"})
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [
        ["body", "title"],
        ["body", "done"],
    ]
    too_long = client.post("/todos", json={"title": "x" * 201})
    assert too_long.status_code == 422
    assert too_long.json()["detail"][0]["type"] == "value_error"
    assert client.get("/todos", params={"limit": "many"}).json()["detail"][0]["loc"] == [
        "query",
        "limit",
    ]


def test_module_objects_and_explicit_routes_combine(
    test_client_factory: TestClientFactory,
) -> None:
    async def home(request: Request) -> Response:
        return PlainTextResponse("home")

    from tests.resources_fixtures.todo import users

    app = App(routes=[Route("/", home)], resources=[users, todos])
    assert [getattr(route, "path", None) for route in app.routes] == [
        "/",
        "/todos",
        "/todos/{todo_id:int}",
        "/users",
        "/users/{name}",
        "/users/{name}/avatar",
    ]
    client = test_client_factory(app)
    assert client.get("/").text == "home"
    assert client.get("/users/ada").json() == {"name": "ada"}
    assert client.get("/users/ada/avatar").text == "avatar of ada"


def test_url_path_for_uses_class_names_or_their_name(
    test_client_factory: TestClientFactory,
) -> None:
    app = App(resources=[TODO_PACKAGE])
    assert app.url_path_for("TodoList") == "/todos"
    assert app.url_path_for("TodoItem", todo_id=3) == "/todos/3"
    assert app.url_path_for("user-detail", name="ada") == "/users/ada"
    assert app.url_path_for("Room", room="lobby") == "/ws/rooms/lobby"
    with pytest.raises(NoMatchFound):
        app.url_path_for("UserItem", name="ada")

    async def link(request: Request) -> Response:
        return PlainTextResponse(str(request.url_for("TodoItem", todo_id=7)))

    linked = App(routes=[Route("/link", link)], resources=[todos])
    assert test_client_factory(linked).get("/link").text == "http://testserver/todos/7"


def test_several_classes_share_a_path_with_different_methods(
    test_client_factory: TestClientFactory,
) -> None:
    client = test_client_factory(App(resources=[TODO_PACKAGE]))
    assert client.get("/rooms/lobby").json() == "lobby"
    assert client.put("/rooms/lobby", json={"text": "hi"}).json() == "lobby: hi"
    assert client.post("/rooms/lobby").status_code == 405


def test_typed_websocket_endpoints_are_wired(test_client_factory: TestClientFactory) -> None:
    app = App(resources=[TODO_PACKAGE])
    assert [plan.route_name for plan in app.websocket_plans] == ["Room"]
    with test_client_factory(app).websocket_connect("/ws/rooms/lobby") as websocket:
        websocket.send_json({"text": "hello"})
        assert websocket.receive_json() == {"room": "lobby", "text": "hello"}
        websocket.send_json({"text": 5})
        assert websocket.receive_json()["type"] == "error"


def test_start_up_errors() -> None:
    with pytest.raises(RouteConflictError, match="served twice"):
        App(resources=["tests.resources_fixtures.duplicate"])
    with pytest.raises(RouteConflictError, match="can never match"):
        App(resources=["tests.resources_fixtures.shadowed"])
    with pytest.raises(HandlerDefinitionError, match=r"Bad\.get"):
        App(resources=["tests.resources_fixtures.broken"])
    with pytest.raises(RouteConflictError, match=r"served twice, by .*openapi_endpoint"):
        App(resources=[todos], openapi_url="/todos")


# OpenAPI


def test_openapi_is_served_and_valid(test_client_factory: TestClientFactory) -> None:
    from tests.resources_fixtures.todo.extra import rooms

    app = App(resources=[todos, rooms], openapi_url="/openapi.json", title="Todo", version="2.0.0")
    document = app.openapi()
    assert app.openapi() is document
    validate(document)
    assert document["info"] == {"title": "Todo", "version": "2.0.0"}
    assert "/openapi.json" not in document["paths"]
    assert sorted(document["paths"]) == ["/rooms/{room}", "/todos", "/todos/{todo_id}"]
    item = document["paths"]["/todos/{todo_id}"]
    assert item["get"]["tags"] == ["todos"]
    assert item["get"]["responses"]["404"]["content"]["application/json"]
    assert item["delete"]["responses"]["204"] == {"description": "No Content"}
    ids = [
        operation["operationId"]
        for path_item in document["paths"].values()
        for operation in path_item.values()
    ]
    assert len(ids) == len(set(ids))
    served = test_client_factory(app).get("/openapi.json")
    assert served.status_code == 200
    assert served.headers["content-type"] == "application/json"
    assert served.json() == document


@attrs.frozen
class Shown:
    id: int


class MaybeRedirect(HTTPEndpoint):
    async def get(self, go: bool = False) -> Shown | RedirectResponse:
        return RedirectResponse("/elsewhere") if go else Shown(1)


def test_a_return_union_with_a_response_is_documented(
    test_client_factory: TestClientFactory,
) -> None:
    # Regression: the document failed to build, so /openapi.json answered 500.
    app = App(routes=[Route("/maybe", MaybeRedirect)], openapi_url="/openapi.json")
    client = test_client_factory(app)
    served = client.get("/openapi.json")
    assert served.status_code == 200
    success = served.json()["paths"]["/maybe"]["get"]["responses"]["200"]
    assert success["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Shown"
    }
    assert client.get("/maybe").json() == {"id": 1}
    assert client.get("/maybe?go=1", follow_redirects=False).status_code == 307


class Opaque:
    """A type the converter reads through a hook of the user's, which JSON Schema cannot say."""

    def __init__(self, value: object) -> None:
        self.value = value


default_converter.cattrs.register_structure_hook(Opaque, lambda value, _: Opaque(value))


class TakesOpaque(HTTPEndpoint):
    async def post(self, body: Opaque) -> None:
        return None


def test_a_document_that_cannot_be_built_is_a_start_up_error() -> None:
    with pytest.raises(TypeError, match=r"TakesOpaque\.post.*Opaque"):
        App(routes=[Route("/opaque", TakesOpaque)], openapi_url="/openapi.json")
    # Without a document to serve, nothing needs describing.
    App(routes=[Route("/opaque", TakesOpaque)])


def test_without_openapi_url_nothing_is_served(test_client_factory: TestClientFactory) -> None:
    app = App(resources=[todos])
    assert test_client_factory(app).get("/openapi.json").status_code == 404
    assert list(app.openapi()["paths"]) == ["/todos", "/todos/{todo_id}"]


class Counter(HTTPEndpoint):
    """Typed, but handed to a plain ``Route``."""

    async def get(self, start: int = 0) -> list[int]:
        return [start, start + 1]

    @status_code(201)
    async def post(self, body: list[int]) -> int:
        return sum(body)


class Legacy(HTTPEndpoint):
    """Starlette style: takes the request, returns a response."""

    async def get(self, request: Request) -> Response:
        if "fail" in request.query_params:
            raise HTTPException(418, "no coffee")
        return PlainTextResponse("legacy")


class Broken(HTTPEndpoint):
    async def get(self) -> None:
        return None


def test_typed_classes_in_explicit_routes_are_compiled(
    test_client_factory: TestClientFactory,
) -> None:
    app = App(
        routes=[
            Route("/counter", Counter),
            Mount("/v1", routes=[Route("/legacy", Legacy, name="legacy")]),
        ],
        openapi_url="/openapi.json",
    )
    assert [(plan.path, plan.method) for plan in app.operation_plans] == [
        ("/counter", "GET"),
        ("/counter", "POST"),
        ("/v1/legacy", "GET"),
    ]
    document = app.openapi()
    validate(document)
    assert sorted(document["paths"]) == ["/counter", "/v1/legacy"]
    client = test_client_factory(app)
    assert client.get("/counter", params={"start": "4"}).json() == [4, 5]
    assert client.get("/counter", params={"start": "x"}).status_code == 422
    assert client.post("/counter", json=[1, 2]).json() == 3
    assert client.get("/v1/legacy").text == "legacy"
    with pytest.raises(HandlerDefinitionError, match=r"Broken\.get.*'item_id'"):
        App(routes=[Route("/broken/{item_id}", Broken)])


def test_starlette_style_handlers_under_path_parameters_are_documented() -> None:
    app = App(
        routes=[Mount("/v1/{tenant}", routes=[Route("/legacy", Legacy)])],
        resources=["tests.resources_fixtures.todo"],
    )
    document = app.openapi()
    validate(document)
    operation = next(iter(document["paths"]["/v1/{tenant}/legacy"].values()))
    assert [(p["name"], p["in"], p["required"]) for p in operation["parameters"]] == [
        ("tenant", "path", True)
    ]


def test_routes_added_later_are_compiled_and_documented(
    test_client_factory: TestClientFactory,
) -> None:
    app = App()
    assert app.openapi()["paths"] == {}
    # NOTE: as in Starlette, add_route's annotation names function endpoints only.
    app.add_route("/counter", Counter)  # type: ignore[arg-type]
    assert list(app.openapi()["paths"]) == ["/counter"]
    app.mount("/more", Router([Route("/counter", Counter, name="more")]))
    assert list(app.openapi()["paths"]) == ["/counter", "/more/counter"]
    assert test_client_factory(app).get("/more/counter").json() == [0, 1]


def test_a_mounted_app_keeps_its_plans_under_the_prefix(
    test_client_factory: TestClientFactory,
) -> None:
    inner = App(resources=[todos])
    outer = App(routes=[Mount("/v2", app=inner)])
    assert [plan.path for plan in outer.operation_plans] == [
        "/v2/todos",
        "/v2/todos",
        "/v2/todos/{todo_id:int}",
        "/v2/todos/{todo_id:int}",
    ]
    validate(outer.openapi())
    client = test_client_factory(outer)
    assert client.post("/v2/todos", json={"title": "nested"}).status_code == 201


# HTTP errors


def test_http_errors_are_json_from_typed_handlers_only(
    test_client_factory: TestClientFactory,
) -> None:
    class Failing(HTTPEndpoint):
        async def get(self, code: int = 404) -> str:
            raise HTTPException(code, "typed failure", headers={"X-Why": "test"})

    async def function(request: Request) -> Response:
        raise HTTPException(409, "plain failure")

    app = App(
        routes=[
            Route("/typed", Failing),
            Route("/legacy", Legacy),
            Route("/function", function),
        ]
    )
    client = test_client_factory(app)
    typed = client.get("/typed")
    assert typed.status_code == 404
    assert typed.json() == {"detail": "typed failure"}
    assert typed.headers["x-why"] == "test"
    bodiless = client.get("/typed", params={"code": "304"})
    assert (bodiless.status_code, bodiless.content) == (304, b"")
    head = client.head("/typed")
    assert (head.status_code, head.headers["content-type"]) == (404, "application/json")
    legacy = client.get("/legacy", params={"fail": "1"})
    assert (legacy.status_code, legacy.text) == (418, "no coffee")
    assert legacy.headers["content-type"].startswith("text/plain")
    function_response = client.get("/function")
    assert (function_response.status_code, function_response.text) == (409, "plain failure")
    not_found = client.get("/nowhere")
    assert (not_found.status_code, not_found.text) == (404, "Not Found")


def test_an_http_exception_handler_still_wins(test_client_factory: TestClientFactory) -> None:
    async def teapot(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return PlainTextResponse(f"handled {exc.status_code}", status_code=exc.status_code)

    app = App(resources=[todos], exception_handlers={StarletteHTTPException: teapot})
    response = test_client_factory(app).get("/todos/9")
    assert (response.status_code, response.text) == (404, "handled 404")


# Typed lifespan state


def test_the_lifespan_state_is_injected_by_type(test_client_factory: TestClientFactory) -> None:
    app = App(resources=[stateful], lifespan=stateful.lifespan)
    assert app.lifespan_state_type is stateful.AppState
    with test_client_factory(app) as client:
        assert client.get("/todos").json() == [{"id": 1, "title": "write tests", "done": False}]


def test_a_mapping_state_still_fills_request_state(
    test_client_factory: TestClientFactory,
) -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[dict[str, int]]:
        yield {"answer": 42}

    async def read(request: Request) -> Response:
        typed = LIFESPAN_STATE in vars_of(request)
        return JSONResponse({"answer": request.state.answer, "typed": typed})

    app = App(routes=[Route("/", read)], lifespan=lifespan)
    assert app.lifespan_state_type is None
    with test_client_factory(app) as client:
        assert client.get("/").json() == {"answer": 42, "typed": False}


def vars_of(request: Request) -> Mapping[str, Any]:
    state: Mapping[str, Any] = request.scope["state"]
    return state


def test_any_other_object_is_kept_under_the_state_key(
    test_client_factory: TestClientFactory,
) -> None:
    marker = object()

    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[object]:
        yield marker

    async def read(request: Request) -> Response:
        return PlainTextResponse(str(vars_of(request)[LIFESPAN_STATE] is marker))

    app = App(routes=[Route("/", read)], lifespan=lifespan)
    with test_client_factory(app) as client:
        assert client.get("/").text == "True"


@attrs.define
class State:
    value: int


class StateDict(TypedDict):
    value: int


async def _generator(app: object) -> AsyncGenerator[State, None]:
    yield State(1)


def _factory(app: object) -> contextlib.AbstractAsyncContextManager[State]:
    return contextlib.asynccontextmanager(_generator)(app)


class _Context:
    def __init__(self, app: object) -> None:
        self.app = app

    async def __aenter__(self) -> State:
        return State(1)

    async def __aexit__(self, *args: object) -> None:
        return None


class _CallableLifespan:
    def __call__(self, app: object) -> contextlib.AbstractAsyncContextManager[State]:
        return _factory(app)


@contextlib.asynccontextmanager
async def _iterator(app: object) -> AsyncIterator[State]:
    yield State(1)


@contextlib.asynccontextmanager
async def _mapping(app: object) -> AsyncIterator[Mapping[str, int]]:
    yield {}


@contextlib.asynccontextmanager
async def _typed_dict(app: object) -> AsyncIterator[StateDict]:
    yield {"value": 1}


@contextlib.asynccontextmanager
async def _none(app: object) -> AsyncIterator[None]:
    yield


@contextlib.asynccontextmanager
async def _unannotated(app):  # type: ignore[no-untyped-def]
    yield State(1)


@contextlib.asynccontextmanager
async def _unresolvable(app: object) -> AsyncIterator[Missing]:  # type: ignore[name-defined]  # noqa: F821
    yield State(1)


@contextlib.asynccontextmanager
async def _any(app: object) -> AsyncIterator[Any]:
    yield State(1)


@pytest.mark.parametrize(
    ("lifespan", "expected"),
    [
        (_iterator, State),
        (_generator, State),
        (_factory, State),
        (_Context, State),
        (_CallableLifespan(), State),
        (_mapping, None),
        (_typed_dict, None),
        (_none, None),
        (_unannotated, None),
        (_unresolvable, None),
        (_any, None),
        (None, None),
    ],
)
def test_lifespan_state_type(lifespan: Any, expected: type | None) -> None:
    assert lifespan_state_type(lifespan) is expected


def test_typed_state_reaches_websocket_routes_too(test_client_factory: TestClientFactory) -> None:
    async def socket(websocket: Any) -> None:
        await websocket.accept()
        await websocket.send_text(type(websocket.scope["state"][LIFESPAN_STATE]).__name__)
        await websocket.close()

    app = App(routes=[WebSocketRoute("/ws", socket)], lifespan=_iterator)
    with test_client_factory(app) as client, client.websocket_connect("/ws") as websocket:
        assert websocket.receive_text() == "State"


# max_body_size


async def echo_length(request: Request) -> Response:
    return PlainTextResponse(str(len(await request.body())))


def test_max_body_size_refuses_larger_bodies(test_client_factory: TestClientFactory) -> None:
    app = App(routes=[Route("/", echo_length, methods=["POST"])], max_body_size=10)
    client = test_client_factory(app)
    assert client.post("/", content=b"x" * 10).text == "10"
    declared = client.post("/", content=b"x" * 11)
    assert (declared.status_code, declared.text) == (413, "Content Too Large")

    def chunks() -> Iterator[bytes]:
        yield b"x" * 6
        yield b"x" * 6

    streamed = client.post("/", content=chunks())
    assert (streamed.status_code, streamed.text) == (413, "Content Too Large")


def test_max_body_size_answers_through_the_exception_handlers(
    test_client_factory: TestClientFactory,
) -> None:
    async def too_large(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("custom", status_code=413)

    app = App(
        routes=[Route("/", echo_length, methods=["POST"])],
        exception_handlers={413: too_large},
        max_body_size=3,
    )
    response = test_client_factory(app).post("/", content=b"abcd")
    assert (response.status_code, response.text) == (413, "custom")


def test_max_body_size_on_a_typed_body_answers_json(
    test_client_factory: TestClientFactory,
) -> None:
    app = App(resources=[todos], max_body_size=16)
    client = test_client_factory(app)
    response = client.post("/todos", json={"title": "far too long for the limit"})
    assert response.status_code == 413
    assert response.json() == {"detail": "Content Too Large"}


def test_max_body_size_is_validated() -> None:
    assert App().max_body_size is None
    for wrong in (-1, True, "10", 1.5):
        with pytest.raises(ValueError, match="max_body_size"):
            App(max_body_size=wrong)  # type: ignore[arg-type]
