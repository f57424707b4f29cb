"""The route plan: what the typed layer learned from each handler's signature, once, at start-up.

The invoker, the OpenAPI document and the fuzz harness read these objects and nothing else, so
what is documented, what is enforced and what is tested are one and the same: the route's
convertor of each path parameter, the kind of each upload, the fields of a form model, what the
framework injects, the part of the return type encoded as JSON, and every status an operation
can answer with the type of its body.
"""

from __future__ import annotations

import enum
import http
import re
from collections.abc import Mapping
from typing import Any, Union

import attrs

from framework.convertors import PARAMETER_PATTERN, Convertor, path_convertors
from framework.typed._typeinfo import LIST_ORIGINS, is_union, origin_of, without_none
from framework.typed.constraints import Constraints
from framework.typed.errors import HTTPError, HTTPValidationError

__all__ = [
    "BODILESS_STATUSES",
    "REQUIRED",
    "FormFieldPlan",
    "HandlerDefinitionError",
    "Injector",
    "Location",
    "OperationPlan",
    "ParameterPlan",
    "ResponsePlan",
    "Upload",
    "UploadKind",
    "WebSocketPlan",
    "snake_case",
]


class _Required(enum.Enum):
    REQUIRED = "REQUIRED"

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required.REQUIRED
"""The default of a parameter that has none: the request must supply it."""

BODILESS_STATUSES = frozenset({204, 205, 304})
"""Statuses whose responses never carry a body."""

_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def snake_case(name: str) -> str:
    """``TodoList`` → ``todo_list``, ``HTTPThingV2`` → ``http_thing_v2`` (as OpenAPI names)."""
    words = _WORD_BOUNDARY.sub("_", name).lower()
    return _NOT_WORD.sub("_", words).strip("_") or "operation"


class Location(str, enum.Enum):
    """Where a parameter's value comes from."""

    PATH = "path"
    QUERY = "query"
    HEADER = "header"
    COOKIE = "cookie"
    BODY = "body"
    FORM = "form"
    FILE = "file"
    INJECTED = "injected"


class Injector(str, enum.Enum):
    """The object the framework passes to an ``INJECTED`` parameter."""

    REQUEST = "request"
    WEBSOCKET = "websocket"
    BACKGROUND = "background"
    STATE = "state"


class UploadKind(str, enum.Enum):
    """What a handler receives for an uploaded file: the ``UploadFile``, or its bytes."""

    FILE = "file"
    BYTES = "bytes"


@attrs.frozen
class Upload:
    """An upload parameter or form field: its kind, and whether it takes every file sent."""

    kind: UploadKind
    many: bool = False


class HandlerDefinitionError(TypeError):
    """A handler whose signature the typed layer cannot serve; raised at start-up.

    The message names the module, class, method and parameter.
    """


@attrs.frozen
class FormFieldPlan:
    """One field of a form model: the form field it is read from and what it holds.

    ``attribute`` is the attrs field (its validators, converter and default); ``annotation`` its
    resolved type; ``constraints`` and ``item_constraints`` what its validators require of the
    value and of each member; ``upload`` is set for a file.
    """

    wire_name: str
    attribute: attrs.Attribute[Any]
    annotation: Any
    required: bool
    constraints: Constraints = attrs.field(factory=Constraints)
    item_constraints: Constraints = attrs.field(factory=Constraints)
    upload: Upload | None = None


@attrs.frozen
class ParameterPlan:
    """One handler parameter: where it is read from, its wire name, type, default and limits.

    ``annotation`` is the parameter's type with ``Annotated`` metadata removed; ``constraints``
    holds what that metadata (and attrs validators, for models) required. Depending on the
    location: ``injector`` (``INJECTED``), ``convertor`` (``PATH``: the route's convertor, which
    makes the value when it is not ``str``), ``upload`` (``FILE``) and ``form_fields`` (a whole
    form read into an attrs class).
    """

    name: str
    location: Location
    wire_name: str
    annotation: Any
    default: Any = REQUIRED
    constraints: Constraints = attrs.field(factory=Constraints)
    injector: Injector | None = None
    description: str | None = None
    convertor: Convertor[Any] | None = None
    upload: Upload | None = None
    form_fields: tuple[FormFieldPlan, ...] = ()

    @property
    def required(self) -> bool:
        """Whether the request must supply the parameter (it has no default)."""
        return self.default is REQUIRED

    @property
    def is_form_model(self) -> bool:
        """Whether the parameter reads the whole form into an attrs class."""
        return bool(self.form_fields)


@attrs.frozen
class ResponsePlan:
    """A status an operation can answer with, and the type of its JSON body (None: no body).

    Error bodies are `HTTPError` (``{"detail": "..."}``), `HTTPValidationError` (a 422's list of
    problems), or their union where a declared 422 may be either.
    """

    status: int
    body: Any
    description: str


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return f"Status {status}"


# Types that any text is: a parameter of one of them cannot be sent wrong.
_TEXT_INFALLIBLE: frozenset[Any] = frozenset({str, Any, object})


def _can_fail(parameter: ParameterPlan) -> bool:
    """Whether a request can get this parameter wrong, so that the operation may answer 422."""
    location = parameter.location
    if location is Location.INJECTED:
        return False
    if location in (Location.BODY, Location.FORM, Location.FILE):
        return True
    if parameter.constraints:
        return True
    if parameter.required and location is not Location.PATH:
        return True
    tp = without_none(parameter.annotation)
    if origin_of(tp) in LIST_ORIGINS or origin_of(tp) is tuple:
        args = getattr(tp, "__args__", ())
        tp = args[0] if args else Any
    return tp not in _TEXT_INFALLIBLE


def _default_path_convertors(path: str) -> dict[str, Convertor[Any]]:
    try:
        return path_convertors(path)
    except ValueError:
        return {}


@attrs.frozen
class OperationPlan:
    """One HTTP method of one endpoint class served at one path.

    ``summary`` and ``description`` are what the document says of the operation (from the
    handler's docstring); ``operation_id`` defaults to ``{route_name}_{method}`` in snake case.
    ``encoded_type`` is the part of the return type sent as JSON (the return type without its
    ``Response`` members; None when nothing is encoded); ``json_body`` says whether the
    operation reads a JSON body (so another media type is a 415); ``responses`` lists every
    status the operation can answer, by status.
    """

    endpoint: type
    method: str
    handler_name: str
    path: str
    route_name: str
    parameters: tuple[ParameterPlan, ...]
    return_type: Any
    status_code: int
    raises: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    summary: str | None = None
    description: str | None = None
    operation_id: str = attrs.field()
    is_async: bool = True
    path_convertors: Mapping[str, Convertor[Any]] = attrs.field()
    encoded_type: Any = attrs.field()
    json_body: bool = attrs.field()
    responses: tuple[ResponsePlan, ...] = attrs.field()

    @operation_id.default
    def _default_operation_id(self) -> str:
        return f"{snake_case(self.route_name)}_{self.method.lower()}"

    @path_convertors.default
    def _default_path_convertors(self) -> Mapping[str, Convertor[Any]]:
        return _default_path_convertors(self.path)

    @encoded_type.default
    def _default_encoded_type(self) -> Any:
        return self.return_type

    @json_body.default
    def _default_json_body(self) -> bool:
        return any(p.location is Location.BODY for p in self.parameters)

    @responses.default
    def _default_responses(self) -> tuple[ResponsePlan, ...]:
        return _responses(self)

    @property
    def body(self) -> ParameterPlan | None:
        """The JSON body parameter, if the handler has one."""
        for parameter in self.parameters:
            if parameter.location is Location.BODY:
                return parameter
        return None

    def located(self, location: Location) -> tuple[ParameterPlan, ...]:
        """The parameters read from ``location``, in signature order."""
        return tuple(p for p in self.parameters if p.location is location)

    def response(self, status: int) -> ResponsePlan | None:
        """The planned response for ``status``, if the operation can answer with it."""
        for planned in self.responses:
            if planned.status == status:
                return planned
        return None

    @property
    def path_format(self) -> str:
        """The path template without convertors (``/todos/{todo_id}``), as OpenAPI writes it."""
        return PARAMETER_PATTERN.sub(r"{\1}", self.path)

    @property
    def qualified_name(self) -> str:
        """``module.Class.method``, as error messages name the handler."""
        cls = self.endpoint
        return f"{cls.__module__}.{cls.__qualname__}.{self.handler_name}"


def _success_body(plan: OperationPlan) -> Any:
    encoded = plan.encoded_type
    status = plan.status_code
    if encoded is None or encoded is type(None) or status in BODILESS_STATUSES or status < 200:
        return None
    return encoded


def _responses(plan: OperationPlan) -> tuple[ResponsePlan, ...]:
    """Every status ``plan`` can answer: the success status, each ``@raises``, 413 and 400
    where a body is read (too large, or a malformed form), 415 for a JSON body sent as another
    media type, and 422 where a request can get a parameter wrong."""
    success = plan.status_code
    found: dict[int, ResponsePlan] = {
        success: ResponsePlan(success, _success_body(plan), _phrase(success))
    }
    can_fail = any(_can_fail(parameter) for parameter in plan.parameters)
    for status in plan.raises:
        if status == success:
            continue
        body: Any = HTTPError
        if status == 422 and can_fail:
            body = Union[HTTPValidationError, HTTPError]  # noqa: UP007
        found[status] = ResponsePlan(status, body, _phrase(status))
    reads_form = any(p.location in (Location.FORM, Location.FILE) for p in plan.parameters)
    extra: list[tuple[int, Any, str]] = []
    if plan.json_body or reads_form:
        extra.append((413, HTTPError, _phrase(413)))
    if reads_form:
        extra.append((400, HTTPError, _phrase(400)))
    if plan.json_body:
        extra.append((415, HTTPError, _phrase(415)))
    if can_fail:
        extra.append((422, HTTPValidationError, "Validation Error"))
    for status, body, description in extra:
        found.setdefault(status, ResponsePlan(status, body, description))
    return tuple(found[status] for status in sorted(found))


def is_error_body(tp: Any) -> bool:
    """Whether ``tp`` is one of the framework's own error bodies (or their union)."""
    if is_union(tp):
        return all(is_error_body(member) for member in tp.__args__)
    return tp is HTTPError or tp is HTTPValidationError


@attrs.frozen
class WebSocketPlan:
    """A ``WebSocketEndpoint`` served at one path: its parameters and the type of its messages.

    ``state_parameters`` names, for each callback that takes the lifespan state, the parameter
    receiving it.
    """

    endpoint: type
    path: str
    route_name: str
    encoding: str | None
    message_type: Any
    parameters: tuple[ParameterPlan, ...] = ()
    tags: tuple[str, ...] = ()
    state_parameters: Mapping[str, str] = attrs.field(factory=dict)
