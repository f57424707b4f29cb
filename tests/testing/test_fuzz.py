"""The fuzz engine on the bug zoo: every bug is reported on its own route, by its own check,
with a minimal request and reproductions; the fixed zoo and the examples report nothing."""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import AsyncIterator

import pytest

from examples.hello.app import app as hello_app
from examples.todo.app import create_app as create_todo_app
from framework import App, HTTPEndpoint, Route
from framework.middleware.bodylimit import DEFAULT_MAX_BODY_SIZE
from testing import strategies
from testing.checks import CHECKS, Context, check, selected
from testing.client import TestClient
from testing.fuzz import FuzzError, fuzz
from testing.report import Failure, FuzzReport
from tests.testing.zoo import BUGS, make_zoo


@pytest.fixture(scope="module")
def zoo_report() -> FuzzReport:
    return fuzz(make_zoo(), max_examples=100, seed=1, database=None)


def found(report: FuzzReport) -> dict[tuple[str, str], Failure]:
    return {(failure.operation, failure.check): failure for failure in report.failures}


@pytest.mark.parametrize("name", sorted(BUGS))
def test_every_bug_is_reported_on_its_route(zoo_report: FuzzReport, name: str) -> None:
    bug = BUGS[name]
    assert (bug.operation, bug.check) in found(zoo_report), str(zoo_report)


def test_nothing_is_reported_that_is_not_a_planted_bug(zoo_report: FuzzReport) -> None:
    planted = {(bug.operation, bug.check) for bug in BUGS.values()}
    assert set(found(zoo_report)) == planted


@pytest.mark.parametrize("seed", [2, 3])
def test_the_fixed_zoo_is_clean(seed: int) -> None:
    report = fuzz(make_zoo(bugs=()), max_examples=100, seed=seed, database=None)
    assert report.ok, str(report)
    assert report.requests > 1000


def test_one_bug_alone_is_found_alone() -> None:
    report = fuzz(make_zoo(bugs=["int_overflow"]), max_examples=50, seed=1, database=None)
    assert [(f.operation, f.check) for f in report.failures] == [
        ("GET /pack", "not_a_server_error")
    ]


def test_failures_are_shrunk_to_a_minimal_request(zoo_report: FuzzReport) -> None:
    failures = found(zoo_report)
    overflow = failures[("GET /pack", "not_a_server_error")].case
    assert overflow.query == (("n", str(2**31)),)
    empty = failures[("POST /averages", "not_a_server_error")].case
    assert empty.json == {"values": []}
    header = failures[("GET /traced", "not_a_server_error")].case
    assert header.query == ()
    assert len(header.headers) == 1


def test_a_server_error_names_the_raising_line(zoo_report: FuzzReport) -> None:
    failure = found(zoo_report)[("GET /pack", "not_a_server_error")]
    assert failure.exchange.error_at is not None
    assert failure.exchange.error_at.startswith("tests/testing/zoo.py:")
    assert "struct.error" in failure.message
    assert "Traceback" in (failure.exchange.traceback or "")


def test_a_stateful_failure_shows_the_whole_sequence(zoo_report: FuzzReport) -> None:
    failure = found(zoo_report)[("GET /gadgets/{gadget_id}", "use_after_free")]
    methods = [step.case.method for step in failure.steps]
    assert methods[0] == "POST"
    assert "DELETE" in methods
    assert methods[-1] == "GET"
    assert failure.reproduction.count("client.") == len(failure.steps)
    created = found(zoo_report)[("GET /widgets/{widget_id}", "resource_available")]
    assert created.steps[0].case.method == "POST"


def test_reproductions_replay_the_bug(zoo_report: FuzzReport) -> None:
    failure = found(zoo_report)[("POST /titles", "not_a_server_error")]
    with TestClient(make_zoo(), raise_server_exceptions=False) as client:
        response = eval(failure.reproduction, {"client": client})
    assert response.status_code == 500
    namespace: dict[str, object] = {}
    exec(failure.pytest_test, namespace)
    (test,) = [value for name, value in namespace.items() if name.startswith("test_")]
    with (
        TestClient(make_zoo(), raise_server_exceptions=False) as client,
        pytest.raises(AssertionError),
    ):
        test(client)  # type: ignore[operator]
    with TestClient(make_zoo(bugs=()), raise_server_exceptions=False) as client:
        test(client)  # type: ignore[operator]


def test_the_curl_line_is_shell_quoted(zoo_report: FuzzReport) -> None:
    failure = found(zoo_report)[("POST /titles", "not_a_server_error")]
    words = shlex.split(failure.curl)
    assert words[:4] == ["curl", "-X", "POST", "http://localhost:8000/titles"]
    body = words[words.index("--data-binary") + 1]
    assert json.loads(body) == failure.case.json
    assert subprocess.run(["bash", "-n", "-c", failure.curl], check=False).returncode == 0


def test_the_report_shows_every_failure_and_every_route(zoo_report: FuzzReport) -> None:
    text = str(zoo_report)
    assert text.startswith(f"{len(zoo_report.failures)} failures in ")
    for failure in zoo_report.failures:
        assert f"[{failure.check}] {failure.operation}" in text
    assert "GET /pack: " in text
    assert "% 2xx" in text
    assert not zoo_report.ok
    assert not zoo_report


def test_the_summary_names_statuses_never_seen() -> None:
    report = fuzz(make_zoo(bugs=()), max_examples=10, seed=1, database=None, stateful=False)
    summaries = {summary.operation: summary for summary in report.summaries}
    assert summaries["GET /pack"].requests > 0
    assert summaries["GET /pack"].never_seen == ()


def test_checks_can_be_excluded_and_added() -> None:
    report = fuzz(
        make_zoo(bugs=["undocumented_status"]),
        max_examples=30,
        seed=1,
        database=None,
        exclude_checks=["status_code_declared"],
    )
    assert report.ok, str(report)

    @check
    def no_teapot_answers(context: Context) -> str | None:
        """A check of the user's: GET /teapot never answers with an odd body size."""
        if context.case.operation == "GET /teapot" and context.exchange.status == 200:
            return "answered 200"
        return None

    try:
        report = fuzz(
            make_zoo(bugs=()), max_examples=10, seed=1, database=None, checks=["no_teapot_answers"]
        )
        assert {failure.check for failure in report.failures} == {"no_teapot_answers"}
    finally:
        del CHECKS["no_teapot_answers"]


def test_unknown_checks_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown check 'no_such_check'"):
        selected(["no_such_check"])


def test_strategies_can_be_overridden_by_parameter() -> None:
    from hypothesis import strategies as st

    report = fuzz(
        make_zoo(bugs=["int_overflow"]),
        max_examples=20,
        seed=1,
        database=None,
        operations=["GET /pack"],
        strategies={"n": st.integers(0, 10)},
    )
    # The user's values replace the harness's own, edge values included: 2**31 is never sent.
    assert report.ok, str(report)
    assert report.requests > 1


def test_strategies_can_be_overridden_by_type() -> None:
    from hypothesis import strategies as st

    report = fuzz(
        make_zoo(bugs=["float_overflow"]),
        max_examples=20,
        seed=1,
        database=None,
        operations=["GET /scale"],
        strategies={float: st.floats(-1, 1)},
    )
    assert report.ok, str(report)


def test_only_apps_of_the_framework_are_fuzzed() -> None:
    async def raw(scope: object, receive: object, send: object) -> None:
        raise AssertionError

    with pytest.raises(FuzzError, match="needs a framework App"):
        fuzz(raw)


def test_a_failing_startup_is_a_clear_error() -> None:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def broken(app: App) -> AsyncIterator[None]:
        if not app.debug:
            raise RuntimeError("no database")
        yield

    with pytest.raises(FuzzError, match="failed to start"):
        fuzz(App(lifespan=broken))


def test_the_body_limit_the_harness_exceeds_is_the_frameworks() -> None:
    # The harness cannot import the middleware layer; this keeps its copy of the limit true.
    assert strategies._DEFAULT_BODY_LIMIT == DEFAULT_MAX_BODY_SIZE


def test_the_examples_are_fuzz_clean(tmp_path: object) -> None:
    for app in (create_todo_app(":memory:"), hello_app):
        report = fuzz(app, max_examples=50, seed=1, database=None)
        assert report.ok, str(report)


def test_a_405_lists_what_the_path_serves() -> None:
    class OnlyGet(HTTPEndpoint):
        async def get(self) -> int:
            return 1

    report = fuzz(App(routes=[Route("/one", OnlyGet)]), max_examples=5, seed=1, database=None)
    assert report.ok, str(report)
    assert any(summary.operation == "GET /one" for summary in report.summaries)


def test_forms_and_uploads_are_fuzzed() -> None:
    from tests.typed.test_forms import Conversions, Ranges, Refusals, Signups, Uploads

    clean = App(
        routes=[
            Route("/signups", Signups),
            Route("/ranges", Ranges),
            Route("/refusals", Refusals),
            Route("/conversions", Conversions),
        ]
    )
    report = fuzz(clean, max_examples=40, seed=1, database=None)
    assert report.ok, str(report)
    # Uploads decodes each uploaded file as UTF-8: a binary upload is a 500, for each field.
    report = fuzz(App(routes=[Route("/uploads", Uploads)]), max_examples=40, seed=1, database=None)
    assert {failure.exchange.error_at for failure in report.failures} == {
        "tests/typed/test_forms.py:120",
        "tests/typed/test_forms.py:121",
    }
    assert all("UnicodeDecodeError" in failure.message for failure in report.failures)


def test_websocket_routes_with_path_parameters_are_fuzzed() -> None:
    from framework import WebSocket, WebSocketEndpoint, WebSocketRoute
    from tests.contract_fixtures.rooms import Room

    class Shouting(WebSocketEndpoint):
        encoding = "json"

        async def on_receive(self, websocket: WebSocket, data: str) -> None:
            # The bug: a room whose name has no ASCII spelling cannot be announced.
            room = websocket.path_params["room"].encode("ascii").decode()
            await websocket.send_text(f"{room}: {data.upper()}")

    app = App(
        routes=[
            WebSocketRoute("/ws/rooms/{room}", Room),
            WebSocketRoute("/shout/{room}", Shouting),
        ]
    )
    report = fuzz(app, max_examples=40, seed=1, database=None)
    assert {summary.operation for summary in report.summaries} == {
        "WS /ws/rooms/{room}",
        "WS /shout/{room}",
    }
    ((operation, message),) = {(f.operation, f.message.split(":")[0]) for f in report.failures}
    assert operation == "WS /shout/{room}"
    assert message == "UnicodeEncodeError"
    (failure,) = report.failures
    assert failure.reproduction.startswith("with client.websocket_connect('/shout/")
    assert failure.curl.startswith("# curl cannot send WebSocket messages")


BROKEN: list[int] = []


def test_a_websocket_route_that_stops_serving_after_a_bad_message_is_reported() -> None:
    from framework import WebSocket, WebSocketEndpoint, WebSocketRoute
    from tests.contract_fixtures.rooms import ChatMessage

    class Fragile(WebSocketEndpoint):
        encoding = "json"

        async def on_connect(self, websocket: WebSocket) -> None:
            if BROKEN:
                raise RuntimeError("the room is broken")
            await websocket.accept()

        async def on_receive(self, websocket: WebSocket, data: ChatMessage) -> None:
            await websocket.send_json({"text": data.text})

        async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
            # The bug: one refused message breaks the route for every later client.
            if close_code != 1000:
                BROKEN.append(close_code)

    BROKEN.clear()
    app = App(routes=[WebSocketRoute("/fragile", Fragile)])
    report = fuzz(app, max_examples=10, seed=1, database=None)
    messages = [failure.message for failure in report.failures]
    assert any(message.startswith("after a session that sent ") for message in messages), report
    (after,) = [f for f in report.failures if f.message.startswith("after a session")]
    assert len(after.steps) == 2
    BROKEN.clear()
