"""The named checks: what every response must satisfy, given the request and the route's plan.

A check takes a `Context` and returns ``None`` when the response is right, or a message saying
what is wrong. Each has a stable name, which ``fuzz(checks=..., exclude_checks=...)`` and
``pytest --fuzz-checks`` select by; `check` registers a check of your own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import attrs
import orjson

from framework.typed.converter import APIConverter
from framework.typed.errors import RequestValidationError
from framework.typed.plan import BODILESS_STATUSES, OperationPlan
from testing.report import Case, Exchange

__all__ = [
    "CHECKS",
    "STATEFUL_CHECKS",
    "Check",
    "Context",
    "allow_header",
    "check",
    "content_type_declared",
    "exception_name",
    "negative_data_rejected",
    "not_a_server_error",
    "positive_data_accepted",
    "response_conforms",
    "selected",
    "status_code_declared",
]


@attrs.frozen
class Context:
    """What a check sees: the request, the answer, the operation's plan and the converter.

    ``allowed`` is, for a request sent with a method the path does not serve, the set of
    methods it does serve (else None).
    """

    case: Case
    exchange: Exchange
    plan: OperationPlan
    converter: APIConverter
    allowed: frozenset[str] | None = None


Check = Callable[[Context], "str | None"]

CHECKS: dict[str, Check] = {}
"""Every registered check, by name, in the order they run: the first that fails is reported."""

STATEFUL_CHECKS = ("use_after_free", "resource_available")
"""Checks that the state machine applies to sequences (see `testing.stateful`)."""


def check(fn: Check) -> Check:
    """Register ``fn`` as a check named after the function; it runs on every response."""
    CHECKS[fn.__name__] = fn
    return fn


def selected(names: Iterable[str] | None = None, exclude: Iterable[str] = ()) -> list[str]:
    """The names of the checks to run: ``names`` (default: all), less ``exclude``."""
    known = [*CHECKS, *STATEFUL_CHECKS]
    chosen = known if names is None else list(names)
    unknown = sorted({*chosen, *exclude} - set(known))
    if unknown:
        raise ValueError(
            f"unknown check {', '.join(map(repr, unknown))}; known: {', '.join(known)}"
        )
    return [name for name in chosen if name not in set(exclude)]


def _is_validation_error(exchange: Exchange) -> bool:
    """Whether the response is the framework's own 422, ``{"detail": [...]}``."""
    if exchange.status != 422 or exchange.media_type != "application/json":
        return False
    try:
        detail = orjson.loads(exchange.body).get("detail")
    except (ValueError, AttributeError):
        return False
    return isinstance(detail, list)


def exception_name(error: BaseException) -> str:
    """``struct.error``, ``ValueError``: the exception's type as the user would import it."""
    kind = type(error)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


@check
def not_a_server_error(context: Context) -> str | None:
    """The app answers, without a 5xx and without an exception escaping it."""
    exchange = context.exchange
    if exchange.exception is not None:
        where = f" at {exchange.error_at}" if exchange.error_at else ""
        return f"{exception_name(exchange.exception)}: {exchange.exception}{where}"
    if exchange.status == 0:
        return "no response"
    if exchange.status >= 500:
        return f"answered {exchange.status}"
    return None


@check
def status_code_declared(context: Context) -> str | None:
    """The status is one the operation declares (or a 405 for a method the path does not serve)."""
    status = context.exchange.status
    if status >= 500 or status == 0:
        return None
    if context.allowed is not None:
        return None if status == 405 else f"answered {status} to a method the path does not serve"
    if context.plan.response(status) is not None:
        return None
    declared = ", ".join(str(planned.status) for planned in context.plan.responses)
    return f"answered {status}, which is not declared (declared: {declared})"


def _declares_json(plan: OperationPlan, status: int) -> bool | None:
    planned = plan.response(status)
    if planned is None:
        return None
    if status == plan.status_code and plan.encoded_type != plan.return_type:
        # NOTE: the handler may also return a Response of its own (``-> Item | HTMLResponse``),
        # of any media type and body; only what the framework encodes is checked.
        return None
    return planned.body is not None


@check
def content_type_declared(context: Context) -> str | None:
    """A declared response with a body is JSON; one without a body has none."""
    exchange = context.exchange
    if exchange.status == 0 or context.allowed is not None:
        return None
    declared = _declares_json(context.plan, exchange.status)
    if declared is None:
        return None
    if declared:
        if exchange.media_type != "application/json":
            return f"answered {exchange.status} as {exchange.media_type!r}, not 'application/json'"
        return None
    if exchange.status in BODILESS_STATUSES and exchange.body:
        return f"answered {exchange.status} with a body of {len(exchange.body)} bytes"
    return None


@check
def response_conforms(context: Context) -> str | None:
    """The body reads back into the declared type of its status, through the same strict
    converter that reads requests; a declared empty response is empty."""
    exchange = context.exchange
    planned = context.plan.response(exchange.status)
    if planned is None or context.allowed is not None:
        return None
    if _declares_json(context.plan, exchange.status) is None:
        return None
    if planned.body is None:
        if exchange.body and exchange.status in BODILESS_STATUSES:
            return f"a {exchange.status} must be empty, got {len(exchange.body)} bytes"
        return None
    if exchange.media_type != "application/json":
        return None  # content_type_declared reports it
    converter = context.converter
    try:
        data = converter.decode_json(exchange.body)
        converter.structure(data, planned.body)
    except RequestValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, detail.loc)) or 'body'}: {detail.msg}" for detail in error.errors
        )
        return f"the {exchange.status} body does not fit {_name(planned.body)}: {problems}"
    return None


def _name(tp: Any) -> str:
    return getattr(tp, "__qualname__", None) or repr(tp)


@check
def negative_data_rejected(context: Context) -> str | None:
    """A request that breaks a declared type or limit never gets a 2xx."""
    case = context.case
    if case.valid or not 200 <= context.exchange.status < 300:
        return None
    return f"accepted an invalid request ({case.mutation}) with {context.exchange.status}"


@check
def positive_data_accepted(context: Context) -> str | None:
    """A request that satisfies every declared type and limit never gets the framework's 422:
    if it does, what the plan declares and what the validator enforces disagree."""
    if not context.case.valid or not _is_validation_error(context.exchange):
        return None
    return "refused a valid request with the framework's 422: " + context.exchange.body.decode(
        "utf-8", "replace"
    )


@check
def allow_header(context: Context) -> str | None:
    """A 405 lists in ``Allow`` exactly the methods served on that path."""
    exchange = context.exchange
    if exchange.status != 405 or context.allowed is None:
        return None
    header = exchange.header("allow")
    if header is None:
        return "a 405 without an Allow header"
    listed = {method.strip().upper() for method in header.split(",") if method.strip()}
    if listed != context.allowed:
        return f"Allow lists {sorted(listed)}, the path serves {sorted(context.allowed)}"
    return None
