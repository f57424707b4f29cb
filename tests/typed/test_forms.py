"""Form models: ``Annotated[SomeAttrsClass, Form()]`` reads a whole form into an attrs class."""

# NOTE: no ``from __future__ import annotations``: handlers inside tests name local classes.

from collections.abc import Callable
from typing import Annotated, Any

import annotated_types
import attrs
import pytest
from openapi_spec_validator import validate as validate_spec

from framework.applications import App
from framework.datastructures import UploadFile
from framework.endpoints import HTTPEndpoint
from framework.routing import Route
from framework.typed.openapi import build_openapi
from framework.typed.params import Body, Form
from framework.typed.plan import HandlerDefinitionError, Location, OperationPlan
from framework.typed.signature import plan_operation
from testing.client import TestClient

TestClientFactory = Callable[..., TestClient]


def _even(instance: Any, attribute: "attrs.Attribute[int]", value: int) -> None:
    if value % 2:
        raise ValueError("must be even")


def _not_before_start(instance: Any, attribute: "attrs.Attribute[int]", value: int) -> None:
    if value < instance.start:
        raise ValueError("must not be before start")


@attrs.frozen
class Signup:
    """A signup form."""

    name: str = attrs.field(validator=attrs.validators.max_len(5))
    age: int = attrs.field(validator=attrs.validators.ge(18))
    tags: list[str] = attrs.field(factory=list)
    newsletter: bool = False
    _nickname: str = ""
    referrer: str | None = attrs.field(default=None, alias="ref")
    level: Annotated[int, annotated_types.Le(3)] = 1


@attrs.frozen
class Upload:
    title: str
    document: UploadFile
    extras: list[bytes] = attrs.field(factory=list)


@attrs.frozen
class Range:
    start: int
    end: int = attrs.field(validator=[_even, _not_before_start])


@attrs.frozen
class Refusing:
    value: int

    def __attrs_post_init__(self) -> None:
        if self.value == 13:
            raise ValueError("unlucky")


def _upper(text: str) -> str:
    return text.upper()


@attrs.frozen
class Converted:
    code: str = attrs.field(converter=_upper)


@attrs.frozen
class Inner:
    x: int


@attrs.frozen
class Nested:
    inner: Inner


@attrs.frozen
class NestedList:
    items: list[Inner] | None = None


@attrs.frozen
class NotText:
    mapping: dict[str, int]


class Signups(HTTPEndpoint):
    async def post(self, form: Annotated[Signup, Form()], page: int = 1) -> dict[str, Any]:
        return {
            "name": form.name,
            "age": form.age,
            "tags": form.tags,
            "newsletter": form.newsletter,
            "nickname": form._nickname,
            "referrer": form.referrer,
            "level": form.level,
            "page": page,
        }


class Uploads(HTTPEndpoint):
    async def post(
        self, form: Annotated[Upload, Form()], note: Annotated[str, Form()] = ""
    ) -> dict[str, Any]:
        return {
            "title": form.title,
            "document": [form.document.filename, (await form.document.read()).decode()],
            "extras": [extra.decode() for extra in form.extras],
            "note": note,
        }


class Ranges(HTTPEndpoint):
    async def post(self, form: Annotated[Range, Form()]) -> list[int]:
        return [form.start, form.end]


class Refusals(HTTPEndpoint):
    async def post(self, form: Annotated[Refusing, Form()]) -> int:
        return form.value


class Conversions(HTTPEndpoint):
    async def post(self, form: Annotated[Converted, Form()]) -> str:
        return form.code


def serve(factory: TestClientFactory, cls: type[HTTPEndpoint]) -> TestClient:
    return factory(App(routes=[Route("/", cls)]))


def errors(response: Any) -> list[tuple[list[Any], str]]:
    assert response.status_code == 422, response.text
    return [(error["loc"], error["type"]) for error in response.json()["detail"]]


def plan_of(cls: type, method: str = "post") -> OperationPlan:
    return plan_operation(cls, method, "/", route_name=cls.__name__)


# --- reading


def test_urlencoded_form_model(test_client_factory: TestClientFactory) -> None:
    client = serve(test_client_factory, Signups)
    response = client.post(
        "/?page=2",
        data={
            "name": "ann",
            "age": "30",
            "tags": ["a", "b"],
            "newsletter": "on",
            "nickname": "annie",
            "ref": "friend",
            "level": "3",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "name": "ann",
        "age": 30,
        "tags": ["a", "b"],
        "newsletter": True,
        "nickname": "annie",
        "referrer": "friend",
        "level": 3,
        "page": 2,
    }


def test_defaults_apply_to_absent_fields(test_client_factory: TestClientFactory) -> None:
    client = serve(test_client_factory, Signups)
    response = client.post("/", data={"name": "bob", "age": "18"})
    assert response.json() == {
        "name": "bob",
        "age": 18,
        "tags": [],
        "newsletter": False,
        "nickname": "",
        "referrer": None,
        "level": 1,
        "page": 1,
    }


def test_scalar_fields_read_the_first_value(test_client_factory: TestClientFactory) -> None:
    client = serve(test_client_factory, Signups)
    response = client.post("/", data={"name": ["x", "y"], "age": ["20", "oops"]})
    assert (response.json()["name"], response.json()["age"]) == ("x", 20)


def test_every_problem_at_once_with_other_locations(
    test_client_factory: TestClientFactory,
) -> None:
    client = serve(test_client_factory, Signups)
    response = client.post(
        "/?page=first", data={"name": "far too long", "tags": "a", "level": "4", "ref": "r"}
    )
    assert errors(response) == [
        (["form", "age"], "missing"),
        (["form", "level"], "value_error"),
        (["form", "name"], "value_error"),
        (["query", "page"], "type_error"),
    ]
    detail = {tuple(error["loc"]): error["msg"] for error in response.json()["detail"]}
    assert detail[("form", "name")] == "must be at most 5 characters"


def test_validators_run_after_parsing(test_client_factory: TestClientFactory) -> None:
    client = serve(test_client_factory, Signups)
    assert errors(client.post("/", data={"name": "ann", "age": "12"})) == [
        (["form", "age"], "value_error"),
    ]
    assert errors(client.post("/", data={"name": "ann", "age": "twelve"})) == [
        (["form", "age"], "type_error"),
    ]


def test_validators_see_their_siblings(test_client_factory: TestClientFactory) -> None:
    client = serve(test_client_factory, Ranges)
    assert client.post("/", data={"start": "2", "end": "4"}).json() == [2, 4]
    # attrs runs a list of validators in order, stopping at the first failure.
    response = client.post("/", data={"start": "6", "end": "3"})
    assert errors(response) == [(["form", "end"], "value_error")]
    assert response.json()["detail"][0]["msg"] == "must be even"
    response = client.post("/", data={"start": "6", "end": "4"})
    assert errors(response) == [(["form", "end"], "value_error")]
    assert response.json()["detail"][0]["msg"] == "must not be before start"
    # The start failed: the end's own validator still speaks, the sibling check stays quiet.
    response = client.post("/", data={"start": "x", "end": "3"})
    assert errors(response) == [(["form", "start"], "type_error"), (["form", "end"], "value_error")]


def test_a_refusing_model_is_a_form_error(test_client_factory: TestClientFactory) -> None:
    client = serve(test_client_factory, Refusals)
    assert client.post("/", data={"value": "12"}).json() == 12
    response = client.post("/", data={"value": "13"})
    assert errors(response) == [(["form"], "value_error")]
    assert response.json()["detail"][0]["msg"] == "unlucky"


def test_attrs_converters_apply(test_client_factory: TestClientFactory) -> None:
    client = serve(test_client_factory, Conversions)
    assert client.post("/", data={"code": "abc"}).json() == "ABC"


def test_multipart_form_model_with_files(test_client_factory: TestClientFactory) -> None:
    client = serve(test_client_factory, Uploads)
    response = client.post(
        "/",
        data={"title": "report", "note": "n"},
        files=[
            ("document", ("r.txt", b"content", "text/plain")),
            ("extras", ("e1", b"one")),
            ("extras", ("e2", b"two")),
        ],
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "title": "report",
        "document": ["r.txt", "content"],
        "extras": ["one", "two"],
        "note": "n",
    }


def test_multipart_form_model_problems(test_client_factory: TestClientFactory) -> None:
    client = serve(test_client_factory, Uploads)
    response = client.post(
        "/", data={"document": "not a file"}, files=[("title", ("t.txt", b"a file"))]
    )
    assert errors(response) == [
        (["form", "title"], "type_error"),
        (["form", "document"], "type_error"),
    ]
    response = client.post("/", files=[("extras", ("e", b"x"))])
    assert errors(response) == [(["form", "title"], "missing"), (["form", "document"], "missing")]


def test_no_form_at_all(test_client_factory: TestClientFactory) -> None:
    client = serve(test_client_factory, Ranges)
    assert errors(client.post("/")) == [
        (["form", "start"], "missing"),
        (["form", "end"], "missing"),
    ]


# --- the plan and OpenAPI


def test_plan_keeps_the_model() -> None:
    (form, page) = plan_of(Signups).parameters
    assert (form.location, form.annotation, form.required) == (Location.FORM, Signup, True)
    assert form.is_form_model
    assert [field.wire_name for field in form.form_fields] == [
        "name",
        "age",
        "tags",
        "newsletter",
        "nickname",
        "ref",
        "level",
    ]
    assert [field.required for field in form.form_fields][:3] == [True, True, False]
    assert page.location is Location.QUERY
    assert not page.is_form_model


def _request_body(*classes: type) -> tuple[dict[str, Any], dict[str, Any]]:
    document = build_openapi(
        [plan_operation(c, "post", f"/{c.__name__}", route_name=c.__name__) for c in classes]
    )
    validate_spec(document)
    return document, {
        c.__name__: document["paths"][f"/{c.__name__}"]["post"]["requestBody"] for c in classes
    }


def test_openapi_urlencoded_form_model() -> None:
    _, bodies = _request_body(Signups)
    body = bodies["Signups"]
    assert body["required"] is True
    schema = body["content"]["application/x-www-form-urlencoded"]["schema"]
    assert schema == {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 5},
            "age": {"type": "integer", "minimum": 18},
            "tags": {"type": "array", "items": {"type": "string"}, "default": []},
            "newsletter": {"type": "boolean", "default": False},
            "nickname": {"type": "string", "default": ""},
            "ref": {"type": "string"},
            "level": {"type": "integer", "maximum": 3, "default": 1},
        },
        "required": ["name", "age"],
    }


def test_openapi_multipart_form_model() -> None:
    document, bodies = _request_body(Uploads, Ranges)
    schema = bodies["Uploads"]["content"]["multipart/form-data"]["schema"]
    assert schema["required"] == ["title", "document"]
    assert schema["properties"]["document"]["format"] == "binary"
    assert schema["properties"]["extras"]["type"] == "array"
    assert schema["properties"]["extras"]["items"]["format"] == "binary"
    assert schema["properties"]["note"] == {"type": "string", "default": ""}
    ranges = bodies["Ranges"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert ranges["required"] == ["start", "end"]
    # Form models are inlined: they are no JSON components.
    assert "Range" not in document.get("components", {}).get("schemas", {})
    assert "422" in document["paths"]["/Ranges"]["post"]["responses"]


# --- start-up errors


def _definition_error(cls: type, *fragments: str) -> None:
    with pytest.raises(HandlerDefinitionError) as info:
        plan_of(cls)
    message = str(info.value)
    assert message.startswith(f"{__name__}.{cls.__qualname__}.post, parameter 'form'"), message
    for fragment in fragments:
        assert fragment in message, message


def test_nested_models_are_refused() -> None:
    class NestedForm(HTTPEndpoint):
        async def post(self, form: Annotated[Nested, Form()]) -> None:
            pass

    class NestedListForm(HTTPEndpoint):
        async def post(self, form: Annotated[NestedList, Form()]) -> None:
            pass

    _definition_error(NestedForm, "'inner'", "Nested", "flat")
    _definition_error(NestedListForm, "'items'", "NestedList", "flat")


def test_fields_that_are_not_text_are_refused() -> None:
    class MappingForm(HTTPEndpoint):
        async def post(self, form: Annotated[NotText, Form()]) -> None:
            pass

    _definition_error(MappingForm, "'mapping'", "NotText", "parsed from text")


def test_form_model_and_json_body_are_refused() -> None:
    class FormThenBody(HTTPEndpoint):
        async def post(self, form: Annotated[Range, Form()], body: Inner) -> None:
            pass

    class BodyThenForm(HTTPEndpoint):
        async def post(
            self, payload: Annotated[Inner, Body()], form: Annotated[Range, Form()]
        ) -> None:
            pass

    with pytest.raises(HandlerDefinitionError, match="one body, already read by parameter 'form'"):
        plan_of(FormThenBody)
    _definition_error(BodyThenForm, "both JSON and a form")


def test_defaults_and_limits_belong_on_fields() -> None:
    class Defaulted(HTTPEndpoint):
        async def post(self, form: Annotated[Range, Form()] = Range(0, 2)) -> None:
            pass

    class Limited(HTTPEndpoint):
        async def post(self, form: Annotated[Range, Form(), annotated_types.MinLen(1)]) -> None:
            pass

    _definition_error(Defaulted, "drop the parameter's default")
    _definition_error(Limited, "limits on a form model")
