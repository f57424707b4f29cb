"""The harness's strategies agree with the framework's validator: valid draws are accepted and
invalid ones refused, for declared types and limits of every kind, on generated models too."""

from __future__ import annotations

import datetime
import decimal
import enum
import uuid
from typing import Annotated, Any, Literal, NewType

import attrs
import pytest
from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framework import App, Header, HTTPEndpoint, Route, status_code
from framework.typed.constraints import Constraints, check, split_annotated
from framework.typed.converter import default_converter
from framework.typed.errors import RequestValidationError
from testing.fuzz import fuzz
from testing.strategies import (
    EDGE_INTEGERS,
    RequestStrategies,
    invalid_messages,
    text_of,
    values,
)

BookId = NewType("BookId", int)


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


@attrs.frozen
class Inner:
    label: str = attrs.field(validator=attrs.validators.max_len(5))
    weight: float = 1.0


@attrs.frozen
class Outer:
    name: str = attrs.field(validator=[attrs.validators.min_len(1), attrs.validators.max_len(8)])
    count: int = attrs.field(validator=[attrs.validators.ge(0), attrs.validators.lt(10)])
    inner: Inner | None = None
    tags: list[str] = attrs.field(
        factory=list,
        validator=attrs.validators.deep_iterable(attrs.validators.min_len(2)),
    )
    colour: Colour = Colour.RED


@attrs.frozen
class Checked:
    """A model whose validator the plan cannot read: drawn through the class, it still holds."""

    low: int
    high: int = attrs.field()

    @high.validator
    def _above_low(self, attribute: attrs.Attribute[int], value: int) -> None:
        if value <= self.low:
            raise ValueError("high must be above low")


TYPES: list[Any] = [
    int,
    Annotated[int, Ge(-3), Le(7)],
    Annotated[int, Gt(0), Lt(2**40)],
    float,
    Annotated[float, Ge(0.5), Lt(2.5)],
    bool,
    str,
    Annotated[str, MinLen(2), MaxLen(4)],
    bytes,
    decimal.Decimal,
    datetime.datetime,
    datetime.date,
    datetime.time,
    uuid.UUID,
    Colour,
    Literal["a", "b", 3],
    BookId,
    int | None,
    int | str,
    list[int],
    Annotated[list[int], MinLen(1), MaxLen(2)],
    set[str],
    tuple[int, str],
    dict[str, int],
    Outer,
    Checked,
]


@pytest.mark.parametrize("tp", TYPES, ids=repr)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_valid_values_pass_the_converter(tp: Any, data: st.DataObject) -> None:
    value = data.draw(values(tp))
    base, limits, _ = split_annotated(tp)
    assert check(value, limits) == []
    encoded = default_converter.unstructure_fn(base)(value)
    assert default_converter.structure(encoded, tp) == value


@pytest.mark.parametrize(
    ("tp", "constraints"),
    [
        (int, Constraints(ge=1, le=10)),
        (float, Constraints(gt=0.0, lt=1.0)),
        (str, Constraints(min_length=3, max_length=3)),
        (str, Constraints(pattern=r"^[a-z]+-[0-9]+$")),
        (list[int], Constraints(min_length=2, max_length=3)),
        (str, Constraints(choices=("x", "y"))),
    ],
)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_values_keep_within_the_plan_constraints(
    tp: Any, constraints: Constraints, data: st.DataObject
) -> None:
    assert check(data.draw(values(tp, constraints)), constraints) == []


def test_edge_integers_come_first_where_they_fit() -> None:
    # 2**31 and 2**63 are where fixed-width storage overflows.
    assert {2**31, 2**63} <= set(EDGE_INTEGERS)


def test_text_of_is_what_the_text_readers_take() -> None:
    assert text_of(True) == "true"
    assert text_of(Colour.GREEN) == "green"
    assert text_of(1.5) == "1.5"
    assert text_of(datetime.date(2024, 2, 29)) == "2024-02-29"
    parsed = default_converter.parse_text([text_of(uuid.UUID(int=5))], uuid.UUID)
    assert parsed == uuid.UUID(int=5)


class Shelf(HTTPEndpoint):
    @status_code(201)
    async def post(
        self,
        shelf_id: Annotated[int, Ge(1), Le(999)],
        body: Outer,
        dry_run: bool = False,
        limit: Annotated[int, Ge(1), Le(50)] = 10,
        x_tenant: Annotated[str | None, Header(), MaxLen(8)] = None,
    ) -> Outer:
        return body


def shelf_requests() -> RequestStrategies:
    app = App(routes=[Route("/shelves/{shelf_id:int}", Shelf)])
    (plan,) = app.operation_plans
    return RequestStrategies(plan, default_converter)


def test_boundary_cases_vary_one_parameter_at_a_time() -> None:
    requests = shelf_requests()
    cases = requests.boundary()
    valid = [case for case in cases if case.valid]
    invalid = [case for case in cases if not case.valid]
    assert valid[0].path == "/shelves/1"
    assert {"/shelves/1", "/shelves/999"} <= {case.path for case in valid}
    assert any(("limit", "50") in case.query for case in valid)
    assert any(("x-tenant", "zzzzzzzz") in case.headers for case in valid)
    mutations = {case.mutation or "" for case in invalid}
    for expected in (
        "query limit: breaks le=50: 51",
        "path shelf_id: breaks le=999: 1000",
        "path shelf_id: breaks ge=1: 0",
        "body: malformed JSON",
        "body: JSON sent as text/plain",
        "body: field name missing",
        "body: field count breaks lt=10",
        "body: field name: a lone surrogate",
        "body: field inner: a JSON array where Inner is declared",
        "header x-tenant: longer than 8: 'xxxxxxxxx'",
        "body: a body of 1048577 bytes, over the limit",
    ):
        assert expected in mutations


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_valid_cases_satisfy_the_plan_and_invalid_ones_break_it(data: st.DataObject) -> None:
    requests = shelf_requests()
    case = data.draw(st.one_of(requests.valid(), requests.invalid()))
    assert case.valid == (case.mutation is None)
    if case.valid and case.has_json:
        default_converter.structure(case.json, Outer)


def test_the_shelf_route_is_fuzz_clean() -> None:
    report = fuzz(
        App(routes=[Route("/shelves/{shelf_id:int}", Shelf)]),
        max_examples=60,
        seed=3,
        database=None,
    )
    assert report.ok, report
    assert report.requests > 60


# --- generated models, in the manner of cattrs' typed strategies


SCALARS: list[tuple[Any, st.SearchStrategy[Any]]] = [
    (
        int,
        st.builds(
            lambda lo, span: (attrs.validators.ge(lo), attrs.validators.le(lo + span)),
            st.integers(-5, 5),
            st.integers(0, 20),
        ),
    ),
    (
        str,
        st.builds(
            lambda lo, span: (attrs.validators.min_len(lo), attrs.validators.max_len(lo + span)),
            st.integers(0, 3),
            st.integers(0, 6),
        ),
    ),
    (float, st.just(())),
    (bool, st.just(())),
]


@st.composite
def models(draw: st.DrawFn) -> type:
    """An attrs class with required, then optional, fields of scalar types with drawn limits."""
    fields: dict[str, Any] = {}
    for optional in (False, True):
        for _ in range(draw(st.integers(0 if optional else 1, 2))):
            tp, validators = draw(st.sampled_from(SCALARS))
            limits: list[Any] = list(draw(validators))
            name = f"f{len(fields)}"
            if optional:
                validator = attrs.validators.optional(limits) if limits else None
                fields[name] = attrs.field(type=tp | None, default=None, validator=validator)
            else:
                fields[name] = attrs.field(type=tp, validator=limits or None)
    return attrs.make_class("Generated", fields, frozen=True)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.nested_given])
@given(model=models())
def test_generated_models_are_fuzz_clean(model: type) -> None:
    class Echo(HTTPEndpoint):
        async def post(self, body: model) -> model:  # type: ignore[valid-type]
            return body

    report = fuzz(
        App(routes=[Route("/echo", Echo)]),
        max_examples=25,
        seed=1,
        database=None,
        stateful=False,
    )
    assert report.ok, report


def test_invalid_websocket_messages_break_the_declared_encoding() -> None:
    from framework.typed.plan import WebSocketPlan

    plan = WebSocketPlan(
        endpoint=object, path="/ws", route_name="ws", encoding="json", message_type=Inner
    )
    shown = {what for what, _ in invalid_messages(plan)}
    assert {"not JSON", "binary where JSON text is expected"} <= shown
    assert "a JSON array where Inner is declared" in shown


def test_structure_refuses_what_a_mutation_sends() -> None:
    with pytest.raises(RequestValidationError):
        default_converter.structure({"name": "\ud800", "count": 1}, Outer)
