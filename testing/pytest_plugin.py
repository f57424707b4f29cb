"""The pytest plugin: ``pytest --fuzz-routes`` fuzzes every typed route of the named apps.

Registered through the ``pytest11`` entry point. Without ``--fuzz-routes`` every hook returns
at once and nothing is imported beyond this module, so a run is what it would be without the
plugin; Hypothesis and the engine are imported only when fuzzing is asked for.

With it, the run gains one test per operation (``fuzz[GET /todos/{todo_id}]``), per WebSocket
route (``fuzz[WS /live/todos]``), one for the methods each path refuses (``fuzz[methods]``) and
one for the stateful sequences (``fuzz[stateful]``). Item names are the same in every process,
so pytest-xdist spreads them over workers; each worker starts each app's lifespan once.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from testing.fuzz import Engine
    from testing.report import Failure

__all__ = ["FuzzItem", "load_app"]

_ENGINES = pytest.StashKey[dict[str, "Engine"]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fuzz", "type-driven fuzzing of framework apps")
    group.addoption(
        "--fuzz-routes",
        action="store_true",
        default=False,
        help="fuzz every typed route of the apps named by --fuzz-app or the fuzz_apps ini option",
    )
    group.addoption(
        "--fuzz-app",
        action="append",
        default=[],
        metavar="MODULE:ATTR",
        help="an app to fuzz (repeatable); replaces fuzz_apps",
    )
    group.addoption(
        "--fuzz-max-examples",
        type=int,
        default=100,
        metavar="N",
        help="random requests per operation, and sequences in the stateful test (default 100)",
    )
    group.addoption("--fuzz-seed", type=int, default=None, metavar="N", help="a fixed seed")
    group.addoption(
        "--fuzz-checks",
        default=None,
        metavar="NAMES",
        help="comma-separated checks to run (default: all)",
    )
    group.addoption(
        "--fuzz-exclude-checks",
        default="",
        metavar="NAMES",
        help="comma-separated checks not to run",
    )
    parser.addini("fuzz_apps", type="linelist", help="apps to fuzz, as MODULE:ATTR", default=[])


def load_app(spec: str) -> Any:
    """The object named by ``MODULE:ATTR``; a `pytest.UsageError` that says why it is not."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise pytest.UsageError(f"--fuzz-app {spec!r}: expected MODULE:ATTR")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise pytest.UsageError(
            f"--fuzz-app {spec!r}: cannot import {module_name}: {error}"
        ) from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise pytest.UsageError(
            f"--fuzz-app {spec!r}: {module_name} has no {attribute!r}"
        ) from None


def _specs(config: pytest.Config) -> list[str]:
    given: list[str] = config.getoption("--fuzz-app")
    if given:
        return given
    configured: list[str] = config.getini("fuzz_apps")
    if not configured:
        raise pytest.UsageError(
            "--fuzz-routes: name an app with --fuzz-app MODULE:ATTR or with the fuzz_apps option"
        )
    return configured


def _names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [name.strip() for name in value.split(",") if name.strip()]


def _engine(config: pytest.Config, spec: str) -> Engine:
    """The engine of ``spec`` for this process, started on first use, stopped at the end."""
    from testing.fuzz import Engine

    engines = config.stash.setdefault(_ENGINES, {})
    engine = engines.get(spec)
    if engine is None:
        engine = Engine(
            load_app(spec),
            max_examples=config.getoption("--fuzz-max-examples"),
            seed=config.getoption("--fuzz-seed"),
            checks=_names(config.getoption("--fuzz-checks")),
            exclude_checks=_names(config.getoption("--fuzz-exclude-checks")) or (),
        )
        engine.__enter__()
        engines[spec] = engine
        config.add_cleanup(lambda: engine.__exit__(None, None, None))
    return engine


class FuzzFailed(Exception):
    """The failures one fuzz test found."""

    def __init__(self, failures: list[Failure]) -> None:
        super().__init__(f"{len(failures)} failure(s)")
        self.failures = failures


class FuzzItem(pytest.Item):
    """One fuzz test: one operation, one WebSocket route, the methods probe, or the sequences."""

    def __init__(self, *, spec: str, part: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.part = part

    def runtest(self) -> None:
        engine = _engine(self.config, self.spec)
        before = set(engine.failures)
        if self.part == "stateful":
            engine.run_stateful()
        elif self.part == "methods":
            engine.run_methods()
        elif self.part in engine.websockets:
            engine.run_websocket(self.part)
        else:
            engine.run_operation(self.part)
        found = [failure for key, failure in engine.failures.items() if key not in before]
        if found:
            raise FuzzFailed(found)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, FuzzFailed):
            failures = excinfo.value.failures
            count = f"{len(failures)} distinct failure{'' if len(failures) == 1 else 's'}"
            shown = "\n\n".join(
                f"--- {index}/{len(failures)} {failure}"
                for index, failure in enumerate(failures, 1)
            )
            return f"{count} in {self.part} of {self.spec}\n\n{shown}"
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[str, int | None, str]:
        return self.spec, None, self.name


def _parts(spec: str) -> Iterator[str]:
    from testing.fuzz import Engine

    app = load_app(spec)
    operations = [f"{plan.method} {plan.path_format}" for plan in app.operation_plans]
    yield from operations
    yield from Engine.websocket_names(app)
    if operations:
        yield "methods"
        yield "stateful"


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if not config.getoption("--fuzz-routes"):
        return
    specs = _specs(config)
    for spec in specs:
        for part in _parts(spec):
            name = f"fuzz[{part}]" if len(specs) == 1 else f"fuzz[{spec} {part}]"
            items.append(FuzzItem.from_parent(session, name=name, spec=spec, part=part))
