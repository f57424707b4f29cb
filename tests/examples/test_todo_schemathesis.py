"""Schemathesis against the todo example, in-process over ASGI: the OpenAPI document is honest.

Every generated request must get an answer that is not a server error, whose status code the
document declares and whose body fits the declared schema.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from examples.todo.app import create_app

# NOTE: one in-memory database for the run: Schemathesis keeps the app's lifespan open across
# requests, and the example serves every request through its single connection.
app = create_app(":memory:")
schema = schemathesis.openapi.from_asgi("/openapi.json", app)

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_todo_api_keeps_its_document(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(checks=CHECKS)
