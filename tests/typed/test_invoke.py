"""Typed endpoints served through the app: parsing, validation, injection, encoding, WebSockets."""

# NOTE: no ``from __future__ import annotations``: handlers inside tests name local classes.

import contextlib
import datetime
import enum
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any, ClassVar

import annotated_types
import attrs
import pytest

from framework import endpoints
from framework._keys import LIFESPAN_STATE
from framework.applications import App
from framework.background import BackgroundTask, BackgroundTasks
from framework.datastructures import UploadFile
from framework.endpoints import BoundWebSocketEndpoint, HTTPEndpoint, WebSocketEndpoint
from framework.exceptions import HTTPException
from framework.middleware.bodylimit import DEFAULT_MAX_BODY_SIZE
from framework.requests import Request, cookie_parser
from framework.responses import JSONResponse, PlainTextResponse, Response
from framework.routing import Route, Router, WebSocketRoute
from framework.typed import signature
from framework.typed.errors import RequestValidationError
from framework.typed.params import Body, Cookie, File, Form, Header, Query, raises, status_code
from framework.typed.plan import HandlerDefinitionError, OperationPlan
from framework.typed.resources import bind_http_route
from framework.websockets import WebSocket
from testing.client import TestClient
from tests.todo_models import NewTodo, Todo

TestClientFactory = Callable[..., TestClient]


@attrs.frozen
class DetailedTodo(Todo):
    note: str = ""


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


def serve(
    factory: TestClientFactory, *routes: tuple[str, type[HTTPEndpoint]], **options: Any
) -> TestClient:
    """An app serving each endpoint class at its path (the app binds each route at start-up)."""
    app = App(routes=[Route(path, cls) for path, cls in routes], **options.pop("app", {}))
    return factory(app, **options)


def route(
    factory: TestClientFactory, *routes: tuple[str, type[HTTPEndpoint]], **options: Any
) -> TestClient:
    """A bare router (which binds nothing itself) serving each endpoint class at its path."""
    return factory(Router(routes=[Route(path, cls) for path, cls in routes], **options))


def errors(response: Any) -> list[tuple[list[Any], str]]:
    assert response.status_code == 422, response.text
    return [(error["loc"], error["type"]) for error in response.json()["detail"]]


# --- the API.md example


class TodoList(HTTPEndpoint):
    async def get(self, limit: int = 50, offset: int = 0) -> list[Todo]:
        return [Todo(i, f"todo {i}", False) for i in range(offset, offset + min(limit, 3))]

    @status_code(201)
    async def post(self, body: NewTodo) -> Todo:
        return Todo(1, body.title, body.done)


class TodoItem(HTTPEndpoint):
    @raises(404)
    async def get(self, todo_id: int, x_trace: Annotated[str | None, Header()] = None) -> Todo:
        if todo_id == 0:
            raise HTTPException(404, "todo not found")
        return Todo(todo_id, x_trace or "", False)

    async def delete(self, todo_id: int) -> None:
        pass


def test_the_todo_example(test_client_factory: TestClientFactory) -> None:
    client = serve(test_client_factory, ("/todos", TodoList), ("/todos/{todo_id:int}", TodoItem))
    response = client.get("/todos", params={"limit": "2", "offset": "5"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == [
        {"id": 5, "title": "todo 5", "done": False},
        {"id": 6, "title": "todo 6", "done": False},
    ]
    assert len(client.get("/todos").json()) == 3

    response = client.post("/todos", json={"title": "write tests"})
    assert response.status_code == 201
    assert response.json() == {"id": 1, "title": "write tests", "done": False}

    response = client.get("/todos/7", headers={"x-trace": "abc"})
    assert response.json() == {"id": 7, "title": "abc", "done": False}
    response = client.get("/todos/0")
    assert response.status_code == 404
    assert "todo not found" in response.text

    response = client.delete("/todos/7")
    assert response.status_code == 204
    assert response.content == b""
    assert "content-length" not in response.headers

    response = client.head("/todos/7")
    assert response.status_code == 200
    assert response.content == b""
    response = client.put("/todos/7")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, DELETE"


# --- validation


class Everywhere(HTTPEndpoint):
    async def post(
        self,
        body: NewTodo,
        item_id: int,
        limit: int,
        x_trace: Annotated[uuid.UUID, Header()],
        session: Annotated[int, Cookie()],
    ) -> dict[str, Any]:
        return {"title": body.title, "item_id": item_id, "limit": limit}


def test_every_problem_at_once(test_client_factory: TestClientFactory) -> None:
    client = serve(test_client_factory, ("/items/{item_id}", Everywhere))
    client.cookies.set("session", "abc")
    response = client.post(
        "/items/x1",
        params={"limit": "ten"},
        headers={"x-trace": "not-a-uuid"},
        json={"title": 1, "done": "yes"},
    )
    assert errors(response) == [
        (["body", "title"], "type_error"),
        (["body", "done"], "type_error"),
        (["path", "item_id"], "type_error"),
        (["query", "limit"], "type_error"),
        (["header", "x-trace"], "type_error"),
        (["cookie", "session"], "type_error"),
    ]
    assert response.json()["detail"][0] == {
        "loc": ["body", "title"],
        "msg": "expected a string",
        "type": "type_error",
    }
    assert response.json()["detail"][3]["msg"] == "expected an integer"

    client.cookies.set("session", "12")
    response = client.post(
        "/items/3",
        params={"limit": "10"},
        headers={"x-trace": str(uuid.uuid4())},
        json={"title": "ok"},
    )
    assert response.json() == {"title": "ok", "item_id": 3, "limit": 10}


def test_missing_values(test_client_factory: TestClientFactory) -> None:
    client = serve(test_client_factory, ("/items/{item_id}", Everywhere))
    response = client.post("/items/3")
    assert errors(response) == [
        (["body"], "missing"),
        (["query", "limit"], "missing"),
        (["header", "x-trace"], "missing"),
        (["cookie", "session"], "missing"),
    ]
    assert response.json()["detail"][1]["msg"] == "field required"


@pytest.mark.parametrize(
    ("payload", "location"),
    [
        ({"title": 1}, ["body", "title"]),
        ({"title": None}, ["body", "title"]),
        ({"title": "x", "done": 1}, ["body", "done"]),
        ({"title": "x", "done": "true"}, ["body", "done"]),
        ({}, ["body", "title"]),
        ([], ["body"]),
        ("title", ["body"]),
    ],
)
def test_json_bodies_are_strict(
    test_client_factory: TestClientFactory, payload: Any, location: list[Any]
) -> None:
    client = serve(test_client_factory, ("/todos", TodoList))
    assert [loc for loc, _ in errors(client.post("/todos", json=payload))] == [location]


def test_validator_failures_in_the_body(test_client_factory: TestClientFactory) -> None:
    client = serve(test_client_factory, ("/todos", TodoList))
    response = client.post("/todos", json={"title": "x" * 201})
    assert response.json()["detail"] == [
        {"loc": ["body", "title"], "msg": "must be at most 200 characters", "type": "value_error"}
    ]


@pytest.mark.parametrize(
    "content", [b"{", b"[1,]", b"\xff", b"{" * 100_000, b"[" * 100_000 + b"]" * 100_000]
)
def test_invalid_json(test_client_factory: TestClientFactory, content: bytes) -> None:
    client = serve(test_client_factory, ("/todos", TodoList))
    response = client.post("/todos", content=content)
    assert errors(response) == [(["body"], "json_invalid")]
    assert response.json()["detail"][0]["msg"].startswith("invalid JSON")


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/merge-patch+json",
        "application/vnd.api+json ; charset=UTF-8",
    ],
)
def test_json_bodies_accept_json_media_types(
    test_client_factory: TestClientFactory, content_type: str | None
) -> None:
    client = serve(test_client_factory, ("/todos", TodoList))
    headers = {} if content_type is None else {"content-type": content_type}
    response = client.post("/todos", content=b'{"title": "t"}', headers=headers)
    assert response.status_code == 201


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "text/json",
        "",
    ],
)
def test_json_bodies_refuse_other_media_types(
    test_client_factory: TestClientFactory, content_type: str
) -> None:
    # Regression: a text/plain body (which browsers send cross-origin without a preflight)
    # was parsed as JSON.
    client = serve(test_client_factory, ("/todos", TodoList))
    response = client.post(
        "/todos?x=1", content=b'{"title": "t"}', headers={"content-type": content_type}
    )
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"detail": "expected a JSON body (Content-Type: application/json)"}


class Echo(HTTPEndpoint):
    async def post(self, body: Any) -> Any:
        return body

    async def put(self, body: dict[str, Any]) -> dict[str, Any]:
        return body


def test_deep_json_bodies_are_refused_not_a_crash(test_client_factory: TestClientFactory) -> None:
    # Regression: 400 levels decoded, then failed in the converter with a RecursionError (500).
    client = serve(test_client_factory, ("/", Echo))
    for depth in (65, 400, 1000):
        nested = b"[" * depth + b"]" * depth
        for method, content in (("POST", nested), ("PUT", b'{"a":' + nested + b"}")):
            response = client.request(
                method, "/", content=content, headers={"content-type": "application/json"}
            )
            assert response.json() == {
                "detail": [
                    {
                        "loc": ["body"],
                        "msg": "JSON nested deeper than 64 levels",
                        "type": "json_invalid",
                    }
                ]
            }
    at_the_limit = b"[" * 64 + b"]" * 64
    echoed = client.post("/", content=at_the_limit, headers={"content-type": "application/json"})
    assert echoed.content == at_the_limit


class OptionalBody(HTTPEndpoint):
    async def post(self, todo: Annotated[NewTodo | None, Body()] = None) -> str:
        return "none" if todo is None else todo.title


def test_optional_body(test_client_factory: TestClientFactory) -> None:
    client = serve(test_client_factory, ("/", OptionalBody))
    assert client.post("/").json() == "none"
    assert client.post("/", json=None).json() == "none"
    assert client.post("/", json={"title": "t"}).json() == "t"


class Parsed(HTTPEndpoint):
    async def get(
        self,
        number: int,
        when: datetime.date,
        flag: bool,
        color: Color,
        ratio: float,
        token: Annotated[int, Header(alias="X-Token")],
        theme: Annotated[Color, Cookie()],
        page: Annotated[int, Query(alias="page-number")] = 1,
        name: str | None = None,
    ) -> dict[str, Any]:
        return {
            "number": number,
            "when": when,
            "flag": flag,
            "color": color,
            "ratio": ratio,
            "token": token,
            "theme": theme,
            "page": page,
            "name": name,
        }


def test_text_is_parsed_in_path_query_header_and_cookie(
    test_client_factory: TestClientFactory,
) -> None:
    client = serve(test_client_factory, ("/{number}/{when}", Parsed))
    client.cookies.set("theme", "blue")
    response = client.get(
        "/10/2024-02-29",
        params={"flag": "yes", "color": "red", "ratio": "0.5", "page-number": "3"},
        headers={"x-token": "-4"},
    )
    assert response.json() == {
        "number": 10,
        "when": "2024-02-29",
        "flag": True,
        "color": "red",
        "ratio": 0.5,
        "token": -4,
        "theme": "blue",
        "page": 3,
        "name": None,
    }
    response = client.get(
        "/1.5/2024-02-30",
        params={"flag": "maybe", "color": "green", "ratio": "nan", "page-number": "x"},
        headers={"x-token": "1"},
    )
    assert errors(response) == [
        (["path", "number"], "type_error"),
        (["path", "when"], "type_error"),
        (["query", "flag"], "type_error"),
        (["query", "color"], "enum"),
        (["query", "ratio"], "type_error"),
        (["query", "page-number"], "type_error"),
    ]


class Numbers(HTTPEndpoint):
    async def post(self, page: int, body: list[int]) -> int:
        return len(body)


def test_422_lists_stop_at_one_hundred_problems(test_client_factory: TestClientFactory) -> None:
    # Regression: every problem of a million bad items was listed (72 MB, 24 s).
    client = serve(test_client_factory, ("/", Numbers))
    response = client.post("/?page=x", json=["x"] * 100_000)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert len(detail) == 101
    assert detail[0]["loc"] == ["query", "page"]
    assert detail[1]["loc"] == ["body", 0]
    assert detail[99]["loc"] == ["body", 98]
    assert detail[100] == {
        "loc": ["body"],
        "msg": "too many errors; only the first 100 are listed",
        "type": "too_many_errors",
    }
    assert len(errors(client.post("/?page=1", json=["x"] * 100))) == 100


class Repeated(HTTPEndpoint):
    async def post(
        self,
        page: int,
        token: Annotated[str, Header(alias="x-token")],
        session: Annotated[str, Cookie()],
        name: Annotated[str, Form()],
    ) -> list[Any]:
        return [page, token, session, name]


def test_repeated_scalars_take_the_first_value_and_cookies_the_parsers(
    test_client_factory: TestClientFactory,
) -> None:
    # One rule: query, header and form scalars take the first of repeated values (no 422);
    # a cookie is the value the cookie parser keeps for its name.
    client = serve(test_client_factory, ("/", Repeated))
    response = client.post(
        "/?page=1&page=2",
        # NOTE: headers given as a list keep both x-token lines.
        headers=[
            ("x-token", "a"),
            ("x-token", "b"),
            ("cookie", "session=s1; session=s2"),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        content=b"name=first&name=second",
    )
    expected_cookie = cookie_parser("session=s1; session=s2")["session"]
    assert response.json() == [1, "a", expected_cookie, "first"]


class Lists(HTTPEndpoint):
    async def get(
        self,
        ids: list[int],
        tags: list[str] = [],  # noqa: B006
        codes: Annotated[list[str], Header(alias="x-code")] = [],  # noqa: B006
    ) -> dict[str, Any]:
        return {"ids": ids, "tags": tags, "codes": codes}


def test_list_parameters(test_client_factory: TestClientFactory) -> None:
    client = serve(test_client_factory, ("/", Lists))
    response = client.get("/?ids=1&ids=2&tags=a&ids=3&tags=b")
    assert response.json() == {"ids": [1, 2, 3], "tags": ["a", "b"], "codes": []}
    response = client.get("/?ids=1", headers=[("x-code", "a"), ("x-code", "b")])
    assert response.json()["codes"] == ["a", "b"]
    assert errors(client.get("/?ids=1&ids=two&ids=3&ids=four")) == [
        (["query", "ids", 1], "type_error"),
        (["query", "ids", 3], "type_error"),
    ]
    assert errors(client.get("/")) == [(["query", "ids"], "missing")]


class Limited(HTTPEndpoint):
    async def get(
        self,
        item: Annotated[int, annotated_types.Ge(1)],
        code: Annotated[str, annotated_types.MinLen(2)],
        limit: Annotated[int, annotated_types.Ge(1), annotated_types.Le(100)] = 10,
    ) -> list[int]:
        return [item, limit]


def test_constraints_on_text_and_converted_values(test_client_factory: TestClientFactory) -> None:
    client = serve(test_client_factory, ("/{item:int}/{code}", Limited))
    assert client.get("/5/ab?limit=100").json() == [5, 100]
    response = client.get("/0/a?limit=101")
    assert response.json()["detail"] == [
        {
            "loc": ["path", "item"],
            "msg": "must be greater than or equal to 1",
            "type": "value_error",
        },
        {"loc": ["path", "code"], "msg": "must be at least 2 characters", "type": "value_error"},
        {
            "loc": ["query", "limit"],
            "msg": "must be less than or equal to 100",
            "type": "value_error",
        },
    ]


def test_validation_errors_may_be_handled_by_the_app(
    test_client_factory: TestClientFactory,
) -> None:
    async def teapot(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse({"problems": len(exc.errors)}, status_code=418)

    client = serve(
        test_client_factory,
        ("/todos", TodoList),
        app={"exception_handlers": {RequestValidationError: teapot}},
    )
    response = client.get("/todos?limit=x&offset=y")
    assert (response.status_code, response.json()) == (418, {"problems": 2})


# --- forms


class Forms(HTTPEndpoint):
    async def post(
        self,
        title: Annotated[str, Form()],
        count: Annotated[int, Form(alias="n")] = 1,
        upload: Annotated[UploadFile | None, File()] = None,
        blobs: Annotated[list[bytes], File()] = [],  # noqa: B006
    ) -> dict[str, Any]:
        return {
            "title": title,
            "count": count,
            "upload": None if upload is None else [upload.filename, (await upload.read()).decode()],
            "blobs": [blob.decode() for blob in blobs],
        }


def test_urlencoded_form(test_client_factory: TestClientFactory) -> None:
    client = serve(test_client_factory, ("/", Forms))
    response = client.post("/", data={"title": "t", "n": "4"})
    assert response.json() == {"title": "t", "count": 4, "upload": None, "blobs": []}
    assert errors(client.post("/", data={"n": "four"})) == [
        (["form", "title"], "missing"),
        (["form", "n"], "type_error"),
    ]


def test_multipart_form_with_files(test_client_factory: TestClientFactory) -> None:
    client = serve(test_client_factory, ("/", Forms))
    response = client.post(
        "/",
        data={"title": "t"},
        files=[
            ("upload", ("a.txt", b"hello", "text/plain")),
            ("blobs", ("b1", b"one")),
            ("blobs", ("b2", b"two")),
        ],
    )
    assert response.json() == {
        "title": "t",
        "count": 1,
        "upload": ["a.txt", "hello"],
        "blobs": ["one", "two"],
    }
    response = client.post(
        "/", data={"upload": "not a file"}, files=[("title", ("t.txt", b"a file"))]
    )
    assert errors(response) == [
        (["form", "title"], "type_error"),
        (["file", "upload"], "type_error"),
    ]


# --- results


class Results(HTTPEndpoint):
    async def get(self, kind: str) -> Todo | None:
        if kind == "none":
            return None
        if kind == "subclass":
            return DetailedTodo(1, "t", False, "extra")
        if kind == "dict":
            return {"id": 2}  # type: ignore[return-value]
        if kind == "response":
            return PlainTextResponse("plain", status_code=203)  # type: ignore[return-value]
        if kind == "unencodable":
            return object()  # type: ignore[return-value]
        return Todo(3, "t", True)

    @status_code(202)
    def post(self) -> None:
        pass

    async def put(self) -> Any:
        return {"any": [1, "x"]}

    async def patch(self) -> Todo:
        return DetailedTodo(1, "t", False, "extra")


def test_return_values(test_client_factory: TestClientFactory) -> None:
    client = serve(test_client_factory, ("/", Results), raise_server_exceptions=False)
    assert client.get("/?kind=model").json() == {"id": 3, "title": "t", "done": True}
    response = client.get("/?kind=none")
    assert (response.status_code, response.content) == (204, b"")
    # A subclass is encoded as what it is when the declared type is a union...
    assert client.get("/?kind=subclass").json()["note"] == "extra"
    # ...and as the declared class otherwise.
    assert client.patch("/").json() == {"id": 1, "title": "t", "done": False}
    assert client.get("/?kind=dict").json() == {"id": 2}
    response = client.get("/?kind=response")
    assert (response.status_code, response.text) == (203, "plain")
    assert client.get("/?kind=unencodable").status_code == 500
    response = client.post("/")
    assert (response.status_code, response.content) == (202, b"")
    assert client.put("/").json() == {"any": [1, "x"]}


# --- injection


class Injected(HTTPEndpoint):
    ran: ClassVar[list[str]] = []

    async def get(self, request: Request, tasks: BackgroundTasks, name: str) -> dict[str, str]:
        tasks.add_task(self.ran.append, name)
        assert not self.ran
        return {"path": request.url.path}

    async def post(self, tasks: BackgroundTasks) -> Response:
        tasks.add_task(self.ran.append, "injected")
        return Response(background=BackgroundTask(self.ran.append, "own"))


def test_request_and_background_tasks(test_client_factory: TestClientFactory) -> None:
    client = serve(test_client_factory, ("/tasks", Injected))
    Injected.ran.clear()
    assert client.get("/tasks?name=first").json() == {"path": "/tasks"}
    assert Injected.ran == ["first"]
    Injected.ran.clear()
    assert client.post("/tasks").status_code == 200
    assert Injected.ran == ["own", "injected"]


@attrs.define
class AppState:
    greeting: str


class Greeter(HTTPEndpoint):
    async def get(self, state: AppState, name: str = "you") -> str:
        return f"{state.greeting}, {name}"


@contextlib.asynccontextmanager
async def state_lifespan(app: object) -> AsyncIterator[dict[str, Any]]:
    # NOTE: where the app keeps the object its typed lifespan yields, for every request.
    yield {LIFESPAN_STATE: AppState(greeting="Hello")}


@pytest.mark.parametrize("bound", [True, False])
def test_lifespan_state_injection(test_client_factory: TestClientFactory, bound: bool) -> None:
    class Fresh(Greeter):
        pass

    served = Route("/", Fresh)
    if bound:
        bind_http_route(served, "/", state_type=AppState)
    router = Router(routes=[served], lifespan=state_lifespan)
    with test_client_factory(router) as client:
        assert client.get("/?name=Ada").json() == "Hello, Ada"
        assert client.get("/?state=x").json() == "Hello, you"


def test_missing_lifespan_state_is_a_server_error(test_client_factory: TestClientFactory) -> None:
    class Fresh(Greeter):
        pass

    served = Route("/", Fresh)
    bind_http_route(served, "/", state_type=AppState)
    client = test_client_factory(Router(routes=[served]))
    with pytest.raises(RuntimeError, match=r"Fresh\.get takes the lifespan state"):
        client.get("/")


# --- sync handlers and Starlette-style endpoints


class Threads(HTTPEndpoint):
    def get(self, limit: int) -> dict[str, Any]:
        return {"limit": limit, "thread": threading.current_thread().name}


def test_sync_handlers_run_in_the_thread_pool(test_client_factory: TestClientFactory) -> None:
    client = serve(test_client_factory, ("/", Threads))
    response = client.get("/?limit=3").json()
    assert response["limit"] == 3
    assert response["thread"] != threading.main_thread().name


class StarletteStyle(HTTPEndpoint):
    async def get(self, request):  # type: ignore[no-untyped-def]
        return PlainTextResponse(f"get {request.path_params['user']}")

    def post(self, req: Request) -> Response:
        return PlainTextResponse(f"post {req.path_params['user']}")

    async def put(self, request: Request) -> JSONResponse:
        return JSONResponse(await request.json())

    async def patch(self, request, extra=None):  # type: ignore[no-untyped-def]
        return PlainTextResponse(f"patch {extra}")


@pytest.mark.parametrize("bound", [True, False])
def test_starlette_style_endpoints_are_unchanged(
    test_client_factory: TestClientFactory, bound: bool
) -> None:
    class Plain(StarletteStyle):
        pass

    routes = [Route("/users/{user}", Plain)]
    client = test_client_factory(App(routes=routes) if bound else Router(routes=routes))
    assert client.get("/users/ada").text == "get ada"
    assert client.post("/users/bob").text == "post bob"
    assert client.put("/users/x", json=[1, {"a": None}]).json() == [1, {"a": None}]
    assert client.patch("/users/x?extra=1").text == "patch None"
    assert client.delete("/users/x").status_code == 405


def test_starlette_style_handlers_returning_non_responses_fail_as_in_starlette(
    test_client_factory: TestClientFactory,
) -> None:
    class Broken(HTTPEndpoint):
        async def get(self, request):  # type: ignore[no-untyped-def]
            return {"not": "a response"}

    client = route(test_client_factory, ("/", Broken))
    with pytest.raises(TypeError):
        client.get("/")


# --- endpoints never bound


class Lazy(HTTPEndpoint):
    async def get(self, item: int, limit: int = 2) -> list[int]:
        return [item] * limit


def test_unbound_typed_endpoints_are_planned_on_first_request(
    test_client_factory: TestClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    planned: list[tuple[str, str, str]] = []

    def counting(cls: type, method_name: str, path: str, **options: Any) -> OperationPlan:
        planned.append((cls.__name__, method_name, path))
        return signature.plan_operation(cls, method_name, path, **options)

    monkeypatch.setattr(endpoints, "plan_operation", counting)

    class Fresh(Lazy):
        pass

    attributes = dict(vars(Fresh))
    client = route(test_client_factory, ("/items/{item:int}", Fresh))
    assert planned == []
    assert client.get("/items/4?limit=3").json() == [4, 4, 4]
    assert planned == [("Fresh", "get", "/{item:int}")]
    assert client.head("/items/4").status_code == 200
    assert client.get("/items/4?limit=x").status_code == 422
    assert client.get("/items/5").json() == [5, 5]
    assert planned == [("Fresh", "get", "/{item:int}")]
    assert dict(vars(Fresh)) == attributes


def test_unbound_endpoints_take_text_path_parameters(
    test_client_factory: TestClientFactory,
) -> None:
    class Fresh(Lazy):
        pass

    client = route(test_client_factory, ("/items/{item}", Fresh))
    assert client.get("/items/5").json() == [5, 5]
    assert errors(client.get("/items/five")) == [(["path", "item"], "type_error")]


def test_unbound_endpoints_report_definition_errors(
    test_client_factory: TestClientFactory,
) -> None:
    class Broken(HTTPEndpoint):
        async def get(self, limit) -> None:  # type: ignore[no-untyped-def]
            pass

        async def post(self, request: Request) -> Response:
            return PlainTextResponse("fine")

    client = route(test_client_factory, ("/", Broken))
    with pytest.raises(HandlerDefinitionError, match="parameter 'limit'"):
        client.get("/")
    assert client.post("/").text == "fine"


# --- WebSockets


@attrs.frozen
class ChatMessage:
    text: str = attrs.field(validator=attrs.validators.min_len(1))
    room: str = "lobby"


class Room(WebSocketEndpoint):
    encoding = "json"
    events: ClassVar[list[str]] = []

    async def on_connect(self, websocket: WebSocket) -> None:
        self.events.append("connect")
        await websocket.accept()

    async def on_receive(self, websocket: WebSocket, data: ChatMessage) -> None:
        assert isinstance(data, ChatMessage)
        await self.send_model(websocket, Todo(len(data.text), data.text, False))

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        self.events.append(f"disconnect {close_code}")


@pytest.mark.parametrize("bound", [True, False])
def test_typed_websocket_messages(test_client_factory: TestClientFactory, bound: bool) -> None:
    class Chat(Room):
        events: ClassVar[list[str]] = []

    attributes = dict(vars(Chat))
    routes = [WebSocketRoute("/ws/{room}", Chat)]
    app = App(routes=routes) if bound else Router(routes=routes)
    if bound:
        bound_app = routes[0].app
        assert isinstance(bound_app, BoundWebSocketEndpoint)
        assert bound_app.binding.plan.message_type is ChatMessage
    client = test_client_factory(app)
    with client.websocket_connect("/ws/general") as websocket:
        websocket.send_json({"text": "hi"})
        assert websocket.receive_json() == {"id": 2, "title": "hi", "done": False}
        websocket.send_json({"text": 1, "room": None})
        assert websocket.receive_json() == {
            "type": "error",
            "detail": [
                {"loc": ["data", "text"], "msg": "expected a string", "type": "type_error"},
                {"loc": ["data", "room"], "msg": "expected a string", "type": "type_error"},
            ],
        }
        websocket.send_json({"text": ""})
        assert websocket.receive_json()["detail"][0]["type"] == "value_error"
        websocket.send_text("{not json")
        error = websocket.receive_json()
        assert error["type"] == "error"
        assert error["detail"][0]["loc"] == ["data"]
        assert error["detail"][0]["type"] == "json_invalid"
        websocket.send_bytes(b"\xff")
        assert websocket.receive_json()["detail"][0]["type"] == "json_invalid"
        websocket.send_bytes(b'{"text": "binary"}')
        assert websocket.receive_json()["title"] == "binary"
        # Regression: messages were decoded without the depth limit typed bodies have.
        websocket.send_text("[" * 100 + "]" * 100)
        error = websocket.receive_json()
        assert error["detail"][0]["loc"] == ["data"]
        assert error["detail"][0]["msg"] == "JSON nested deeper than 64 levels"
    assert Chat.events == ["connect", "disconnect 1000"]
    assert dict(vars(Chat)) == attributes


def test_untyped_json_websockets_keep_starlette_behaviour(
    test_client_factory: TestClientFactory,
) -> None:
    class Echo(WebSocketEndpoint):
        encoding = "json"

        async def on_receive(self, websocket: WebSocket, data: Any) -> None:
            await websocket.send_json(data)

    client = test_client_factory(App(routes=[WebSocketRoute("/", Echo)]))
    with client.websocket_connect("/") as websocket:
        websocket.send_json([1, "x"])
        assert websocket.receive_json() == [1, "x"]
    with (  # noqa: PT012
        pytest.raises(RuntimeError, match="Malformed JSON"),
        client.websocket_connect("/") as websocket,
    ):
        websocket.send_text("{")
        websocket.receive_json()


def test_a_custom_decode_is_respected(test_client_factory: TestClientFactory) -> None:
    class Prefixed(WebSocketEndpoint):
        encoding = "json"

        async def decode(self, websocket: WebSocket, message: Any) -> Any:
            return {"text": message["text"].removeprefix("say ")}

        async def on_receive(self, websocket: WebSocket, data: ChatMessage) -> None:
            await self.send_model(websocket, data, ChatMessage)

    client = test_client_factory(Router(routes=[WebSocketRoute("/", Prefixed)]))
    with client.websocket_connect("/") as websocket:
        websocket.send_text("say hello")
        assert websocket.receive_json() == {"text": "hello", "room": "lobby"}
        websocket.send_text("say ")
        assert websocket.receive_json()["type"] == "error"


# --- edges of serving


class Uploads(HTTPEndpoint):
    seen: ClassVar[list[UploadFile]] = []

    async def post(self, upload: Annotated[UploadFile, File()], fail: bool = False) -> None:
        self.seen.append(upload)
        if fail:
            raise HTTPException(409)


def test_uploads_are_closed_after_the_response_or_an_error(
    test_client_factory: TestClientFactory,
) -> None:
    client = serve(test_client_factory, ("/", Uploads))
    Uploads.seen.clear()
    assert client.post("/", files={"upload": ("a", b"x")}).status_code == 204
    assert client.post("/?fail=1", files={"upload": ("a", b"x")}).status_code == 409
    assert client.post("/?fail=maybe", files={"upload": ("a", b"x")}).status_code == 422
    assert len(Uploads.seen) == 2
    assert all(upload.file.closed for upload in Uploads.seen)


class Dynamic(HTTPEndpoint):
    @status_code(205)
    async def get(self, limit: int) -> Any:
        return {"ignored": limit}


def test_a_bodiless_status_sends_no_body(test_client_factory: TestClientFactory) -> None:
    client = serve(test_client_factory, ("/", Dynamic))
    response = client.get("/?limit=1")
    assert (response.status_code, response.content) == (205, b"")


@pytest.mark.anyio
async def test_path_parameters_missing_from_the_scope_are_reported() -> None:
    class Item(HTTPEndpoint):
        async def get(self, item: int) -> int:
            return item

    served = Route("/{item:int}", Item)
    bind_http_route(served, "/{item:int}")
    sent: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"", "headers": []}
    await served.app(scope, receive, send)
    assert sent[0]["status"] == 422
    assert b'"loc":["path","item"]' in sent[1]["body"]


def test_starlette_style_handlers_may_annotate_the_request_loosely(
    test_client_factory: TestClientFactory,
) -> None:
    # Regression: ``request: Any`` under a templated path was taken for a typed handler whose
    # path parameter was missing from the signature, failing at start-up.
    from framework.requests import HTTPConnection

    class Loose(HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            return PlainTextResponse(f"get {request.path_params['user']}")

        async def post(self, request: object) -> Response:
            assert isinstance(request, Request)
            return PlainTextResponse(f"post {request.path_params['user']}")

        async def put(self, request: HTTPConnection) -> Response:
            return PlainTextResponse(f"put {request.path_params['user']}")

    client = test_client_factory(App(routes=[Route("/users/{user}", Loose)]))
    assert client.get("/users/ada").text == "get ada"
    assert client.post("/users/bob").text == "post bob"
    assert client.put("/users/cy").text == "put cy"


JSON = {"content-type": "application/json"}


class Notes(HTTPEndpoint):
    async def post(self, body: list[str]) -> int:
        return len(body)


def big_notes(size: int) -> bytes:
    return b'["' + b"x" * size + b'"]'


def chunked(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), 65536):
        yield data[start : start + 65536]


@pytest.mark.parametrize("stream", [False, True])
def test_typed_bodies_have_a_default_size_limit(
    test_client_factory: TestClientFactory, stream: bool
) -> None:
    client = test_client_factory(App(routes=[Route("/notes", Notes)]))
    small = client.post("/notes", content=big_notes(1000), headers=JSON)
    assert (small.status_code, small.json()) == (200, 1)
    data = big_notes(DEFAULT_MAX_BODY_SIZE)
    content = chunked(data) if stream else data
    refused = client.post("/notes", content=content, headers=JSON)
    assert (refused.status_code, refused.json()) == (413, {"detail": "Content Too Large"})


def test_a_configured_limit_replaces_the_typed_default(
    test_client_factory: TestClientFactory,
) -> None:
    app = App(routes=[Route("/notes", Notes)], max_body_size=4 * DEFAULT_MAX_BODY_SIZE)
    response = test_client_factory(app).post(
        "/notes", content=big_notes(DEFAULT_MAX_BODY_SIZE), headers=JSON
    )
    assert (response.status_code, response.json()) == (200, 1)


# --- one class, several routes


class Item(HTTPEndpoint):
    async def get(self, item_id: int) -> int:
        return item_id


def test_one_class_at_two_routes_of_one_app(test_client_factory: TestClientFactory) -> None:
    # Regression: the plan lived on the class, so the last route's won: /a/{item_id:int}
    # then read the int its convertor made as text, and answered 422.
    app = App(routes=[Route("/a/{item_id:int}", Item), Route("/b/{item_id}", Item)])
    client = test_client_factory(app)
    response = client.get("/a/5")
    assert (response.status_code, response.json()) == (200, 5)
    response = client.get("/b/7")
    assert (response.status_code, response.json()) == (200, 7)
    assert errors(client.get("/b/x")) == [(["path", "item_id"], "type_error")]
    assert client.get("/a/x").status_code == 404
    assert [(plan.path, plan.method) for plan in app.operation_plans] == [
        ("/a/{item_id:int}", "GET"),
        ("/b/{item_id}", "GET"),
    ]


def test_one_class_in_two_apps(test_client_factory: TestClientFactory) -> None:
    attributes = dict(vars(Item))
    items = test_client_factory(App(routes=[Route("/items/{item_id:int}", Item)]))
    things = test_client_factory(App(routes=[Route("/things/{item_id}", Item)]))
    assert dict(vars(Item)) == attributes
    response = items.get("/items/5")
    assert (response.status_code, response.json()) == (200, 5)
    assert items.get("/items/x").status_code == 404
    response = things.get("/things/7")
    assert (response.status_code, response.json()) == (200, 7)
    assert errors(things.get("/things/x")) == [(["path", "item_id"], "type_error")]
    response = items.get("/items/6")
    assert (response.status_code, response.json()) == (200, 6)
    assert dict(vars(Item)) == attributes


@attrs.frozen
class Ping:
    n: int


NO_STATE = AppState(greeting="no state")


class Pinger(WebSocketEndpoint):
    encoding = "json"

    async def on_receive(
        self, websocket: WebSocket, data: Ping, state: AppState = NO_STATE
    ) -> None:
        room = websocket.path_params["room"]
        await websocket.send_json({"n": data.n, "room": room, "greeting": state.greeting})


@contextlib.asynccontextmanager
async def typed_state_lifespan(app: object) -> AsyncIterator[AppState]:
    yield AppState(greeting="Hello")


def test_one_websocket_class_at_two_routes_of_one_app(
    test_client_factory: TestClientFactory,
) -> None:
    app = App(routes=[WebSocketRoute("/n/{room:int}", Pinger), WebSocketRoute("/s/{room}", Pinger)])
    client = test_client_factory(app)
    with client.websocket_connect("/n/5") as websocket:
        websocket.send_json({"n": 1})
        assert websocket.receive_json() == {"n": 1, "room": 5, "greeting": "no state"}
        websocket.send_json({"n": "x"})
        assert websocket.receive_json()["detail"][0]["loc"] == ["data", "n"]
    with client.websocket_connect("/s/5") as websocket:
        websocket.send_json({"n": 2})
        assert websocket.receive_json() == {"n": 2, "room": "5", "greeting": "no state"}
    assert [[p.annotation for p in plan.parameters] for plan in app.websocket_plans] == [
        [int],
        [str],
    ]


def test_one_websocket_class_in_two_apps(test_client_factory: TestClientFactory) -> None:
    attributes = dict(vars(Pinger))
    with_state = App(
        routes=[WebSocketRoute("/ws/{room:int}", Pinger)], lifespan=typed_state_lifespan
    )
    without = App(routes=[WebSocketRoute("/ws/{room}", Pinger)])
    assert dict(vars(Pinger)) == attributes
    assert [plan.state_parameters for plan in with_state.websocket_plans] == [
        {"on_receive": "state"}
    ]
    assert [plan.state_parameters for plan in without.websocket_plans] == [{}]
    with (
        test_client_factory(with_state) as stateful,
        stateful.websocket_connect("/ws/1") as websocket,
    ):
        websocket.send_json({"n": 1})
        assert websocket.receive_json() == {"n": 1, "room": 1, "greeting": "Hello"}
    with test_client_factory(without).websocket_connect("/ws/1") as websocket:
        websocket.send_json({"n": 2})
        assert websocket.receive_json() == {"n": 2, "room": "1", "greeting": "no state"}
        websocket.send_json({"n": "x"})
        assert websocket.receive_json()["type"] == "error"
    assert dict(vars(Pinger)) == attributes
