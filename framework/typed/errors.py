"""The 422 model: where a problem with a request is, what it is, and how problems are collected.

A request that does not fit its handler's signature is answered with every problem at once::

    {"detail": [{"loc": ["body", "title"], "msg": "expected a string", "type": "type_error"}]}

The converter and the text parsers raise `InvalidValue` (one problem, located by whoever catches
it) or `LocatedErrors` (problems already located) from the hooks that find them; `errors_of`
turns what a hook raised, cattrs' exception groups included, into `ErrorDetail` entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    IterableValidationError,
    IterableValidationNote,
)

__all__ = [
    "MAX_ERRORS",
    "ErrorDetail",
    "HTTPError",
    "HTTPValidationError",
    "InvalidValue",
    "Loc",
    "LocatedErrors",
    "RequestValidationError",
    "capped_errors",
    "collect_errors",
    "duplicate_errors",
    "error_message",
    "errors_of",
    "limit_errors",
    "note_loc",
]

Loc = tuple[str | int, ...]
"""Where a problem is: ``("body", "tags", 2)``, ``("query", "limit")``."""


MAX_ERRORS = 100
"""How many problems a 422 lists; one ``too_many_errors`` entry stands for the rest."""


_TOO_MANY = f"too many errors; only the first {MAX_ERRORS} are listed"


@attrs.frozen
class ErrorDetail:
    """One problem with a request: where it is, what is wrong, and its stable kind
    (``missing``, ``type_error``, ``value_error``, ``enum``, ``literal_error``, ...)."""

    loc: Loc
    msg: str
    type: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of one entry of a 422 ``detail`` list."""
        return {"loc": list(self.loc), "msg": self.msg, "type": self.type}


class RequestValidationError(Exception):
    """Request data that does not fit its declared type; ``errors`` lists every problem."""

    def __init__(self, errors: list[ErrorDetail]) -> None:
        super().__init__(errors)
        self.errors = errors

    def __str__(self) -> str:
        return "; ".join(
            f"{'.'.join(str(part) for part in error.loc) or '(value)'}: {error.msg}"
            for error in self.errors
        )


class InvalidValue(Exception):
    """One problem, raised where it is found; containers add its location on the way out."""

    def __init__(self, msg: str, kind: str = "type_error") -> None:
        super().__init__(msg)
        self.msg = msg
        self.kind = kind


class LocatedErrors(Exception):
    """Problems already located relative to the value whose hook raised this."""

    def __init__(self, errors: list[ErrorDetail]) -> None:
        super().__init__(errors)
        self.errors = errors


def error_message(exc: BaseException) -> str:
    # Validators often raise ValueError(message, attribute, ...): the first argument is the text.
    if exc.args and isinstance(exc.args[0], str):
        return exc.args[0]
    return str(exc) or exc.__class__.__name__


def note_loc(exc: BaseException) -> Loc:
    for note in reversed(getattr(exc, "__notes__", ())):
        if isinstance(note, IterableValidationNote):
            return (note.index,)
        if isinstance(note, AttributeValidationNote):
            return (note.name,)
    return ()


def collect_errors(exc: BaseException, loc: Loc, out: list[ErrorDetail]) -> None:
    """Turn what a hook raised (possibly a tree of cattrs' exception groups) into details."""
    if isinstance(exc, InvalidValue):
        out.append(ErrorDetail(loc, exc.msg, exc.kind))
    elif isinstance(exc, LocatedErrors):
        out.extend(ErrorDetail(loc + error.loc, error.msg, error.type) for error in exc.errors)
    elif isinstance(exc, (IterableValidationError, ClassValidationError)):
        for sub in exc.exceptions:
            collect_errors(sub, loc + note_loc(sub), out)
    elif isinstance(exc, RecursionError):
        out.append(ErrorDetail(loc, "value is nested too deeply", "value_error"))
    else:
        out.append(ErrorDetail(loc, error_message(exc), "value_error"))


def errors_of(exc: BaseException, loc: Loc) -> list[ErrorDetail]:
    out: list[ErrorDetail] = []
    try:
        collect_errors(exc, loc, out)
    except RecursionError:
        return [ErrorDetail(loc, "value is nested too deeply", "value_error")]
    return out


def capped_errors(errors: list[ErrorDetail]) -> list[ErrorDetail]:
    """``errors`` if there are at most `MAX_ERRORS`; else the first `MAX_ERRORS` and one
    ``too_many_errors`` entry, at the location (``["body"]``, ``["query"]``) of the first
    problem left out."""
    if len(errors) <= MAX_ERRORS:
        return errors
    rest: Loc = errors[MAX_ERRORS].loc[:1]
    return [*errors[:MAX_ERRORS], ErrorDetail(rest, _TOO_MANY, "too_many_errors")]


def duplicate_errors(items: Sequence[Any], loc: Loc = ()) -> list[ErrorDetail]:
    """A ``duplicate item`` problem at the index of each item equal to an earlier one.

    NOTE: sets are documented ``uniqueItems``; dropping repeats silently would accept what
    the document refuses.
    """
    seen: set[Any] = set()
    errors: list[ErrorDetail] = []
    for index, item in enumerate(items):
        if item in seen:
            errors.append(ErrorDetail((*loc, index), "duplicate item", "value_error"))
        else:
            seen.add(item)
    return errors


def limit_errors(problems: list[str], loc: Loc = ()) -> list[ErrorDetail]:
    return [ErrorDetail(loc, problem, "value_error") for problem in problems]


@attrs.frozen
class HTTPError:
    """The body of an error response other than a 422: ``{"detail": "todo not found"}``."""

    detail: str


@attrs.frozen
class HTTPValidationError:
    """The body of a 422: every problem of the request."""

    detail: list[ErrorDetail]
