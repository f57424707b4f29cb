"""API.md §1 to §3, sentence by sentence: every example as written, every stated rule.

The resource-module examples live in ``tests/contract_fixtures`` so that they are wired the
three ways §3 shows: by package name, by module objects, and together with plain routes.
"""

import contextlib
import importlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import attrs
import pytest
from annotated_types import Ge, Le
from openapi_spec_validator import validate

from framework import (
    App,
    BackgroundTasks,
    Body,
    Cookie,
    File,
    Form,
    Header,
    HTTPEndpoint,
    HTTPException,
    Request,
    Resource,
    Response,
    WebSocket,
    WebSocketEndpoint,
    raises,
    status_code,
)
from framework.datastructures import UploadFile
from framework.responses import PlainTextResponse
from framework.routing import Route, WebSocketRoute
from framework.typed.plan import HandlerDefinitionError
from framework.typed.resources import RouteConflictError
from tests.conftest import TestClientFactory
from tests.contract_fixtures import local_definitions, rooms
from tests.contract_fixtures.conflicts import duplicate_a, duplicate_b, shadowed, split_methods
from tests.contract_fixtures.stateful import state as stateful
from tests.contract_fixtures.todo.resources import todos, users
from tests.todo_models import NewTodo

TODO_PACKAGE = "tests.contract_fixtures.todo.resources"


# --- §1: the toolkit --------------------------------------------------------------------------


async def home(request: Request) -> Response:
    return PlainTextResponse("Hello, world!")


def test_home_example(test_client_factory: TestClientFactory) -> None:
    app = App(routes=[Route("/", home)])
    response = test_client_factory(app).get("/")
    assert response.status_code == 200
    assert response.text == "Hello, world!"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


MODULE_TABLE: list[tuple[str, tuple[str, ...]]] = [
    ("framework.applications", ("App",)),
    (
        "framework.routing",
        (
            "Route",
            "WebSocketRoute",
            "Mount",
            "Host",
            "Router",
            "NoMatchFound",
            "request_response",
            "websocket_session",
        ),
    ),
    ("framework.requests", ("HTTPConnection", "Request", "ClientDisconnect")),
    (
        "framework.responses",
        (
            "Response",
            "PlainTextResponse",
            "HTMLResponse",
            "JSONResponse",
            "RedirectResponse",
            "StreamingResponse",
            "FileResponse",
            "EventSourceResponse",
        ),
    ),
    (
        "framework.websockets",
        ("WebSocket", "WebSocketDisconnect", "WebSocketState", "WebSocketClose"),
    ),
    ("framework.endpoints", ("HTTPEndpoint", "WebSocketEndpoint")),
    ("framework.middleware", ("Middleware",)),
    ("framework.middleware.cors", ("CORSMiddleware",)),
    ("framework.middleware.gzip", ("GZipMiddleware",)),
    ("framework.middleware.httpsredirect", ("HTTPSRedirectMiddleware",)),
    ("framework.middleware.trustedhost", ("TrustedHostMiddleware",)),
    ("framework.middleware.sessions", ("SessionMiddleware",)),
    ("framework.middleware.authentication", ("AuthenticationMiddleware",)),
    ("framework.middleware.base", ("BaseHTTPMiddleware",)),
    ("framework.middleware.errors", ("ServerErrorMiddleware",)),
    ("framework.middleware.exceptions", ("ExceptionMiddleware",)),
    ("framework.background", ("BackgroundTask", "BackgroundTasks")),
    ("framework.staticfiles", ("StaticFiles",)),
    (
        "framework.datastructures",
        (
            "URL",
            "Headers",
            "MutableHeaders",
            "QueryParams",
            "FormData",
            "UploadFile",
            "State",
            "Address",
            "Secret",
            "CommaSeparatedStrings",
        ),
    ),
    ("framework.exceptions", ("HTTPException", "WebSocketException")),
    ("framework.status", ("HTTP_200_OK", "HTTP_404_NOT_FOUND", "WS_1000_NORMAL_CLOSURE")),
    ("framework.convertors", ("Convertor", "register_url_convertor")),
    ("framework.formparsers", ("FormParser", "MultiPartParser")),
    ("framework.authentication", ("requires", "AuthCredentials", "SimpleUser")),
    ("framework.config", ("Config", "Environ")),
    ("framework.templating", ("Jinja2Templates",)),
    ("framework.concurrency", ("run_in_threadpool", "iterate_in_threadpool")),
    ("framework.types", ("Scope", "Receive", "Send", "ASGIApp")),
    ("testing.client", ("TestClient", "AsyncTestClient")),
    (
        "framework",
        (
            "HTTPEndpoint",
            "HTTPException",
            "Resource",
            "Header",
            "Cookie",
            "Body",
            "Form",
            "File",
            "status_code",
            "raises",
            "WebSocket",
            "WebSocketEndpoint",
            "App",
        ),
    ),
]


@pytest.mark.parametrize(("module_name", "names"), MODULE_TABLE, ids=[m for m, _ in MODULE_TABLE])
def test_module_table(module_name: str, names: tuple[str, ...]) -> None:
    module = importlib.import_module(module_name)
    missing = [name for name in names if not hasattr(module, name)]
    assert missing == []


def test_both_packages_ship_py_typed() -> None:
    for name in ("framework", "testing"):
        module = importlib.import_module(name)
        assert module.__file__ is not None
        folder = module.__file__.rsplit("/", 1)[0]
        with open(f"{folder}/py.typed"):
            pass


# --- §2: the todo example ----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_store() -> None:
    todos.STORE.clear()
    todos.SEEN_TRACES.clear()
    rooms.DISCONNECTS.clear()


def test_todo_example_serves_as_documented(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(App(resources=[TODO_PACKAGE]))
    assert client.get("/todos").json() == []

    created = client.post("/todos", json={"title": "milk"})
    assert created.status_code == 201
    assert created.json() == {"id": 1, "title": "milk", "done": False}
    client.post("/todos", json={"title": "eggs", "done": True})

    listed = client.get("/todos")
    assert listed.status_code == 200
    assert listed.headers["content-type"] == "application/json"
    assert listed.json() == [
        {"id": 1, "title": "milk", "done": False},
        {"id": 2, "title": "eggs", "done": True},
    ]
    assert client.get("/todos", params={"limit": "1", "offset": "1"}).json() == [
        {"id": 2, "title": "eggs", "done": True}
    ]

    item = client.get("/todos/1", headers={"X-Trace": "abc"})
    assert item.status_code == 200
    assert item.json() == {"id": 1, "title": "milk", "done": False}
    assert client.get("/todos/2").status_code == 200
    assert todos.SEEN_TRACES == ["abc", None]

    missing = client.get("/todos/99")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "todo not found"}

    deleted = client.delete("/todos/1")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert client.get("/todos/1").status_code == 404


def test_todo_example_attrs_validator_is_enforced(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(App(resources=[TODO_PACKAGE]))
    response = client.post("/todos", json={"title": "x" * 201})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "title"]
    assert error["type"] == "value_error"
    assert client.post("/todos", json={"title": "x" * 200}).status_code == 201
    assert todos.STORE[1].title == "x" * 200


def test_todo_example_int_path_convertor_refuses_text(
    test_client_factory: TestClientFactory,
) -> None:
    client = test_client_factory(App(resources=[TODO_PACKAGE]))
    assert client.get("/todos/abc").status_code == 404


def test_lifespan_state_example(test_client_factory: TestClientFactory) -> None:
    stateful.Database.opened.clear()
    stateful.Database.closed.clear()
    app = App(resources=["tests.contract_fixtures.stateful.resources"], lifespan=stateful.lifespan)
    with test_client_factory(app) as client:
        assert stateful.Database.opened == ["todo.sqlite3"]
        response = client.get("/todos")
        assert response.status_code == 200
        assert response.json() == [{"id": 1, "title": "from todo.sqlite3", "done": False}]
    assert stateful.Database.closed == ["todo.sqlite3"]


def test_lifespan_state_plan_marks_the_parameter_injected() -> None:
    app = App(resources=["tests.contract_fixtures.stateful.resources"], lifespan=stateful.lifespan)
    [plan] = app.operation_plans
    [parameter] = plan.parameters
    assert parameter.name == "state"
    assert parameter.injector == "state"
    assert "state" not in json.dumps(app.openapi()["paths"]["/todos"]["get"].get("parameters", []))


# --- §2: parameter rules -----------------------------------------------------------------------


@attrs.frozen
class Item:
    name: str
    price: float = 0.0


class PathParams(HTTPEndpoint):
    async def get(self, item_id: int, slug: str) -> list[Any]:
        return [item_id, slug]


def test_path_parameter_converted_to_its_annotation(
    test_client_factory: TestClientFactory,
) -> None:
    client = test_client_factory(App(routes=[Route("/items/{item_id}/{slug}", PathParams)]))
    assert client.get("/items/10/ten").json() == [10, "ten"]
    response = client.get("/items/ten/ten")
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["path", "item_id"]]


class Bodies(HTTPEndpoint):
    async def post(self, body: Item) -> Item:
        return body

    async def put(self, payload: Annotated[Item, Body()]) -> Item:
        return payload


def test_body_parameter_and_body_marker(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(App(routes=[Route("/items", Bodies)]))
    sent = {"name": "pen", "price": 1.5}
    assert client.post("/items", json=sent).json() == sent
    assert client.put("/items", json=sent).json() == sent
    missing = client.put("/items", json={"price": 1.5})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "name"]
    assert missing.json()["detail"][0]["type"] == "missing"


class Forms(HTTPEndpoint):
    async def post(
        self,
        title: Annotated[str, Form()],
        count: Annotated[int, Form()],
        upload: Annotated[UploadFile, File()],
    ) -> dict[str, Any]:
        content = await upload.read()
        return {"title": title, "count": count, "file": upload.filename, "size": len(content)}

    async def put(self, title: Annotated[str, Form()], raw: Annotated[bytes, File()]) -> list[Any]:
        return [title, raw.decode()]


def test_form_and_file_parameters(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(App(routes=[Route("/upload", Forms)]))
    response = client.post(
        "/upload", data={"title": "report", "count": "3"}, files={"upload": ("a.txt", b"hello")}
    )
    assert response.status_code == 200
    assert response.json() == {"title": "report", "count": 3, "file": "a.txt", "size": 5}
    response = client.put("/upload", data={"title": "t"}, files={"raw": ("r.bin", b"bytes")})
    assert response.json() == ["t", "bytes"]
    bad = client.post(
        "/upload", data={"title": "report", "count": "x"}, files={"upload": ("a.txt", b"")}
    )
    assert bad.status_code == 422


class HeadersAndCookies(HTTPEndpoint):
    async def get(
        self,
        x_trace: Annotated[str | None, Header()] = None,
        x_count: Annotated[int, Header()] = 0,
        session: Annotated[str | None, Cookie()] = None,
        visits: Annotated[int, Cookie()] = 0,
    ) -> list[Any]:
        return [x_trace, x_count, session, visits]


def test_header_and_cookie_parameters(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(App(routes=[Route("/hc", HeadersAndCookies)]))
    assert client.get("/hc").json() == [None, 0, None, 0]
    client.cookies.set("session", "s1")
    client.cookies.set("visits", "10")
    response = client.get("/hc", headers={"x-trace": "t1", "X-Count": "10"})
    assert response.json() == ["t1", 10, "s1", 10]
    # The Python name is not the header's name.
    assert client.get("/hc", headers={"x_trace": "t2"}).json()[0] is None


def test_header_wire_name_in_plan_and_openapi() -> None:
    app = App(routes=[Route("/hc", HeadersAndCookies)])
    [plan] = app.operation_plans
    wire = {p.name: (p.location.value, p.wire_name) for p in plan.parameters}
    assert wire["x_trace"] == ("header", "x-trace")
    assert wire["session"] == ("cookie", "session")
    documented = {(p["in"], p["name"]) for p in app.openapi()["paths"]["/hc"]["get"]["parameters"]}
    assert ("header", "x-trace") in documented
    assert ("cookie", "session") in documented


BACKGROUND_RAN: list[str] = []


class Injected(HTTPEndpoint):
    async def get(self, request: Request, tasks: BackgroundTasks, who: str = "x") -> str:
        tasks.add_task(BACKGROUND_RAN.append, who)
        return request.url.path


class SocketInjected(WebSocketEndpoint):
    async def on_connect(self, websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(websocket.url.path)


def test_request_and_background_tasks_are_injected(
    test_client_factory: TestClientFactory,
) -> None:
    BACKGROUND_RAN.clear()
    client = test_client_factory(App(routes=[Route("/inj", Injected)]))
    response = client.get("/inj", params={"who": "me"})
    assert response.json() == "/inj"
    assert BACKGROUND_RAN == ["me"]
    app = App(routes=[Route("/inj", Injected)])
    names = [p["name"] for p in app.openapi()["paths"]["/inj"]["get"]["parameters"]]
    assert names == ["who"]


def test_websocket_is_injected(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(App(routes=[WebSocketRoute("/ws", SocketInjected)]))
    with client.websocket_connect("/ws") as session:
        assert session.receive_text() == "/ws"


class Queries(HTTPEndpoint):
    async def get(
        self,
        limit: int,
        ratio: float = 1.0,
        flag: bool = False,
        ids: list[int] | None = None,
        q: str | None = None,
    ) -> dict[str, Any]:
        return {"limit": limit, "ratio": ratio, "flag": flag, "ids": ids, "q": q}


def test_other_parameters_are_query_parameters(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(App(routes=[Route("/q", Queries)]))
    assert client.get("/q", params={"limit": "10"}).json() == {
        "limit": 10,
        "ratio": 1.0,
        "flag": False,
        "ids": None,
        "q": None,
    }
    response = client.get("/q?limit=1&ratio=0.5&flag=true&ids=1&ids=2&ids=3&q=hi")
    assert response.json() == {"limit": 1, "ratio": 0.5, "flag": True, "ids": [1, 2, 3], "q": "hi"}
    missing = client.get("/q")
    assert missing.status_code == 422
    assert missing.json()["detail"] == [
        {"loc": ["query", "limit"], "msg": missing.json()["detail"][0]["msg"], "type": "missing"}
    ]
    bad_item = client.get("/q?limit=1&ids=1&ids=x")
    assert bad_item.status_code == 422
    assert bad_item.json()["detail"][0]["loc"][:2] == ["query", "ids"]


class Constrained(HTTPEndpoint):
    async def get(self, limit: Annotated[int, Ge(1), Le(100)] = 50) -> int:
        return limit


@pytest.mark.parametrize(("value", "status"), [("1", 200), ("100", 200), ("0", 422), ("101", 422)])
def test_annotated_types_constraints(
    test_client_factory: TestClientFactory, value: str, status: int
) -> None:
    client = test_client_factory(App(routes=[Route("/c", Constrained)]))
    response = client.get("/c", params={"limit": value})
    assert response.status_code == status
    if status == 422:
        [error] = response.json()["detail"]
        assert error["loc"] == ["query", "limit"]
        assert error["type"] == "value_error"
    else:
        assert response.json() == int(value)


def test_constraints_are_documented() -> None:
    app = App(routes=[Route("/c", Constrained)])
    [parameter] = app.openapi()["paths"]["/c"]["get"]["parameters"]
    assert parameter["schema"]["minimum"] == 1
    assert parameter["schema"]["maximum"] == 100
    schemas = App(resources=[todos]).openapi()["components"]["schemas"]
    assert schemas["NewTodo"]["properties"]["title"]["maxLength"] == 200


class Unknown:
    """Not a type the typed layer can read from a request."""


class UnknownAnnotation(HTTPEndpoint):
    async def get(self, thing: Unknown) -> str:
        return "never"


class MissingPathParameter(HTTPEndpoint):
    async def get(self) -> str:
        return "never"


class TwoBodies(HTTPEndpoint):
    async def post(self, body: Item, other: Annotated[Item, Body()]) -> str:
        return "never"


@pytest.mark.parametrize(
    ("endpoint", "path", "method", "parameter"),
    [
        (UnknownAnnotation, "/u", "get", "thing"),
        (MissingPathParameter, "/m/{item_id}", "get", "item_id"),
        (TwoBodies, "/b", "post", "other"),
    ],
)
def test_unservable_signature_is_a_startup_error(
    endpoint: type[HTTPEndpoint], path: str, method: str, parameter: str
) -> None:
    with pytest.raises(HandlerDefinitionError) as info:
        App(routes=[Route(path, endpoint)])
    message = str(info.value)
    assert f"{endpoint.__qualname__}.{method}" in message
    assert endpoint.__module__ in message
    assert parameter in message


# --- §2: strict validation ---------------------------------------------------------------------


@attrs.frozen
class Strict:
    text: str = "t"
    number: int = 0


class StrictBody(HTTPEndpoint):
    async def post(self, body: Strict) -> Strict:
        return body


@pytest.mark.parametrize(
    ("sent", "field"),
    [
        ({"text": 1}, "text"),
        ({"number": True}, "number"),
        ({"number": 1.5}, "number"),
        ({"text": None}, "text"),
        ({"number": "10"}, "number"),
        ({"text": False}, "text"),
        ({"number": None}, "number"),
    ],
)
def test_json_bodies_are_not_coerced(
    test_client_factory: TestClientFactory, sent: dict[str, Any], field: str
) -> None:
    client = test_client_factory(App(routes=[Route("/s", StrictBody)]))
    response = client.post("/s", json=sent)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", field]
    assert error["type"] == "type_error"


def test_json_bodies_of_the_right_types_pass(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(App(routes=[Route("/s", StrictBody)]))
    assert client.post("/s", json={"text": "1", "number": 10}).json() == {
        "text": "1",
        "number": 10,
    }


class TextInts(HTTPEndpoint):
    async def get(
        self,
        in_path: int,
        in_query: int,
        in_header: Annotated[int, Header()],
        in_cookie: Annotated[int, Cookie()],
    ) -> list[int]:
        return [in_path, in_query, in_header, in_cookie]


def test_text_locations_parse_ints(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(App(routes=[Route("/t/{in_path}", TextInts)]))
    client.cookies.set("in_cookie", "10")
    response = client.get("/t/10", params={"in_query": "10"}, headers={"in-header": "10"})
    assert response.json() == [10, 10, 10, 10]


def test_text_locations_report_every_problem(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(App(routes=[Route("/t/{in_path}", TextInts)]))
    client.cookies.set("in_cookie", "x")
    response = client.get("/t/x", params={"in_query": "1.5"}, headers={"in-header": "true"})
    assert response.status_code == 422
    locs = [error["loc"] for error in response.json()["detail"]]
    assert sorted(locs) == sorted(
        [
            ["path", "in_path"],
            ["query", "in_query"],
            ["header", "in-header"],
            ["cookie", "in_cookie"],
        ]
    )
    assert {error["type"] for error in response.json()["detail"]} == {"type_error"}


class BodyAndQuery(HTTPEndpoint):
    async def post(self, body: NewTodo, limit: int = 50) -> NewTodo:
        return body


def test_422_has_the_documented_shape_with_every_problem(
    test_client_factory: TestClientFactory,
) -> None:
    client = test_client_factory(App(routes=[Route("/todos", BodyAndQuery)]))
    response = client.post("/todos", params={"limit": "ten"}, json={"title": 1})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "detail": [
            {"loc": ["body", "title"], "msg": "expected a string", "type": "type_error"},
            {"loc": ["query", "limit"], "msg": "expected an integer", "type": "type_error"},
        ]
    }


class QueryThenBody(HTTPEndpoint):
    async def post(self, limit: int, body: NewTodo) -> NewTodo:
        return body


def test_422_lists_problems_in_signature_order(test_client_factory: TestClientFactory) -> None:
    # API.md's example lists the body first because its handler takes the body first (a
    # defaulted ``limit`` must follow it); problems follow the signature.
    client = test_client_factory(App(routes=[Route("/todos", QueryThenBody)]))
    response = client.post("/todos", params={"limit": "ten"}, json={"title": 1})
    assert [error["loc"] for error in response.json()["detail"]] == [
        ["query", "limit"],
        ["body", "title"],
    ]


@attrs.frozen
class Many:
    a: str
    b: int
    c: list[int]


class ManyProblems(HTTPEndpoint):
    async def post(self, body: Many) -> Many:
        return body


def test_every_body_problem_is_reported_down_to_the_index(
    test_client_factory: TestClientFactory,
) -> None:
    client = test_client_factory(App(routes=[Route("/m", ManyProblems)]))
    response = client.post("/m", json={"a": 1, "c": [1, "two", 3, None]})
    assert response.status_code == 422
    locs = [error["loc"] for error in response.json()["detail"]]
    assert sorted(map(str, locs)) == sorted(
        map(str, [["body", "a"], ["body", "b"], ["body", "c", 1], ["body", "c", 3]])
    )


def test_invalid_and_missing_json_bodies_are_422(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(App(routes=[Route("/m", ManyProblems)]))
    broken = client.post("/m", content=b"{not json", headers={"content-type": "application/json"})
    assert broken.status_code == 422
    assert broken.json()["detail"][0]["loc"] == ["body"]
    assert broken.json()["detail"][0]["type"] == "json_invalid"
    missing = client.post("/m")
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body"]
    assert missing.json()["detail"][0]["type"] == "missing"


# --- §2: return values -------------------------------------------------------------------------


class Returns(HTTPEndpoint):
    async def get(self, kind: str) -> Any:
        values: dict[str, Any] = {
            "model": Item("pen", 1.5),
            "list": [Item("a"), Item("b")],
            "dict": {"x": Item("x")},
            "int": 3,
            "str": "text",
            "bool": True,
            "float": 2.5,
            "null": None,
        }
        return values[kind]


class ReturnsTyped(HTTPEndpoint):
    async def get(self) -> list[Item]:
        return [Item("a", 1.0)]

    @status_code(202)
    async def post(self) -> int:
        return 7

    @status_code(201)
    async def put(self) -> dict[str, Item]:
        return {"k": Item("k")}

    async def delete(self) -> None:
        return None

    async def patch(self) -> Response:
        return PlainTextResponse("as is", status_code=418, headers={"x-kept": "yes"})


def sync_handler_result() -> str:
    return "sync"


class SyncHandler(HTTPEndpoint):
    def get(self) -> str:
        return sync_handler_result()


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("model", {"name": "pen", "price": 1.5}),
        ("list", [{"name": "a", "price": 0.0}, {"name": "b", "price": 0.0}]),
        ("dict", {"x": {"name": "x", "price": 0.0}}),
        ("int", 3),
        ("str", "text"),
        ("bool", True),
        ("float", 2.5),
    ],
)
def test_return_values_are_encoded_as_json(
    test_client_factory: TestClientFactory, kind: str, expected: Any
) -> None:
    client = test_client_factory(App(routes=[Route("/r", Returns)]))
    response = client.get("/r", params={"kind": kind})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == expected


def test_return_rules_by_annotation(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(App(routes=[Route("/r", ReturnsTyped), Route("/s", SyncHandler)]))
    assert client.get("/r").json() == [{"name": "a", "price": 1.0}]
    posted = client.post("/r")
    assert (posted.status_code, posted.json()) == (202, 7)
    put = client.put("/r")
    assert (put.status_code, put.json()) == (201, {"k": {"name": "k", "price": 0.0}})
    deleted = client.delete("/r")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert "content-type" not in deleted.headers
    patched = client.patch("/r")
    assert (patched.status_code, patched.text, patched.headers["x-kept"]) == (418, "as is", "yes")
    assert client.get("/s").json() == "sync"


# --- §2: typed WebSocket endpoints -------------------------------------------------------------


def test_typed_websocket_example(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(App(resources=[rooms]))
    with client.websocket_connect("/ws/rooms/lobby") as session:
        session.send_json({"user": "ada", "text": "hi"})
        assert session.receive_json() == {"room": "lobby", "user": "ada", "text": "hi"}

        # Messages that do not fit never reach on_receive (it asserts the type): the client
        # is told why, and the connection keeps working.
        for wrong in ({"user": 1, "text": "hi"}, {"user": "ada"}, {"user": "a", "text": "x" * 101}):
            session.send_json(wrong)
            error = session.receive_json()
            assert error["type"] == "error"
            assert error["detail"]
            assert all({"loc", "msg", "type"} <= set(item) for item in error["detail"])
        session.send_text("{not json")
        assert session.receive_json()["type"] == "error"

        session.send_json({"user": "bob", "text": "still here"})
        assert session.receive_json() == {"room": "lobby", "user": "bob", "text": "still here"}
    assert rooms.DISCONNECTS == [1000]

    # The server keeps running: a new connection is served.
    with client.websocket_connect("/ws/rooms/other") as session:
        session.send_json({"user": "c", "text": "again"})
        assert session.receive_json()["room"] == "other"


def test_typed_websocket_plan_reads_the_data_annotation() -> None:
    app = App(resources=[rooms])
    [plan] = app.websocket_plans
    assert plan.message_type is rooms.ChatMessage
    assert plan.encoding == "json"
    assert plan.path == "/ws/rooms/{room}"


# --- §3: auto-wiring ---------------------------------------------------------------------------


def _names(app: App) -> list[str]:
    return [getattr(route, "name", None) or "" for route in app.routes]


def test_package_modules_and_combined_forms_wire_the_same_routes(
    test_client_factory: TestClientFactory,
) -> None:
    by_package = App(resources=[TODO_PACKAGE])
    by_modules = App(resources=[todos, users])
    combined = App(routes=[Route("/", home)], resources=[todos, users])
    expected = ["TodoList", "TodoItem", "UserList", "current_user"]
    assert _names(by_package) == expected
    assert _names(by_modules) == expected
    assert _names(combined) == ["home", *expected]
    client = test_client_factory(combined)
    assert client.get("/").text == "Hello, world!"
    assert client.get("/users").json() == [{"name": "ada"}]
    assert client.get("/users/me").json() == {"name": "me"}
    assert client.post("/todos", json={"title": "t"}).status_code == 201


def test_only_classes_defined_in_the_module_with_a_path_are_wired() -> None:
    app = App(resources=[users])
    assert _names(app) == ["UserList", "current_user"]
    endpoints = [getattr(route, "endpoint", None) for route in app.routes]
    assert todos.TodoList not in endpoints
    assert users.UserBase not in endpoints


def test_order_is_deterministic() -> None:
    forward = App(resources=[todos, users])
    backward = App(resources=[users, todos])
    named = App(resources=[TODO_PACKAGE + ".users", TODO_PACKAGE + ".todos"])
    paths = [getattr(route, "path", None) for route in forward.routes]
    assert paths == ["/todos", "/todos/{todo_id:int}", "/users", "/users/me"]
    assert _names(backward) == _names(forward) == _names(named)


def test_same_method_on_same_path_twice_names_both_classes() -> None:
    with pytest.raises(RouteConflictError) as info:
        App(resources=[duplicate_a, duplicate_b])
    message = str(info.value)
    assert "ThingsA" in message
    assert "ThingsB" in message


def test_shadowed_route_names_both_classes() -> None:
    with pytest.raises(RouteConflictError) as info:
        App(resources=[shadowed])
    message = str(info.value)
    assert "ItemByName" in message
    assert "ItemById" in message


def test_explicit_route_shadowing_a_wired_one_is_an_error() -> None:
    with pytest.raises(RouteConflictError) as info:
        App(routes=[Route("/things", home)], resources=[duplicate_a])
    assert "ThingsA" in str(info.value)
    assert "home" in str(info.value)


def test_several_classes_may_serve_one_path(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(App(resources=[split_methods]))
    assert client.get("/thing").json() == "read"
    posted = client.post("/thing")
    assert (posted.status_code, posted.json()) == (201, "written")
    refused = client.put("/thing")
    assert refused.status_code == 405
    # Regression: the 405 listed only the first class's methods.
    assert refused.headers["allow"] == "GET, HEAD, POST"


def test_raises_tags_and_operation_ids_in_openapi() -> None:
    app = App(resources=[TODO_PACKAGE])
    document = app.openapi()
    paths = document["paths"]
    item_get = paths["/todos/{todo_id}"]["get"]
    assert "404" in item_get["responses"]
    assert "200" in item_get["responses"]
    assert "422" in item_get["responses"]
    assert "404" not in paths["/todos/{todo_id}"]["delete"]["responses"]
    assert "204" in paths["/todos/{todo_id}"]["delete"]["responses"]
    assert "201" in paths["/todos"]["post"]["responses"]
    assert [p["name"] for p in item_get["parameters"]] == ["todo_id", "x-trace"]
    operations = [op for item in paths.values() for op in item.values()]
    for operation in paths["/todos"].values():
        assert operation["tags"] == ["todos"]
    assert paths["/users"]["get"]["tags"] == ["users"]
    ids = [operation["operationId"] for operation in operations]
    assert len(ids) == len(set(ids)) == 6


def test_operation_ids_unique_across_same_named_methods() -> None:
    app = App(resources=[split_methods, todos])
    ids = [op["operationId"] for item in app.openapi()["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


def test_raises_is_in_the_plan() -> None:
    app = App(resources=[todos])
    plans = {(plan.route_name, plan.method): plan for plan in app.operation_plans}
    assert plans["TodoItem", "GET"].raises == (404,)
    assert plans["TodoList", "POST"].status_code == 201
    assert plans["TodoItem", "DELETE"].status_code == 204
    assert plans["TodoList", "GET"].tags == ("todos",)


def test_route_names_and_url_path_for() -> None:
    app = App(resources=[todos, users])
    assert app.url_path_for("TodoItem", todo_id=3) == "/todos/3"
    assert app.url_path_for("TodoList") == "/todos"
    assert app.url_path_for("current_user") == "/users/me"
    assert app.router.url_path_for("UserList") == "/users"


def test_url_for_from_a_request(test_client_factory: TestClientFactory) -> None:
    class Linker(HTTPEndpoint):
        async def get(self, request: Request) -> str:
            return str(request.url_for("TodoItem", todo_id=5))

    app = App(routes=[Route("/link", Linker)], resources=[todos])
    assert test_client_factory(app).get("/link").json() == "http://testserver/todos/5"


def test_openapi_document_is_valid_3_1() -> None:
    app = App(resources=[TODO_PACKAGE, rooms], routes=[Route("/", home)])
    document = app.openapi()
    assert document["openapi"].startswith("3.1")
    validate(document)
    json.dumps(document)


def test_openapi_url_serves_the_document(test_client_factory: TestClientFactory) -> None:
    app = App(resources=[TODO_PACKAGE], openapi_url="/openapi.json")
    response = test_client_factory(app).get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == app.openapi()
    assert "/openapi.json" not in response.json()["paths"]


def test_no_openapi_route_unless_asked(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(App(resources=[TODO_PACKAGE]))
    assert client.get("/openapi.json").status_code == 404


# --- mixed: the typed lifespan with a mapping, and HTTPException in a typed handler -------------


@attrs.define
class Counter:
    value: int = 0


@contextlib.asynccontextmanager
async def counting_lifespan(app: App) -> AsyncIterator[Counter]:
    yield Counter()


class Count(HTTPEndpoint):
    async def post(self, counter: Counter) -> int:
        counter.value += 1
        return counter.value


def test_state_is_shared_across_requests(test_client_factory: TestClientFactory) -> None:
    app = App(routes=[Route("/count", Count)], lifespan=counting_lifespan)
    with test_client_factory(app) as client:
        assert client.post("/count").json() == 1
        assert client.post("/count").json() == 2


class Raising(HTTPEndpoint):
    @raises(404, 409)
    async def get(self, code: int) -> str:
        raise HTTPException(code, "nope")


def test_http_exception_from_a_typed_handler(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(App(routes=[Route("/x", Raising)]))
    response = client.get("/x", params={"code": "409"})
    assert response.status_code == 409
    assert response.json() == {"detail": "nope"}


def test_resource_with_no_prefix_or_tags() -> None:
    resource = Resource()
    assert resource.prefix == ""
    assert resource.tags == ()


class UnresolvableBody(HTTPEndpoint):
    async def post(self, body: "NotDefinedAnywhere") -> str:  # type: ignore[name-defined]  # noqa: F821
        return "never"


class UnresolvableReturn(HTTPEndpoint):
    async def post(self, body: Item) -> "NotDefinedAnywhere":  # type: ignore[name-defined]  # noqa: F821
        return body


def test_unresolvable_annotation_is_a_startup_error_not_a_starlette_handler() -> None:
    # Regression: an annotation that cannot be resolved made the handler look like an
    # unannotated Starlette-style ``(self, request)`` one, and every request then failed.
    with pytest.raises(HandlerDefinitionError) as info:
        App(routes=[Route("/u", UnresolvableBody)])
    message = str(info.value)
    assert "UnresolvableBody.post" in message
    assert "'body'" in message
    assert "NotDefinedAnywhere" in message

    with pytest.raises(HandlerDefinitionError) as info:
        App(routes=[Route("/u", UnresolvableReturn)])
    message = str(info.value)
    assert "UnresolvableReturn.post: its return annotation cannot be resolved" in message
    assert "NotDefinedAnywhere" in message


# --- apps defined inside functions, with postponed annotations --------------------------------


def test_local_models_with_postponed_annotations(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(local_definitions.body_app())
    assert client.post("/items", json={"name": "pen"}).json() == {"name": "pen", "price": 0.0}
    assert client.post("/items", json={"name": 1}).status_code == 422


def test_local_lifespan_state_with_postponed_annotations(
    test_client_factory: TestClientFactory,
) -> None:
    with test_client_factory(local_definitions.state_app()) as client:
        assert client.get("/greet").json() == "hello"
    lifespan, greet = local_definitions.state_parts()
    app = App(routes=[Route("/greet", greet)], lifespan=lifespan)
    with test_client_factory(app) as client:
        assert client.get("/greet").json() == "from the closure"


def test_local_websocket_message_with_postponed_annotations(
    test_client_factory: TestClientFactory,
) -> None:
    client = test_client_factory(local_definitions.websocket_app())
    with client.websocket_connect("/ws") as session:
        session.send_json({"text": 1})
        assert session.receive_json()["type"] == "error"
        session.send_json({"text": "hi"})
        assert session.receive_json() == {"echo": "hi"}


# --- §4 The fuzz harness


def test_the_fuzz_harness_example_runs_as_written() -> None:
    from testing.fuzz import fuzz

    app = App(resources=[TODO_PACKAGE])
    report = fuzz(app, max_examples=100, seed=1)
    assert report.ok, report  # str(report): every failure with its reproduction
    for failure in report.failures:
        failure.check  # noqa: B018
        failure.operation  # noqa: B018
        failure.reproduction  # noqa: B018
    assert {summary.operation for summary in report.summaries} >= {
        "GET /todos",
        "POST /todos",
        "GET /todos/{todo_id}",
    }
