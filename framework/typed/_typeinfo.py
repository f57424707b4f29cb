"""The one home of "what kind of type is this?" for the typed layer.

Signatures, the converter, the text parsers, JSON Schema and the fuzz harness all ask the same
questions of annotations (is it a union, an optional, a collection, an upload?); asking them here
keeps their answers the same everywhere.
"""

from __future__ import annotations

import collections.abc
import enum
import types
import typing
from typing import Annotated, Any, Literal, get_args, get_origin

import attrs

__all__ = [
    "DICT_ORIGINS",
    "LIST_ORIGINS",
    "SET_ORIGINS",
    "UNION_ORIGINS",
    "element_type",
    "is_annotated",
    "is_attrs",
    "is_enum",
    "is_fixed_tuple",
    "is_literal",
    "is_union",
    "origin_of",
    "shown",
    "type_name",
]

_NoneType = type(None)


def type_name(tp: Any) -> str:
    if tp is _NoneType:
        return "null"
    if isinstance(tp, type):
        return tp.__name__
    return repr(tp).replace("typing.", "")


def shown(value: Any) -> str:
    return repr(value.value if isinstance(value, enum.Enum) else value)


LIST_ORIGINS = frozenset(
    {
        list,
        collections.abc.Sequence,
        collections.abc.MutableSequence,
        collections.abc.Collection,
        collections.abc.Iterable,
    }
)


SET_ORIGINS = frozenset({set, collections.abc.Set, collections.abc.MutableSet})


DICT_ORIGINS = frozenset({dict, collections.abc.Mapping, collections.abc.MutableMapping})


UNION_ORIGINS = frozenset({typing.Union, types.UnionType})


def origin_of(tp: Any) -> Any:
    return get_origin(tp) or tp


def is_union(tp: Any) -> bool:
    return get_origin(tp) in UNION_ORIGINS


def is_literal(tp: Any) -> bool:
    return get_origin(tp) is Literal


def is_annotated(tp: Any) -> bool:
    return get_origin(tp) is Annotated


def is_attrs(tp: Any) -> bool:
    return attrs.has(origin_of(tp))


def is_enum(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, enum.Enum)


def is_fixed_tuple(tp: Any) -> bool:
    args = get_args(tp)
    return get_origin(tp) is tuple and not (len(args) == 2 and args[1] is Ellipsis)


def element_type(tp: Any) -> Any:
    args = get_args(tp)
    return args[0] if args else Any
