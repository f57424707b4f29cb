"""OpenAPI 3.1 documents built from the route plans, with JSON Schema 2020-12 for their types.

The document is derived from the same ``OperationPlan`` objects that parse and validate requests,
so what it promises is what the endpoints enforce. It is built once (the app caches it) and served
as pre-encoded bytes.
"""

from __future__ import annotations

import collections.abc
import datetime
import decimal
import enum
import http
import inspect
import json
import re
import types
import typing
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar, Union

import attrs

from framework._json import dumps as json_dumps
from framework.convertors import CONVERTOR_TYPES
from framework.datastructures import UploadFile
from framework.requests import Request
from framework.responses import JSONResponse, Response
from framework.typed.constraints import (
    Constraints,
    combine,
    constraints_from_attribute,
    item_constraints_from_attribute,
    split_annotated,
)
from framework.typed.converter import default_converter
from framework.typed.plan import Location, OperationPlan, ParameterPlan
from framework.typed.signature import encoded_part

__all__ = [
    "SchemaRegistry",
    "build_openapi",
    "openapi_endpoint",
    "openapi_response",
    "schema_for",
]

JSONSchema = dict[str, Any]

_OPENAPI_VERSION = "3.1.0"
_REF_PREFIX = "#/components/schemas/"
# Path item fields that are HTTP methods; other methods cannot be described.
_OPENAPI_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
_PARAMETER_LOCATIONS = {
    Location.PATH: "path",
    Location.QUERY: "query",
    Location.HEADER: "header",
    Location.COOKIE: "cookie",
}
_PATH_PARAMETER = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-zA-Z_][a-zA-Z0-9_]*))?}")
_UNSAFE_COMPONENT_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")

# NOTE: the converter reads any iterable annotation from a JSON array, as a list.
_SEQUENCE_ORIGINS: frozenset[Any] = frozenset(
    {
        list,
        collections.abc.Sequence,
        collections.abc.MutableSequence,
        collections.abc.Collection,
        collections.abc.Iterable,
    }
)
_SET_ORIGINS: frozenset[Any] = frozenset(
    {set, frozenset, collections.abc.Set, collections.abc.MutableSet}
)
_MAPPING_ORIGINS: frozenset[Any] = frozenset(
    {dict, collections.abc.Mapping, collections.abc.MutableMapping}
)
_BARE_COLLECTIONS = _SEQUENCE_ORIGINS | _SET_ORIGINS | _MAPPING_ORIGINS | {tuple}
# Factories whose result is a fixed, harmless value worth documenting as a default; any other
# factory (``uuid4``, ``datetime.now``) would put a random or stale value in the document.
_DOCUMENTED_FACTORIES: frozenset[Any] = frozenset({list, dict, set, frozenset, tuple})
_FORMATS: dict[type, str] = {
    datetime.datetime: "date-time",
    datetime.date: "date",
    datetime.time: "time",
    uuid.UUID: "uuid",
}
_DECIMAL_TEXT = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
_NO_LIMITS = Constraints()
_BINARY = {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}

_VALIDATION_ERROR = "ValidationError"
_HTTP_VALIDATION_ERROR = "HTTPValidationError"
_HTTP_ERROR = "HTTPError"


def _component_label(key: Any) -> str:
    """The readable name of a component: the class name, with arguments for generics."""
    origin = typing.get_origin(key)
    if origin is None:
        return str(getattr(key, "__name__", key))
    labels = [_component_label(arg) for arg in typing.get_args(key)]
    return "_".join([_component_label(origin), *labels])


def _qualified_label(key: Any) -> str:
    """The component name used when two classes share a label: prefixed with the module path."""
    origin = typing.get_origin(key) or key
    qualified = f"{origin.__module__}.{getattr(origin, '__qualname__', _component_label(origin))}"
    return "_".join([qualified, *(_component_label(arg) for arg in typing.get_args(key))])


def _sanitize(name: str) -> str:
    """Component names may hold only letters, digits, ``.``, ``-`` and ``_``."""
    return _UNSAFE_COMPONENT_CHARACTERS.sub("_", name).strip("_") or "Schema"


@attrs.define
class _Component:
    """A registered schema, the ``$ref`` objects pointing at it, and its fixed name if built in."""

    schema: JSONSchema
    refs: list[JSONSchema]
    fixed_name: str | None = None


class SchemaRegistry:
    """The ``components/schemas`` of one document: one entry per attrs class and Enum.

    Names are stable: a class is named after ``__name__``; when two different classes share a
    name, both are qualified with their module path, so the result does not depend on which one
    was met first. ``$ref`` objects handed out earlier are rewritten when names change, so call
    ``schemas()`` once every schema has been built.
    """

    def __init__(self) -> None:
        self._components: dict[Any, _Component] = {}

    def schema(self, tp: Any, constraints: Constraints | None = None) -> JSONSchema:
        """The JSON Schema of values of type ``tp``, with ``constraints`` applied."""
        return self._schema(tp, constraints or _NO_LIMITS)

    def schemas(self) -> dict[str, JSONSchema]:
        """Every registered component by its final name, sorted by name; fixes all ``$ref``s."""
        names = self._assign_names()
        for key, component in self._components.items():
            for ref in component.refs:
                ref["$ref"] = _REF_PREFIX + names[key]
        ordered = sorted(names, key=lambda key: names[key])
        return {names[key]: self._components[key].schema for key in ordered}

    def builtin(self, name: str, build: Callable[[], JSONSchema]) -> JSONSchema:
        """A ``$ref`` to a framework-defined component (such as the validation error shape)."""
        return self._ref(("builtin", name), build, fixed_name=name)

    def _ref(
        self, key: Any, build: Callable[[], JSONSchema], fixed_name: str | None = None
    ) -> JSONSchema:
        component = self._components.get(key)
        if component is None:
            # NOTE: registered before building so that recursive models find their own entry.
            component = _Component(schema={}, refs=[], fixed_name=fixed_name)
            self._components[key] = component
            component.schema.update(build())
        ref = {"$ref": _REF_PREFIX + (fixed_name or _sanitize(_component_label(key)))}
        component.refs.append(ref)
        return ref

    def _assign_names(self) -> dict[Any, str]:
        names: dict[Any, str] = {}
        by_label: dict[str, list[Any]] = {}
        for key, component in self._components.items():
            if component.fixed_name is not None:
                names[key] = component.fixed_name
            else:
                by_label.setdefault(_sanitize(_component_label(key)), []).append(key)
        taken = set(names.values())
        for label, keys in by_label.items():
            if len(keys) == 1 and label not in taken:
                names[keys[0]] = label
                taken.add(label)
                continue
            for key in keys:
                name = _sanitize(_qualified_label(key))
                # Classes with one qualified name (made in one function, say) get numbered in
                # registration order, which follows the order of the operations.
                candidate, number = name, 1
                while candidate in taken:
                    number += 1
                    candidate = f"{name}_{number}"
                names[key] = candidate
                taken.add(candidate)
        return names

    def _schema(
        self, tp: Any, constraints: Constraints, items: Constraints = _NO_LIMITS
    ) -> JSONSchema:
        """``items`` limits each member when ``tp`` is a collection (attrs' ``deep_iterable``)."""
        if typing.get_origin(tp) is typing.Annotated:
            tp, extra, _markers = split_annotated(tp)
            constraints = combine(extra, constraints)
        tp = _unalias(tp)
        origin = typing.get_origin(tp)
        if tp is Any or tp is object or tp is inspect.Parameter.empty or isinstance(tp, TypeVar):
            schema: JSONSchema = {}
            if isinstance(tp, TypeVar) and tp.__bound__ is not None:
                schema = self._schema(tp.__bound__, _NO_LIMITS)
            return _apply_common(schema, tp, constraints)
        if tp is None or tp is type(None):
            return {"type": "null"}
        if origin is Literal:
            return _apply_common(_literal_schema(typing.get_args(tp)), tp, constraints)
        if origin is Union or origin is types.UnionType:
            return self._union_schema(typing.get_args(tp), constraints, items)
        if attrs.has(tp):
            ref = self._ref(tp, lambda: self._attrs_schema(tp))
            return _apply_common(ref, tp, constraints)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            ref = self._ref(tp, lambda: _enum_schema(tp))
            return _apply_common(ref, tp, constraints)
        if origin is not None or tp in _BARE_COLLECTIONS:
            return self._collection_schema(tp, origin or tp, constraints, items)
        if isinstance(tp, type):
            return _scalar_schema(tp, constraints)
        raise TypeError(f"cannot describe {tp!r} in JSON Schema")

    def _union_schema(
        self, members: tuple[Any, ...], constraints: Constraints, items: Constraints
    ) -> JSONSchema:
        # Constraints go to every member: in JSON Schema a length limit on an ``anyOf`` would not
        # know whether it counts characters or items.
        return {"anyOf": [self._schema(member, constraints, items) for member in members]}

    def _collection_schema(
        self, tp: Any, origin: Any, constraints: Constraints, items: Constraints
    ) -> JSONSchema:
        args = typing.get_args(tp)
        schema: JSONSchema
        if origin is tuple:
            schema = {"type": "array"}
            if len(args) == 2 and args[1] is Ellipsis:
                schema["items"] = self._schema(args[0], items)
            elif args == ((),) or (not args and tp is not tuple):
                # ``tuple[()]``: the arguments read ``((),)`` before Python 3.11, ``()`` since.
                schema["maxItems"] = 0
            elif args:
                schema["prefixItems"] = [self._schema(arg, items) for arg in args]
                schema["items"] = False
                schema["minItems"] = len(args)
        elif origin in _SEQUENCE_ORIGINS or origin in _SET_ORIGINS:
            schema = {"type": "array"}
            if args:
                schema["items"] = self._schema(args[0], items)
            if origin in _SET_ORIGINS:
                schema["uniqueItems"] = True
        elif origin in _MAPPING_ORIGINS:
            # NOTE: ``deep_iterable`` over a mapping checks its keys, which ``propertyNames``
            # cannot always say in JSON terms; member limits are not written for mappings.
            schema = {"type": "object"}
            if args:
                key_names = _property_names(args[0])
                if key_names:
                    schema["propertyNames"] = key_names
                schema["additionalProperties"] = self._schema(args[1], _NO_LIMITS)
        else:
            raise TypeError(f"cannot describe {tp!r} in JSON Schema")
        if constraints.min_length is not None:
            schema["minProperties" if schema["type"] == "object" else "minItems"] = max(
                constraints.min_length, schema.get("minItems", 0)
            )
        if constraints.max_length is not None:
            key = "maxProperties" if schema["type"] == "object" else "maxItems"
            schema[key] = constraints.max_length
        return _apply_common(schema, tp, constraints)

    def _attrs_schema(self, tp: Any) -> JSONSchema:
        properties: JSONSchema = {}
        required: list[str] = []
        for attribute, field_type in _attribute_types(tp):
            schema = self._schema(
                field_type,
                constraints_from_attribute(attribute),
                item_constraints_from_attribute(attribute),
            )
            default = _attribute_default(attribute, field_type)
            if default is not _NO_DEFAULT:
                schema["default"] = default
            elif attribute.init and attribute.default is attrs.NOTHING:
                required.append(attribute.name)
            properties[attribute.name] = schema
        origin = typing.get_origin(tp) or tp
        result: JSONSchema = {"title": _component_label(tp), "type": "object"}
        doc = origin.__dict__.get("__doc__")
        if doc:
            result["description"] = inspect.cleandoc(doc)
        result["properties"] = properties
        if required:
            result["required"] = required
        return result

    def form_schema(self, tp: type) -> tuple[JSONSchema, list[str], bool]:
        """An attrs class read from a whole form: its fields' schemas by form field name (the
        attrs alias), the names of those without defaults, and whether any is a file upload.

        Text fields cannot carry ``null``, so optional types are described without it.
        """
        properties: JSONSchema = {}
        required: list[str] = []
        has_files = False
        for attribute, field_type in _attribute_types(tp):
            if not attribute.init:
                continue
            name = attribute.alias or attribute.name
            schema: JSONSchema
            if _is_upload(field_type):
                schema = _file_schema(field_type)
                has_files = True
            else:
                schema = self._schema(
                    _without_none(field_type),
                    constraints_from_attribute(attribute),
                    item_constraints_from_attribute(attribute),
                )
                default = _attribute_default(attribute, field_type)
                if default is not _NO_DEFAULT and default is not None:
                    schema["default"] = default
            if attribute.default is attrs.NOTHING:
                required.append(name)
            properties[name] = schema
        return properties, required, has_files


def _attribute_types(tp: Any) -> list[tuple[attrs.Attribute[Any], Any]]:
    """Each field of the attrs class ``tp`` with its resolved type (generic arguments applied)."""
    origin = typing.get_origin(tp) or tp
    substitutions = dict(
        zip(getattr(origin, "__parameters__", ()), typing.get_args(tp), strict=False)
    )
    try:
        hints = typing.get_type_hints(origin, include_extras=True)
    except (NameError, TypeError):
        # NOTE: a class whose annotations cannot be resolved here (names local to a function)
        # still has the types attrs recorded when they were given as objects.
        hints = {}
    found: list[tuple[attrs.Attribute[Any], Any]] = []
    for attribute in attrs.fields(origin):
        if attribute.name in hints:
            field_type = _substitute(hints[attribute.name], substitutions)
        elif attribute.type is None:
            field_type = Any  # an untyped field takes anything
        else:
            field_type = _substitute(attribute.type, substitutions)
        if isinstance(field_type, str):
            raise TypeError(
                f"cannot resolve the annotation {field_type!r} of "
                f"{origin.__qualname__}.{attribute.name}"
            )
        found.append((attribute, field_type))
    return found


def schema_for(tp: Any, constraints: Constraints | None, components: SchemaRegistry) -> JSONSchema:
    """The JSON Schema 2020-12 of ``tp``; models and enums go to ``components`` as ``$ref``s."""
    return components.schema(tp, constraints)


_NO_DEFAULT = object()


def _attribute_default(attribute: attrs.Attribute[Any], tp: Any) -> Any:
    default: Any = attribute.default
    if default is attrs.NOTHING:
        return _NO_DEFAULT
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        if default.takes_self or default.factory not in _DOCUMENTED_FACTORIES:
            return _NO_DEFAULT
        default = default.factory()
    return _json_value(default, tp)


def _json_value(value: Any, tp: Any) -> Any:
    """``value`` as the API would send it, or ``_NO_DEFAULT`` when it has no JSON form."""
    try:
        # NOTE: any error means the value does not fit its own type (a user's mistake that the
        # converter reports on use); the document then just leaves the default out.
        # A round trip through the bytes the API sends gives plain JSON values (lists, not
        # tuples or sets); NaN and infinities are refused by the encoder.
        return json.loads(default_converter.encode_fn(tp)(value))
    except Exception:
        return _NO_DEFAULT


def _unalias(tp: Any) -> Any:
    """Look through ``NewType`` and ``type`` aliases to the type they stand for."""
    while True:
        supertype = getattr(tp, "__supertype__", None)
        if supertype is not None:
            tp = supertype
            continue
        value = getattr(tp, "__value__", None)
        if value is not None and type(tp).__name__ == "TypeAliasType":
            tp = value
            continue
        return tp


def _substitute(tp: Any, substitutions: Mapping[Any, Any]) -> Any:
    """Replace the type variables of a generic model's field type by the model's arguments."""
    if not substitutions:
        return tp
    if isinstance(tp, TypeVar):
        return substitutions.get(tp, tp)
    parameters = getattr(tp, "__parameters__", ())
    if parameters and not isinstance(tp, type):
        return tp[tuple(substitutions.get(parameter, parameter) for parameter in parameters)]
    return tp


def _json_type(values: Sequence[Any]) -> str | list[str] | None:
    """The JSON type (or types) of ``values``; ``None`` when one of them is not a JSON scalar."""
    found: list[str] = []
    for value in values:
        if value is None:
            name = "null"
        elif isinstance(value, bool):
            name = "boolean"
        elif isinstance(value, int):
            name = "integer"
        elif isinstance(value, float):
            name = "number"
        elif isinstance(value, str):
            name = "string"
        else:
            return None
        if name not in found:
            found.append(name)
    if not found:
        return None
    return found[0] if len(found) == 1 else found


def _literal_schema(values: tuple[Any, ...]) -> JSONSchema:
    plain = [value.value if isinstance(value, enum.Enum) else value for value in values]
    schema: JSONSchema = {}
    json_type = _json_type(plain)
    if json_type is not None:
        schema["type"] = json_type
    if len(plain) == 1:
        schema["const"] = plain[0]
    else:
        schema["enum"] = plain
    return schema


def _enum_schema(tp: type[enum.Enum]) -> JSONSchema:
    values = [member.value for member in tp]
    schema: JSONSchema = {"title": tp.__name__}
    json_type = _json_type(values)
    if json_type is not None:
        schema["type"] = json_type
    schema["enum"] = values
    doc = tp.__dict__.get("__doc__")
    if doc and doc != "An enumeration.":
        schema["description"] = inspect.cleandoc(doc)
    return schema


def _property_names(key_type: Any) -> JSONSchema | None:
    """What object keys look like for a mapping whose keys are ``key_type``, if restricted."""
    key_type = _unalias(key_type)
    values: list[Any] | None = None
    if typing.get_origin(key_type) is Literal:
        values = [getattr(value, "value", value) for value in typing.get_args(key_type)]
    elif isinstance(key_type, type) and issubclass(key_type, enum.Enum):
        values = [member.value for member in key_type]
    if values is not None:
        # Only string values are object keys as they are.
        return {"enum": values} if all(isinstance(value, str) for value in values) else None
    if key_type is int:
        # NOTE: as the converter reads integer keys, from their text.
        return {"pattern": "^[+-]?[0-9]+$"}
    if key_type is uuid.UUID:
        return {"format": "uuid"}
    return None


def _scalar_schema(tp: type, constraints: Constraints) -> JSONSchema:
    schema: JSONSchema
    # NOTE: the order matters: bool is an int, and datetime is a date.
    if issubclass(tp, bool):
        schema = {"type": "boolean"}
    elif issubclass(tp, int):
        schema = {"type": "integer"}
    elif issubclass(tp, float):
        schema = {"type": "number"}
    elif issubclass(tp, str):
        schema = {"type": "string"}
    elif issubclass(tp, (bytes, bytearray)):
        schema = {"type": "string", "contentEncoding": "base64"}
    elif issubclass(tp, decimal.Decimal):
        return _decimal_schema(constraints)
    elif issubclass(tp, UploadFile):
        return dict(_BINARY)
    else:
        for base, format_name in _FORMATS.items():
            if issubclass(tp, base):
                schema = {"type": "string", "format": format_name}
                break
        else:
            raise TypeError(f"cannot describe {tp!r} in JSON Schema")
    if schema["type"] in ("integer", "number"):
        _apply_bounds(schema, constraints)
    elif schema["type"] == "string" and "contentEncoding" not in schema:
        # NOTE: lengths of bytes count bytes, not base64 characters, so they are left out.
        if constraints.min_length is not None:
            schema["minLength"] = constraints.min_length
        if constraints.max_length is not None:
            schema["maxLength"] = constraints.max_length
        if constraints.pattern is not None:
            schema["pattern"] = constraints.pattern
    return _apply_common(schema, tp, constraints)


def _decimal_schema(constraints: Constraints) -> JSONSchema:
    # Decimals are read from JSON numbers or numeric strings and always written as strings
    # (exact digits); bounds can only be written for the number form.
    number: JSONSchema = {"type": "number"}
    _apply_bounds(number, constraints)
    text = {"type": "string", "pattern": _DECIMAL_TEXT}
    return _apply_common({"anyOf": [number, text]}, decimal.Decimal, constraints)


def _apply_bounds(schema: JSONSchema, constraints: Constraints) -> None:
    for name, keyword in (
        ("ge", "minimum"),
        ("gt", "exclusiveMinimum"),
        ("le", "maximum"),
        ("lt", "exclusiveMaximum"),
        ("multiple_of", "multipleOf"),
    ):
        value = getattr(constraints, name)
        # Only plain numbers can be written; a bound of another kind stays enforced, unwritten.
        if isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool):
            number = value if isinstance(value, int) else float(value)
            if isinstance(number, float) and number.is_integer():
                number = int(number)
            schema[keyword] = number


def _apply_common(schema: JSONSchema, tp: Any, constraints: Constraints) -> JSONSchema:
    """Write the allowed choices, whatever the type."""
    if constraints.choices is not None:
        choices = [_json_value(choice, tp) for choice in constraints.choices]
        if all(choice is not _NO_DEFAULT for choice in choices):
            schema["enum"] = choices
    return schema


# --- operations -----------------------------------------------------------------------------


def _strip_convertors(path: str) -> tuple[str, dict[str, str]]:
    """``/todos/{todo_id:int}`` → (``/todos/{todo_id}``, ``{"todo_id": "int"}``)."""
    convertors: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        convertors[match.group(1)] = match.group(2) or "str"
        return "{" + match.group(1) + "}"

    return _PATH_PARAMETER.sub(replace, path), convertors


def _narrow_to_convertor(schema: JSONSchema, convertor: str) -> JSONSchema:
    """Make a path parameter's schema admit only what the route's convertor matches.

    A schema of another type than the convertor's is replaced: the route only ever matches
    the convertor's text. One without a type (an enum's ``$ref``, a literal) is already narrower.
    """
    kind = schema.get("type")
    untyped = kind is None and bool(schema)
    if convertor in ("int", "float"):
        if untyped:
            return schema
        if kind not in ("integer", "number"):
            return {"type": "integer" if convertor == "int" else "number", "minimum": 0}
        # The convertors match digits only: no sign, so no negative values.
        if not isinstance(schema.get("minimum"), (int, float)) or schema["minimum"] < 0:
            schema["minimum"] = 0
        return schema
    if convertor == "uuid":
        if untyped or kind == "string":
            return schema
        return {"type": "string", "format": "uuid"}
    found = CONVERTOR_TYPES.get(convertor)
    if found is None or kind != "string" or "pattern" in schema:
        return schema
    # NOTE: ``path`` matches anything, so it adds nothing; other convertors (``str``: one
    # non-empty segment, and registered ones) restrict the text to their regex.
    if found.regex not in (".*", ""):
        schema["pattern"] = f"^(?:{found.regex})$"
    return schema


def _without_none(tp: Any) -> Any:
    """``T`` for ``T | None``: a text location cannot carry a JSON ``null``."""
    annotated_metadata: tuple[Any, ...] = ()
    if typing.get_origin(tp) is typing.Annotated:
        annotated_metadata = tp.__metadata__
        tp = typing.get_args(tp)[0]
    origin = typing.get_origin(tp)
    if origin is Union or origin is types.UnionType:
        members = [member for member in typing.get_args(tp) if member is not type(None)]
        if len(members) < len(typing.get_args(tp)) and members:
            tp = members[0] if len(members) == 1 else Union[tuple(members)]  # noqa: UP007
    if annotated_metadata:
        arguments = (tp, *annotated_metadata)
        return typing.Annotated[arguments]
    return tp


_TEXT_INFALLIBLE: frozenset[Any] = frozenset({str, Any, object})


def _can_fail(parameter: ParameterPlan) -> bool:
    """Whether a request can get this parameter wrong, so that the operation may answer 422."""
    if parameter.location in (Location.BODY, Location.FORM, Location.FILE):
        return True
    if parameter.constraints:
        return True
    if parameter.required and parameter.location is not Location.PATH:
        return True
    tp = _without_none(parameter.annotation)
    if typing.get_origin(tp) in _SEQUENCE_ORIGINS or typing.get_origin(tp) is tuple:
        tp = typing.get_args(tp)[0] if typing.get_args(tp) else Any
    return tp not in _TEXT_INFALLIBLE


def _parameter_schema(parameter: ParameterPlan, registry: SchemaRegistry) -> JSONSchema:
    schema = registry.schema(_without_none(parameter.annotation), parameter.constraints)
    if not parameter.required and parameter.default is not None:
        default = _json_value(parameter.default, parameter.annotation)
        if default is not _NO_DEFAULT:
            schema["default"] = default
    return schema


def _parameter(
    parameter: ParameterPlan, convertors: Mapping[str, str], registry: SchemaRegistry
) -> JSONSchema:
    schema = _parameter_schema(parameter, registry)
    where = _PARAMETER_LOCATIONS[parameter.location]
    if parameter.location is Location.PATH:
        schema = _narrow_to_convertor(schema, convertors.get(parameter.wire_name, "str"))
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


def _file_schema(tp: Any) -> JSONSchema:
    tp = _without_none(tp)
    if typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    origin = typing.get_origin(tp)
    if origin in _SEQUENCE_ORIGINS or origin is tuple:
        return {"type": "array", "items": dict(_BINARY)}
    return dict(_BINARY)


def _is_upload(tp: Any) -> bool:
    """Whether a form field of type ``tp`` is a file: UploadFile or bytes, one or a list."""
    tp = _without_none(tp)
    if typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    if typing.get_origin(tp) in _SEQUENCE_ORIGINS:
        args = typing.get_args(tp)
        tp = args[0] if args else None
    return tp is UploadFile or tp is bytes


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
        if field.location is Location.FORM and attrs.has(field.annotation):
            # A form model: each of its fields is a field of the form.
            fields_of, required_of, files_of = registry.form_schema(field.annotation)
            properties.update(fields_of)
            required.extend(required_of)
            has_files = has_files or files_of
            continue
        if field.location is Location.FILE:
            has_files = True
            properties[field.wire_name] = _file_schema(field.annotation)
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


def _describe_status(code: int) -> str:
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        return f"Status {code}"


def _responses(plan: OperationPlan, registry: SchemaRegistry) -> JSONSchema:
    responses: dict[int, JSONSchema] = {}
    success: JSONSchema = {"description": _describe_status(plan.status_code)}
    # NOTE: the Response members of a union are sent as they are; only the rest is JSON.
    return_type = None if plan.return_type is None else encoded_part(plan.return_type)
    has_body = not (
        return_type is None
        or return_type is type(None)
        or plan.status_code in (204, 205, 304)
        or plan.status_code < 200
    )
    if has_body:
        success["content"] = {"application/json": {"schema": registry.schema(return_type)}}
    responses[plan.status_code] = success
    can_fail = any(_can_fail(p) for p in plan.parameters if p.location is not Location.INJECTED)
    for code in plan.raises:
        if code == plan.status_code:
            continue
        error = registry.builtin(_HTTP_ERROR, _http_error_schema)
        if code == 422 and can_fail:
            validation = registry.builtin(
                _HTTP_VALIDATION_ERROR, lambda: _http_validation_error_schema(registry)
            )
            error = {"anyOf": [validation, error]}
        responses[code] = {
            "description": _describe_status(code),
            "content": {"application/json": {"schema": error}},
        }
    if plan.body is not None and 415 not in responses:
        # A JSON body sent as another media type is refused.
        responses[415] = {
            "description": _describe_status(415),
            "content": {
                "application/json": {"schema": registry.builtin(_HTTP_ERROR, _http_error_schema)}
            },
        }
    if can_fail and 422 not in responses:
        validation = registry.builtin(
            _HTTP_VALIDATION_ERROR, lambda: _http_validation_error_schema(registry)
        )
        responses[422] = {
            "description": "Validation Error",
            "content": {"application/json": {"schema": validation}},
        }
    return {str(code): responses[code] for code in sorted(responses)}


def _operation(
    plan: OperationPlan,
    convertors: Mapping[str, str],
    registry: SchemaRegistry,
    operation_id: str,
) -> JSONSchema:
    operation: JSONSchema = {}
    if plan.tags:
        operation["tags"] = list(plan.tags)
    if plan.summary:
        operation["summary"] = plan.summary
    if plan.description:
        operation["description"] = plan.description
    operation["operationId"] = operation_id
    parameters = [
        _parameter(p, convertors, registry)
        for p in plan.parameters
        if p.location in _PARAMETER_LOCATIONS
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
        for name, convertor in convertors.items()
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
        path, convertors = _strip_convertors(plan.path)
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
            item[method] = _operation(plan, convertors, registry, operation_id)
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
