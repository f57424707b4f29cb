"""``pytest --fuzz-routes``: nothing changes without it; with it, a test per route, each failing
test listing every distinct failure; it runs under pytest-xdist."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytest_plugins = ["pytester"]


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A project with one ordinary test, able to import the repository's modules."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    monkeypatch.syspath_prepend(str(ROOT))
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    return pytester


def test_without_the_option_nothing_changes(project: pytest.Pytester) -> None:
    result = project.runpytest("--collect-only", "-q", "--fuzz-app", "tests.testing.zoo:app")
    result.stdout.fnmatch_lines(["test_plain.py::test_plain", "1 test collected*"])
    assert "fuzz[" not in result.stdout.str()


def test_one_test_per_route_and_method(project: pytest.Pytester) -> None:
    result = project.runpytest(
        "--collect-only", "-q", "--fuzz-routes", "--fuzz-app", "tests.testing.zoo:fixed_app"
    )
    out = result.stdout.str()
    for name in (
        "fuzz[GET /pack]",
        "fuzz[GET /things/{thing_id}]",
        "fuzz[DELETE /things/{thing_id}]",
        "fuzz[WS /ws/counter]",
        "fuzz[methods]",
        "fuzz[stateful]",
    ):
        assert name in out


def test_the_fixed_zoo_passes(project: pytest.Pytester) -> None:
    result = project.runpytest(
        "--fuzz-routes",
        "--fuzz-app",
        "tests.testing.zoo:fixed_app",
        "--fuzz-max-examples",
        "30",
        "--fuzz-seed",
        "1",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=len(_items(project, "tests.testing.zoo:fixed_app")) + 1)


def _items(project: pytest.Pytester, spec: str) -> list[str]:
    result = project.runpytest("--collect-only", "-q", "--fuzz-routes", "--fuzz-app", spec)
    return [line for line in result.stdout.lines if "fuzz[" in line]


def test_a_failing_test_lists_its_failures_with_reproductions(project: pytest.Pytester) -> None:
    result = project.runpytest(
        "--fuzz-routes",
        "--fuzz-app",
        "tests.testing.zoo:app",
        "--fuzz-max-examples",
        "30",
        "--fuzz-seed",
        "1",
        "-k",
        "pack or teapot",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(failed=2, deselected=len(_items(project, "tests.testing.zoo:app")) - 1)
    out = result.stdout.str()
    assert "1 distinct failure in GET /pack" in out
    assert "[not_a_server_error] GET /pack" in out
    assert "[status_code_declared] GET /teapot" in out
    assert "Reproduce:" in out
    assert "client.get('/pack?n=2147483648')" in out
    assert "curl -X GET" in out


def test_check_selection(project: pytest.Pytester) -> None:
    result = project.runpytest(
        "--fuzz-routes",
        "--fuzz-app",
        "tests.testing.zoo:app",
        "--fuzz-max-examples",
        "20",
        "--fuzz-exclude-checks",
        "status_code_declared",
        "-k",
        "teapot",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=1, deselected=len(_items(project, "tests.testing.zoo:app")))


def test_apps_come_from_the_ini_option(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\nfuzz_apps =\n    tests.testing.zoo:fixed_app\n")
    result = project.runpytest("--collect-only", "-q", "--fuzz-routes")
    assert "fuzz[GET /pack]" in result.stdout.str()


def test_a_bad_app_name_is_a_usage_error(project: pytest.Pytester) -> None:
    result = project.runpytest("--fuzz-routes", "--fuzz-app", "no_such_module:app")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--fuzz-app 'no_such_module:app': cannot import no_such_module*"])
    result = project.runpytest("--fuzz-routes")
    result.stderr.fnmatch_lines(["*name an app with --fuzz-app MODULE:ATTR*"])


def test_it_runs_under_xdist(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess(
        "-n",
        "2",
        "--fuzz-routes",
        "--fuzz-app",
        "tests.testing.zoo:fixed_app",
        "--fuzz-max-examples",
        "10",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=len(_items(project, "tests.testing.zoo:fixed_app")) + 1)


def test_the_plugin_loads_without_hypothesis() -> None:
    code = "import sys, testing.pytest_plugin; assert 'hypothesis' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
