"""Reading a handler's signature into its plan, once, at start-up.

`plan_operation` applies the parameter rules of the typed layer to one handler method and
returns its complete `OperationPlan` (each path parameter's convertor, each upload's kind, a
form model's fields, what is injected, the encoded return type); `plan_websocket` does the
same for a ``WebSocketEndpoint``. Every `HandlerDefinitionError` is raised here, naming the
module, class, method and parameter, so a signature that cannot be served fails at start-up.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

import attrs

from framework._utils import is_async_callable
from framework.background import BackgroundTasks
from framework.convertors import CONVERTOR_TYPES, Convertor, path_convertors
from framework.requests import HTTPConnection, Request
from framework.responses import Response
from framework.typed._typeinfo import convertor_output, is_union
from framework.typed.constraints import split_annotated
from framework.typed.converter import APIConverter
from framework.typed.converter import default_converter as _default_converter
from framework.typed.forms import plan_form_fields, upload_plan
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
    BODILESS_STATUSES,
    REQUIRED,
    HandlerDefinitionError,
    Injector,
    Location,
    OperationPlan,
    ParameterPlan,
    WebSocketPlan,
)
from framework.websockets import WebSocket

__all__ = [
    "DEFINITION_LOCALS",
    "definition_locals",
    "encoded_part",
    "plan_operation",
    "plan_websocket",
    "template_for",
]

_NoneType = type(None)
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
    if not is_union(tp):
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


def _injector(tp: Any, state_type: Any) -> Injector | None:
    """Which object the framework passes for a parameter of type ``tp``, if any."""
    if state_type is not None and tp is state_type:
        return Injector.STATE
    cls = _runtime_class(tp)
    if cls is None:
        return None
    if issubclass(cls, WebSocket):
        return Injector.WEBSOCKET
    if issubclass(cls, HTTPConnection):
        return Injector.REQUEST
    if cls is BackgroundTasks:
        return Injector.BACKGROUND
    return None


def _path_convertors(qualified: str, path: str) -> dict[str, Convertor[Any]]:
    try:
        return path_convertors(path)
    except ValueError as exc:
        raise _fail(qualified, None, f"its path {path!r} is invalid ({exc})") from None


def _produced(convertors: Mapping[str, Convertor[Any]]) -> dict[str, type | None]:
    return {name: convertor_output(convertor) for name, convertor in convertors.items()}


def template_for(path_params: Mapping[str, Any]) -> str:
    """A path template that the matched ``path_params`` fit, for endpoints planned lazily.

    Each parameter gets the registered convertor producing its value's type (``int`` values
    come from ``{name:int}``); a value of no known convertor's type is taken as text.
    Only the parameters' names and types matter to a plan.
    """
    by_type: dict[type, str] = {}
    for key, convertor in CONVERTOR_TYPES.items():
        produced = convertor_output(convertor)
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


def _fits_convertor(produced: type, annotation: Any) -> bool:
    # A NewType is its supertype at run time: ``BookId`` takes what ``{book_id:int}`` gives.
    while getattr(annotation, "__supertype__", None) is not None:
        annotation = split_annotated(annotation.__supertype__)[0]
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


# --- planning


def plan_operation(
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

    ``state_type`` is the type of the object the app's lifespan yields (a parameter of that
    type receives it). Raises `HandlerDefinitionError` for a signature that cannot be served.
    """
    signature = _Signature(endpoint_cls, method_name)
    convertors = _path_convertors(signature.qualified, path)
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
        parameters: tuple[ParameterPlan, ...] = (_injected(name, annotation, Injector.REQUEST),)
    else:
        returned = _return_type(signature, converter)
        parameters = _parameters(signature, path, convertors, state_type, converter)
    status = get_status_code(func)
    if status is None:
        status = 204 if returned is None else 200
    elif (
        status in BODILESS_STATUSES
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
        path_convertors=convertors,
        encoded_type=None if returned is None else encoded_part(returned),
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
    if is_union(tp):
        kept = [member for member in get_args(tp) if not _is_response_type(member)]
        if not kept:
            return None
        if len(kept) != len(get_args(tp)):
            return Union[tuple(kept)]  # noqa: UP007
    return tp


def _parameters(
    signature: _Signature,
    path: str,
    convertors: Mapping[str, Convertor[Any]],
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
            plans.append(_injected(name, Request, Injector.REQUEST))
            continue
        plan = _parameter(qualified, name, annotation, default, path, convertors, state_type)
        location = plan.location
        if location is Location.INJECTED:
            if plan.injector is Injector.WEBSOCKET:
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
        plans.append(_complete(qualified, plan, converter))
    takes_request = any(plan.injector is Injector.REQUEST for plan in plans)
    served = {plan.wire_name for plan in plans if plan.location is Location.PATH}
    produced = _produced(convertors)
    for wire in convertors:
        if wire not in served and not takes_request:
            raise _fail(
                qualified,
                wire,
                f"is a parameter of the path {path!r} but missing from the signature; "
                f"add '{wire}: {_type_text(produced[wire] or str)}'",
            )
    return tuple(plans)


def _injected(name: str, annotation: Any, injector: Injector) -> ParameterPlan:
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
    convertors: Mapping[str, Convertor[Any]],
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
        if name in convertors:
            location = Location.PATH
        elif name == "body":
            location = Location.BODY
        else:
            location = Location.QUERY
    else:
        location = _MARKER_LOCATIONS[type(marker)]
        if location is not Location.PATH and name in convertors and marker.alias is None:
            raise _fail(
                qualified,
                name,
                f"is a parameter of the path {path!r} but marked {type(marker).__name__}(); "
                "rename one of them",
            )
    alias = marker.alias if marker is not None else None
    wire = alias or name
    convertor: Convertor[Any] | None = None
    if location is Location.HEADER:
        wire = (alias or name.replace("_", "-")).lower()
    elif location is Location.PATH:
        if wire not in convertors:
            raise _fail(
                qualified,
                name,
                f"is marked Path() but the path {path!r} has no {{{wire}}} parameter",
            )
        convertor = convertors[wire]
        produced = convertor_output(convertor)
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
        convertor=convertor,
    )


def _complete(qualified: str, plan: ParameterPlan, converter: APIConverter) -> ParameterPlan:
    """The parameter's plan with its upload or form fields; the converter functions it needs
    are built now, so an unsupported type fails at start-up."""
    location = plan.location
    if location is Location.INJECTED:
        return plan
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
        return plan
    if location is Location.FILE:
        upload = upload_plan(tp)
        if upload is None:
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
        return attrs.evolve(plan, upload=upload)
    if location is Location.PATH and convertor_output(plan.convertor or _TEXT) is not str:
        return plan  # the route's convertor makes the value; its fit was checked with the location
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
        try:
            fields = plan_form_fields(tp, converter)
        except TypeError as exc:
            raise _fail(qualified, name, str(exc)) from None
        return attrs.evolve(plan, form_fields=fields)
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
    return plan


_TEXT = CONVERTOR_TYPES["str"]


# --- WebSocket endpoints


def plan_websocket(
    endpoint_cls: type,
    path: str,
    *,
    route_name: str,
    state_type: Any = None,
    tags: Sequence[str] = (),
    converter: APIConverter = _default_converter,
) -> WebSocketPlan:
    """Read a ``WebSocketEndpoint`` served at ``path`` into its plan: with ``encoding =
    "json"``, the annotation of ``on_receive``'s ``data`` is the type of every message; a
    callback's parameter of type ``state_type`` receives the lifespan state."""
    signature = _Signature(endpoint_cls, "on_receive")
    convertors = _path_convertors(signature.qualified, path)
    encoding: str | None = getattr(endpoint_cls, "encoding", None)
    parameters = tuple(
        ParameterPlan(
            name=name,
            location=Location.PATH,
            wire_name=name,
            annotation=convertor_output(convertor) or str,
            convertor=convertor,
        )
        for name, convertor in convertors.items()
    )
    return WebSocketPlan(
        endpoint=endpoint_cls,
        path=path,
        route_name=route_name,
        encoding=encoding,
        message_type=_message_type(signature, encoding, converter),
        parameters=parameters,
        tags=tuple(tags),
        state_parameters=_state_parameters(endpoint_cls, state_type),
    )


_WS_CALLBACKS = ("on_connect", "on_receive", "on_disconnect")


def _state_parameters(endpoint_cls: type, state_type: Any) -> dict[str, str]:
    """For each callback of a ``WebSocketEndpoint`` that takes the lifespan state, the name of
    the parameter receiving it: the one annotated with ``state_type``."""
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
