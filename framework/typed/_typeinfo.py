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

from framework.convertors import Convertor
from framework.datastructures import UploadFile

__all__ = [
    "DICT_ORIGINS",
    "LIST_ORIGINS",
    "SET_ORIGINS",
    "UNION_ORIGINS",
    "convertor_output",
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
    "upload_of",
    "without_none",
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


def without_none(tp: Any) -> Any:
    """``T`` for ``T | None`` (``Annotated`` metadata kept): text cannot carry a JSON ``null``."""
    metadata: tuple[Any, ...] = ()
    if is_annotated(tp):
        metadata = tp.__metadata__
        tp = get_args(tp)[0]
    if is_union(tp):
        members = [member for member in get_args(tp) if member is not _NoneType]
        if members and len(members) < len(get_args(tp)):
            tp = members[0] if len(members) == 1 else typing.Union[tuple(members)]  # noqa: UP007
    if metadata:
        arguments = (tp, *metadata)
        return typing.cast(Any, Annotated)[arguments]
    return tp


def upload_of(tp: Any) -> tuple[type, bool] | None:
    """``(UploadFile or bytes, many)`` when ``tp`` is an upload: ``UploadFile`` or ``bytes``,
    optional or not, alone or in a list (or any ``Sequence``-like collection); else None."""
    tp = without_none(tp)
    if is_annotated(tp):
        tp = get_args(tp)[0]
    many = get_origin(tp) in LIST_ORIGINS
    if many:
        tp = element_type(tp)
    if tp is UploadFile or tp is bytes:
        return tp, many
    return None


def convertor_output(convertor: Convertor[Any]) -> type | None:
    """What a path convertor turns text into (``Convertor[int]`` → ``int``), if it says."""
    for klass in type(convertor).__mro__:
        for base in getattr(klass, "__orig_bases__", ()):
            if get_origin(base) is Convertor:
                args = get_args(base)
                # NOTE: on Python 3.11+, ``Any`` is a class too; it says nothing here.
                if args and isinstance(args[0], type) and args[0] not in (Any, object):
                    return args[0]
                return None
    return None
