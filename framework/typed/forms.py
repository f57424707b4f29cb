"""Forms: an attrs class planned as a whole form at start-up, and form values read per request.

`plan_form_fields` reads a form model's fields into `FormFieldPlan`s (refusing with
``TypeError`` what a flat form cannot carry; `framework.typed.signature` names the handler in
the error). `FormModelReader` and `read_form_value` serve requests from those plans.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from typing import Any, NamedTuple

import attrs

from framework.datastructures import FormData, UploadFile
from framework.typed._typeinfo import type_name, upload_of
from framework.typed.constraints import (
    constraints_from_attribute,
    item_constraints_from_attribute,
)
from framework.typed.converter import APIConverter, field_validator_errors
from framework.typed.errors import ErrorDetail, Loc, RequestValidationError
from framework.typed.plan import FormFieldPlan, Location, Upload, UploadKind
from framework.typed.text import TextFn

__all__ = [
    "MISSING_MESSAGE",
    "FormModelReader",
    "missing",
    "plan_form_fields",
    "read_form_value",
    "upload_plan",
]

MISSING_MESSAGE = "field required"


def missing(loc: Loc) -> list[ErrorDetail]:
    """The problem of a required value that the request does not carry."""
    return [ErrorDetail(loc, MISSING_MESSAGE, "missing")]


def upload_plan(tp: Any) -> Upload | None:
    """The `Upload` an annotation asks for (``UploadFile`` or ``bytes``, one or many), if any."""
    found = upload_of(tp)
    if found is None:
        return None
    element, many = found
    return Upload(UploadKind.FILE if element is UploadFile else UploadKind.BYTES, many)


def _holds_model(tp: Any) -> bool:
    """Whether ``tp`` is, or contains, an attrs class (a form cannot carry one)."""
    if isinstance(tp, type) and attrs.has(tp):
        return True
    origin = typing.get_origin(tp)
    if isinstance(origin, type) and attrs.has(origin):
        return True
    return any(_holds_model(arg) for arg in typing.get_args(tp))


def _model_hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls, include_extras=True)
    except Exception:  # any error of evaluating annotations: NameError, TypeError, ...
        # NOTE: attrs keeps the types given as objects; only names it could not see fail below.
        return {}


def plan_form_fields(cls: type, converter: APIConverter) -> tuple[FormFieldPlan, ...]:
    """The fields of the form model ``cls``, one per field of its ``__init__``, by form field
    name (the attrs alias). Raises ``TypeError`` for a field a flat form cannot carry."""
    hints = _model_hints(cls)
    planned: list[FormFieldPlan] = []
    for field in attrs.fields(cls):
        if not field.init:
            continue
        tp = hints.get(field.name, field.type)
        where = f"field {field.name!r} of the form model {cls.__qualname__}"
        if tp is None or isinstance(tp, str):
            raise TypeError(f"the type of {where} cannot be resolved")
        if _holds_model(tp):
            raise TypeError(
                f"{where} is a model ({type_name(tp)}), but forms are flat: give its fields "
                "to the form model itself, or read the body as JSON"
            )
        upload = upload_plan(tp)
        if upload is None:
            try:
                converter.parse_text_fn(tp)
            except Exception as exc:
                raise TypeError(
                    f"{where} is parsed from text, and {type_name(tp)} cannot be ({exc})"
                ) from None
        planned.append(
            FormFieldPlan(
                wire_name=field.alias or field.name,
                attribute=field,
                annotation=tp,
                required=field.default is attrs.NOTHING,
                constraints=constraints_from_attribute(field),
                item_constraints=item_constraints_from_attribute(field),
                upload=upload,
            )
        )
    return tuple(planned)


async def read_form_value(
    items: list[str | UploadFile], upload: Upload | None, parse: TextFn | None, loc: Loc
) -> Any:
    """One form field's value from its (non-empty) items: text parsed with ``parse``, or the
    files of an ``upload`` (their bytes for `UploadKind.BYTES`); raises
    `RequestValidationError`."""
    if upload is None:
        if parse is not None and all(isinstance(item, str) for item in items):
            return parse(typing.cast(list[str], items), loc)
        raise RequestValidationError([ErrorDetail(loc, "expected a text field", "type_error")])
    files = [item for item in items if isinstance(item, UploadFile)]
    if len(files) != len(items):
        raise RequestValidationError([ErrorDetail(loc, "expected a file", "type_error")])
    values: list[Any] = files
    if upload.kind is UploadKind.BYTES:
        values = [await file.read() for file in files]
    return values if upload.many else values[0]


class _FieldStep(NamedTuple):
    """How one field of a form model is read: its plan, text parser (None for a file), loc."""

    field: FormFieldPlan
    parse: TextFn | None
    loc: Loc


class FormModelReader:
    """Reads an attrs class from a whole form: one prepared step per planned field."""

    # PERF: a request only walks the prepared steps; the parse functions are built once.
    __slots__ = ("cls", "steps")

    def __init__(self, cls: type, fields: Sequence[FormFieldPlan], converter: APIConverter) -> None:
        self.cls = cls
        self.steps = tuple(
            _FieldStep(
                field,
                None if field.upload is not None else converter.parse_text_fn(field.annotation),
                (Location.FORM.value, field.wire_name),
            )
            for field in fields
        )

    async def read(self, form: FormData) -> Any:
        """The model built from ``form``; raises `RequestValidationError` with every problem."""
        kwargs: dict[str, Any] = {}
        errors: list[ErrorDetail] = []
        for field, parse, loc in self.steps:
            items = form.getlist(field.wire_name)
            if not items:
                if field.required:
                    errors.extend(missing(loc))
                continue
            try:
                kwargs[field.wire_name] = await read_form_value(items, field.upload, parse, loc)
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
        for planned, _, loc in self.steps:
            if planned.wire_name not in kwargs:
                continue
            attribute = planned.attribute
            item = kwargs[planned.wire_name]
            # NOTE: an ``attrs.Converter`` may take the instance or field; attrs runs those.
            convert: Any = attribute.converter
            if callable(convert) and not isinstance(convert, attrs.Converter):
                try:
                    item = convert(item)
                except Exception as exc:
                    errors.append(ErrorDetail(loc, str(exc) or type(exc).__name__, "value_error"))
                    continue
            object.__setattr__(instance, attribute.name, item)
            if attribute.validator is not None:
                pending.append((attribute, item, loc))
        for attribute, item, loc in pending:
            try:
                attribute.validator(instance, attribute, item)  # type: ignore[misc]
            except AttributeError:
                continue
            except Exception as exc:
                errors.extend(
                    ErrorDetail((*loc, *found.loc[1:]), found.msg, found.type)
                    for found in field_validator_errors(attribute, item, exc)
                )
        return errors
