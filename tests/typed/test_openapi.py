from __future__ import annotations

import collections.abc
import datetime
import decimal
import enum
import json
import re
import typing
import uuid
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Generic, Literal, Optional, TypeVar, Union

import annotated_types
import attrs
import jsonschema  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate as validate_spec

from framework.applications import App
from framework.convertors import path_convertors
from framework.datastructures import UploadFile
from framework.responses import PlainTextResponse, RedirectResponse, Response
from framework.routing import Route
from framework.typed.constraints import Constraints
from framework.typed.converter import default_converter
from framework.typed.forms import upload_plan
from framework.typed.jsonschema import SchemaRegistry, schema_for
from framework.typed.openapi import build_openapi, openapi_endpoint, openapi_response
from framework.typed.plan import REQUIRED, Location, OperationPlan, ParameterPlan
from framework.typed.signature import encoded_part
from tests.conftest import TestClientFactory
from tests.todo_models import NewTodo, Todo

T = TypeVar("T")
JSON = dict[str, Any]


# --- models used by the tests -----------------------------------------------------------------


class Color(enum.Enum):
    """A colour."""

    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@attrs.frozen
class Limits:
    name: str = attrs.field(validator=[attrs.validators.min_len(1), attrs.validators.max_len(10)])
    code: str = attrs.field(validator=attrs.validators.matches_re(r"[A-Z]{3}"))
    age: int = attrs.field(validator=[attrs.validators.ge(0), attrs.validators.lt(150)])
    score: float = attrs.field(validator=[attrs.validators.gt(0), attrs.validators.le(1)])
    size: Annotated[int, annotated_types.MultipleOf(5)] = 10
    kind: str = attrs.field(default="a", validator=attrs.validators.in_(["a", "b"]))
    tags: list[str] = attrs.field(factory=list, validator=attrs.validators.max_len(3))
    nickname: Optional[str] = attrs.field(  # noqa: UP045
        default=None, validator=attrs.validators.optional(attrs.validators.max_len(5))
    )


@attrs.frozen
class Cat:
    meow: str


@attrs.frozen
class Dog:
    bark: int


@attrs.frozen
class Everything:
    text: str
    number: int
    real: float
    flag: bool
    raw: bytes
    moment: datetime.datetime
    day: datetime.date
    clock: datetime.time
    ident: uuid.UUID
    money: decimal.Decimal
    color: Color
    level: Level
    mode: Literal["fast", "slow"]
    one: Literal[1]
    anything: Any
    nothing: None
    maybe: Optional[int]  # noqa: UP045
    either: Union[int, str]  # noqa: UP007
    pet: Cat | Dog
    items: list[Todo]
    pair: tuple[int, str]
    many: tuple[int, ...]
    empty: tuple[()]
    unique: set[int]
    frozen: frozenset[str]
    table: dict[str, float]
    by_color: dict[Literal["x", "y"], int]
    by_number: dict[int, str]
    created: datetime.datetime = attrs.field(factory=datetime.datetime.now)
    seen: list[int] = attrs.field(factory=list)


@attrs.frozen
class Node:
    value: int
    children: list[Node] = attrs.field(factory=list)


@attrs.frozen
class Page(Generic[T]):
    items: list[T]
    total: int


# --- plans built by hand ------------------------------------------------------------------------


class TodoList:
    async def get(self) -> None:
        """List the todos.

        Paged with ``limit`` and ``offset``.
        """

    async def post(self) -> None:
        """Create a todo."""


class Undocumented:
    async def get(self) -> None:
        pass


def param(
    name: str,
    location: Location,
    annotation: Any,
    default: Any = REQUIRED,
    *,
    wire_name: str | None = None,
    constraints: Constraints | None = None,
    description: str | None = None,
) -> ParameterPlan:
    return ParameterPlan(
        name=name,
        location=location,
        wire_name=wire_name or name,
        annotation=annotation,
        default=default,
        constraints=constraints or Constraints(),
        description=description,
    )


def operation(
    path: str = "/todos",
    method: str = "GET",
    parameters: tuple[ParameterPlan, ...] = (),
    return_type: Any = None,
    status_code: int = 200,
    *,
    endpoint: type = Undocumented,
    handler_name: str = "get",
    route_name: str = "TodoList",
    raises: tuple[int, ...] = (),
    tags: tuple[str, ...] = (),
    operation_id: str | None = None,
    summary: str | None = None,
    description: str | None = None,
) -> OperationPlan:
    # NOTE: signature.plan_operation gives each path parameter the route's convertor.
    convertors = path_convertors(path)
    parameters = tuple(
        attrs.evolve(p, convertor=convertors.get(p.wire_name))
        if p.location is Location.PATH and p.convertor is None
        else attrs.evolve(p, upload=upload_plan(p.annotation))
        if p.location is Location.FILE and p.upload is None
        else p
        for p in parameters
    )
    plan = OperationPlan(
        endpoint=endpoint,
        method=method,
        handler_name=handler_name,
        path=path,
        route_name=route_name,
        parameters=parameters,
        return_type=return_type,
        status_code=status_code,
        raises=raises,
        tags=tags,
        summary=summary,
        description=description,
        encoded_type=None if return_type is None else encoded_part(return_type),
    )
    return plan if operation_id is None else attrs.evolve(plan, operation_id=operation_id)


def document(*plans: OperationPlan, **options: Any) -> JSON:
    built = build_openapi(plans, **options)
    validate_spec(built)
    # What is served must be plain JSON.
    assert json.loads(json.dumps(built)) == built
    return built


def resolve(doc: JSON, schema: JSON) -> JSON:
    """Follow a ``$ref`` into the document's components."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        found: JSON = doc["components"]["schemas"][name]
        return found
    return schema


def body_schema(doc: JSON, path: str = "/todos", method: str = "post") -> JSON:
    content = doc["paths"][path][method]["requestBody"]["content"]
    schema: JSON = content["application/json"]["schema"]
    return schema


def validator(schema: JSON, components: Mapping[str, JSON]) -> jsonschema.Draft202012Validator:
    root = {**schema, "components": {"schemas": dict(components)}}
    jsonschema.Draft202012Validator.check_schema(root)
    return jsonschema.Draft202012Validator(
        root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def standalone(tp: Any, constraints: Constraints | None = None) -> tuple[JSON, JSON]:
    registry = SchemaRegistry()
    schema = schema_for(tp, constraints, registry)
    components = registry.schemas()
    jsonschema.Draft202012Validator.check_schema({**schema, "components": {"schemas": components}})
    return schema, components


# --- schemas of types ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tp", "expected"),
    [
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (bytes, {"type": "string", "contentEncoding": "base64"}),
        (datetime.datetime, {"type": "string", "format": "date-time"}),
        (datetime.date, {"type": "string", "format": "date"}),
        (datetime.time, {"type": "string", "format": "time"}),
        (uuid.UUID, {"type": "string", "format": "uuid"}),
        (Any, {}),
        (object, {}),
        (None, {"type": "null"}),
        (type(None), {"type": "null"}),
        (Literal["a"], {"type": "string", "const": "a"}),
        (Literal["a", "b"], {"type": "string", "enum": ["a", "b"]}),
        (Literal["a", 1], {"type": ["string", "integer"], "enum": ["a", 1]}),
        (Literal[Color.RED], {"type": "string", "const": "red"}),
        (Optional[int], {"anyOf": [{"type": "integer"}, {"type": "null"}]}),  # noqa: UP045
        (int | None, {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (list, {"type": "array"}),
        (tuple[int, ...], {"type": "array", "items": {"type": "integer"}}),
        (
            tuple[int, str],
            {
                "type": "array",
                "prefixItems": [{"type": "integer"}, {"type": "string"}],
                "items": False,
                "minItems": 2,
            },
        ),
        (tuple[()], {"type": "array", "maxItems": 0}),
        (set[str], {"type": "array", "items": {"type": "string"}, "uniqueItems": True}),
        (frozenset[int], {"type": "array", "items": {"type": "integer"}, "uniqueItems": True}),
        (dict[str, int], {"type": "object", "additionalProperties": {"type": "integer"}}),
        (
            dict[Literal["x"], int],
            {
                "type": "object",
                "propertyNames": {"enum": ["x"]},
                "additionalProperties": {"type": "integer"},
            },
        ),
        (
            dict[int, str],
            {
                "type": "object",
                # As the converter reads keys: integer text.
                "propertyNames": {"pattern": "^[+-]?[0-9]+$"},
                "additionalProperties": {"type": "string"},
            },
        ),
        (typing.NewType("UserId", int), {"type": "integer"}),
        # The converter reads these from arrays too.
        (collections.abc.Iterable[int], {"type": "array", "items": {"type": "integer"}}),
        (collections.abc.Collection[str], {"type": "array", "items": {"type": "string"}}),
    ],
)
def test_schema_of_type(tp: Any, expected: JSON) -> None:
    schema, components = standalone(tp)
    assert schema == expected
    assert components == {}


def test_decimal_schema_matches_the_converter() -> None:
    schema, _ = standalone(decimal.Decimal, Constraints(ge=0, lt=decimal.Decimal("9.5")))
    assert schema == {
        "anyOf": [
            {"type": "number", "minimum": 0, "exclusiveMaximum": 9.5},
            {
                "type": "string",
                "pattern": r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$",
            },
        ]
    }
    check = validator(schema, {})
    for accepted in (1, 2.5, "1.50", "-1e3", ".5"):
        check.validate(accepted)
    for refused in ("NaN", "1_000", " 1", "x", 10):
        assert not check.is_valid(refused)
    encoded = default_converter.encode_fn(decimal.Decimal)(decimal.Decimal("1.50"))
    validator(schema, {}).validate(json.loads(encoded))


def test_enum_is_a_component_with_its_values() -> None:
    schema, components = standalone(Color)
    assert schema == {"$ref": "#/components/schemas/Color"}
    assert components["Color"] == {
        "title": "Color",
        "type": "string",
        "enum": ["red", "green"],
        "description": "A colour.",
    }
    _, components = standalone(Level)
    assert components["Level"] == {"title": "Level", "type": "integer", "enum": [1, 2]}


def test_union_of_models_uses_refs() -> None:
    schema, components = standalone(Cat | Dog | None)
    assert schema == {
        "anyOf": [
            {"$ref": "#/components/schemas/Cat"},
            {"$ref": "#/components/schemas/Dog"},
            {"type": "null"},
        ]
    }
    assert set(components) == {"Cat", "Dog"}


def test_model_schema() -> None:
    schema, components = standalone(NewTodo)
    assert schema == {"$ref": "#/components/schemas/NewTodo"}
    assert components == {
        "NewTodo": {
            "title": "NewTodo",
            "type": "object",
            "description": "What a client sends to create a todo.",
            "properties": {
                "title": {"type": "string", "maxLength": 200},
                "done": {"type": "boolean", "default": False},
            },
            "required": ["title"],
        }
    }


def test_field_constraints_from_validators_and_annotations() -> None:
    _, components = standalone(Limits)
    properties = components["Limits"]["properties"]
    assert properties["name"] == {"type": "string", "minLength": 1, "maxLength": 10}
    assert properties["code"]["type"] == "string"
    pattern = properties["code"]["pattern"]
    assert re.search(pattern, "ABC")
    assert not re.search(pattern, "ABCD")
    assert not re.search(pattern, "xABC")
    assert properties["age"] == {"type": "integer", "minimum": 0, "exclusiveMaximum": 150}
    assert properties["score"] == {"type": "number", "exclusiveMinimum": 0, "maximum": 1}
    assert properties["size"] == {"type": "integer", "multipleOf": 5, "default": 10}
    assert properties["kind"] == {"type": "string", "enum": ["a", "b"], "default": "a"}
    assert properties["tags"] == {
        "type": "array",
        "items": {"type": "string"},
        "maxItems": 3,
        "default": [],
    }
    assert properties["nickname"] == {
        "anyOf": [{"type": "string", "maxLength": 5}, {"type": "null"}],
        "default": None,
    }
    assert components["Limits"]["required"] == ["name", "code", "age", "score"]


@attrs.frozen
class Tagged:
    tags: list[str] = attrs.field(
        validator=attrs.validators.deep_iterable(
            attrs.validators.max_len(5), attrs.validators.max_len(3)
        )
    )
    pairs: tuple[int, int] = attrs.field(
        default=(0, 0), validator=attrs.validators.deep_iterable(attrs.validators.ge(0))
    )


def test_member_constraints_from_deep_iterable() -> None:
    _, components = standalone(Tagged)
    properties = components["Tagged"]["properties"]
    assert properties["tags"] == {
        "type": "array",
        "items": {"type": "string", "maxLength": 5},
        "maxItems": 3,
    }
    assert properties["pairs"] == {
        "type": "array",
        "prefixItems": [{"type": "integer", "minimum": 0}, {"type": "integer", "minimum": 0}],
        "items": False,
        "minItems": 2,
        "default": [0, 0],
    }


def test_constraints_given_directly() -> None:
    schema, _ = standalone(list[int], Constraints(min_length=1, max_length=4))
    assert schema == {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 4}
    schema, _ = standalone(dict[str, int], Constraints(min_length=1, max_length=2))
    assert schema["minProperties"] == 1
    assert schema["maxProperties"] == 2
    schema, _ = standalone(int, Constraints(ge=decimal.Decimal("1.5"), le=2.0, multiple_of=0.5))
    assert schema == {"type": "integer", "minimum": 1.5, "maximum": 2, "multipleOf": 0.5}
    schema, _ = standalone(str, Constraints(choices=("x", "y")))
    assert schema == {"type": "string", "enum": ["x", "y"]}
    # Annotated metadata and explicit constraints combine; the explicit ones win.
    bounded = Annotated[int, annotated_types.Ge(1), annotated_types.Le(9)]
    schema, _ = standalone(bounded, Constraints(le=5))
    assert schema == {"type": "integer", "minimum": 1, "maximum": 5}
    # Bounds that are not numbers are enforced but cannot be written.
    schema, _ = standalone(datetime.date, Constraints(ge=datetime.date(2020, 1, 1)))
    assert schema == {"type": "string", "format": "date"}
    # Lengths of bytes count bytes, not base64 characters.
    schema, _ = standalone(bytes, Constraints(max_length=3))
    assert schema == {"type": "string", "contentEncoding": "base64"}
    # Choices without a JSON form are left out.
    schema, _ = standalone(Any, Constraints(choices=(object(),)))
    assert schema == {}


def test_every_type_together_validates_as_openapi() -> None:
    plan = operation("/all", "POST", (param("body", Location.BODY, Everything),), Everything)
    doc = document(plan)
    components = doc["components"]["schemas"]
    everything = components["Everything"]
    assert set(everything["properties"]) == {a.name for a in attrs.fields(Everything)}
    # A factory with a changing value is not written as a default; a fixed one is.
    assert "default" not in everything["properties"]["created"]
    assert everything["properties"]["seen"]["default"] == []
    assert "created" not in everything["required"]
    assert everything["properties"]["pet"] == {
        "anyOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}]
    }
    assert everything["properties"]["items"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Todo"},
    }
    assert everything["properties"]["color"] == {"$ref": "#/components/schemas/Color"}
    assert list(components) == sorted(components)


def test_recursive_model() -> None:
    schema, components = standalone(Node)
    assert schema == {"$ref": "#/components/schemas/Node"}
    assert components["Node"]["properties"]["children"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Node"},
        "default": [],
    }
    check = validator(schema, components)
    check.validate({"value": 1, "children": [{"value": 2, "children": []}]})
    assert not check.is_valid({"value": 1, "children": [{"value": "x"}]})


def test_generic_model_gets_its_arguments_in_the_name() -> None:
    schema, components = standalone(Page[Todo])
    assert schema == {"$ref": "#/components/schemas/Page_Todo"}
    assert components["Page_Todo"]["title"] == "Page_Todo"
    assert components["Page_Todo"]["properties"]["items"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Todo"},
    }
    _, components = standalone(list[Page[int]])
    assert components["Page_int"]["properties"]["items"]["items"] == {"type": "integer"}


def _model_named(name: str, module: str, field: str) -> type:
    cls = attrs.make_class(name, {field: attrs.field(type=int)})
    cls.__module__ = module
    return cls


def test_clashing_names_are_qualified_whatever_the_order() -> None:
    first = _model_named("Item", "shop.models", "price")
    second = _model_named("Item", "blog.models", "words")
    alone = _model_named("Alone", "shop.models", "x")
    for order in ([first, second, alone], [alone, second, first]):
        registry = SchemaRegistry()
        refs = [registry.schema(cls) for cls in order]
        components = registry.schemas()
        assert sorted(components) == ["Alone", "blog.models.Item", "shop.models.Item"]
        by_class = dict(zip(order, refs, strict=True))
        assert by_class[first] == {"$ref": "#/components/schemas/shop.models.Item"}
        assert by_class[second] == {"$ref": "#/components/schemas/blog.models.Item"}
        assert by_class[alone] == {"$ref": "#/components/schemas/Alone"}
        assert components["shop.models.Item"]["properties"] == {"price": {"type": "integer"}}


def test_same_qualified_name_is_numbered_and_builtins_keep_their_names() -> None:
    first = _model_named("Thing", "same", "a")
    second = _model_named("Thing", "same", "b")
    clash = _model_named("HTTPValidationError", "mine", "c")
    plan = operation(
        "/x",
        "POST",
        (param("body", Location.BODY, _subscript(list, _subscript(Union, first, second, clash))),),
    )
    doc = document(plan)
    names = set(doc["components"]["schemas"])
    assert {"same.Thing", "same.Thing_2", "mine.HTTPValidationError"} <= names
    assert doc["components"]["schemas"]["HTTPValidationError"]["required"] == ["detail"]


def test_unresolvable_and_unknown_types_are_errors() -> None:
    with pytest.raises(TypeError, match="cannot describe"):
        standalone(complex)
    with pytest.raises(TypeError, match="cannot describe"):
        standalone(Callable[[], int])

    @attrs.define
    class Local:
        other: Missing  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(TypeError, match=r"Local\.other"):
        standalone(Local)


def test_local_model_with_resolvable_types() -> None:
    @attrs.define
    class Inner:
        n: int

    @attrs.define
    class Outer:
        inner: Inner

    # ``Inner`` is local, so hints cannot be resolved from the module; the types attrs saw
    # under ``from __future__ import annotations`` are strings, which is an error...
    with pytest.raises(TypeError, match=r"Outer\.inner"):
        standalone(Outer)
    # ...while a class given its types as objects works.
    made = attrs.make_class("Made", {"inner": attrs.field(type=Inner)})
    _, components = standalone(made)
    assert components["Made"]["properties"]["inner"] == {"$ref": "#/components/schemas/Inner"}


# --- operations ---------------------------------------------------------------------------------


def test_the_api_md_todo_example() -> None:
    plans = [
        operation(
            "/todos",
            "GET",
            (
                param("limit", Location.QUERY, int, 50),
                param("offset", Location.QUERY, int, 0),
            ),
            list[Todo],
            endpoint=TodoList,
            tags=("todos",),
            summary="List the todos.",
            description="Paged with ``limit`` and ``offset``.",
        ),
        operation(
            "/todos",
            "POST",
            (param("body", Location.BODY, NewTodo),),
            Todo,
            201,
            endpoint=TodoList,
            handler_name="post",
            tags=("todos",),
            summary="Create a todo.",
        ),
        operation(
            "/todos/{todo_id:int}",
            "GET",
            (
                param("todo_id", Location.PATH, int),
                param("x_trace", Location.HEADER, Optional[str], None, wire_name="x-trace"),  # noqa: UP045
            ),
            Todo,
            route_name="TodoItem",
            raises=(404,),
            tags=("todos",),
        ),
        operation(
            "/todos/{todo_id:int}",
            "DELETE",
            (param("todo_id", Location.PATH, int),),
            None,
            204,
            route_name="TodoItem",
            handler_name="delete",
            tags=("todos",),
        ),
    ]
    doc = document(*plans, title="Todos", version="1.0.0", description="A todo list.")
    assert doc["openapi"] == "3.1.0"
    assert doc["info"] == {"title": "Todos", "version": "1.0.0", "description": "A todo list."}
    assert list(doc["paths"]) == ["/todos", "/todos/{todo_id}"]
    assert doc["tags"] == [{"name": "todos"}]

    listing = doc["paths"]["/todos"]["get"]
    assert listing["operationId"] == "todo_list_get"
    assert listing["tags"] == ["todos"]
    assert listing["summary"] == "List the todos."
    assert listing["description"] == "Paged with ``limit`` and ``offset``."
    assert listing["parameters"] == [
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "default": 50},
        },
        {
            "name": "offset",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "default": 0},
        },
    ]
    assert listing["responses"]["200"] == {
        "description": "OK",
        "content": {
            "application/json": {
                "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Todo"}}
            }
        },
    }
    assert listing["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HTTPValidationError"
    }

    create = doc["paths"]["/todos"]["post"]
    assert create["summary"] == "Create a todo."
    assert "description" not in create
    assert create["requestBody"] == {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewTodo"}}},
        "required": True,
    }
    assert list(create["responses"]) == ["201", "413", "415", "422"]
    assert create["responses"]["201"]["description"] == "Created"

    item = doc["paths"]["/todos/{todo_id}"]["get"]
    assert item["operationId"] == "todo_item_get"
    assert "summary" not in item
    assert item["parameters"] == [
        {
            "name": "todo_id",
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 0},
        },
        {"name": "x-trace", "in": "header", "required": False, "schema": {"type": "string"}},
    ]
    assert list(item["responses"]) == ["200", "404", "422"]
    assert item["responses"]["404"] == {
        "description": "Not Found",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPError"}}},
    }

    delete = doc["paths"]["/todos/{todo_id}"]["delete"]
    assert delete["responses"]["204"] == {"description": "No Content"}

    schemas = doc["components"]["schemas"]
    assert sorted(schemas) == [
        "HTTPError",
        "HTTPValidationError",
        "NewTodo",
        "Todo",
        "ValidationError",
    ]
    assert schemas["HTTPError"] == {
        "title": "HTTPError",
        "type": "object",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    }
    error_shape = validator({"$ref": "#/components/schemas/HTTPValidationError"}, schemas)
    error_shape.validate(
        {"detail": [{"loc": ["body", "tags", 2], "msg": "expected a string", "type": "type_error"}]}
    )
    assert not error_shape.is_valid({"detail": [{"loc": [1.5], "msg": "x", "type": "y"}]})
    assert not error_shape.is_valid({"detail": "not found"})


@pytest.mark.parametrize(
    ("path", "annotation", "expected"),
    [
        ("/a/{x:int}", int, {"type": "integer", "minimum": 0}),
        ("/a/{x:float}", float, {"type": "number", "minimum": 0}),
        ("/a/{x:int}", Any, {"type": "integer", "minimum": 0}),
        ("/a/{x:uuid}", uuid.UUID, {"type": "string", "format": "uuid"}),
        ("/a/{x:uuid}", str, {"type": "string"}),
        ("/a/{x:uuid}", int, {"type": "string", "format": "uuid"}),
        ("/a/{x:int}", Level, {"$ref": "#/components/schemas/Level"}),
        ("/a/{x:uuid}", Literal["x"], {"type": "string", "const": "x"}),
        ("/a/{x:int}", str, {"type": "integer", "minimum": 0}),
        ("/a/{x}", int, {"type": "integer"}),
        ("/a/{x}", str, {"type": "string", "pattern": "^(?:[^/]+)$"}),
        ("/a/{x:str}", str, {"type": "string", "pattern": "^(?:[^/]+)$"}),
        ("/a/{x:path}", str, {"type": "string"}),
    ],
)
def test_path_parameter_schema_reflects_the_convertor(
    path: str, annotation: Any, expected: JSON
) -> None:
    doc = document(operation(path, parameters=(param("x", Location.PATH, annotation),)))
    assert doc["paths"]["/a/{x}"]["get"]["parameters"][0]["schema"] == expected


def test_path_parameter_keeps_stricter_bounds_and_own_pattern() -> None:
    plans = (
        operation(
            "/a/{x:int}/{y}",
            parameters=(
                param("x", Location.PATH, int, constraints=Constraints(ge=5)),
                param("y", Location.PATH, str, constraints=Constraints(pattern="^[a-z]+$")),
            ),
        ),
        operation(
            "/b/{x:int}",
            parameters=(param("x", Location.PATH, int, constraints=Constraints(ge=-5)),),
        ),
    )
    doc = document(*plans)
    x, y = doc["paths"]["/a/{x}/{y}"]["get"]["parameters"]
    assert x["schema"] == {"type": "integer", "minimum": 5}
    assert y["schema"] == {"type": "string", "pattern": "^[a-z]+$"}
    assert doc["paths"]["/b/{x}"]["get"]["parameters"][0]["schema"]["minimum"] == 0


def test_query_header_and_cookie_parameters() -> None:
    plan = operation(
        parameters=(
            param("tag", Location.QUERY, list[str], description="Filter by tag."),
            param("color", Location.QUERY, Optional[Color], None),  # noqa: UP045
            param("when", Location.QUERY, datetime.date, datetime.date(2024, 1, 2)),
            param(
                "page",
                Location.QUERY,
                Annotated[int, annotated_types.Ge(1)],
                1,
                constraints=Constraints(le=100),
            ),
            param("user_agent", Location.HEADER, str, wire_name="user-agent"),
            param("session", Location.COOKIE, Optional[str], None),  # noqa: UP045
            param("request", Location.INJECTED, object),
        )
    )
    doc = document(plan)
    parameters = doc["paths"]["/todos"]["get"]["parameters"]
    assert parameters == [
        {
            "name": "tag",
            "in": "query",
            "required": True,
            "description": "Filter by tag.",
            "schema": {"type": "array", "items": {"type": "string"}},
            "style": "form",
            "explode": True,
        },
        {
            "name": "color",
            "in": "query",
            "required": False,
            "schema": {"$ref": "#/components/schemas/Color"},
        },
        {
            "name": "when",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "format": "date", "default": "2024-01-02"},
        },
        {
            "name": "page",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 1},
        },
        {"name": "user-agent", "in": "header", "required": True, "schema": {"type": "string"}},
        {"name": "session", "in": "cookie", "required": False, "schema": {"type": "string"}},
    ]


def test_urlencoded_form() -> None:
    plan = operation(
        "/login",
        "POST",
        (
            param("username", Location.FORM, str, description="Who."),
            param("remember", Location.FORM, bool, False),
        ),
    )
    body = document(plan)["paths"]["/login"]["post"]["requestBody"]
    assert body == {
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "username": {"type": "string", "description": "Who."},
                        "remember": {"type": "boolean", "default": False},
                    },
                    "required": ["username"],
                }
            }
        },
        "required": True,
    }


def test_multipart_form_with_files() -> None:
    binary = {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}
    plan = operation(
        "/upload",
        "POST",
        (
            param("title", Location.FORM, Optional[str], None),  # noqa: UP045
            param("file", Location.FILE, UploadFile),
            param("raw", Location.FILE, bytes),
            param("more", Location.FILE, list[UploadFile], None),
            param("extra", Location.FILE, Optional[UploadFile], None),  # noqa: UP045
        ),
    )
    body = document(plan)["paths"]["/upload"]["post"]["requestBody"]
    assert body == {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "title": {"type": "string"},
                        "file": binary,
                        "raw": binary,
                        "more": {"type": "array", "items": binary},
                        "extra": binary,
                    },
                    "required": ["file", "raw"],
                }
            }
        },
        "required": True,
    }


def test_optional_body_and_its_description() -> None:
    plan = operation(
        "/x",
        "PUT",
        (
            ParameterPlan(
                name="patch",
                location=Location.BODY,
                wire_name="patch",
                annotation=Optional[NewTodo],  # noqa: UP045
                default=None,
                description="The changes.",
            ),
        ),
    )
    body = document(plan)["paths"]["/x"]["put"]["requestBody"]
    assert body == {
        "description": "The changes.",
        "content": {
            "application/json": {
                "schema": {"anyOf": [{"$ref": "#/components/schemas/NewTodo"}, {"type": "null"}]}
            }
        },
        "required": False,
    }


def test_a_json_body_may_be_refused_for_its_media_type() -> None:
    body = param("body", Location.BODY, NewTodo)
    responses = document(operation("/x", "POST", (body,)))["paths"]["/x"]["post"]["responses"]
    assert responses["415"] == {
        "description": "Unsupported Media Type",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPError"}}},
    }
    form = param("name", Location.FORM, str)
    responses = document(operation("/x", "POST", (form,)))["paths"]["/x"]["post"]["responses"]
    assert "415" not in responses


@pytest.mark.parametrize(
    ("return_type", "status", "content"),
    [
        (None, 204, False),
        (type(None), 200, False),
        (Response, 200, False),
        (PlainTextResponse, 200, False),
        (Todo, 204, False),
        (int, 200, True),
        (dict[str, Todo], 202, True),
        (Any, 200, True),
    ],
)
def test_success_response(return_type: Any, status: int, content: bool) -> None:
    doc = document(operation(return_type=return_type, status_code=status))
    responses = doc["paths"]["/todos"]["get"]["responses"]
    assert list(responses) == [str(status)]
    assert ("content" in responses[str(status)]) is content


@pytest.mark.parametrize(
    ("return_type", "schema"),
    [
        (Union[Todo, RedirectResponse], {"$ref": "#/components/schemas/Todo"}),  # noqa: UP007
        (
            Todo | PlainTextResponse | None,
            {"anyOf": [{"$ref": "#/components/schemas/Todo"}, {"type": "null"}]},
        ),
        (Union[RedirectResponse, PlainTextResponse], None),  # noqa: UP007
    ],
)
def test_a_return_union_documents_only_what_is_encoded(
    return_type: Any, schema: JSON | None
) -> None:
    # Regression: the Response members went to the schema registry, a TypeError (a 500 when served).
    doc = document(operation(return_type=return_type))
    success = doc["paths"]["/todos"]["get"]["responses"]["200"]
    assert success.get("content", {}).get("application/json", {}).get("schema") == schema


@pytest.mark.parametrize(
    ("parameter", "fallible"),
    [
        (param("q", Location.QUERY, str, "x"), False),
        (param("q", Location.QUERY, Optional[str], None), False),  # noqa: UP045
        (param("q", Location.QUERY, list[str], None), False),
        (param("q", Location.QUERY, str), True),
        (param("q", Location.QUERY, int, 1), True),
        (param("q", Location.QUERY, list[int], None), True),
        (param("q", Location.QUERY, str, "x", constraints=Constraints(max_length=3)), True),
        (param("q", Location.PATH, str), False),
        (param("q", Location.PATH, int), True),
        (param("q", Location.HEADER, Optional[str], None), False),  # noqa: UP045
        (param("q", Location.COOKIE, str), True),
        (param("q", Location.BODY, Any, None), True),
        (param("q", Location.FORM, str, ""), True),
        (param("q", Location.INJECTED, int), False),
    ],
)
def test_422_only_when_a_parameter_can_fail(parameter: ParameterPlan, fallible: bool) -> None:
    path = "/todos/{q}" if parameter.location is Location.PATH else "/todos"
    doc = document(operation(path, "POST", (parameter,)))
    responses = doc["paths"][path]["post"]["responses"]
    assert ("422" in responses) is fallible
    assert ("HTTPValidationError" in doc.get("components", {}).get("schemas", {})) is fallible


def test_declared_errors() -> None:
    plan = operation(
        parameters=(param("q", Location.QUERY, int),),
        raises=(409, 200, 404, 422, 599),
        return_type=int,
    )
    responses = document(plan)["paths"]["/todos"]["get"]["responses"]
    assert list(responses) == ["200", "404", "409", "422", "599"]
    assert responses["200"]["description"] == "OK"
    assert responses["409"]["description"] == "Conflict"
    assert responses["599"]["description"] == "Status 599"
    # A handler may raise 422 itself, so both shapes are allowed.
    assert responses["422"]["content"]["application/json"]["schema"] == {
        "anyOf": [
            {"$ref": "#/components/schemas/HTTPValidationError"},
            {"$ref": "#/components/schemas/HTTPError"},
        ]
    }
    # Without fallible parameters, a declared 422 is a plain error.
    doc = document(operation(raises=(422,)))
    assert doc["paths"]["/todos"]["get"]["responses"]["422"]["content"]["application/json"][
        "schema"
    ] == {"$ref": "#/components/schemas/HTTPError"}


def test_operation_ids_are_unique_and_stable() -> None:
    plans = [
        operation("/a", route_name="HTTPThing"),
        operation("/b", route_name="HTTPThing"),
        operation("/c", route_name="http_thing"),
        operation("/d", route_name="!!!"),
        operation("/e", operation_id="custom"),
        operation("/f", operation_id="custom"),
        operation("/g", "PATCH", route_name="user-items2"),
    ]
    doc = document(*plans)
    ids = [next(iter(item.values()))["operationId"] for item in doc["paths"].values()]
    assert ids == [
        "http_thing_get",
        "http_thing_get_2",
        "http_thing_get_3",
        "operation_get",
        "custom",
        "custom_2",
        "user_items2_patch",
    ]
    assert build_openapi(plans) == build_openapi(plans)


def test_the_plan_is_what_is_documented() -> None:
    # The summary and description come from the plan (compiled from the docstring) only.
    doc = document(operation(endpoint=TodoList, summary="Overridden"))
    assert doc["paths"]["/todos"]["get"]["summary"] == "Overridden"
    assert "description" not in doc["paths"]["/todos"]["get"]


def test_methods_paths_and_servers() -> None:
    plans = [
        operation("/x", "GET"),
        operation("/x", "HEAD"),
        operation("/x", "PURGE"),
        operation(
            "/y/{a}/{b:path}",
            "GET",
            (param("a", Location.PATH, str), param("b", Location.PATH, str)),
        ),
    ]
    doc = document(*plans, servers=[{"url": "https://api.example.com", "description": "prod"}])
    assert list(doc["paths"]["/x"]) == ["get", "head"]
    assert "/y/{a}/{b}" in doc["paths"]
    assert doc["servers"] == [{"url": "https://api.example.com", "description": "prod"}]
    assert "components" not in doc
    assert "tags" not in doc
    with pytest.raises(ValueError, match=r"two operations for GET /x/\{a\}"):
        build_openapi([operation("/x/{a:int}"), operation("/x/{a}")])


# --- serving ------------------------------------------------------------------------------------


def test_openapi_response() -> None:
    doc = document(operation())
    response = openapi_response(doc)
    assert response.media_type == "application/json"
    assert json.loads(bytes(response.body)) == doc


def test_openapi_endpoint_serves_the_current_document(
    test_client_factory: TestClientFactory,
) -> None:
    documents = [{"openapi": "3.1.0", "n": 1}]
    calls: list[int] = []

    def get_document() -> Mapping[str, Any]:
        calls.append(1)
        return documents[-1]

    app = App(routes=[Route("/openapi.json", openapi_endpoint(get_document))])
    with test_client_factory(app) as client:
        first = client.get("/openapi.json")
        again = client.get("/openapi.json")
        documents.append({"openapi": "3.1.0", "n": 2})
        changed = client.get("/openapi.json")
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/json"
    assert first.json() == again.json() == {"openapi": "3.1.0", "n": 1}
    assert changed.json() == {"openapi": "3.1.0", "n": 2}
    assert len(calls) == 3


# --- property: a model's schema accepts every instance as the API sends it ----------------------


@attrs.frozen
class Spec:
    """A generated field type: its annotation, an attrs validator, and a strategy for values."""

    tp: Any
    values: st.SearchStrategy[Any]
    validator: Any = None
    hashable: bool = True


class Shade(enum.Enum):
    LIGHT = "light"
    DARK = "dark"
    NUMBER = 3


_offsets = st.sampled_from(
    [datetime.timezone.utc, datetime.timezone(datetime.timedelta(hours=-5, minutes=-30))]
)
_json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
_LEAVES = [
    Spec(str, st.text(max_size=8)),
    Spec(int, st.integers()),
    Spec(float, st.floats(allow_nan=False, allow_infinity=False)),
    Spec(bool, st.booleans()),
    Spec(bytes, st.binary(max_size=8)),
    # NOTE: RFC 3339 (JSON Schema's date-time and time) requires an offset, so values are aware.
    Spec(datetime.datetime, st.datetimes(timezones=_offsets)),
    Spec(datetime.date, st.dates()),
    Spec(datetime.time, st.times(timezones=_offsets)),
    Spec(uuid.UUID, st.uuids()),
    Spec(
        decimal.Decimal,
        st.decimals(
            allow_nan=False, allow_infinity=False, places=3, max_value=10**6, min_value=-(10**6)
        ),
    ),
    Spec(Shade, st.sampled_from(Shade)),
    Spec(Literal["a", "b", 1], st.sampled_from(["a", "b", 1])),
    Spec(Any, _json_scalars, hashable=False),
    Spec(type(None), st.none()),
]


@st.composite
def _constrained(draw: st.DrawFn) -> Spec:
    kind = draw(st.sampled_from(["max_len", "min_len", "range", "regex", "in", "members"]))
    if kind == "max_len":
        n = draw(st.integers(0, 5))
        return Spec(str, st.text(max_size=n), attrs.validators.max_len(n))
    if kind == "min_len":
        n = draw(st.integers(0, 3))
        return Spec(str, st.text(min_size=n, max_size=n + 3), attrs.validators.min_len(n))
    if kind == "range":
        low = draw(st.integers(-100, 100))
        high = low + draw(st.integers(0, 50))
        return Spec(
            int,
            st.integers(low, high),
            attrs.validators.and_(attrs.validators.ge(low), attrs.validators.le(high)),
        )
    if kind == "regex":
        return Spec(
            str,
            st.from_regex(r"[a-z]{2,4}", fullmatch=True),
            attrs.validators.matches_re(r"[a-z]{2,4}"),
        )
    if kind == "members":
        n = draw(st.integers(0, 4))
        return Spec(
            list[str],
            st.lists(st.text(max_size=n), max_size=3),
            attrs.validators.deep_iterable(
                attrs.validators.max_len(n), attrs.validators.max_len(3)
            ),
            hashable=False,
        )
    options = draw(st.lists(st.text(max_size=3), min_size=1, max_size=3, unique=True))
    return Spec(str, st.sampled_from(options), attrs.validators.in_(options))


def _subscript(origin: Any, *arguments: Any) -> Any:
    """``origin[arguments]`` for types known only at run time."""
    return origin[arguments if len(arguments) > 1 else arguments[0]]


_model_counter = iter(range(10**9))


def _make_model(fields: list[tuple[Spec, bool]]) -> Spec:
    """An attrs class with one field per spec (some with defaults) and a strategy for instances."""
    name = f"Model{next(_model_counter) % 3}"  # few names, so clashes get exercised
    attributes: dict[str, Any] = {}
    strategies: dict[str, st.SearchStrategy[Any]] = {}
    # Fields with defaults go last, as attrs requires.
    ordered = sorted(enumerate(fields), key=lambda item: item[1][1])
    for index, (spec, has_default) in ordered:
        field_name = f"f{index}"
        options: dict[str, Any] = {"type": spec.tp, "validator": spec.validator}
        if has_default:
            options["default"] = None
            options["type"] = _subscript(Optional, spec.tp)
            if spec.validator is not None:
                options["validator"] = attrs.validators.optional(spec.validator)
        attributes[field_name] = attrs.field(**options)
        strategies[field_name] = st.none() | spec.values if has_default else spec.values
    cls = attrs.make_class(name, attributes, frozen=True)
    return Spec(cls, st.fixed_dictionaries(strategies).map(lambda kw: cls(**kw)))


def _specs(depth: int) -> st.SearchStrategy[Spec]:
    leaves = st.sampled_from(_LEAVES) | _constrained()
    if depth == 0:
        return leaves
    inner = _specs(depth - 1)
    hashable_leaf = st.sampled_from([s for s in _LEAVES if s.hashable and s.tp is not float])

    def listed(spec: Spec) -> Spec:
        return Spec(_subscript(list, spec.tp), st.lists(spec.values, max_size=3), hashable=False)

    def variadic(spec: Spec) -> Spec:
        return Spec(_subscript(tuple, spec.tp, ...), st.lists(spec.values, max_size=3).map(tuple))

    def fixed(specs: list[Spec]) -> Spec:
        return Spec(
            _subscript(tuple, *(s.tp for s in specs)), st.tuples(*(s.values for s in specs))
        )

    def setted(spec: Spec) -> Spec:
        return Spec(_subscript(frozenset, spec.tp), st.frozensets(spec.values, max_size=3))

    def mapped(spec: Spec) -> Spec:
        return Spec(
            _subscript(dict, str, spec.tp),
            st.dictionaries(st.text(max_size=4), spec.values, max_size=3),
            hashable=False,
        )

    def optional(spec: Spec) -> Spec:
        return Spec(_subscript(Optional, spec.tp), st.none() | spec.values, hashable=spec.hashable)

    models = st.lists(st.tuples(inner, st.booleans()), min_size=1, max_size=4).map(_make_model)

    def union(pair: tuple[Spec, Spec]) -> Spec:
        first, second = pair
        return Spec(_subscript(Union, first.tp, second.tp), first.values | second.values)

    return st.one_of(
        leaves,
        inner.map(listed),
        inner.map(variadic),
        st.lists(inner, min_size=1, max_size=3).map(fixed),
        hashable_leaf.map(setted),
        inner.map(mapped),
        inner.map(optional),
        models,
        st.tuples(models, models).map(union),
    )


@st.composite
def _models_with_instances(draw: st.DrawFn) -> tuple[type, Any]:
    model = _make_model(draw(st.lists(st.tuples(_specs(2), st.booleans()), min_size=1, max_size=5)))
    return model.tp, draw(model.values)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_models_with_instances())
def test_schema_accepts_every_instance_as_sent(model: tuple[type, Any]) -> None:
    cls, instance = model
    registry = SchemaRegistry()
    schema = schema_for(cls, None, registry)
    components = registry.schemas()
    sent = json.loads(default_converter.encode_fn(cls)(instance))
    errors = list(validator(schema, components).iter_errors(sent))
    assert not errors, [error.message for error in errors]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_models_with_instances())
def test_generated_models_make_valid_documents(model: tuple[type, Any]) -> None:
    cls, _ = model
    document(operation("/m", "POST", (param("body", Location.BODY, cls),), _subscript(list, cls)))
