"""``max_body_size=`` on Route, Mount and Router, as Starlette 1.x offers it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from framework.applications import App
from framework.requests import Request
from framework.responses import PlainTextResponse, Response
from framework.routing import Mount, Route, Router
from testing.client import TestClient
from tests.conftest import TestClientFactory


async def echo_length(request: Request) -> Response:
    return PlainTextResponse(str(len(await request.body())))


async def ignore_body(request: Request) -> Response:
    return PlainTextResponse("ignored")


def chunks(*sizes: int) -> Iterator[bytes]:
    for size in sizes:
        yield b"x" * size


@pytest.fixture
def client(test_client_factory: TestClientFactory) -> TestClient:
    router = Router(routes=[Route("/router", echo_length, methods=["POST"])], max_body_size=5)
    app = App(
        routes=[
            Route("/small", echo_length, methods=["POST"], max_body_size=10),
            Route("/ignore", ignore_body, methods=["POST"], max_body_size=10),
            Route("/free", echo_length, methods=["POST"]),
            Mount(
                "/mounted",
                routes=[
                    Route("/inherit", echo_length, methods=["POST"]),
                    Route("/own", echo_length, methods=["POST"], max_body_size=100),
                ],
                max_body_size=20,
            ),
            Mount("/router", app=router),
        ]
    )
    return test_client_factory(app)


def test_route_limit_refuses_a_declared_length_over_it(client: TestClient) -> None:
    assert client.post("/small", content=b"x" * 10).text == "10"
    response = client.post("/small", content=b"x" * 11)
    assert (response.status_code, response.text) == (413, "Content Too Large")


def test_route_limit_applies_even_when_the_handler_never_reads(client: TestClient) -> None:
    response = client.post("/ignore", content=b"x" * 11)
    assert response.status_code == 413


def test_route_limit_counts_a_chunked_body(client: TestClient) -> None:
    response = client.post("/small", content=chunks(6, 6))
    assert response.status_code == 413


def test_routes_without_a_limit_are_unlimited(client: TestClient) -> None:
    assert client.post("/free", content=b"x" * 100_000).text == "100000"


def test_mount_limit_applies_to_its_routes_and_the_innermost_wins(client: TestClient) -> None:
    assert client.post("/mounted/inherit", content=b"x" * 20).text == "20"
    assert client.post("/mounted/inherit", content=b"x" * 21).status_code == 413
    assert client.post("/mounted/own", content=b"x" * 50).text == "50"


def test_router_limit(client: TestClient) -> None:
    assert client.post("/router/router", content=b"x" * 5).text == "5"
    assert client.post("/router/router", content=b"x" * 6).status_code == 413


@pytest.mark.parametrize("limit", [-1, 1.5, True, "10"])
def test_invalid_limits_are_refused_at_definition(limit: object) -> None:
    with pytest.raises(ValueError, match="max_body_size"):
        Route("/", echo_length, max_body_size=limit)  # type: ignore[arg-type]
