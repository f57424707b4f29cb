"""The plan is the one contract: what the OpenAPI document says an operation answers is what
its plan says, for every operation of the typed example (the hello example is plain toolkit).

Why: the invoker, the document and the fuzz harness all read `OperationPlan.responses`; if the
document decided statuses by itself, a fuzzed 413 or 415 could be "undocumented" while the app
behaves exactly as planned.
"""

from __future__ import annotations

from typing import Any

import pytest

from examples.todo.app import create_app
from framework.applications import App
from framework.typed.plan import OperationPlan

APPS = {"todo": create_app(":memory:")}


def planned_operations(app: App) -> list[tuple[OperationPlan, dict[str, Any]]]:
    document = app.openapi()
    found = []
    for plan in app.operation_plans:
        operation = document["paths"][plan.path_format].get(plan.method.lower())
        if operation is not None:
            found.append((plan, operation))
    return found


@pytest.mark.parametrize("name", sorted(APPS))
def test_every_example_operation_documents_exactly_its_planned_responses(name: str) -> None:
    operations = planned_operations(APPS[name])
    assert operations, f"the {name} example has no typed operations"
    for plan, operation in operations:
        documented = {int(status) for status in operation["responses"]}
        planned = {response.status for response in plan.responses}
        assert documented == planned, f"{plan.method} {plan.path}"
        for response in plan.responses:
            has_body = "content" in operation["responses"][str(response.status)]
            assert has_body == (response.body is not None), f"{plan.method} {plan.path}"


@pytest.mark.parametrize("name", sorted(APPS))
def test_every_example_path_parameter_has_the_routes_convertor(name: str) -> None:
    for plan, _ in planned_operations(APPS[name]):
        for parameter in plan.parameters:
            if parameter.wire_name in plan.path_convertors:
                assert parameter.convertor is plan.path_convertors[parameter.wire_name]
