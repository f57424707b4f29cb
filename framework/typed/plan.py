"""The route plan: what the typed layer learned from each handler's signature, once, at start-up.

Parsing, validation, encoding, OpenAPI and the fuzz harness all read these objects and nothing
else, so what is documented is exactly what is enforced.
"""

from __future__ import annotations

import enum
import re
from typing import Any

import attrs

from framework.typed.constraints import Constraints

__all__ = [
    "REQUIRED",
    "HandlerDefinitionError",
    "Location",
    "OperationPlan",
    "ParameterPlan",
    "WebSocketPlan",
    "snake_case",
]


class _Required(enum.Enum):
    REQUIRED = "REQUIRED"

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required.REQUIRED
"""The default of a parameter that has none: the request must supply it."""


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


class HandlerDefinitionError(TypeError):
    """A handler whose signature the typed layer cannot serve; raised at start-up.

    The message names the module, class, method and parameter.
    """


@attrs.frozen
class ParameterPlan:
    """One handler parameter: where it is read from, its wire name, type, default and limits.

    ``annotation`` is the parameter's type with ``Annotated`` metadata removed; ``constraints``
    holds what that metadata (and attrs validators, for models) required. ``injector`` is set for
    ``Location.INJECTED``: ``"request"``, ``"websocket"``, ``"background"`` or ``"state"``.
    """

    name: str
    location: Location
    wire_name: str
    annotation: Any
    default: Any = REQUIRED
    constraints: Constraints = attrs.field(factory=Constraints)
    injector: str | None = None
    description: str | None = None

    @property
    def required(self) -> bool:
        """Whether the request must supply the parameter (it has no default)."""
        return self.default is REQUIRED


@attrs.frozen
class OperationPlan:
    """One HTTP method of one wired endpoint class.

    ``summary`` and ``description`` are what the document says of the operation (compiled
    from the handler's docstring); ``operation_id`` defaults to ``{route_name}_{method}`` in
    snake case.
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

    @operation_id.default
    def _default_operation_id(self) -> str:
        return f"{snake_case(self.route_name)}_{self.method.lower()}"

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

    @property
    def qualified_name(self) -> str:
        """``module.Class.method``, as error messages name the handler."""
        cls = self.endpoint
        return f"{cls.__module__}.{cls.__qualname__}.{self.handler_name}"


@attrs.frozen
class WebSocketPlan:
    """A wired ``WebSocketEndpoint``: its path, parameters and the type of incoming messages."""

    endpoint: type
    path: str
    route_name: str
    encoding: str | None
    message_type: Any
    parameters: tuple[ParameterPlan, ...] = ()
    tags: tuple[str, ...] = ()
