"""Each named check on hand-made exchanges: what it lets through and what it reports."""

from __future__ import annotations

import attrs

from framework import App, HTTPEndpoint, Route, raises, status_code
from framework.typed.converter import default_converter
from testing.checks import (
    Context,
    allow_header,
    content_type_declared,
    negative_data_rejected,
    not_a_server_error,
    positive_data_accepted,
    response_conforms,
    status_code_declared,
)
from testing.report import Case, Exchange


@attrs.frozen
class Item:
    name: str
    price: float


class Items(HTTPEndpoint):
    @raises(404)
    async def get(self, item_id: int) -> Item:
        return Item("x", 1.0)

    @status_code(204)
    async def delete(self, item_id: int) -> None:
        return None


PLANS = {
    plan.method: plan for plan in App(routes=[Route("/items/{item_id:int}", Items)]).operation_plans
}
JSON = (("content-type", "application/json"),)
CASE = Case("GET /items/{item_id}", "GET", "/items/1")


def context(
    status: int,
    body: bytes = b"",
    headers: tuple[tuple[str, str], ...] = JSON,
    *,
    method: str = "GET",
    case: Case = CASE,
    allowed: frozenset[str] | None = None,
) -> Context:
    return Context(case, Exchange(status, headers, body), PLANS[method], default_converter, allowed)


def test_not_a_server_error() -> None:
    assert not_a_server_error(context(200, b'{"name":"x","price":1}')) is None
    assert not_a_server_error(context(503)) == "answered 503"
    assert not_a_server_error(context(0)) == "no response"
    escaped = Context(
        CASE,
        Exchange(500, (), b"", exception=KeyError("k"), error_at="app.py:3"),
        PLANS["GET"],
        default_converter,
    )
    assert not_a_server_error(escaped) == "KeyError: 'k' at app.py:3"


def test_status_code_declared() -> None:
    assert status_code_declared(context(404, b'{"detail":"no"}')) is None
    assert status_code_declared(context(422, b'{"detail":[]}')) is None
    message = status_code_declared(context(409, b'{"detail":"no"}'))
    assert message == "answered 409, which is not declared (declared: 200, 404, 422)"


def test_content_type_declared() -> None:
    assert content_type_declared(context(200, b"{}")) is None
    text = context(200, b"hi", (("content-type", "text/plain; charset=utf-8"),))
    assert content_type_declared(text) == "answered 200 as 'text/plain', not 'application/json'"
    emptied = context(204, b"x", (), method="DELETE")
    assert content_type_declared(emptied) == "answered 204 with a body of 1 bytes"


def test_response_conforms() -> None:
    assert response_conforms(context(200, b'{"name":"x","price":1.5}')) is None
    broken = response_conforms(context(200, b'{"name":"x","price":"free"}'))
    assert broken == "the 200 body does not fit Item: price: expected a number"
    missing = response_conforms(context(200, b'{"name":"x"}'))
    assert missing is not None
    assert "price" in missing


def test_negative_and_positive_data() -> None:
    invalid = attrs.evolve(CASE, valid=False, mutation="path item_id: not int")
    assert negative_data_rejected(context(422, case=invalid)) is None
    assert negative_data_rejected(context(200, b"{}", case=invalid)) == (
        "accepted an invalid request (path item_id: not int) with 200"
    )
    assert positive_data_accepted(context(422, b'{"detail":"handler says no"}')) is None
    refused = positive_data_accepted(context(422, b'{"detail":[{"loc":["query"]}]}'))
    assert refused is not None
    assert refused.startswith("refused a valid request with the framework's 422")


def test_allow_header() -> None:
    served = frozenset({"GET", "HEAD", "DELETE"})
    good = context(405, b"", (("allow", "DELETE, GET, HEAD"),), allowed=served)
    assert allow_header(good) is None
    assert allow_header(context(405, b"", (), allowed=served)) == "a 405 without an Allow header"
    wrong = allow_header(context(405, b"", (("allow", "GET"),), allowed=served))
    assert wrong == "Allow lists ['GET'], the path serves ['DELETE', 'GET', 'HEAD']"
