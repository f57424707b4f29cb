"""The fuzz engine: requests generated from every route's plan, sent through the in-process app.

`fuzz` enters the app's lifespan once and then drives the ASGI app directly on one event loop:
no sockets, no threads. Each operation gets a deterministic boundary phase, then Hypothesis'
random generation; each WebSocket route gets generated sessions; the stateful phase follows
producer → consumer links between types (`testing.stateful`). A failure does not stop the run:
every distinct bug is shrunk to a minimal request and reported with its reproductions.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import os
import re
import sysconfig
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import anyio
import attrs
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.database import ExampleDatabase
from hypothesis.errors import FlakyStrategyDefinition, HypothesisException
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from framework.applications import App
from framework.convertors import (
    PARAMETER_PATTERN,
    FloatConvertor,
    IntegerConvertor,
    path_convertors,
)
from framework.typed.constraints import Constraints, combine
from framework.typed.converter import APIConverter, default_converter
from framework.typed.plan import Location, OperationPlan, ParameterPlan, WebSocketPlan
from framework.types import ASGIApp, Message
from framework.websockets import DEFAULT_MAX_MESSAGE_SIZE
from testing._lifespan import LifespanDriver
from testing._wire import http_request, websocket_scope
from testing.checks import CHECKS, Context, exception_name, selected
from testing.report import Case, Exchange, Failure, FuzzReport, OperationSummary, Step
from testing.strategies import (
    Overrides,
    RequestStrategies,
    invalid_messages,
    json_text,
    message_values,
    simplest,
    text_of,
    text_values,
    values,
)

__all__ = ["Engine", "FuzzError", "fuzz"]

_TIMEOUT = 10.0
_STATEFUL_STEPS = 12
_ROUNDS = 4
_NOT_IDENTIFIER = re.compile(r"\W")
_PROBE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# NOTE: frames in these directories are not "the user's code": the traceback's innermost frame
# outside them is where a bug is reported (handlers, models, storage code).
_LIBRARY_DIRS = tuple(
    {
        os.path.dirname(os.path.abspath(inspect.getfile(App))) + os.sep,
        os.path.dirname(os.path.abspath(__file__)) + os.sep,
        sysconfig.get_paths()["stdlib"] + os.sep,
        sysconfig.get_paths()["purelib"] + os.sep,
        sysconfig.get_paths()["platlib"] + os.sep,
    }
)


class FuzzError(Exception):
    """The harness could not fuzz the app (it failed to start, or a type has no strategy)."""


class _Bug(Exception):
    """Raised inside a Hypothesis test for a failure; one subclass per distinct bug, so that
    Hypothesis shrinks each bug on its own and keeps looking for others."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(str(failure.message))
        self.failure = failure


_BUG_TYPES: dict[tuple[Any, ...], type[_Bug]] = {}


def _bug(failure: Failure) -> _Bug:
    kind = _BUG_TYPES.get(failure.key)
    if kind is None:
        kind = _BUG_TYPES[failure.key] = type(f"Bug{len(_BUG_TYPES)}", (_Bug,), {})
    return kind(failure)


def _leaves(error: BaseException) -> Iterator[BaseException]:
    # NOTE: duck-typed, as exception groups are built in only from Python 3.11.
    inner = getattr(error, "exceptions", None)
    if isinstance(inner, tuple):
        for exception in inner:
            yield from _leaves(exception)
    else:
        yield error


def _user_frame(error: BaseException) -> str | None:
    """``file:line`` of the innermost frame of the user's code in ``error``'s traceback."""
    found = None
    for frame, line in traceback.walk_tb(error.__traceback__):
        filename = os.path.abspath(frame.f_code.co_filename)
        if not filename.startswith(_LIBRARY_DIRS):
            found = f"{os.path.relpath(filename)}:{line}"
    return found


class Engine:
    """One fuzzing session of one app: its event loop, its lifespan, and what it has found.

    Use it as a context manager; `fuzz` is the usual way in. `run_operation`,
    `run_websocket` and `run_stateful` fuzz one part of the app each (the pytest plugin runs
    them as separate tests).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_examples: int = 100,
        seed: int | None = None,
        checks: Iterable[str] | None = None,
        exclude_checks: Iterable[str] = (),
        strategies: Overrides | None = None,
        database: ExampleDatabase | str | None = "default",
        converter: APIConverter = default_converter,
    ) -> None:
        if not isinstance(app, App):
            raise FuzzError(f"fuzz() needs a framework App, got {type(app).__name__}")
        self.app = app
        self.max_examples = max_examples
        self.seed = seed
        self.checks = selected(checks, exclude_checks)
        self.strategies = strategies or {}
        self.converter = converter
        self._database = database
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lifespan: LifespanDriver | None = None
        self._lifespan_task: asyncio.Task[None] | None = None
        self._state: dict[str, Any] = {}
        self._started = time.perf_counter()
        self.failures: dict[tuple[Any, ...], Failure] = {}
        self.summaries: dict[str, OperationSummary] = {}
        self.operations = {f"{p.method} {p.path_format}": p for p in app.operation_plans}
        self.websockets = dict(zip(self.websocket_names(app), app.websocket_plans, strict=True))
        for name, plan in self.operations.items():
            self.summaries[name] = OperationSummary(name, tuple(r.status for r in plan.responses))
        for name in self.websockets:
            self.summaries[name] = OperationSummary(name, ())
        self.requests = {
            name: RequestStrategies(plan, converter, self.strategies, body_limit=app.max_body_size)
            for name, plan in self.operations.items()
        }

    @staticmethod
    def websocket_names(app: App) -> list[str]:
        """``WS /path`` of each planned WebSocket route of ``app``, in route order."""
        return [f"WS {_template(plan.path)}" for plan in app.websocket_plans]

    # --- the event loop and the lifespan

    def __enter__(self) -> Engine:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._start())
        except BaseException as error:
            self._close_loop()
            raise FuzzError(f"the app failed to start: {error!r}") from error
        return self

    def restart(self) -> None:
        """Stop the app's lifespan and start it again: a fresh state for the next sequence."""
        if self._lifespan is not None:
            self.run(self._lifespan.shutdown())
        self._state = {}
        try:
            self.run(self._start())
        except Exception as error:
            raise FuzzError(f"the app failed to start again: {error!r}") from error

    async def _start(self) -> None:
        # NOTE: the driver's channels belong to the loop, so it is made inside it; its task then
        # runs in the background of every later call on this loop.
        self._lifespan = LifespanDriver(self.app, self._state)
        self._lifespan_task = asyncio.get_running_loop().create_task(self._lifespan.run())
        await self._lifespan.startup()

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._lifespan is not None and self._loop is not None:
                self._loop.run_until_complete(self._lifespan.shutdown())
        finally:
            self._close_loop()

    def _close_loop(self) -> None:
        loop = self._loop
        if loop is None:
            return
        self._loop = None
        try:
            task = self._lifespan_task
            if task is not None and not task.done():
                task.cancel()
                loop.run_until_complete(asyncio.gather(task, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    def run(self, coroutine: Any) -> Any:
        """Run ``coroutine`` on the session's event loop."""
        assert self._loop is not None, "use the Engine as a context manager"
        return self._loop.run_until_complete(coroutine)

    # --- one request

    def send(self, case: Case) -> Exchange:
        """Send ``case`` to the app and return what it answered."""
        exchange: Exchange = self.run(self._send(case))
        return exchange

    async def _send(self, case: Case) -> Exchange:
        scope, body = http_request(case, self._state)
        done = anyio.Event()
        delivered = False
        status = 0
        headers: list[tuple[str, str]] = []
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                headers.extend(
                    (name.decode("latin-1").lower(), value.decode("latin-1"))
                    for name, value in message.get("headers", ())
                )
            elif kind == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        try:
            error = await self._guarded(self.app(scope, receive, send), "no complete response")
        finally:
            done.set()
        return _exchange(status, tuple(headers), b"".join(chunks), error)

    def judge(
        self, case: Case, exchange: Exchange, plan: OperationPlan, allowed: frozenset[str] | None
    ) -> Failure | None:
        """The first selected check that ``exchange`` fails, as a `Failure`."""
        summary = self.summaries.get(case.operation)
        if summary is not None:
            summary.record(exchange)
        context = Context(case, exchange, plan, self.converter, allowed)
        for name in self.checks:
            check = CHECKS.get(name)
            if check is None:
                continue
            message = check(context)
            if message is not None:
                return Failure(name, case.operation, message, case, exchange)
        return None

    def record_if(self, failure: Failure | None) -> None:
        """`record` ``failure``, if there is one."""
        if failure is not None:
            self.record(failure)

    def record(self, failure: Failure) -> None:
        """Keep ``failure`` unless the same bug is known; a shorter request replaces a longer."""
        known = self.failures.get(failure.key)
        found_after = time.perf_counter() - self._started if known is None else known.found_after
        if known is None or _size(failure) < _size(known):
            self.failures[failure.key] = attrs.evolve(failure, found_after=found_after)

    # --- Hypothesis

    def settings(self, max_examples: int | None = None) -> settings:
        database: Any = self._database
        options: dict[str, Any] = {}
        if database != "default":
            options["database"] = database
        return settings(
            max_examples=max_examples or self.max_examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
            phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
            report_multiple_bugs=True,
            print_blob=False,
            **options,
        )

    def explore(
        self,
        name: str,
        strategy: st.SearchStrategy[Any],
        test: Callable[[Any], None],
        max_examples: int | None = None,
    ) -> None:
        """Run ``test`` on values of ``strategy`` under Hypothesis, recording every distinct bug
        it raises (as `_Bug`) after shrinking; bugs already known are not raised again."""

        def run(value: Any) -> None:
            test(value)

        # NOTE: Hypothesis keys its example database on the test's name (with its source): one
        # name per part of the app keeps each part's saved failures apart.
        digest = hashlib.sha1(f"{self.app.title}\0{name}".encode()).hexdigest()[:12]
        run.__name__ = run.__qualname__ = f"fuzz_{_NOT_IDENTIFIER.sub('_', name)}_{digest}"
        wrapped = self.settings(max_examples)(given(strategy)(run))
        if self.seed is not None:
            wrapped = hypothesis_seed(self.seed)(wrapped)
        self._collect(wrapped, name)

    def explore_machine(self, machine: type[RuleBasedStateMachine]) -> None:
        """Run a state machine under Hypothesis, recording every distinct bug it raises."""
        options = self.settings(max(1, self.max_examples // 2))
        configured = settings(options, stateful_step_count=_STATEFUL_STEPS)
        self._collect(lambda: run_state_machine_as_test(machine, settings=configured), "stateful")

    def _collect(self, run: Callable[[], None], name: str) -> None:
        """Run ``run`` until it finds no new bug (at most `_ROUNDS` times).

        NOTE: Hypothesis stops generating soon after its first failure (twice the calls it took
        to find the last one), so one shallow bug would hide every deeper one; a known bug is
        not raised again, so each further round explores as far as a clean run does.
        """
        for _ in range(_ROUNDS):
            known = len(self.failures)
            self._collect_once(run, name)
            if len(self.failures) == known:
                return

    def _collect_once(self, run: Callable[[], None], name: str) -> None:
        try:
            run()
        except Exception as error:
            # NOTE: one bug comes back as itself, several as an ExceptionGroup, and a bug that
            # did not happen again on replay inside Hypothesis' FlakyFailure group.
            bugs = [leaf for leaf in _leaves(error) if isinstance(leaf, _Bug)]
            for bug in bugs:
                self.record(bug.failure)
            if not bugs:
                if isinstance(error, FlakyStrategyDefinition):
                    # NOTE: an app whose state outlives its lifespan (a database file) can make
                    # a replayed sequence draw differently; the exploration so far stands.
                    return
                if isinstance(error, HypothesisException):
                    raise FuzzError(f"{name}: {error}") from error
                raise

    def raise_new(self, failure: Failure | None) -> None:
        """Inside a Hypothesis test: raise ``failure`` if it is a bug not known yet."""
        if failure is not None and failure.key not in self.failures:
            raise _bug(failure)

    # --- the parts of the app

    def run_operation(self, operation: str) -> None:
        """Fuzz one operation: its boundary cases, then random valid and invalid requests."""
        plan = self.operations[operation]
        requests = self.requests[operation]
        seen: set[str] = set()
        for case in requests.boundary():
            key = repr(case)
            if key in seen:
                continue
            seen.add(key)
            self.record_if(self.judge(case, self.send(case), plan, None))

        def test(case: Case) -> None:
            self.raise_new(self.judge(case, self.send(case), plan, None))

        self.explore(operation, st.one_of(requests.valid(), requests.invalid()), test)

    def run_methods(self) -> None:
        """Send each path a method it does not serve: a 405 that lists the served methods."""
        by_path: dict[str, list[OperationPlan]] = {}
        for plan in self.operations.values():
            by_path.setdefault(plan.path_format, []).append(plan)
        for plans in by_path.values():
            served = {plan.method for plan in plans}
            allowed = frozenset(served | ({"HEAD"} if "GET" in served else set()))
            unserved = [m for m in _PROBE_METHODS if m not in allowed]
            if not unserved:
                continue
            plan = plans[0]
            requests = self.requests[f"{plan.method} {plan.path_format}"]
            path = requests.case(requests.simplest_parts()).path
            case = Case(f"{unserved[0]} {plan.path_format}", unserved[0], path)
            self.record_if(self.judge(case, self.send(case), plan, allowed))

    def run_websocket(self, name: str) -> None:
        """Fuzz one WebSocket route: sessions of valid and invalid messages of every length (a
        short one is a client that leaves early), first each invalid message alone."""
        plan = self.websockets[name]
        connect = _connections(plan)
        good = message_values(plan, self.converter).map(lambda m: _frame(plan, m))
        bad = [frame for _, frame in invalid_messages(plan)]
        frames = st.one_of(good, st.sampled_from(bad)) if bad else good
        first = simplest(connect)
        probe = attrs.evolve(first, messages=(simplest(good),))
        oversized = "x" * (DEFAULT_MAX_MESSAGE_SIZE + 1)
        # The route keeps serving: a good session that works on its own still works right
        # after each bad one.
        probe_works = self._judge_session(probe) is None
        for frame in [*bad, oversized]:
            session = attrs.evolve(first, messages=(frame,))
            exchange = self._session_exchange(session)
            self.record_if(_session_failure(session, exchange))
            if not probe_works:
                continue
            after = _session_failure(probe, self._session_exchange(probe))
            if after is not None:
                message = f"after a session that sent {_short_frame(frame)}: {after.message}"
                steps = (Step(session, exchange), Step(probe, after.exchange))
                self.record(attrs.evolve(after, message=message, steps=steps))

        def test(case: Case) -> None:
            self.raise_new(self._judge_session(case))

        sessions = st.builds(
            lambda case, sent: attrs.evolve(case, messages=tuple(sent)),
            connect,
            st.lists(frames, max_size=6),
        )
        self.explore(name, sessions, test)

    def _judge_session(self, case: Case) -> Failure | None:
        return _session_failure(case, self._session_exchange(case))

    def _session_exchange(self, case: Case) -> Exchange:
        exchange: Exchange = self.run(self._session(case))
        self.summaries[case.operation].record(exchange)
        return exchange

    async def _session(self, case: Case) -> Exchange:
        """Connect, send every message of ``case``, then disconnect; what the app did."""
        scope = websocket_scope(case, self._state)
        inbox: list[Message] = [{"type": "websocket.connect"}]
        for frame in case.messages:
            key = "text" if isinstance(frame, str) else "bytes"
            inbox.append({"type": "websocket.receive", key: frame})
        inbox.reverse()
        gone: Message = {"type": "websocket.disconnect", "code": 1000}
        closed = False
        status = 0
        sent: list[bytes] = []

        async def receive() -> Message:
            # NOTE: once the app has closed, or every message has been sent, the client is gone.
            if closed or not inbox:
                return gone
            return inbox.pop()

        async def send(message: Message) -> None:
            nonlocal closed, status
            kind = message["type"]
            if kind == "websocket.accept":
                status = 101
            elif kind == "websocket.send":
                text = message.get("text")
                sent.append(text.encode() if text is not None else message.get("bytes") or b"")
            elif kind == "websocket.close":
                closed, status = True, message.get("code") or 1000
            elif kind == "websocket.http.response.start":
                closed, status = True, message["status"]

        error = await self._guarded(self.app(scope, receive, send), "the session did not end")
        return _exchange(status, (), b"\n".join(sent[:5]), error)

    async def _guarded(self, call: Any, what: str) -> BaseException | None:
        """Await ``call``; the exception it raised, or a `TimeoutError` if it hung."""
        try:
            with anyio.fail_after(_TIMEOUT):
                await call
        except TimeoutError as timeout:
            error = TimeoutError(f"{what} within {_TIMEOUT:g} s")
            return error.with_traceback(timeout.__traceback__)
        except Exception as exc:
            return exc
        return None

    def run_stateful(self) -> None:
        """Fuzz sequences that follow producer → consumer links between types."""
        from testing.stateful import fuzz_stateful

        fuzz_stateful(self)

    def report(self, started: float) -> FuzzReport:
        failures = sorted(self.failures.values(), key=lambda f: (f.operation, f.check))
        return FuzzReport(
            tuple(failures),
            tuple(self.summaries.values()),
            self.seed,
            time.perf_counter() - started,
        )


def _size(failure: Failure) -> int:
    return len(repr(failure.case)) + 1000 * len(failure.steps)


def _exchange(
    status: int, headers: tuple[tuple[str, str], ...], body: bytes, error: BaseException | None
) -> Exchange:
    if error is None:
        return Exchange(status, headers, body)
    return Exchange(
        status,
        headers,
        body,
        exception=error,
        traceback="".join(traceback.format_exception(error)),
        error_at=_user_frame(error),
    )


# Close codes an endpoint may end a session with, besides the 3000-4999 application range;
# 1011 is the server's own failure, and a status is an upgrade the app refused with HTTP.
_DOCUMENTED_CLOSE_CODES = frozenset({1000, 1001, 1003, 1007, 1008, 1009, 1010, 1013})


def _session_problem(exchange: Exchange) -> str | None:
    if exchange.exception is not None:
        where = f" at {exchange.error_at}" if exchange.error_at else ""
        return f"{exception_name(exchange.exception)}: {exchange.exception}{where}"
    code = exchange.status
    if code == 1011:
        return "closed with 1011 (internal error)"
    # NOTE: a status in the 400s is a refused upgrade (a denial response), not a close code.
    refused = 400 <= code < 500
    application = 3000 <= code <= 4999
    if code > 1000 and code not in _DOCUMENTED_CLOSE_CODES and not (refused or application):
        return f"closed with {code}, which is not a code an endpoint may send"
    return None


def _session_failure(case: Case, exchange: Exchange) -> Failure | None:
    message = _session_problem(exchange)
    if message is None:
        return None
    return Failure("not_a_server_error", case.operation, message, case, exchange)


def _short_frame(frame: str | bytes) -> str:
    """A message as a failure names it: its start, and its size when it is long."""
    shown = repr(frame[:40])
    return shown if len(frame) <= 40 else f"{shown}... ({len(frame)} long)"


def _frame(plan: WebSocketPlan, message: Any) -> str | bytes:
    if plan.encoding == "json":
        return json_text(message)
    if isinstance(message, (str, bytes)):
        return message
    return text_of(message)


def _template(path: str) -> str:
    """``path`` as OpenAPI writes it: ``/rooms/{room}`` for ``/rooms/{room:str}``."""
    return PARAMETER_PATTERN.sub(r"{\1}", path)


def _connections(plan: WebSocketPlan) -> st.SearchStrategy[Case]:
    """Connections to ``plan``'s route: its path and query parameters drawn valid."""
    convertors = path_convertors(plan.path)
    template = _template(plan.path)
    path_parameters = [p for p in plan.parameters if p.location is Location.PATH]
    query_parameters = [p for p in plan.parameters if p.location is Location.QUERY]
    names = {p.name for p in path_parameters}
    for name in convertors:
        if name not in names:
            path_parameters.append(ParameterPlan(name, Location.PATH, name, str))

    def routable(parameter: ParameterPlan) -> st.SearchStrategy[str]:
        convertor = convertors.get(parameter.name)
        regex = re.compile(convertor.regex if convertor is not None else "[^/]+")
        limits = parameter.constraints
        if isinstance(convertor, (IntegerConvertor, FloatConvertor)):
            limits = combine(Constraints(ge=0), limits)
        texts = values(parameter.annotation, limits).map(text_of)
        return texts.filter(lambda text: regex.fullmatch(text) is not None)

    @st.composite
    def draw(draw: st.DrawFn) -> Case:
        path = template
        for parameter in path_parameters:
            path = path.replace("{" + parameter.name + "}", draw(routable(parameter)))
        query = []
        for parameter in query_parameters:
            if parameter.required or draw(st.booleans()):
                value = draw(values(parameter.annotation, parameter.constraints))
                query += [(parameter.wire_name, text) for text in text_values(value)]
        return Case(operation=f"WS {template}", method="WS", path=path, query=tuple(query))

    return draw()


def fuzz(
    app: ASGIApp,
    *,
    max_examples: int = 100,
    seed: int | None = None,
    checks: Iterable[str] | None = None,
    exclude_checks: Iterable[str] = (),
    strategies: Overrides | None = None,
    operations: Sequence[str] | None = None,
    stateful: bool = True,
    websockets: bool = True,
    database: ExampleDatabase | str | None = "default",
) -> FuzzReport:
    """Fuzz every typed route of ``app`` and report every distinct failure.

    ``max_examples`` bounds the random requests per operation (and sequences in the stateful
    phase); ``seed`` makes the run reproducible; ``checks`` and ``exclude_checks`` select checks
    by name; ``strategies`` overrides value generation by type or by parameter name;
    ``operations`` limits the run to some operations (``"GET /todos/{todo_id}"``);
    ``database`` is Hypothesis' example database (``None``: none).
    """
    started = time.perf_counter()
    with Engine(
        app,
        max_examples=max_examples,
        seed=seed,
        checks=checks,
        exclude_checks=exclude_checks,
        strategies=strategies,
        database=database,
    ) as engine:
        for name in operations if operations is not None else engine.operations:
            engine.run_operation(name)
        if operations is None:
            engine.run_methods()
            if websockets:
                for name in engine.websockets:
                    engine.run_websocket(name)
            if stateful:
                engine.run_stateful()
        return engine.report(started)
