"""Signature compilation: a handler's signature read once into a plan, and the plan into an invoker.

`compile_operation` applies the parameter rules of the typed layer to one handler method and
returns its `OperationPlan`, refusing at start-up any signature it cannot serve with a
`HandlerDefinitionError` that names the module, class, method and parameter. `build_invoker`
turns a plan into the coroutine that serves a request: it runs only the steps the plan needs
(read, parse, validate, call, encode), all prepared here, and answers 422 with every problem
of the request at once.
"""

from __future__ import annotations

import contextlib
import inspect
import types
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

import anyio
import attrs

from framework import _keys
from framework._exception_handlers import lookup_handler
from framework._utils import is_async_callable
from framework.background import BackgroundTask, BackgroundTasks
from framework.concurrency import run_in_threadpool
from framework.convertors import CONVERTOR_TYPES, Convertor
from framework.datastructures import FormData, UploadFile
from framework.middleware.bodylimit import (
    DEFAULT_MAX_BODY_SIZE,
    RequestBodyTooLarge,
    declared_length_exceeds,
)
from framework.requests import HTTPConnection, Request
from framework.responses import JSONResponse, Response
from framework.routing import compile_path
from framework.typed.constraints import Constraints, check, split_annotated
from framework.typed.converter import APIConverter, field_validator_errors
from framework.typed.converter import default_converter as _default_converter
from framework.typed.errors import ErrorDetail, Loc, RequestValidationError, capped_errors
from framework.typed.params import (
    Body,
    Cookie,
    File,
    Form,
    Header,
    Param,
    Path,
    Query,
    get_raises,
    get_status_code,
)
from framework.typed.plan import (
    REQUIRED,
    HandlerDefinitionError,
    Location,
    OperationPlan,
    ParameterPlan,
    WebSocketPlan,
)
from framework.websockets import WebSocket

__all__ = [
    "DEFINITION_LOCALS",
    "Invoker",
    "build_invoker",
    "build_message_reader",
    "compile_operation",
    "compile_websocket",
    "definition_locals",
    "encoded_part",
    "lifespan_state",
    "template_for",
    "websocket_state_parameters",
]

Invoker = Callable[[Any, Request], Awaitable[Response]]
"""Serves a request on an endpoint instance: reads the parameters, calls the handler, encodes."""

_NoneType = type(None)
_UNION_ORIGINS = (Union, types.UnionType)
_DYNAMIC = (Any, object)
_MARKER_LOCATIONS: dict[type[Param], Location] = {
    Query: Location.QUERY,
    Path: Location.PATH,
    Header: Location.HEADER,
    Cookie: Location.COOKIE,
    Body: Location.BODY,
    Form: Location.FORM,
    File: Location.FILE,
}
_BODILESS_STATUSES = frozenset({204, 205, 304})
_BODY_LOC: Loc = ("body",)
_WS_DATA_LOC: Loc = ("data",)
_MISSING = "field required"


# --- reading a signature


def _qualified(cls: type, method_name: str) -> str:
    return f"{cls.__module__}.{cls.__qualname__}.{method_name}"


def _fail(qualified: str, parameter: str | None, problem: str) -> HandlerDefinitionError:
    where = qualified if parameter is None else f"{qualified}, parameter {parameter!r}"
    return HandlerDefinitionError(f"{where}: {problem}")


DEFINITION_LOCALS = "__framework_definition_locals__"
"""The class attribute holding the local names of the function an endpoint class is defined in."""

# How many frames up the definition of a local class or function is looked for.
_MAX_FRAMES = 16


def definition_locals(qualname: str, frame: types.FrameType | None) -> dict[str, Any] | None:
    """The local names of the function defining ``qualname``, if it is running on the stack
    at or above ``frame``; None for something defined at module level.

    NOTE: with postponed annotations (PEP 563), ``body: Item`` in a class defined inside a
    function is the string ``"Item"``, and the function's locals are the only place ``Item``
    can be found. They are read once, while the function runs (the class statement, or the
    ``App(...)`` call next to a local lifespan), as pydantic does for local models.
    """
    outer, found, _ = qualname.rpartition(".<locals>.")
    if not found:
        return None
    function_name = outer.rpartition(".")[2]
    for _ in range(_MAX_FRAMES):
        if frame is None:
            break
        if frame.f_code.co_name == function_name:
            return dict(frame.f_locals)
        frame = frame.f_back
    return None


def _owner_locals(cls: type, name: str) -> dict[str, Any] | None:
    """The definition locals of the class in ``cls``'s MRO that defines the method ``name``."""
    for klass in cls.__mro__:
        if name in vars(klass):
            found: dict[str, Any] | None = vars(klass).get(DEFINITION_LOCALS)
            return found
    return None


class _Annotations:
    """Something with ``__annotations__``, so ``get_type_hints`` resolves them one by one."""

    def __init__(self, annotations: dict[str, Any]) -> None:
        self.__annotations__ = annotations


def _resolve_hints(
    func: Callable[..., Any], localns: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The handler's resolved annotations, and why each unresolvable one failed.

    ``localns`` are the names of the function the handler's class is defined in, if any.

    NOTE: all at once first (the common case); only if that fails, one by one, so an
    annotation nobody needs (a ``TYPE_CHECKING`` import in a Starlette-style handler) does
    not matter, and the one that does is named.
    """
    try:
        return typing.get_type_hints(func, localns=localns, include_extras=True), {}
    except Exception:  # any error of evaluating annotations: NameError, TypeError, ...
        pass
    raw: dict[str, Any] = dict(getattr(func, "__annotations__", None) or {})
    globalns: dict[str, Any] = getattr(inspect.unwrap(func), "__globals__", {})
    hints: dict[str, Any] = {}
    unresolved: dict[str, str] = {}
    for name, annotation in raw.items():
        try:
            resolved = typing.get_type_hints(
                _Annotations({name: annotation}),
                globalns=globalns,
                localns=localns,
                include_extras=True,
            )
        except Exception as exc:
            unresolved[name] = f"{type(exc).__name__}: {exc}"
        else:
            hints[name] = resolved[name]
    return hints, unresolved


def _hoist_annotated(tp: Any) -> Any:
    """``Optional[Annotated[T, ...]]`` as ``Annotated[Optional[T], ...]``.

    NOTE: Python 3.10's ``get_type_hints`` wraps the annotation of a parameter defaulting to
    ``None`` in ``Optional``, which would hide its ``Annotated`` markers.
    """
    if get_origin(tp) not in _UNION_ORIGINS:
        return tp
    members = get_args(tp)
    others = [member for member in members if member is not _NoneType]
    if len(others) != 1 or len(members) == 1 or get_origin(others[0]) is not Annotated:
        return tp
    inner = others[0]
    arguments = (Union[inner.__origin__, None], *inner.__metadata__)  # noqa: UP007
    return typing.cast(Any, Annotated)[arguments]


def _runtime_class(tp: Any) -> type | None:
    origin = get_origin(tp) or tp
    return origin if isinstance(origin, type) else None


def _is_response_type(tp: Any) -> bool:
    cls = _runtime_class(tp)
    return cls is not None and issubclass(cls, Response)


def _is_request_type(tp: Any) -> bool:
    cls = _runtime_class(tp)
    return cls is not None and issubclass(cls, Request)


# Annotations that say nothing of a value: Starlette-style code uses them for the request and
# the response as often as ``Request`` and ``Response``.
_LOOSE: tuple[Any, ...] = (Any, object)


def _takes_request(name: str, tp: Any) -> bool:
    """Whether a first parameter so annotated receives the request in Starlette-style code.

    ``HTTPConnection`` and ``Request`` always do; ``Any`` and ``object`` only on a parameter
    named ``request``, since elsewhere they may be a typed handler's query parameter.
    """
    if tp is HTTPConnection or _is_request_type(tp):
        return True
    return name == "request" and tp in _LOOSE


def _injector(tp: Any, state_type: Any) -> str | None:
    """Which object the framework passes for a parameter of type ``tp``, if any."""
    if state_type is not None and tp is state_type:
        return "state"
    cls = _runtime_class(tp)
    if cls is None:
        return None
    if issubclass(cls, WebSocket):
        return "websocket"
    if issubclass(cls, HTTPConnection):
        return "request"
    if cls is BackgroundTasks:
        return "background"
    return None


def _output_type(convertor: Convertor[Any]) -> type | None:
    """What a path convertor turns text into (``Convertor[int]`` → ``int``), if it says."""
    for klass in type(convertor).__mro__:
        for base in getattr(klass, "__orig_bases__", ()):
            if get_origin(base) is Convertor:
                args = get_args(base)
                # NOTE: on Python 3.11+, ``Any`` is a class too; it says nothing here.
                if args and isinstance(args[0], type) and args[0] not in _DYNAMIC:
                    return args[0]
                return None
    return None


def _path_types(path: str) -> dict[str, type | None]:
    _, _, convertors = compile_path(path)
    return {name: _output_type(convertor) for name, convertor in convertors.items()}


def template_for(path_params: Mapping[str, Any]) -> str:
    """A path template that the matched ``path_params`` fit, for endpoints compiled lazily.

    Each parameter gets the registered convertor producing its value's type (``int`` values
    come from ``{name:int}``); a value of no known convertor's type is taken as text.
    """
    by_type: dict[type, str] = {}
    for key, convertor in CONVERTOR_TYPES.items():
        produced = _output_type(convertor)
        if produced is not None and produced is not str:
            by_type.setdefault(produced, key)
    parts = []
    for name, value in path_params.items():
        kind = by_type.get(type(value))
        parts.append(f"/{{{name}}}" if kind is None else f"/{{{name}:{kind}}}")
    return "".join(parts) or "/"


def _docstring(func: Callable[..., Any]) -> tuple[str | None, str | None]:
    """Summary (the first paragraph, on one line) and description (the rest)."""
    doc = getattr(func, "__doc__", None)
    if not doc:
        return None, None
    first, _, rest = inspect.cleandoc(doc).partition("\n\n")
    return " ".join(first.split()) or None, rest.strip() or None


def _type_text(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__name__
    return repr(tp).replace("typing.", "")


def _file_kind(tp: Any) -> tuple[str, bool] | None:
    """``(kind, many)`` for an upload annotation: UploadFile or bytes, one or a list."""
    if get_origin(tp) in _UNION_ORIGINS:
        members = [member for member in get_args(tp) if member is not _NoneType]
        if len(members) != 1:
            return None
        tp = members[0]
    many = get_origin(tp) is list
    if many:
        args = get_args(tp)
        tp = args[0] if args else None
    if tp is UploadFile:
        return "file", many
    if tp is bytes:
        return "bytes", many
    return None


def _fits_convertor(produced: type, annotation: Any) -> bool:
    if annotation in _DYNAMIC:
        return True
    return isinstance(annotation, type) and issubclass(produced, annotation)


class _Signature:
    """The handler's parameters (without ``self``) and resolved annotations."""

    def __init__(self, cls: type, method_name: str) -> None:
        self.qualified = _qualified(cls, method_name)
        func = getattr(cls, method_name)
        self.func = func
        try:
            signature = inspect.signature(func)
        except (TypeError, ValueError) as exc:
            raise _fail(self.qualified, None, f"its signature cannot be read ({exc})") from None
        parameters = list(signature.parameters.values())
        if not isinstance(inspect.getattr_static(cls, method_name), staticmethod):
            if not parameters:
                raise _fail(self.qualified, None, "a handler method must take 'self'")
            # NOTE: ``*args`` takes ``self`` along with everything else.
            if parameters[0].kind is not parameters[0].VAR_POSITIONAL:
                parameters = parameters[1:]
        self.parameters = parameters
        self.hints, self.unresolved = _resolve_hints(func, _owner_locals(cls, method_name))

    def annotation(self, name: str) -> Any:
        """The resolved annotation of ``name`` (``inspect.Parameter.empty`` if it has none)."""
        if name in self.unresolved:
            why = self.unresolved[name]
            if name == "return":
                raise _fail(
                    self.qualified, None, f"its return annotation cannot be resolved ({why})"
                )
            raise _fail(self.qualified, name, f"its annotation cannot be resolved ({why})")
        return _hoist_annotated(self.hints.get(name, inspect.Parameter.empty))

    def starlette_request(self) -> inspect.Parameter | None:
        """The parameter receiving the request, if the handler is Starlette-style.

        Starlette calls ``handler(request)``: so is a handler whose first parameter takes the
        request (no annotation, or a ``Request`` one) while the others are never passed (they
        have defaults and no annotations, or are ``*args``/``**kwargs``), or a bare
        ``(*args, **kwargs)`` wrapper; and it returns a response (or says nothing of it).
        """
        parameters = self.parameters
        if not parameters:
            return None
        returned = self.hints.get("return")
        if returned is not None and returned not in _LOOSE and not _is_response_type(returned):
            return None
        first = parameters[0]
        if first.kind is first.VAR_POSITIONAL:
            return first
        if first.kind not in (first.POSITIONAL_ONLY, first.POSITIONAL_OR_KEYWORD):
            return None
        if first.name in self.hints and not _takes_request(first.name, self.hints[first.name]):
            return None
        # NOTE: an annotation that cannot be resolved (a ``TYPE_CHECKING`` import) is taken
        # for the request's only on a parameter named ``request``; on any other, it is a typed
        # handler's parameter whose type is missing, and ``annotation()`` says so.
        if first.name in self.unresolved and first.name != "request":
            return None
        for other in parameters[1:]:
            if other.kind in (other.VAR_POSITIONAL, other.VAR_KEYWORD):
                continue
            annotated = other.name in self.hints or other.name in self.unresolved
            if other.default is other.empty or annotated:
                return None
        return first


# --- compiling


def compile_operation(
    endpoint_cls: type,
    method_name: str,
    path: str,
    *,
    route_name: str,
    state_type: Any = None,
    tags: Sequence[str] = (),
    converter: APIConverter = _default_converter,
) -> OperationPlan:
    """Read the handler ``endpoint_cls.method_name`` served at ``path`` into its plan.

    Raises `HandlerDefinitionError` for a signature that cannot be served.
    """
    signature = _Signature(endpoint_cls, method_name)
    try:
        path_types = _path_types(path)
    except (ValueError, AssertionError) as exc:
        raise _fail(signature.qualified, None, f"its path {path!r} is invalid ({exc})") from None
    func = signature.func
    summary, description = _docstring(func)
    takes_request = signature.starlette_request()
    if takes_request is not None:
        returned = signature.hints.get("return", Response)
        name = (
            "request" if takes_request.kind is takes_request.VAR_POSITIONAL else takes_request.name
        )
        annotation = signature.hints.get(takes_request.name, Request)
        if not _is_request_type(annotation):
            annotation = Request
        parameters: tuple[ParameterPlan, ...] = (_injected(name, annotation, "request"),)
    else:
        returned = _return_type(signature, converter)
        parameters = _parameters(signature, path, path_types, state_type, converter)
    status = get_status_code(func)
    if status is None:
        status = 204 if returned is None else 200
    elif (
        status in _BODILESS_STATUSES
        and returned not in (None, Any)
        and not (_is_response_type(returned))
    ):
        raise _fail(
            signature.qualified,
            None,
            f"@status_code({status}) responses have no body, but it returns "
            f"{_type_text(returned)}; annotate the return '-> None'",
        )
    return OperationPlan(
        endpoint=endpoint_cls,
        method=method_name.upper(),
        handler_name=method_name,
        path=path,
        route_name=route_name,
        parameters=parameters,
        return_type=returned,
        status_code=status,
        raises=get_raises(func),
        tags=tuple(tags),
        summary=summary,
        description=description,
        is_async=is_async_callable(func),
    )


def _return_type(signature: _Signature, converter: APIConverter) -> Any:
    """The declared return type: ``None`` for ``-> None``, ``Any`` when not annotated."""
    returned = signature.annotation("return")
    if returned is inspect.Parameter.empty or returned in _DYNAMIC:
        return Any
    if returned is None or returned is _NoneType:
        return None
    encoded = encoded_part(returned)
    if encoded is not None and encoded not in _DYNAMIC:
        try:
            converter.structure_fn(encoded)
        except Exception as exc:
            raise _fail(
                signature.qualified,
                None,
                f"its return annotation {_type_text(returned)} cannot be encoded as JSON "
                f"({exc}); return an attrs class, a list or dict of them, a JSON scalar, "
                "None or a Response",
            ) from None
    return returned


def encoded_part(tp: Any) -> Any:
    """What of a return type is encoded as JSON: a union without its ``Response`` members;
    ``None`` when every member is a ``Response`` (sent as it is)."""
    if _is_response_type(tp):
        return None
    if get_origin(tp) in _UNION_ORIGINS:
        kept = [member for member in get_args(tp) if not _is_response_type(member)]
        if not kept:
            return None
        if len(kept) != len(get_args(tp)):
            return Union[tuple(kept)]  # noqa: UP007
    return tp


def _parameters(
    signature: _Signature,
    path: str,
    path_types: Mapping[str, type | None],
    state_type: Any,
    converter: APIConverter,
) -> tuple[ParameterPlan, ...]:
    qualified = signature.qualified
    plans: list[ParameterPlan] = []
    body_name: str | None = None
    form_name: str | None = None
    for parameter in signature.parameters:
        name = parameter.name
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise _fail(
                qualified, name, "*args and **kwargs cannot be served; declare each parameter"
            )
        if parameter.kind is parameter.POSITIONAL_ONLY:
            raise _fail(
                qualified, name, "positional-only parameters cannot be served; drop the '/'"
            )
        default = REQUIRED if parameter.default is parameter.empty else parameter.default
        annotation = signature.annotation(name)
        if annotation is inspect.Parameter.empty:
            if name != "request":
                raise _fail(qualified, name, f"has no annotation; annotate it (e.g. '{name}: int')")
            plans.append(_injected(name, Request, "request"))
            continue
        plan = _parameter(qualified, name, annotation, default, path, path_types, state_type)
        location = plan.location
        if location is Location.INJECTED:
            if plan.injector == "websocket":
                raise _fail(qualified, name, "a WebSocket is only available to WebSocket endpoints")
        elif location is Location.BODY:
            if body_name is not None or form_name is not None:
                other = body_name or form_name
                raise _fail(
                    qualified,
                    name,
                    f"a request has one body, already read by parameter {other!r}; "
                    "combine them into one attrs class",
                )
            body_name = name
        elif location in (Location.FORM, Location.FILE):
            if body_name is not None:
                raise _fail(
                    qualified,
                    name,
                    f"the body is already read as JSON by parameter {body_name!r}; "
                    "a request cannot hold both JSON and a form",
                )
            form_name = form_name or name
        _check_parseable(qualified, plan, path_types, converter)
        plans.append(plan)
    takes_request = any(plan.injector == "request" for plan in plans)
    served = {plan.wire_name for plan in plans if plan.location is Location.PATH}
    for wire in path_types:
        if wire not in served and not takes_request:
            raise _fail(
                qualified,
                wire,
                f"is a parameter of the path {path!r} but missing from the signature; "
                f"add '{wire}: {_type_text(path_types[wire] or str)}'",
            )
    return tuple(plans)


def _injected(name: str, annotation: Any, injector: str) -> ParameterPlan:
    return ParameterPlan(
        name=name,
        location=Location.INJECTED,
        wire_name=name,
        annotation=annotation,
        injector=injector,
    )


def _parameter(
    qualified: str,
    name: str,
    annotation: Any,
    default: Any,
    path: str,
    path_types: Mapping[str, type | None],
    state_type: Any,
) -> ParameterPlan:
    """Where one annotated parameter is read from, by the rules of the typed layer."""
    base, constraints, markers = split_annotated(annotation)
    if len(markers) > 1:
        shown = ", ".join(f"{type(marker).__name__}()" for marker in markers)
        raise _fail(qualified, name, f"has several locations ({shown}); keep one")
    marker = typing.cast(Param, markers[0]) if markers else None
    injector = _injector(base, state_type)
    if injector is not None:
        if marker is not None:
            raise _fail(
                qualified,
                name,
                f"{_type_text(base)} is passed by the framework and cannot be marked "
                f"{type(marker).__name__}()",
            )
        return _injected(name, base, injector)
    if marker is None:
        if name in path_types:
            location = Location.PATH
        elif name == "body":
            location = Location.BODY
        else:
            location = Location.QUERY
    else:
        location = _MARKER_LOCATIONS[type(marker)]
        if location is not Location.PATH and name in path_types and marker.alias is None:
            raise _fail(
                qualified,
                name,
                f"is a parameter of the path {path!r} but marked {type(marker).__name__}(); "
                "rename one of them",
            )
    alias = marker.alias if marker is not None else None
    wire = alias or name
    if location is Location.HEADER:
        wire = (alias or name.replace("_", "-")).lower()
    elif location is Location.PATH:
        if wire not in path_types:
            raise _fail(
                qualified,
                name,
                f"is marked Path() but the path {path!r} has no {{{wire}}} parameter",
            )
        produced = path_types[wire]
        if produced is not None and produced is not str and not _fits_convertor(produced, base):
            raise _fail(
                qualified,
                name,
                f"the path {path!r} converts {{{wire}}} to {produced.__name__}, which conflicts "
                f"with its annotation {_type_text(base)}; annotate it {produced.__name__} or "
                f"take the text with {{{wire}}}",
            )
    return ParameterPlan(
        name=name,
        location=location,
        wire_name=wire,
        annotation=base,
        default=default,
        constraints=constraints,
        description=marker.description if marker is not None else None,
    )


def _check_parseable(
    qualified: str,
    plan: ParameterPlan,
    path_types: Mapping[str, type | None],
    converter: APIConverter,
) -> None:
    """Build the parameter's converter functions now, so unsupported types fail at start-up."""
    location = plan.location
    if location is Location.INJECTED:
        return
    constraints = plan.constraints or None
    tp = plan.annotation
    name = plan.name
    if location is Location.BODY:
        try:
            converter.structure_fn(tp, constraints)
        except Exception as exc:
            raise _fail(
                qualified, name, f"the body type {_type_text(tp)} is not supported ({exc})"
            ) from None
        return
    if location is Location.FILE:
        if _file_kind(tp) is None:
            raise _fail(
                qualified,
                name,
                "File() parameters are UploadFile or bytes (or a list of them), "
                f"not {_type_text(tp)}",
            )
        if constraints is not None:
            raise _fail(
                qualified, name, "limits on uploaded files are not supported; check in the handler"
            )
        return
    if location is Location.PATH and path_types[plan.wire_name] is not str:
        return  # the route's convertor makes the value; its fit was checked with the location
    if location is Location.FORM and attrs.has(tp):
        if not plan.required:
            raise _fail(
                qualified,
                name,
                "a form model takes its defaults from its fields; drop the parameter's default",
            )
        if constraints is not None:
            raise _fail(
                qualified, name, "limits on a form model go on its fields, not on the parameter"
            )
        _form_model(qualified, name, tp, converter)
        return
    try:
        converter.parse_text_fn(tp, constraints)
    except Exception as exc:
        hint = ""
        if location is Location.QUERY:
            hint = (
                "; models are read from the JSON body only: name the parameter 'body' or "
                "annotate it Annotated[T, Body()]"
            )
        raise _fail(
            qualified,
            name,
            f"a {location.value} parameter is parsed from text, and {_type_text(tp)} "
            f"cannot be ({exc}){hint}",
        ) from None


# --- form models


def _holds_model(tp: Any) -> bool:
    """Whether ``tp`` is, or contains, an attrs class (a form cannot carry one)."""
    if isinstance(tp, type) and attrs.has(tp):
        return True
    origin = get_origin(tp)
    if isinstance(origin, type) and attrs.has(origin):
        return True
    return any(_holds_model(arg) for arg in get_args(tp))


def _model_hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls, include_extras=True)
    except Exception:  # any error of evaluating annotations: NameError, TypeError, ...
        # NOTE: attrs keeps the types given as objects; only names it could not see fail below.
        return {}


_FormField = tuple[str, str, str, bool, "_Parse | None", Loc, bool]


def _form_model(qualified: str, name: str, cls: type, converter: APIConverter) -> _FormModel:
    """How the attrs class ``cls`` is read from a whole form, one step per field of its
    ``__init__``; refuses fields a flat form cannot carry."""
    hints = _model_hints(cls)
    fields: list[_FormField] = []
    checked: list[tuple[attrs.Attribute[Any], str, Loc]] = []
    for field in attrs.fields(cls):
        if not field.init:
            continue
        tp = hints.get(field.name, field.type)
        where = f"field {field.name!r} of the form model {cls.__qualname__}"
        if tp is None or isinstance(tp, str):
            raise _fail(qualified, name, f"the type of {where} cannot be resolved")
        if _holds_model(tp):
            raise _fail(
                qualified,
                name,
                f"{where} is a model ({_type_text(tp)}), but forms are flat: give its fields "
                "to the form model itself, or read the body as JSON",
            )
        key = field.alias or field.name
        loc: Loc = (Location.FORM.value, key)
        required = field.default is attrs.NOTHING
        found = _file_kind(split_annotated(tp)[0])
        if found is not None:
            kind, many = found
            fields.append((key, key, kind, many, None, loc, required))
        else:
            try:
                parse = converter.parse_text_fn(tp)
            except Exception as exc:
                raise _fail(
                    qualified,
                    name,
                    f"{where} is parsed from text, and {_type_text(tp)} cannot be ({exc})",
                ) from None
            fields.append((key, key, "text", False, parse, loc, required))
        checked.append((field, key, loc))
    return _FormModel(cls, tuple(fields), tuple(checked))


class _FormModel:
    """An attrs class read from a whole form: its fields' parse steps, prepared at start-up."""

    # PERF: a request only walks the prepared field steps; types are resolved and parse
    # functions built once, when the handler is compiled.
    __slots__ = ("checked", "cls", "fields")

    def __init__(
        self,
        cls: type,
        fields: tuple[_FormField, ...],
        checked: tuple[tuple[attrs.Attribute[Any], str, Loc], ...],
    ) -> None:
        self.cls = cls
        self.fields = fields
        self.checked = checked

    async def read(self, form: FormData) -> Any:
        """The model built from ``form``; raises `RequestValidationError` with every problem."""
        kwargs: dict[str, Any] = {}
        errors: list[ErrorDetail] = []
        for key, wire, kind, many, parse, loc, required in self.fields:
            items = form.getlist(wire)
            if not items:
                if required:
                    errors.extend(_missing(loc))
                continue
            try:
                kwargs[key] = await _form_value(items, kind, many, parse, loc)
            except RequestValidationError as exc:
                errors.extend(exc.errors)
        if not errors:
            try:
                return self.cls(**kwargs)
            except Exception as exc:  # a validator, converter or __attrs_post_init__ refused
                errors = self._validator_errors(kwargs) or [
                    ErrorDetail(
                        (Location.FORM.value,), str(exc) or type(exc).__name__, "value_error"
                    )
                ]
        else:
            errors.extend(self._validator_errors(kwargs))
        raise RequestValidationError(errors)

    def _validator_errors(self, kwargs: dict[str, Any]) -> list[ErrorDetail]:
        """Each field's converter and validator run on what was read, failures at the field.

        NOTE: validators run on a partly built instance, as the converter does for JSON
        bodies, so one that reads a sibling sees it; one whose sibling is absent (it failed,
        or waits for its default) raises ``AttributeError`` and cannot be blamed.
        """
        instance: Any = object.__new__(self.cls)
        errors: list[ErrorDetail] = []
        pending: list[tuple[attrs.Attribute[Any], Any, Loc]] = []
        for field, key, loc in self.checked:
            if key not in kwargs:
                continue
            item = kwargs[key]
            # NOTE: an ``attrs.Converter`` may take the instance or field; attrs runs those.
            convert: Any = field.converter
            if callable(convert) and not isinstance(convert, attrs.Converter):
                try:
                    item = convert(item)
                except Exception as exc:
                    errors.append(ErrorDetail(loc, str(exc) or type(exc).__name__, "value_error"))
                    continue
            object.__setattr__(instance, field.name, item)
            if field.validator is not None:
                pending.append((field, item, loc))
        for field, item, loc in pending:
            try:
                field.validator(instance, field, item)  # type: ignore[misc]
            except AttributeError:
                continue
            except Exception as exc:
                errors.extend(
                    ErrorDetail((*loc, *found.loc[1:]), found.msg, found.type)
                    for found in field_validator_errors(field, item, exc)
                )
        return errors


def compile_websocket(
    endpoint_cls: type,
    path: str,
    *,
    route_name: str,
    tags: Sequence[str] = (),
    converter: APIConverter = _default_converter,
) -> WebSocketPlan:
    """Read a ``WebSocketEndpoint`` served at ``path`` into its plan: with ``encoding =
    "json"``, the annotation of ``on_receive``'s ``data`` is the type of every message."""
    signature = _Signature(endpoint_cls, "on_receive")
    try:
        path_types = _path_types(path)
    except (ValueError, AssertionError) as exc:
        raise _fail(signature.qualified, None, f"its path {path!r} is invalid ({exc})") from None
    encoding: str | None = getattr(endpoint_cls, "encoding", None)
    parameters = tuple(
        ParameterPlan(name=name, location=Location.PATH, wire_name=name, annotation=tp or str)
        for name, tp in path_types.items()
    )
    return WebSocketPlan(
        endpoint=endpoint_cls,
        path=path,
        route_name=route_name,
        encoding=encoding,
        message_type=_message_type(signature, encoding, converter),
        parameters=parameters,
        tags=tuple(tags),
    )


_WS_CALLBACKS = ("on_connect", "on_receive", "on_disconnect")


def websocket_state_parameters(endpoint_cls: type, state_type: Any) -> dict[str, str]:
    """For each callback of a ``WebSocketEndpoint`` (``on_connect``, ``on_receive``,
    ``on_disconnect``) that takes the lifespan state, the name of the parameter receiving it:
    the one annotated with ``state_type``, the type of the object the app's lifespan yields."""
    if state_type is None:
        return {}
    found: dict[str, str] = {}
    for callback in _WS_CALLBACKS:
        signature = _Signature(endpoint_cls, callback)
        for parameter in signature.parameters:
            if signature.hints.get(parameter.name) is not state_type:
                continue
            if parameter.kind not in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
                raise _fail(
                    signature.qualified,
                    parameter.name,
                    "the lifespan state is passed by keyword; make the parameter a regular one",
                )
            found[callback] = parameter.name
    return found


_DELIVERED: dict[str | None, Any] = {"text": str, "bytes": bytes, None: Union[str, bytes]}  # noqa: UP007


def _message_type(signature: _Signature, encoding: str | None, converter: APIConverter) -> Any:
    if len(signature.parameters) < 2:
        raise _fail(signature.qualified, None, "on_receive must take (self, websocket, data)")
    name = signature.parameters[1].name
    if encoding != "json":
        delivered = _DELIVERED[encoding]
        annotation = signature.hints.get(name, Any)
        if encoding is not None and not _fits_convertor(delivered, annotation):
            raise _fail(
                signature.qualified,
                name,
                f"encoding {encoding!r} delivers {delivered.__name__}, not "
                f"{_type_text(annotation)}; set encoding = 'json' to receive typed messages",
            )
        return delivered
    annotation = signature.annotation(name)
    if annotation is inspect.Parameter.empty or annotation in _DYNAMIC:
        return Any
    base, constraints, _ = split_annotated(annotation)
    try:
        converter.structure_fn(base, constraints or None)
    except Exception as exc:
        raise _fail(
            signature.qualified,
            name,
            f"the message type {_type_text(annotation)} is not supported ({exc})",
        ) from None
    return annotation


def build_message_reader(
    plan: WebSocketPlan, converter: APIConverter = _default_converter
) -> Callable[[Any], Any] | None:
    """The function structuring each decoded JSON message (raising `RequestValidationError`
    with locations under ``("data",)``), or ``None`` when messages are not typed."""
    if plan.encoding != "json" or plan.message_type in _DYNAMIC:
        return None
    base, constraints, _ = split_annotated(plan.message_type)
    structure = converter.structure_fn(base, constraints or None)

    def read_message(data: Any) -> Any:
        return structure(data, _WS_DATA_LOC)

    return read_message


# --- serving


class _EncodedJSONResponse(JSONResponse):
    """A JSON response around a body that is already encoded."""

    # PERF: the body comes from the converter's encoder; the generic constructor would only
    # re-check what is known here, and build the same two headers the slow way.
    def __init__(self, body: bytes, status_code: int) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body
        self.raw_headers = [
            (b"content-length", b"%d" % len(body)),
            (b"content-type", b"application/json"),
        ]


_Problems = list[tuple[int, list[ErrorDetail]]]
_Parse = Callable[[Sequence[str], Loc], Any]
_TextStep = tuple[int, str, str, _Parse, Loc, bool]
_Read = Callable[[Any], Any]
# (signature index, parameter name, JSON decoder, structure function, required)
_BodyStep = tuple[int, str, Callable[[bytes, Loc], Any], Callable[[Any, Loc], Any], bool]


def _missing(loc: Loc) -> list[ErrorDetail]:
    return [ErrorDetail(loc, _MISSING, "missing")]


def _read_text(
    steps: Sequence[_TextStep],
    getlist: Callable[[str], list[str]],
    kwargs: dict[str, Any],
    problems: _Problems,
) -> None:
    for index, name, wire, parse, loc, required in steps:
        values = getlist(wire)
        if values:
            try:
                kwargs[name] = parse(values, loc)
            except RequestValidationError as exc:
                problems.append((index, exc.errors))
        elif required:
            problems.append((index, _missing(loc)))
        # NOTE: an absent optional parameter is not passed: the handler's own default applies.


def _cookie_getlist(cookies: dict[str, str]) -> Callable[[str], list[str]]:
    def getlist(name: str) -> list[str]:
        value = cookies.get(name)
        return [] if value is None else [value]

    return getlist


def _invalid_request(problems: _Problems, request: Request) -> Response:
    """422 with every problem (up to `MAX_ERRORS`), in signature order; or the app's handler
    for the error."""
    problems.sort(key=lambda problem: problem[0])
    errors = capped_errors([error for _, found in problems for error in found])
    tables = request.scope.get(_keys.EXCEPTION_HANDLERS)
    if tables is not None:
        exc = RequestValidationError(errors)
        if lookup_handler(exc, *tables) is not None:
            raise exc
    return JSONResponse({"detail": [error.as_dict() for error in errors]}, status_code=422)


_NOT_JSON = "expected a JSON body (Content-Type: application/json)"


def _sends_json(request: Request) -> bool:
    """Whether the request's body may be read as JSON: it says nothing of its type, or says
    ``application/json`` or ``application/*+json`` (parameters allowed).

    NOTE: anything else is refused, not guessed at: browsers send ``text/plain`` and form
    bodies to other sites without asking first, so reading those as JSON would let any page
    make a signed-in user's browser call the API.
    """
    content_type = request.headers.get("content-type")
    # PERF: the usual header is compared whole, without parsing.
    if content_type is None or content_type == "application/json":
        return True
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def lifespan_state(scope: Mapping[str, Any], handler: str) -> Any:
    """The object the app's lifespan yielded, for ``handler`` (named in the error if none)."""
    state = scope.get("state")
    if state is not None and _keys.LIFESPAN_STATE in state:
        return state[_keys.LIFESPAN_STATE]
    raise RuntimeError(
        f"{handler} takes the lifespan state, but the app has none: give App a lifespan that "
        "yields it (App(resources=..., lifespan=...))"
    )


def _limits_reader(constraints: Constraints, loc: Loc) -> _Read:
    def read_limited(value: Any) -> Any:
        problems = check(value, constraints)
        if problems:
            raise RequestValidationError(
                [ErrorDetail(loc, problem, "value_error") for problem in problems]
            )
        return value

    return read_limited


def _text_reader(parse: _Parse, loc: Loc) -> _Read:
    def read_text(value: Any) -> Any:
        return parse((value,), loc)

    return read_text


def _is_plain(plan: OperationPlan) -> bool:
    """A Starlette-style handler: it takes the request alone and returns a response."""
    parameters = plan.parameters
    return (
        len(parameters) == 1
        and parameters[0].injector == "request"
        and _is_response_type(plan.return_type)
    )


def _plain_invoker(name: str, is_async: bool) -> Invoker:
    # NOTE: the handler is looked up on the instance at call time, as Starlette does, so
    # instance attributes and test doubles patched onto the class take effect.
    if is_async:

        async def invoke_async(endpoint: Any, request: Request) -> Response:
            response: Response = await getattr(endpoint, name)(request)
            return response

        return invoke_async

    async def invoke_sync(endpoint: Any, request: Request) -> Response:
        response: Response = await run_in_threadpool(getattr(endpoint, name), request)
        return response

    return invoke_sync


def build_invoker(plan: OperationPlan, converter: APIConverter = _default_converter) -> Invoker:
    """The coroutine serving requests for ``plan``: every step prepared here, once."""
    name = plan.handler_name
    is_async = plan.is_async
    if _is_plain(plan):
        return _plain_invoker(name, is_async)
    qualified = plan.qualified_name
    path_types = _path_types(plan.path)
    path_steps: list[tuple[int, str, str, _Read | None, Loc]] = []
    query_steps: list[_TextStep] = []
    header_steps: list[_TextStep] = []
    cookie_steps: list[_TextStep] = []
    form_steps: list[tuple[int, str, str, str, bool, _Parse | None, Loc, bool]] = []
    model_steps: list[tuple[int, str, _FormModel]] = []
    injected: list[tuple[str, str]] = []
    body_step: _BodyStep | None = None
    for index, parameter in enumerate(plan.parameters):
        location = parameter.location
        pname = parameter.name
        wire = parameter.wire_name
        tp = parameter.annotation
        constraints = parameter.constraints or None
        loc: Loc = (location.value, wire)
        required = parameter.required
        if location is Location.INJECTED:
            injected.append((pname, parameter.injector or "request"))
        elif location is Location.PATH:
            read: _Read | None = None
            if path_types.get(wire, str) is str:
                if tp is not str or constraints is not None:
                    read = _text_reader(converter.parse_text_fn(tp, constraints), loc)
            elif constraints is not None:
                read = _limits_reader(constraints, loc)
            path_steps.append((index, pname, wire, read, loc))
        elif location is Location.BODY:
            structure = converter.structure_fn(tp, constraints)
            body_step = (index, pname, converter.decode_json, structure, required)
        elif location is Location.FORM and attrs.has(tp):
            model_steps.append((index, pname, _form_model(qualified, pname, tp, converter)))
        elif location is Location.FORM:
            parse = converter.parse_text_fn(tp, constraints)
            form_steps.append((index, pname, wire, "text", False, parse, loc, required))
        elif location is Location.FILE:
            kind, many = _file_kind(tp) or ("file", False)
            form_steps.append((index, pname, wire, kind, many, None, loc, required))
        else:
            step = (index, pname, wire, converter.parse_text_fn(tp, constraints), loc, required)
            if location is Location.QUERY:
                query_steps.append(step)
            elif location is Location.HEADER:
                header_steps.append(step)
            else:
                cookie_steps.append(step)
    returned = plan.return_type
    encoded = encoded_part(returned) if returned is not None else None
    encode = converter.encode_fn(Any if encoded is None else encoded)
    encode_fn = converter.encode_fn
    status = plan.status_code
    bodiless = status in _BODILESS_STATUSES
    none_status = status if returned is None else 204
    wants_background = any(kind == "background" for _, kind in injected)

    async def invoke(endpoint: Any, request: Request) -> Response:
        if body_step is not None and not _sends_json(request):
            return JSONResponse({"detail": _NOT_JSON}, status_code=415)
        kwargs: dict[str, Any] = {}
        problems: _Problems = []
        if path_steps:
            path_params: dict[str, Any] = request.scope.get("path_params") or {}
            for index, pname, wire, read, loc in path_steps:
                if wire not in path_params:
                    problems.append((index, _missing(loc)))
                elif read is None:
                    kwargs[pname] = path_params[wire]
                else:
                    try:
                        kwargs[pname] = read(path_params[wire])
                    except RequestValidationError as exc:
                        problems.append((index, exc.errors))
        if query_steps:
            _read_text(query_steps, request.query_params.getlist, kwargs, problems)
        if header_steps:
            _read_text(header_steps, request.headers.getlist, kwargs, problems)
        if cookie_steps:
            _read_text(cookie_steps, _cookie_getlist(request.cookies), kwargs, problems)
        if body_step is not None:
            await _read_body(body_step, request, kwargs, problems)
        form: FormData | None = None
        if form_steps or model_steps:
            form = await _read_form(form_steps, model_steps, request, kwargs, problems)
        if problems:
            if form is not None:
                await form.close()
            return _invalid_request(problems, request)
        tasks: BackgroundTasks | None = None
        if injected:
            for pname, kind in injected:
                if kind == "request":
                    kwargs[pname] = request
                elif kind == "background":
                    if tasks is None:
                        tasks = BackgroundTasks()
                    kwargs[pname] = tasks
                else:
                    kwargs[pname] = lifespan_state(request.scope, qualified)
        handler = getattr(endpoint, name)
        try:
            if is_async:
                result = await handler(**kwargs)
            else:
                result = await run_in_threadpool(handler, **kwargs)
        except BaseException:
            if form is not None:
                with anyio.CancelScope(shield=True):
                    await form.close()
            raise
        response: Response
        if result is None:
            response = Response(status_code=none_status)
        elif isinstance(result, Response):
            response = result
        elif bodiless:
            response = Response(status_code=status)
        else:
            try:
                body = encode(result)
            except Exception:
                # NOTE: a value that is not of the declared type (a subclass, a dict for a
                # model) is encoded as what it is; a value nothing can encode still fails.
                body = encode_fn(type(result))(result)
            response = _EncodedJSONResponse(body, status)
        if wants_background and tasks is not None and tasks.tasks:
            response.background = _then(response.background, tasks)
        if form is not None:
            # NOTE: the uploads stay open until the response and its background tasks are
            # done with them; then they are closed, as the framework opened them.
            response.background = _then(response.background, BackgroundTask(form.close))
        return response

    return invoke


async def _read_body(
    step: _BodyStep, request: Request, kwargs: dict[str, Any], problems: _Problems
) -> None:
    index, name, decode, structure, required = step
    if _keys.MAX_BODY_SIZE in request.scope:
        # A limiter is in force (max_body_size= on the app, a mount or the route): it counts.
        raw = await request.body()
    else:
        raw = await _read_within(request, DEFAULT_MAX_BODY_SIZE)
    if not raw:
        if required:
            problems.append((index, _missing(_BODY_LOC)))
        return
    try:
        kwargs[name] = structure(decode(raw, _BODY_LOC), _BODY_LOC)
    except RequestValidationError as exc:
        problems.append((index, exc.errors))


async def _read_within(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to pass ``limit`` bytes.

    NOTE: the toolkit keeps Starlette's default of no limit; a typed JSON body, which the
    framework itself decodes and holds, gets this safe default unless one is configured.
    """
    if declared_length_exceeds(request.scope, limit):
        raise RequestBodyTooLarge(limit)
    if "content-length" in request.headers:
        # PERF: a declared length within the limit bounds the body (the server frames it
        # by that length), so it is read whole, with no counting per chunk.
        return await request.body()
    chunks: list[bytes] = []
    size = 0
    async with contextlib.aclosing(request.stream()) as stream:
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                raise RequestBodyTooLarge(limit)
            chunks.append(chunk)
    return b"".join(chunks)


def _then(first: BackgroundTask | None, then: BackgroundTask) -> BackgroundTask:
    return then if first is None else BackgroundTasks([first, then])


async def _read_form(
    steps: Sequence[tuple[int, str, str, str, bool, _Parse | None, Loc, bool]],
    models: Sequence[tuple[int, str, _FormModel]],
    request: Request,
    kwargs: dict[str, Any],
    problems: _Problems,
) -> FormData:
    form = await request.form()
    for index, name, wire, kind, many, parse, loc, required in steps:
        items = form.getlist(wire)
        if not items:
            if required:
                problems.append((index, _missing(loc)))
            continue
        try:
            kwargs[name] = await _form_value(items, kind, many, parse, loc)
        except RequestValidationError as exc:
            problems.append((index, exc.errors))
    for index, name, model in models:
        try:
            kwargs[name] = await model.read(form)
        except RequestValidationError as exc:
            problems.append((index, exc.errors))
    return form


async def _form_value(
    items: list[str | UploadFile], kind: str, many: bool, parse: _Parse | None, loc: Loc
) -> Any:
    """One form field's value from its (non-empty) items: text parsed, or the uploaded files
    (their bytes for ``kind == "bytes"``); raises `RequestValidationError`."""
    if parse is not None:
        if all(isinstance(item, str) for item in items):
            return parse(typing.cast(list[str], items), loc)
        raise RequestValidationError([ErrorDetail(loc, "expected a text field", "type_error")])
    files = [item for item in items if isinstance(item, UploadFile)]
    if len(files) != len(items):
        raise RequestValidationError([ErrorDetail(loc, "expected a file", "type_error")])
    values: list[Any] = files
    if kind == "bytes":
        values = [await file.read() for file in files]
    return values if many else values[0]
