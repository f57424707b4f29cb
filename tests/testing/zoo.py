"""A bug zoo for the fuzz harness: each route hides one bug of a kind that real apps have.

`make_zoo` builds the app with the named bugs switched on (all of them by default) and the
others fixed: a route's buggy and fixed endpoint classes differ only where the bug is, so the
fixed zoo is the proof that the harness reports nothing that is not a bug. `BUGS` says, for each
bug, on which operation and by which check the harness must report it.
"""

from __future__ import annotations

import contextlib
import math
import struct
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from typing import Annotated, TypeVar, cast

import attrs
from annotated_types import Ge, Le

from framework import (
    App,
    Header,
    HTTPEndpoint,
    HTTPException,
    JSONResponse,
    PlainTextResponse,
    Route,
    WebSocket,
    WebSocketEndpoint,
    WebSocketRoute,
    raises,
    status_code,
)

__all__ = ["BUGS", "Bug", "ZooState", "app", "fixed_app", "make_zoo"]


@attrs.frozen
class Bug:
    """Where the harness must report a bug: the operation, and the check that catches it."""

    operation: str
    check: str
    description: str


# --- models


@attrs.frozen
class Packed:
    size: int


@attrs.frozen
class Title:
    title: str = attrs.field(validator=attrs.validators.max_len(50))


@attrs.frozen
class Numbers:
    values: list[int]


@attrs.frozen
class Average:
    mean: float


@attrs.frozen
class Hits:
    query: str
    order: str


@attrs.frozen
class Price:
    amount: float


@attrs.frozen
class Report:
    report_id: int
    text: str


def _at_least_one(value: int) -> int:
    # The bug: a converter that "repairs" what the validator would refuse.
    return max(value, 1)


@attrs.frozen
class StrictOrder:
    quantity: int = attrs.field(validator=attrs.validators.ge(1))


@attrs.frozen
class LenientOrder:
    quantity: int = attrs.field(converter=_at_least_one, validator=attrs.validators.ge(1))


@attrs.frozen
class Note:
    text: str


@attrs.frozen
class Scaled:
    value: float


@attrs.frozen
class Traced:
    request_id: str | None


@attrs.frozen
class NewThing:
    name: str = attrs.field(validator=attrs.validators.max_len(20))


@attrs.frozen
class Thing:
    id: int
    name: str


@attrs.frozen
class Gadget:
    id: int
    name: str


@attrs.frozen
class Widget:
    id: int
    name: str


@attrs.frozen
class NewRatio:
    divisor: int = attrs.field(validator=[attrs.validators.ge(-100), attrs.validators.le(100)])


@attrs.frozen
class Ratio:
    id: int
    divisor: int
    share: int = 0


@attrs.frozen
class Tick:
    count: int = attrs.field(validator=[attrs.validators.ge(0), attrs.validators.le(10)])


@attrs.frozen
class Tock:
    share: int


@attrs.define
class ZooState:
    """Per-app stores (a dict per resource and its next id): two zoos never share data."""

    things: dict[int, Thing | None] = attrs.field(factory=dict)
    ratios: dict[int, Ratio] = attrs.field(factory=dict)
    gadgets: dict[int, Gadget] = attrs.field(factory=dict)
    widgets: dict[int, Widget] = attrs.field(factory=dict)
    next_id: int = 1

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


Id = Annotated[int, Ge(1), Le(2**63 - 1)]

# --- 1. int_overflow


class PackBuggy(HTTPEndpoint):
    """Packs ``n`` into 4 bytes: every ``n`` of 2**31 or more crashes (``struct.error``)."""

    async def get(self, n: int) -> Packed:
        return Packed(len(struct.pack("<i", n)))


class PackFixed(HTTPEndpoint):
    async def get(self, n: int) -> Packed:
        return Packed(len(str(n)))


# --- 2. unicode_title


class TitleBuggy(HTTPEndpoint):
    """Stores titles as ASCII: "日本" crashes (``UnicodeEncodeError``)."""

    @status_code(201)
    async def post(self, body: Title) -> Title:
        return Title(body.title.encode("ascii").decode())


class TitleFixed(HTTPEndpoint):
    @status_code(201)
    async def post(self, body: Title) -> Title:
        return Title(body.title)


# --- 3. empty_list


class AverageBuggy(HTTPEndpoint):
    """Averages a list that may be empty (``ZeroDivisionError``)."""

    async def post(self, body: Numbers) -> Average:
        return Average(sum(body.values) / len(body.values))


class AverageFixed(HTTPEndpoint):
    async def post(self, body: Numbers) -> Average:
        return Average(sum(body.values) / len(body.values) if body.values else 0.0)


# --- 4. optional_query

_ORDERS = {"new": "created desc", "old": "created asc"}


class SearchBuggy(HTTPEndpoint):
    """Looks ``sort`` up without a default: only broken when the parameter is sent."""

    async def get(self, q: str = "", sort: str | None = None) -> Hits:
        return Hits(q, _ORDERS["new"] if sort is None else _ORDERS[sort])


class SearchFixed(HTTPEndpoint):
    async def get(self, q: str = "", sort: str | None = None) -> Hits:
        return Hits(q, _ORDERS.get(sort or "new", _ORDERS["new"]))


# --- 5. response_breaks_model


class PriceBuggy(HTTPEndpoint):
    """Answers a free item's price as text where the model declares a number."""

    async def get(self, item_id: int) -> Price:
        if item_id % 2 == 0:
            # The bug, hidden from the type checker as it is in real code: a hand-made body.
            return cast(Price, JSONResponse({"amount": "free"}))
        return Price(float(item_id))


class PriceFixed(HTTPEndpoint):
    async def get(self, item_id: int) -> Price:
        return Price(float(item_id))


# --- 6. undocumented_status


class TeapotBuggy(HTTPEndpoint):
    """Answers 409 for negative numbers without declaring it."""

    async def get(self, n: int) -> Packed:
        if n < 0:
            raise HTTPException(409, "negative")
        return Packed(n)


class TeapotFixed(HTTPEndpoint):
    @raises(409)
    async def get(self, n: int) -> Packed:
        if n < 0:
            raise HTTPException(409, "negative")
        return Packed(n)


# --- 7. raw_json_accepts_invalid


class OrderBuggy(HTTPEndpoint):
    """Its model repairs ``quantity`` before validating it: ``0`` is accepted, as ``1``."""

    @status_code(201)
    async def post(self, body: LenientOrder) -> LenientOrder:
        return body


class OrderFixed(HTTPEndpoint):
    @status_code(201)
    async def post(self, body: StrictOrder) -> StrictOrder:
        return body


# --- 8. wrong_content_type


class ReportBuggy(HTTPEndpoint):
    """Declares JSON but sends odd reports as plain text."""

    async def get(self, report_id: int) -> Report:
        if report_id % 2:
            # The bug, hidden from the type checker as it is in real code: a text response.
            return cast(Report, PlainTextResponse(f"report {report_id}"))
        return Report(report_id, "even")


class ReportFixed(HTTPEndpoint):
    async def get(self, report_id: int) -> Report:
        return Report(report_id, "odd" if report_id % 2 else "even")


# --- 9. hidden_length_limit


class NoteBuggy(HTTPEndpoint):
    """Its storage column holds 64 characters; the model allows any length."""

    @status_code(201)
    async def post(self, body: Note) -> Note:
        if len(body.text) > 64:
            raise ValueError("value too long for column")
        return body


class NoteFixed(HTTPEndpoint):
    @status_code(201)
    async def post(self, body: Note) -> Note:
        return body


# --- 10. float_overflow


class ScaleBuggy(HTTPEndpoint):
    """Scales to an integer: a large ``x`` overflows to inf (``OverflowError``)."""

    async def get(self, x: float) -> Scaled:
        return Scaled(float(int(x * 1e308)))


class ScaleFixed(HTTPEndpoint):
    async def get(self, x: float) -> Scaled:
        scaled = x * 1e308
        return Scaled(float(int(scaled)) if math.isfinite(scaled) else 0.0)


# --- 11. malformed_optional_header


class TracedBuggy(HTTPEndpoint):
    """Reads ``X-Request-Id`` as a UUID without checking it (``ValueError``)."""

    async def get(self, x_request_id: Annotated[str | None, Header()] = None) -> Traced:
        return Traced(None if x_request_id is None else str(uuid.UUID(x_request_id)))


class TracedFixed(HTTPEndpoint):
    async def get(self, x_request_id: Annotated[str | None, Header()] = None) -> Traced:
        return Traced(x_request_id)


# --- 12. get_after_delete_crashes


class Things(HTTPEndpoint):
    @status_code(201)
    async def post(self, state: ZooState, body: NewThing) -> Thing:
        thing = Thing(state.new_id(), body.name)
        state.things[thing.id] = thing
        return thing


class ThingBuggy(HTTPEndpoint):
    """Deletes by leaving a ``None`` tombstone, which a later GET trips over."""

    @raises(404)
    async def get(self, state: ZooState, thing_id: Id) -> Thing:
        if thing_id not in state.things:
            raise HTTPException(404, "no such thing")
        thing = state.things[thing_id]
        return Thing(thing_id, thing.name)  # type: ignore[union-attr]

    @raises(404)
    async def delete(self, state: ZooState, thing_id: Id) -> None:
        if state.things.get(thing_id) is None:
            raise HTTPException(404, "no such thing")
        state.things[thing_id] = None


class ThingFixed(HTTPEndpoint):
    @raises(404)
    async def get(self, state: ZooState, thing_id: Id) -> Thing:
        thing = state.things.get(thing_id)
        if thing is None:
            raise HTTPException(404, "no such thing")
        return thing

    @raises(404)
    async def delete(self, state: ZooState, thing_id: Id) -> None:
        if state.things.pop(thing_id, None) is None:
            raise HTTPException(404, "no such thing")


# --- 13. stored_zero_division


class Ratios(HTTPEndpoint):
    @status_code(201)
    async def post(self, state: ZooState, body: NewRatio) -> Ratio:
        ratio = Ratio(state.new_id(), body.divisor)
        state.ratios[ratio.id] = ratio
        return ratio


class RatioBuggy(HTTPEndpoint):
    """Divides by the divisor stored at creation, which may be 0."""

    @raises(404)
    async def get(self, state: ZooState, ratio_id: Id) -> Ratio:
        return _ratio(state, ratio_id)

    @raises(404)
    async def put(self, state: ZooState, ratio_id: Id) -> Ratio:
        ratio = _ratio(state, ratio_id)
        return attrs.evolve(ratio, share=100 // ratio.divisor)


class RatioFixed(HTTPEndpoint):
    @raises(404)
    async def get(self, state: ZooState, ratio_id: Id) -> Ratio:
        return _ratio(state, ratio_id)

    @raises(404)
    async def put(self, state: ZooState, ratio_id: Id) -> Ratio:
        ratio = _ratio(state, ratio_id)
        return attrs.evolve(ratio, share=100 // ratio.divisor if ratio.divisor else 0)


def _ratio(state: ZooState, ratio_id: int) -> Ratio:
    ratio = state.ratios.get(ratio_id)
    if ratio is None:
        raise HTTPException(404, "no such ratio")
    return ratio


# --- 14. deleted_still_served


class Gadgets(HTTPEndpoint):
    @status_code(201)
    async def post(self, state: ZooState, body: NewThing) -> Gadget:
        gadget = Gadget(state.new_id(), body.name)
        state.gadgets[gadget.id] = gadget
        return gadget


class GadgetBuggy(HTTPEndpoint):
    """Answers 204 to a DELETE but keeps the gadget."""

    @raises(404)
    async def get(self, state: ZooState, gadget_id: Id) -> Gadget:
        return _found(state.gadgets, gadget_id)

    @raises(404)
    @status_code(204)
    async def delete(self, state: ZooState, gadget_id: Id) -> None:
        _found(state.gadgets, gadget_id)


class GadgetFixed(HTTPEndpoint):
    @raises(404)
    async def get(self, state: ZooState, gadget_id: Id) -> Gadget:
        return _found(state.gadgets, gadget_id)

    @raises(404)
    @status_code(204)
    async def delete(self, state: ZooState, gadget_id: Id) -> None:
        _found(state.gadgets, gadget_id)
        del state.gadgets[gadget_id]


_Stored = TypeVar("_Stored")


def _found(store: dict[int, _Stored], key: int) -> _Stored:
    found = store.get(key)
    if found is None:
        raise HTTPException(404, "not found")
    return found


# --- 15. created_not_fetchable


class WidgetsBuggy(HTTPEndpoint):
    """Stores a new widget under the wrong key, so its own id is never found."""

    @status_code(201)
    async def post(self, state: ZooState, body: NewThing) -> Widget:
        widget = Widget(state.new_id(), body.name)
        state.widgets[widget.id + 1000] = widget
        return widget


class WidgetsFixed(HTTPEndpoint):
    @status_code(201)
    async def post(self, state: ZooState, body: NewThing) -> Widget:
        widget = Widget(state.new_id(), body.name)
        state.widgets[widget.id] = widget
        return widget


class WidgetItem(HTTPEndpoint):
    @raises(404)
    async def get(self, state: ZooState, widget_id: Id) -> Widget:
        return _found(state.widgets, widget_id)


# --- 16. websocket_crash


class CounterBuggy(WebSocketEndpoint):
    """Divides by the count in each message, which may be 0."""

    encoding = "json"

    async def on_receive(self, websocket: WebSocket, data: Tick) -> None:
        await websocket.send_json({"share": 100 // data.count})


class CounterFixed(WebSocketEndpoint):
    encoding = "json"

    async def on_receive(self, websocket: WebSocket, data: Tick) -> None:
        await websocket.send_json({"share": 100 // data.count if data.count else 0})


BUGS: dict[str, Bug] = {
    "int_overflow": Bug("GET /pack", "not_a_server_error", "4-byte pack of a wide int"),
    "unicode_title": Bug("POST /titles", "not_a_server_error", "ASCII-only storage"),
    "empty_list": Bug("POST /averages", "not_a_server_error", "mean of an empty list"),
    "optional_query": Bug("GET /search", "not_a_server_error", "optional key looked up"),
    "response_breaks_model": Bug("GET /prices/{item_id}", "response_conforms", "text price"),
    "undocumented_status": Bug("GET /teapot", "status_code_declared", "409 not declared"),
    "raw_json_accepts_invalid": Bug("POST /orders", "negative_data_rejected", "repaired input"),
    "wrong_content_type": Bug("GET /reports/{report_id}", "content_type_declared", "text body"),
    "hidden_length_limit": Bug("POST /notes", "not_a_server_error", "64-character column"),
    "float_overflow": Bug("GET /scale", "not_a_server_error", "float overflow to inf"),
    "malformed_optional_header": Bug("GET /traced", "not_a_server_error", "header read as UUID"),
    "get_after_delete_crashes": Bug(
        "GET /things/{thing_id}", "not_a_server_error", "tombstone read after delete"
    ),
    "stored_zero_division": Bug(
        "PUT /ratios/{ratio_id}", "not_a_server_error", "stored divisor of 0"
    ),
    "deleted_still_served": Bug("GET /gadgets/{gadget_id}", "use_after_free", "delete is a no-op"),
    "created_not_fetchable": Bug(
        "GET /widgets/{widget_id}", "resource_available", "stored under the wrong key"
    ),
    "websocket_crash": Bug("WS /ws/counter", "not_a_server_error", "division by a message field"),
}

_ROUTES: dict[str, tuple[str, type, type]] = {
    "int_overflow": ("/pack", PackBuggy, PackFixed),
    "unicode_title": ("/titles", TitleBuggy, TitleFixed),
    "empty_list": ("/averages", AverageBuggy, AverageFixed),
    "optional_query": ("/search", SearchBuggy, SearchFixed),
    "response_breaks_model": ("/prices/{item_id:int}", PriceBuggy, PriceFixed),
    "undocumented_status": ("/teapot", TeapotBuggy, TeapotFixed),
    "raw_json_accepts_invalid": ("/orders", OrderBuggy, OrderFixed),
    "wrong_content_type": ("/reports/{report_id:int}", ReportBuggy, ReportFixed),
    "hidden_length_limit": ("/notes", NoteBuggy, NoteFixed),
    "float_overflow": ("/scale", ScaleBuggy, ScaleFixed),
    "malformed_optional_header": ("/traced", TracedBuggy, TracedFixed),
    "get_after_delete_crashes": ("/things/{thing_id:int}", ThingBuggy, ThingFixed),
    "stored_zero_division": ("/ratios/{ratio_id:int}", RatioBuggy, RatioFixed),
    "deleted_still_served": ("/gadgets/{gadget_id:int}", GadgetBuggy, GadgetFixed),
    "created_not_fetchable": ("/widgets", WidgetsBuggy, WidgetsFixed),
}


def _lifespan() -> Callable[[App], AbstractAsyncContextManager[ZooState]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[ZooState]:
        yield ZooState()

    return lifespan


def make_zoo(*, bugs: Iterable[str] | None = None) -> App:
    """The zoo with ``bugs`` switched on (default: every bug in `BUGS`; ``()``: none)."""
    on = set(BUGS) if bugs is None else set(bugs)
    unknown = on - set(BUGS)
    if unknown:
        raise ValueError(f"unknown bugs: {sorted(unknown)}")
    routes: list[Route | WebSocketRoute] = [
        Route(path, buggy if name in on else fixed)
        for name, (path, buggy, fixed) in _ROUTES.items()
    ]
    routes += [
        Route("/things", Things),
        Route("/ratios", Ratios),
        Route("/gadgets", Gadgets),
        Route("/widgets/{widget_id:int}", WidgetItem),
        WebSocketRoute("/ws/counter", CounterBuggy if "websocket_crash" in on else CounterFixed),
    ]
    # NOTE: the document is served for tools that need one (the benchmark's Schemathesis run).
    return App(routes=routes, lifespan=_lifespan(), title="Zoo", openapi_url="/openapi.json")


app = make_zoo()
"""The zoo with every bug, for ``--fuzz-app tests.testing.zoo:app``."""

fixed_app = make_zoo(bugs=())
"""The zoo with every bug fixed."""
