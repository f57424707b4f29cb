from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, cast

import pytest

if TYPE_CHECKING:
    from testing.client import TestClient

TestClientFactory = Callable[..., "TestClient"]

# NOTE: `pytest --fuzz-routes` fuzzes examples.todo.app:app (fuzz_apps in pyproject.toml); for
# the test run its database lives in memory, not in a todo.sqlite3 in the working directory.
os.environ.setdefault("TODO_DB", ":memory:")


@pytest.fixture(
    params=[
        pytest.param(("asyncio", {}), id="asyncio"),
        pytest.param(("trio", {"restrict_keyboard_interrupt_to_checkpoints": True}), id="trio"),
    ]
)
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """Every async test and every client runs once on asyncio and once on trio."""
    backend: tuple[str, dict[str, Any]] = request.param
    return backend


@pytest.fixture
def test_client_factory(
    anyio_backend_name: str, anyio_backend_options: dict[str, Any]
) -> TestClientFactory:
    """``TestClient`` bound to the current anyio backend."""
    from testing.client import TestClient

    backend = cast(Literal["asyncio", "trio"], anyio_backend_name)
    return functools.partial(TestClient, backend=backend, backend_options=anyio_backend_options)
