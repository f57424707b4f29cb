"""Signature planning: the parameter rules, the plans they give, and start-up errors."""

# NOTE: no ``from __future__ import annotations`` here: handlers are defined inside the tests,
# and their annotations name local classes, which only evaluated annotations can reach.

import decimal
import enum
import uuid
from typing import Annotated, Any, Literal, NewType

import annotated_types
import attrs
import pytest

from framework.applications import App
from framework.background import BackgroundTasks
from framework.convertors import CONVERTOR_TYPES, Convertor
from framework.datastructures import UploadFile
from framework.endpoints import HTTPEndpoint, WebSocketEndpoint
from framework.requests import Request
from framework.responses import JSONResponse, PlainTextResponse, Response
from framework.routing import Route
from framework.typed.constraints import Constraints
from framework.typed.errors import RequestValidationError
from framework.typed.invoke import build_message_reader
from framework.typed.params import (
    Body,
    Cookie,
    File,
    Form,
    Header,
    Path,
    Query,
    raises,
    status_code,
)
from framework.typed.plan import REQUIRED, HandlerDefinitionError, Location, OperationPlan
from framework.typed.resources import bind_http_route
from framework.typed.signature import plan_operation, plan_websocket, template_for
from framework.websockets import WebSocket
from testing.client import TestClient
from tests.todo_models import NewTodo, Todo


@attrs.define
class AppState:
    name: str


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class NotAModel:
    pass


def plan_of(
    cls: type, method: str = "get", path: str = "/", state_type: Any = None
) -> OperationPlan:
    return plan_operation(cls, method, path, route_name=cls.__name__, state_type=state_type)


def by_name(plan: OperationPlan) -> dict[str, Any]:
    return {p.name: p for p in plan.parameters}


def assert_definition_error(
    cls: type, parameter: str | None, *fragments: str, method: str = "get", path: str = "/"
) -> None:
    with pytest.raises(HandlerDefinitionError) as info:
        plan_of(cls, method, path)
    message = str(info.value)
    assert message.startswith(f"{__name__}.{cls.__qualname__}.{method}"), message
    if parameter is not None:
        assert f"parameter {parameter!r}" in message, message
    for fragment in fragments:
        assert fragment in message, message


# --- the parameter rules


def test_the_todo_example_plans() -> None:
    class TodoList(HTTPEndpoint):
        async def get(self, limit: int = 50, offset: int = 0) -> list[Todo]:
            """List the todos.

            Paged with ``limit``
            and ``offset``.
            """
            return []

        @status_code(201)
        async def post(self, body: NewTodo) -> Todo:
            return Todo(1, body.title, body.done)

    class TodoItem(HTTPEndpoint):
        @raises(404)
        async def get(self, todo_id: int, x_trace: Annotated[str | None, Header()] = None) -> Todo:
            return Todo(todo_id, "", False)

        def delete(self, todo_id: int) -> None:
            pass

    listing = plan_of(TodoList, "get", "/todos")
    assert listing.method == "GET"
    assert listing.handler_name == "get"
    assert listing.path == "/todos"
    assert listing.status_code == 200
    assert listing.return_type == list[Todo]
    assert listing.operation_id == "todo_list_get"
    assert listing.summary == "List the todos."
    assert listing.description == "Paged with ``limit``\nand ``offset``."
    assert listing.is_async
    limit, offset = listing.parameters
    assert (limit.name, limit.location, limit.wire_name, limit.annotation, limit.default) == (
        "limit",
        Location.QUERY,
        "limit",
        int,
        50,
    )
    assert not limit.required
    assert offset.default == 0

    creating = plan_of(TodoList, "post", "/todos")
    assert creating.status_code == 201
    assert creating.body is not None
    assert creating.body.annotation is NewTodo
    assert creating.body.required
    assert creating.summary is None

    item = plan_of(TodoItem, "get", "/todos/{todo_id:int}")
    assert item.raises == (404,)
    todo_id, x_trace = item.parameters
    assert (todo_id.location, todo_id.annotation, todo_id.default) == (Location.PATH, int, REQUIRED)
    assert (x_trace.location, x_trace.wire_name, x_trace.default) == (
        Location.HEADER,
        "x-trace",
        None,
    )
    assert x_trace.annotation == str | None

    deleting = plan_of(TodoItem, "delete", "/todos/{todo_id:int}")
    assert deleting.return_type is None
    assert deleting.status_code == 204
    assert not deleting.is_async


def test_every_location() -> None:
    class Everything(HTTPEndpoint):
        async def post(
            self,
            item_id: uuid.UUID,
            request: Request,
            tasks: BackgroundTasks,
            state: AppState,
            page: Annotated[int, Query(alias="page-number", description="Which page")],
            session: Annotated[str, Cookie()],
            trace_id: Annotated[str, Header(alias="X-Request-ID")],
            user_agent: Annotated[str, Header()],
            body: NewTodo,
            colors: list[Color] = [],  # noqa: B006
        ) -> Todo:
            raise NotImplementedError

    plan = plan_of(Everything, "post", "/items/{item_id:uuid}", state_type=AppState)
    found = by_name(plan)
    assert found["item_id"].location is Location.PATH
    assert found["item_id"].annotation is uuid.UUID
    assert (found["request"].location, found["request"].injector) == (Location.INJECTED, "request")
    assert found["tasks"].injector == "background"
    assert found["state"].injector == "state"
    assert (found["page"].location, found["page"].wire_name) == (Location.QUERY, "page-number")
    assert found["page"].description == "Which page"
    assert (found["session"].location, found["session"].wire_name) == (Location.COOKIE, "session")
    assert found["trace_id"].wire_name == "x-request-id"
    assert found["user_agent"].wire_name == "user-agent"
    assert found["body"].location is Location.BODY
    assert (found["colors"].location, found["colors"].annotation) == (Location.QUERY, list[Color])
    assert [p.name for p in plan.parameters] == list(found)


def test_marked_body_and_forms() -> None:
    class Marked(HTTPEndpoint):
        async def put(self, todo: Annotated[NewTodo, Body(description="The todo")]) -> None:
            pass

        async def post(
            self,
            title: Annotated[str, Form()],
            count: Annotated[int, Form(alias="n")],
            upload: Annotated[UploadFile, File()],
            blobs: Annotated[list[bytes], File()],
            note: Annotated[UploadFile | None, File()] = None,
        ) -> None:
            pass

    todo = plan_of(Marked, "put").body
    assert todo is not None
    assert (todo.name, todo.description) == ("todo", "The todo")
    found = by_name(plan_of(Marked, "post"))
    assert found["title"].location is Location.FORM
    assert found["count"].wire_name == "n"
    assert found["upload"].location is Location.FILE
    assert found["blobs"].annotation == list[bytes]
    assert found["note"].default is None


def test_constraints_from_annotated_types() -> None:
    class Limited(HTTPEndpoint):
        async def get(
            self,
            item: Annotated[int, annotated_types.Ge(1)],
            limit: Annotated[int, annotated_types.Ge(1), annotated_types.Le(100)] = 10,
            name: Annotated[str, annotated_types.MaxLen(5), Header()] = "",
        ) -> None:
            pass

    found = by_name(plan_of(Limited, "get", "/{item:int}"))
    assert found["item"].constraints == Constraints(ge=1)
    assert found["limit"].constraints == Constraints(ge=1, le=100)
    assert found["limit"].annotation is int
    assert found["name"].constraints == Constraints(max_length=5)
    assert found["name"].location is Location.HEADER


def test_path_parameter_text_parsing_and_alias() -> None:
    class Paths(HTTPEndpoint):
        async def get(
            self,
            slug: str,
            number: int,
            price: decimal.Decimal,
            ident: Annotated[int, Path(alias="id")],
            rest: str,
        ) -> None:
            pass

    found = by_name(plan_of(Paths, "get", "/{slug}/{number}/{price}/{id:int}/{rest:path}"))
    assert all(p.location is Location.PATH for p in found.values())
    assert found["ident"].wire_name == "id"


def test_optional_annotated_is_hoisted() -> None:
    class Hoisted(HTTPEndpoint):
        async def get(self, trace: Annotated[str, Header()] | None = None) -> None:
            pass

    (trace,) = plan_of(Hoisted).parameters
    assert trace.location is Location.HEADER
    assert trace.annotation == str | None


def test_starlette_style_handlers_plan_to_a_plain_plan() -> None:
    class Plain(HTTPEndpoint):
        async def get(self, request):  # type: ignore[no-untyped-def]
            return PlainTextResponse("hi")

        def post(self, req: Request) -> Response:
            return PlainTextResponse("hi")

        async def put(self, request: Request) -> JSONResponse:
            return JSONResponse({})

        async def patch(self, request, extra=None, *rest, **options):  # type: ignore[no-untyped-def]
            return PlainTextResponse("never given extra arguments")

        async def delete(*args, **kwargs):  # type: ignore[no-untyped-def]
            return PlainTextResponse("a wrapper without functools.wraps")

    cases = [
        ("get", "request"),
        ("post", "req"),
        ("put", "request"),
        ("patch", "request"),
        ("delete", "request"),
    ]
    for method, name in cases:
        plan = plan_of(Plain, method, "/users/{id}")
        (only,) = plan.parameters
        assert (only.name, only.location, only.injector) == (name, Location.INJECTED, "request")
        assert issubclass(plan.return_type, Response)
        assert plan.status_code == 200


def test_typed_extras_make_a_typed_handler() -> None:
    class Typed(HTTPEndpoint):
        async def get(self, request: Request, limit: int = 3) -> JSONResponse:
            return JSONResponse(limit)

        async def post(self, request, limit=3) -> dict[str, int]:  # type: ignore[no-untyped-def]
            return {}

    request, limit = plan_of(Typed).parameters
    assert (request.injector, limit.location) == ("request", Location.QUERY)
    assert_definition_error(Typed, "limit", "has no annotation", method="post")


def test_starlette_style_tolerates_unresolvable_annotations() -> None:
    class Plain(HTTPEndpoint):
        async def get(self, request: "Undefined") -> "AlsoUndefined":  # type: ignore[name-defined]  # noqa: F821
            raise NotImplementedError

    (only,) = plan_of(Plain).parameters
    assert only.injector == "request"


def test_a_request_parameter_may_read_the_path_itself() -> None:
    class Mixed(HTTPEndpoint):
        async def get(self, request: Request, limit: int = 5) -> dict[str, int]:
            return {}

    plan = plan_of(Mixed, "get", "/users/{id}")
    assert [p.location for p in plan.parameters] == [Location.INJECTED, Location.QUERY]
    assert plan.return_type == dict[str, int]


def test_return_types() -> None:
    class Returns(HTTPEndpoint):
        async def get(self):  # type: ignore[no-untyped-def]
            return {"any": "thing"}

        async def post(self, limit: int) -> Any:
            return None

        async def put(self, limit: int) -> Todo | None:
            return None

        async def patch(self, limit: int) -> Todo | JSONResponse:
            raise NotImplementedError

        @status_code(202)
        async def delete(self, limit: int) -> None:
            pass

    assert plan_of(Returns, "get").return_type is Any
    assert plan_of(Returns, "post").return_type is Any
    assert plan_of(Returns, "put").return_type == Todo | None
    assert plan_of(Returns, "patch").return_type == Todo | JSONResponse
    deleting = plan_of(Returns, "delete")
    assert (deleting.return_type, deleting.status_code) == (None, 202)


def test_operation_ids_summary_and_tags() -> None:
    class HTTPThingV2(HTTPEndpoint):
        async def get(self) -> int:
            """Count   the
            things.

            More.
            """
            return 1

    plan = plan_operation(
        HTTPThingV2, "get", "/", route_name="HTTPThingV2", tags=["things", "misc"]
    )
    assert plan.operation_id == "http_thing_v2_get"
    assert plan.summary == "Count the things."
    assert plan.description == "More."
    assert plan.tags == ("things", "misc")
    assert plan.qualified_name == f"{__name__}.{HTTPThingV2.__qualname__}.get"


def test_staticmethod_handlers_have_no_self() -> None:
    class Static(HTTPEndpoint):
        @staticmethod
        async def get(limit: int) -> int:
            return limit

    (limit,) = plan_of(Static).parameters
    assert limit.name == "limit"


def test_binding_a_route_plans_every_handler() -> None:
    class Both(HTTPEndpoint):
        async def get(self) -> int:
            return 1

        async def post(self, body: NewTodo) -> None:
            pass

    route = Route("/both", Both, name="things")
    plans = bind_http_route(route, "/both", tags=("t",))
    assert list(plans) == ["GET", "POST"]
    assert plans["POST"].route_name == "things"
    assert plans["GET"].tags == ("t",)
    assert Both._allowed_methods == ("GET", "HEAD", "POST")
    assert Both.handler_names() == {"GET": "get", "HEAD": "get", "POST": "post"}
    assert route.app is not Both


# --- start-up errors


def test_missing_annotation() -> None:
    class Missing(HTTPEndpoint):
        async def get(self, limit, offset: int = 0) -> None:  # type: ignore[no-untyped-def]
            pass

    assert_definition_error(Missing, "limit", "has no annotation")


def test_unresolvable_annotation_names_the_parameter() -> None:
    class Unresolved(HTTPEndpoint):
        async def get(self, limit: int, item: "Nowhere") -> None:  # type: ignore[name-defined]  # noqa: F821
            pass

    assert_definition_error(Unresolved, "item", "cannot be resolved", "Nowhere")


def test_unsupported_query_type_suggests_the_body() -> None:
    class ModelInQuery(HTTPEndpoint):
        async def get(self, todo: NewTodo) -> None:
            pass

    assert_definition_error(ModelInQuery, "todo", "query parameter", "NewTodo", "'body'")


# NOTE: a model marked Form() is read from the whole form (tests/test_form_models.py).
@pytest.mark.parametrize("marker", [Header(), Cookie()])
def test_models_are_not_text(marker: object) -> None:
    class ModelInText(HTTPEndpoint):
        async def post(self, todo: Annotated[NewTodo, marker]) -> None:
            pass

    assert_definition_error(ModelInText, "todo", "parsed from text", method="post")


def test_unsupported_body_type() -> None:
    class BadBody(HTTPEndpoint):
        async def post(self, body: NotAModel) -> None:
            pass

    assert_definition_error(BadBody, "body", "body type NotAModel", method="post")


def test_unsupported_return_type() -> None:
    class BadReturn(HTTPEndpoint):
        async def get(self, limit: int) -> NotAModel:
            raise NotImplementedError

    assert_definition_error(BadReturn, None, "return annotation NotAModel")


def test_path_parameter_missing_from_the_signature() -> None:
    class NoPath(HTTPEndpoint):
        async def get(self, limit: int) -> None:
            pass

    assert_definition_error(NoPath, "todo_id", "missing from the signature", path="/{todo_id:int}")


def test_path_parameter_conflicting_with_its_convertor() -> None:
    class Conflict(HTTPEndpoint):
        async def get(self, todo_id: str) -> None:
            pass

    assert_definition_error(
        Conflict, "todo_id", "converts {todo_id} to int", "annotation str", path="/{todo_id:int}"
    )


def test_marked_path_parameter_absent_from_the_path() -> None:
    class Absent(HTTPEndpoint):
        async def get(self, item: Annotated[int, Path()]) -> None:
            pass

    assert_definition_error(Absent, "item", "has no {item} parameter")


def test_path_name_marked_elsewhere() -> None:
    class Elsewhere(HTTPEndpoint):
        async def get(self, item: Annotated[str, Header()]) -> None:
            pass

    assert_definition_error(Elsewhere, "item", "marked Header()", path="/{item}")


def test_two_bodies() -> None:
    class TwoBodies(HTTPEndpoint):
        async def post(self, body: NewTodo, other: Annotated[Todo, Body()]) -> None:
            pass

    assert_definition_error(TwoBodies, "other", "one body", "'body'", method="post")


def test_body_and_form() -> None:
    class BodyAndForm(HTTPEndpoint):
        async def post(self, body: NewTodo, title: Annotated[str, Form()]) -> None:
            pass

    class FormAndBody(HTTPEndpoint):
        async def post(self, title: Annotated[str, Form()], body: NewTodo) -> None:
            pass

    assert_definition_error(BodyAndForm, "title", "both JSON and a form", method="post")
    assert_definition_error(FormAndBody, "body", "one body", "'title'", method="post")


def test_variadic_and_positional_only_parameters() -> None:
    class Star(HTTPEndpoint):
        async def get(self, *args: int) -> None:
            pass

    class DoubleStar(HTTPEndpoint):
        async def get(self, limit: int, **kwargs: int) -> None:
            pass

    class Positional(HTTPEndpoint):
        async def get(self, limit: int, offset: int, /) -> None:
            pass

    assert_definition_error(Star, "args", "*args and **kwargs")
    assert_definition_error(DoubleStar, "kwargs", "*args and **kwargs")
    assert_definition_error(Positional, "limit", "positional-only")


def test_several_markers() -> None:
    class Several(HTTPEndpoint):
        async def get(self, item: Annotated[str, Header(), Query()]) -> None:
            pass

    assert_definition_error(Several, "item", "several locations (Header(), Query())")


def test_injected_types_cannot_be_marked() -> None:
    class MarkedRequest(HTTPEndpoint):
        async def get(self, request: Annotated[Request, Header()]) -> None:
            pass

    assert_definition_error(MarkedRequest, "request", "passed by the framework", "Header()")


def test_websocket_in_an_http_handler() -> None:
    class Confused(HTTPEndpoint):
        async def get(self, ws: WebSocket, limit: int) -> None:
            pass

    assert_definition_error(Confused, "ws", "only available to WebSocket endpoints")


def test_bad_file_parameters() -> None:
    class TextFile(HTTPEndpoint):
        async def post(self, upload: Annotated[str, File()]) -> None:
            pass

    class LimitedFile(HTTPEndpoint):
        async def post(self, upload: Annotated[bytes, File(), annotated_types.MaxLen(3)]) -> None:
            pass

    assert_definition_error(TextFile, "upload", "UploadFile or bytes", method="post")
    assert_definition_error(LimitedFile, "upload", "limits on uploaded files", method="post")


def test_bodiless_status_with_a_returned_value() -> None:
    class NoContent(HTTPEndpoint):
        @status_code(204)
        async def get(self) -> Todo:
            raise NotImplementedError

    assert_definition_error(NoContent, None, "@status_code(204)", "-> None")


def test_state_type_only_when_the_app_has_one() -> None:
    class WantsState(HTTPEndpoint):
        async def get(self, state: AppState) -> None:
            pass

    assert_definition_error(WantsState, "state", "AppState")
    (state,) = plan_of(WantsState, state_type=AppState).parameters
    assert state.injector == "state"


def test_invalid_path() -> None:
    class Anything(HTTPEndpoint):
        async def get(self) -> None:
            pass

    assert_definition_error(
        Anything, None, "is invalid", "Unknown path convertor", path="/{x:nope}"
    )


def test_a_failed_bind_changes_nothing() -> None:
    class HalfBroken(HTTPEndpoint):
        async def get(self) -> int:
            return 1

        async def post(self, limit) -> None:  # type: ignore[no-untyped-def]
            pass

    route = Route("/", HalfBroken)
    before = route.app
    attributes = dict(vars(HalfBroken))
    with pytest.raises(HandlerDefinitionError):
        bind_http_route(route, "/")
    assert route.app is before
    assert dict(vars(HalfBroken)) == attributes


# --- lazily planned endpoints


class Tail(Convertor[str]):
    regex = ".+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


class Opaque:
    pass


class Untyped(Convertor):  # type: ignore[type-arg]
    regex = "[a-z]+"


def test_template_for_matched_path_params(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CONVERTOR_TYPES, "compile_test_tail", Tail())
    monkeypatch.setitem(CONVERTOR_TYPES, "compile_test_untyped", Untyped())
    params = {"a": 1, "b": "x", "c": 1.5, "d": uuid.uuid4(), "e": Opaque()}
    assert template_for(params) == "/{a:int}/{b}/{c:float}/{d:uuid}/{e}"
    assert template_for({}) == "/"


# --- WebSocket plans


@attrs.frozen
class ChatMessage:
    text: str
    room: Literal["a", "b"] = "a"


def test_websocket_plan_types_json_messages() -> None:
    class Room(WebSocketEndpoint):
        encoding = "json"

        async def on_receive(self, websocket: WebSocket, data: ChatMessage) -> None:
            pass

    plan = plan_websocket(Room, "/ws/{room}/{n:int}", route_name="Room", tags=["chat"])
    assert plan.message_type is ChatMessage
    assert plan.encoding == "json"
    assert plan.tags == ("chat",)
    assert [(p.name, p.annotation) for p in plan.parameters] == [("room", str), ("n", int)]
    read = build_message_reader(plan)
    assert read is not None
    assert read({"text": "hi"}) == ChatMessage("hi")
    with pytest.raises(RequestValidationError) as info:
        read({"text": 1, "room": "c"})
    assert [error.loc for error in info.value.errors] == [("data", "text"), ("data", "room")]


def test_websocket_messages_with_constraints() -> None:
    class Numbers(WebSocketEndpoint):
        encoding = "json"

        async def on_receive(
            self, websocket: WebSocket, data: Annotated[int, annotated_types.Ge(0)]
        ) -> None:
            pass

    read = build_message_reader(plan_websocket(Numbers, "/", route_name="Numbers"))
    assert read is not None
    assert read(3) == 3
    with pytest.raises(RequestValidationError):
        read(-1)


def test_untyped_websockets_have_no_reader() -> None:
    class Untyped(WebSocketEndpoint):
        encoding = "json"

        async def on_receive(self, websocket, data):  # type: ignore[no-untyped-def]
            pass

    class Text(WebSocketEndpoint):
        encoding = "text"

        async def on_receive(self, websocket: WebSocket, data: str) -> None:
            pass

    class Raw(WebSocketEndpoint):
        async def on_receive(self, websocket: "Nowhere", data: "Nowhere") -> None:  # type: ignore[name-defined]  # noqa: F821
            pass

    for cls, delivered in [(Untyped, Any), (Text, str), (Raw, str | bytes)]:
        plan = plan_websocket(cls, "/", route_name="x")
        assert plan.message_type == delivered
        assert build_message_reader(plan) is None


def test_websocket_definition_errors() -> None:
    class Unsupported(WebSocketEndpoint):
        encoding = "json"

        async def on_receive(self, websocket: WebSocket, data: NotAModel) -> None:
            pass

    class WrongEncoding(WebSocketEndpoint):
        encoding = "text"

        async def on_receive(self, websocket: WebSocket, data: ChatMessage) -> None:
            pass

    class NoData(WebSocketEndpoint):
        encoding = "json"

        async def on_receive(self, websocket: WebSocket) -> None:  # type: ignore[override]
            pass

    for cls, parameter, fragment in [
        (Unsupported, "data", "message type NotAModel"),
        (WrongEncoding, "data", "encoding 'text' delivers str"),
        (NoData, None, "(self, websocket, data)"),
    ]:
        with pytest.raises(HandlerDefinitionError) as info:
            plan_websocket(cls, "/", route_name="x")
        message = str(info.value)
        assert message.startswith(f"{__name__}.{cls.__qualname__}.on_receive"), message
        if parameter is not None:
            assert f"parameter {parameter!r}" in message
        assert fragment in message


def test_an_unannotated_request_beside_typed_parameters() -> None:
    class Mixed(HTTPEndpoint):
        async def get(self, request, limit: int) -> int:  # type: ignore[no-untyped-def]
            return limit

    request, limit = plan_of(Mixed).parameters
    assert (request.injector, request.annotation) == ("request", Request)
    assert limit.location is Location.QUERY


def test_handlers_must_have_a_readable_signature_with_self() -> None:
    class Unreadable:
        __signature__ = "not a signature"

        def __call__(self) -> None:
            pass

    class Odd(HTTPEndpoint):
        get = Unreadable()

    class NoSelf(HTTPEndpoint):
        def get() -> None:  # type: ignore[misc]
            pass

    assert_definition_error(Odd, None, "signature cannot be read")
    assert_definition_error(NoSelf, None, "must take 'self'")


def test_unions_of_responses_encode_nothing() -> None:
    class OnlyResponses(HTTPEndpoint):
        async def get(self, limit: int) -> PlainTextResponse | JSONResponse:
            raise NotImplementedError

    plan = plan_of(OnlyResponses)
    assert plan.return_type == PlainTextResponse | JSONResponse


def test_file_unions_must_be_optional_uploads() -> None:
    class Ambiguous(HTTPEndpoint):
        async def post(self, upload: Annotated[UploadFile | bytes, File()]) -> None:
            pass

    assert_definition_error(Ambiguous, "upload", "UploadFile | bytes", method="post")


class Anything(Convertor[Any]):
    regex = "[a-z]+"

    def convert(self, value: str) -> Any:
        return Opaque()

    def to_string(self, value: Any) -> str:
        return "x"


def test_custom_convertors_without_a_type_pass_values_as_they_are(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(CONVERTOR_TYPES, "compile_test_anything", Anything())

    class Custom(HTTPEndpoint):
        async def get(self, thing: Annotated[int, annotated_types.Ge(1)]) -> None:
            pass

    (thing,) = plan_of(Custom, "get", "/{thing:compile_test_anything}").parameters
    assert (thing.location, thing.annotation) == (Location.PATH, int)


def test_websocket_invalid_path() -> None:
    class Any_(WebSocketEndpoint):
        pass

    with pytest.raises(HandlerDefinitionError, match="is invalid"):
        plan_websocket(Any_, "/{x:nope}", route_name="x")


BookId = NewType("BookId", int)


class BookById(HTTPEndpoint):
    async def get(self, book_id: BookId) -> int:
        return book_id


def test_a_new_type_over_the_convertors_type_fits_it() -> None:
    # Regression: BookId = NewType("BookId", int) on {book_id:int} was refused at start-up.
    client = TestClient(App(routes=[Route("/books/{book_id:int}", BookById)]))
    response = client.get("/books/5")
    assert response.status_code == 200
    assert response.json() == 5
