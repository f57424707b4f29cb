"""JSON Schema 2020-12 for the typed layer's types and constraints.

`SchemaRegistry.schema` describes a type as the converter reads and writes it (attrs classes and
enums become components referenced by ``$ref``); `framework.typed.openapi` builds documents
with it, and the fuzz harness can read the same schemas.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import inspect
import json
import re
import typing
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

import attrs

from framework.datastructures import UploadFile
from framework.typed._typeinfo import (
    DICT_ORIGINS,
    LIST_ORIGINS,
    SET_ORIGINS,
    is_union,
)
from framework.typed.constraints import (
    Constraints,
    combine,
    constraints_from_attribute,
    item_constraints_from_attribute,
    split_annotated,
)
from framework.typed.converter import default_converter

__all__ = [
    "BINARY",
    "NO_DEFAULT",
    "JSONSchema",
    "SchemaRegistry",
    "attribute_default",
    "json_value",
    "schema_for",
]

JSONSchema = dict[str, Any]

_REF_PREFIX = "#/components/schemas/"
_UNSAFE_COMPONENT_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")

# NOTE: the converter reads any iterable annotation from a JSON array, as a list; sets and
# frozensets from arrays of unique items.
_SEQUENCE_ORIGINS: frozenset[Any] = LIST_ORIGINS
_SET_ORIGINS: frozenset[Any] = SET_ORIGINS | {frozenset}
_MAPPING_ORIGINS: frozenset[Any] = DICT_ORIGINS
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
BINARY: JSONSchema = {
    "type": "string",
    "format": "binary",
    "contentMediaType": "application/octet-stream",
}
"""The schema of an uploaded file's content."""


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

    def schema(
        self, tp: Any, constraints: Constraints | None = None, items: Constraints | None = None
    ) -> JSONSchema:
        """The JSON Schema of values of type ``tp``, with ``constraints`` applied (and
        ``items`` to each member of a collection)."""
        return self._schema(tp, constraints or _NO_LIMITS, items or _NO_LIMITS)

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
        if is_union(tp):
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
            default = attribute_default(attribute, field_type)
            if default is not NO_DEFAULT:
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


NO_DEFAULT: Any = object()
"""What `json_value` and `attribute_default` return for a value with no JSON form."""


def attribute_default(attribute: attrs.Attribute[Any], tp: Any) -> Any:
    """The documented default of an attrs field of type ``tp``, or `NO_DEFAULT`: a factory's
    result only for the fixed, harmless ones (empty collections)."""
    default: Any = attribute.default
    if default is attrs.NOTHING:
        return NO_DEFAULT
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        if default.takes_self or default.factory not in _DOCUMENTED_FACTORIES:
            return NO_DEFAULT
        default = default.factory()
    return json_value(default, tp)


def json_value(value: Any, tp: Any) -> Any:
    """``value`` (of type ``tp``) as the API would send it, or `NO_DEFAULT` when it has no
    JSON form."""
    try:
        # NOTE: any error means the value does not fit its own type (a user's mistake that the
        # converter reports on use); the document then just leaves the default out.
        # A round trip through the bytes the API sends gives plain JSON values (lists, not
        # tuples or sets); NaN and infinities are refused by the encoder.
        return json.loads(default_converter.encode_fn(tp)(value))
    except Exception:
        return NO_DEFAULT


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
        return dict(BINARY)
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
        choices = [json_value(choice, tp) for choice in constraints.choices]
        if all(choice is not NO_DEFAULT for choice in choices):
            schema["enum"] = choices
    return schema
