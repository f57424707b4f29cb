"""OpenAPI 3.1 documents built from the route plans, with JSON Schema 2020-12 for their types.

The document reads the same ``OperationPlan`` objects that parse and validate requests, and
nothing else: each path parameter's convertor, each upload, a form model's fields, and every
status the operation can answer (``plan.responses``), so what it promises is what the endpoints
enforce. It is built once (the app caches it) and served as pre-encoded bytes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from framework._json import dumps as json_dumps
from framework.convertors import (
    Convertor,
    FloatConvertor,
    IntegerConvertor,
    PathConvertor,
    UUIDConvertor,
)
from framework.requests import Request
from framework.responses import JSONResponse, Response
from framework.typed._typeinfo import is_union, without_none
from framework.typed.errors import HTTPError, HTTPValidationError
from framework.typed.jsonschema import (
    BINARY,
    NO_DEFAULT,
    JSONSchema,
    SchemaRegistry,
    attribute_default,
    json_value,
)
from framework.typed.plan import (
    FormFieldPlan,
    Location,
    OperationPlan,
    ParameterPlan,
    is_error_body,
)

__all__ = ["build_openapi", "openapi_endpoint", "openapi_response"]

_OPENAPI_VERSION = "3.1.0"
# Path item fields that are HTTP methods; other methods cannot be described.
_OPENAPI_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
_PARAMETER_LOCATIONS = {
    Location.PATH: "path",
    Location.QUERY: "query",
    Location.HEADER: "header",
    Location.COOKIE: "cookie",
}
_VALIDATION_ERROR = "ValidationError"
_HTTP_VALIDATION_ERROR = "HTTPValidationError"
_HTTP_ERROR = "HTTPError"


def _narrow_to_convertor(schema: JSONSchema, convertor: Convertor[Any] | None) -> JSONSchema:
    """Make a path parameter's schema admit only what the route's convertor matches.

    A schema of another type than the convertor's is replaced: the route only ever matches
    the convertor's text. One without a type (an enum's ``$ref``, a literal) is already narrower.
    """
    kind = schema.get("type")
    untyped = kind is None and bool(schema)
    if isinstance(convertor, (IntegerConvertor, FloatConvertor)):
        if untyped:
            return schema
        if kind not in ("integer", "number"):
            number = "integer" if isinstance(convertor, IntegerConvertor) else "number"
            return {"type": number, "minimum": 0}
        # The convertors match digits only: no sign, so no negative values.
        if not isinstance(schema.get("minimum"), (int, float)) or schema["minimum"] < 0:
            schema["minimum"] = 0
        return schema
    if isinstance(convertor, UUIDConvertor):
        if untyped or kind == "string":
            return schema
        return {"type": "string", "format": "uuid"}
    if convertor is None or kind != "string" or "pattern" in schema:
        return schema
    # NOTE: ``path`` matches anything, so it adds nothing; other convertors (``str``: one
    # non-empty segment, and registered ones) restrict the text to their regex.
    if not isinstance(convertor, PathConvertor) and convertor.regex not in (".*", ""):
        schema["pattern"] = f"^(?:{convertor.regex})$"
    return schema


def _parameter_schema(parameter: ParameterPlan, registry: SchemaRegistry) -> JSONSchema:
    schema = registry.schema(without_none(parameter.annotation), parameter.constraints)
    if not parameter.required and parameter.default is not None:
        default = json_value(parameter.default, parameter.annotation)
        if default is not NO_DEFAULT:
            schema["default"] = default
    return schema


def _parameter(parameter: ParameterPlan, registry: SchemaRegistry) -> JSONSchema:
    schema = _parameter_schema(parameter, registry)
    where = _PARAMETER_LOCATIONS[parameter.location]
    if parameter.location is Location.PATH:
        schema = _narrow_to_convertor(schema, parameter.convertor)
    result: JSONSchema = {
        "name": parameter.wire_name,
        "in": where,
        "required": parameter.location is Location.PATH or parameter.required,
    }
    if parameter.description:
        result["description"] = parameter.description
    result["schema"] = schema
    if parameter.location is Location.QUERY and schema.get("type") == "array":
        # Lists are read from repeated keys: ``?tag=a&tag=b``.
        result["style"] = "form"
        result["explode"] = True
    return result


def _file_schema(many: bool) -> JSONSchema:
    return {"type": "array", "items": dict(BINARY)} if many else dict(BINARY)


def _form_field_schema(field: FormFieldPlan, registry: SchemaRegistry) -> JSONSchema:
    """A form model's field: a file, or text whose optional types are described without
    ``null`` (a text field cannot carry it)."""
    if field.upload is not None:
        return _file_schema(field.upload.many)
    schema = registry.schema(
        without_none(field.annotation), field.constraints, field.item_constraints
    )
    default = attribute_default(field.attribute, field.annotation)
    if default is not NO_DEFAULT and default is not None:
        schema["default"] = default
    return schema


def _request_body(plan: OperationPlan, registry: SchemaRegistry) -> JSONSchema | None:
    body = plan.body
    if body is not None:
        result: JSONSchema = {}
        if body.description:
            result["description"] = body.description
        schema = registry.schema(body.annotation, body.constraints)
        result["content"] = {"application/json": {"schema": schema}}
        result["required"] = body.required
        return result
    fields = [p for p in plan.parameters if p.location in (Location.FORM, Location.FILE)]
    if not fields:
        return None
    properties: JSONSchema = {}
    required: list[str] = []
    has_files = False
    for field in fields:
        if field.is_form_model:
            for model_field in field.form_fields:
                properties[model_field.wire_name] = _form_field_schema(model_field, registry)
                if model_field.required:
                    required.append(model_field.wire_name)
                has_files = has_files or model_field.upload is not None
            continue
        if field.upload is not None:
            has_files = True
            properties[field.wire_name] = _file_schema(field.upload.many)
        else:
            properties[field.wire_name] = _parameter_schema(field, registry)
        if field.description:
            properties[field.wire_name]["description"] = field.description
        if field.required:
            required.append(field.wire_name)
    form: JSONSchema = {"type": "object", "properties": properties}
    if required:
        form["required"] = required
    media_type = "multipart/form-data" if has_files else "application/x-www-form-urlencoded"
    return {"content": {media_type: {"schema": form}}, "required": bool(required)}


def _validation_error_schema() -> JSONSchema:
    return {
        "title": _VALIDATION_ERROR,
        "type": "object",
        "properties": {
            "loc": {
                "type": "array",
                "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            },
            "msg": {"type": "string"},
            "type": {"type": "string"},
        },
        "required": ["loc", "msg", "type"],
    }


def _http_validation_error_schema(registry: SchemaRegistry) -> JSONSchema:
    return {
        "title": _HTTP_VALIDATION_ERROR,
        "type": "object",
        "properties": {
            "detail": {
                "type": "array",
                "items": registry.builtin(_VALIDATION_ERROR, _validation_error_schema),
            }
        },
        "required": ["detail"],
    }


def _http_error_schema() -> JSONSchema:
    return {
        "title": _HTTP_ERROR,
        "type": "object",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    }


def _body_schema(body: Any, registry: SchemaRegistry) -> JSONSchema:
    """The schema of a planned response body; the framework's own error bodies are built-in
    components with fixed names."""
    if body is HTTPError:
        return registry.builtin(_HTTP_ERROR, _http_error_schema)
    if body is HTTPValidationError:
        return registry.builtin(
            _HTTP_VALIDATION_ERROR, lambda: _http_validation_error_schema(registry)
        )
    if is_union(body) and is_error_body(body):
        return {"anyOf": [_body_schema(member, registry) for member in body.__args__]}
    return registry.schema(body)


def _responses(plan: OperationPlan, registry: SchemaRegistry) -> JSONSchema:
    responses: JSONSchema = {}
    for planned in plan.responses:
        response: JSONSchema = {"description": planned.description}
        if planned.body is not None:
            schema = _body_schema(planned.body, registry)
            response["content"] = {"application/json": {"schema": schema}}
        responses[str(planned.status)] = response
    return responses


def _operation(plan: OperationPlan, registry: SchemaRegistry, operation_id: str) -> JSONSchema:
    operation: JSONSchema = {}
    if plan.tags:
        operation["tags"] = list(plan.tags)
    if plan.summary:
        operation["summary"] = plan.summary
    if plan.description:
        operation["description"] = plan.description
    operation["operationId"] = operation_id
    parameters = [
        _parameter(p, registry) for p in plan.parameters if p.location in _PARAMETER_LOCATIONS
    ]
    # NOTE: a handler taking only the request still serves a templated path, and OpenAPI
    # requires every template parameter to be declared: document those from the convertor.
    declared = {p.wire_name for p in plan.parameters if p.location is Location.PATH}
    parameters += [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": _narrow_to_convertor({"type": "string"}, convertor),
        }
        for name, convertor in plan.path_convertors.items()
        if name not in declared
    ]
    if parameters:
        operation["parameters"] = parameters
    body = _request_body(plan, registry)
    if body is not None:
        operation["requestBody"] = body
    operation["responses"] = _responses(plan, registry)
    return operation


def build_openapi(
    operations: Sequence[OperationPlan],
    *,
    title: str = "API",
    version: str = "0.1.0",
    description: str | None = None,
    servers: Sequence[Mapping[str, object]] | None = None,
) -> dict[str, Any]:
    """An OpenAPI 3.1 document describing ``operations``, in their order.

    Operation ids are the plan's ``operation_id``, numbered when taken. Raises ``ValueError``
    for two operations on one method and path, ``TypeError`` naming the handler for a type
    that JSON Schema cannot describe.
    """
    registry = SchemaRegistry()
    paths: dict[str, dict[str, JSONSchema]] = {}
    taken_ids: set[str] = set()
    tags: list[str] = []
    for plan in operations:
        method = plan.method.lower()
        if method not in _OPENAPI_METHODS:
            continue
        path = plan.path_format
        item = paths.setdefault(path, {})
        if method in item:
            raise ValueError(f"two operations for {plan.method.upper()} {path}")
        base_id = plan.operation_id
        operation_id, number = base_id, 1
        while operation_id in taken_ids:
            number += 1
            operation_id = f"{base_id}_{number}"
        taken_ids.add(operation_id)
        try:
            item[method] = _operation(plan, registry, operation_id)
        except TypeError as exc:
            raise TypeError(
                f"{plan.qualified_name} ({plan.method.upper()} {plan.path}) cannot be "
                f"documented: {exc}"
            ) from exc
        tags.extend(tag for tag in plan.tags if tag not in tags)
    info: JSONSchema = {"title": title, "version": version}
    if description:
        info["description"] = description
    document: dict[str, Any] = {"openapi": _OPENAPI_VERSION, "info": info}
    if servers:
        document["servers"] = [dict(server) for server in servers]
    document["paths"] = paths
    schemas = registry.schemas()
    if schemas:
        document["components"] = {"schemas": schemas}
    if tags:
        document["tags"] = [{"name": tag} for tag in tags]
    return document


def openapi_response(document: Mapping[str, Any]) -> JSONResponse:
    """``document`` as an ``application/json`` response."""
    return JSONResponse(dict(document))


def openapi_endpoint(
    get_document: Callable[[], Mapping[str, Any]],
) -> Callable[[Request], Awaitable[Response]]:
    """A request handler serving the document that ``get_document`` returns (built lazily)."""
    cache: list[tuple[Mapping[str, Any], bytes]] = []

    async def openapi(request: Request) -> Response:
        document = get_document()
        # PERF: the document is usually the same object every time; encode it once.
        if not cache or cache[0][0] is not document:
            cache[:] = [(document, json_dumps(dict(document)))]
        return Response(cache[0][1], media_type="application/json")

    return openapi
