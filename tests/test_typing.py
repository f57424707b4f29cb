"""The typed API under ``mypy --strict``: the files in ``tests/typing`` are mypy's input.

Every ``pass_*.py`` file must check clean. Every ``fail_*.py`` file must produce exactly the
errors its lines announce with a trailing ``# E: <error code>`` comment (several codes may be
separated by commas), on those lines and no others. In both kinds, a line ending with
``# R: <type>`` must have mypy reveal exactly that type there, and no other line may reveal one.

mypy runs once over every file (each run costs seconds) and its report is split per file.
"""

from __future__ import annotations

import io
import re
import sys
import tokenize
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from mypy import api as mypy_api

RECURSION_LIMIT_AT_IMPORT = sys.getrecursionlimit()
ROOT = Path(__file__).resolve().parent.parent
TYPING_DIR = ROOT / "tests" / "typing"
PASS_FILES = sorted(TYPING_DIR.glob("pass_*.py"))
FAIL_FILES = sorted(TYPING_DIR.glob("fail_*.py"))

_ERROR_MARKER = re.compile(r"#\s*E:\s*(?P<codes>[a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*)\s*$")
_REVEAL_MARKER = re.compile(r"#\s*R:\s*(?P<type>.+?)\s*$")
_REPORT_LINE = re.compile(
    r"^(?P<path>[^:]+\.py):(?P<line>\d+):(?:\d+:)? (?P<severity>error|note): (?P<message>.*?)"
    r"(?:  \[(?P<code>[a-z0-9-]+)\])?$"
)
_REVEALED = re.compile(r'^Revealed type is "(?P<type>.*)"$')
_SUMMARY = re.compile(r"^(Success: no issues found|Found \d+ errors?) in \d+ source files?$")


@attrs.define
class Expectations:
    """What one file announces (or what mypy reported for it): errors and revealed types."""

    errors: set[tuple[int, str]] = attrs.field(factory=set)
    reveals: dict[int, str] = attrs.field(factory=dict)


def _comments(source: str) -> Iterator[tuple[int, str]]:
    # NOTE: tokenize, not a regex over raw lines, so a marker inside a string never counts.
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string


def read_markers(source: str) -> Expectations:
    """The ``# E:`` and ``# R:`` markers of a file's source, by line number."""
    expected = Expectations()
    for line, comment in _comments(source):
        error = _ERROR_MARKER.search(comment)
        if error is not None:
            for code in error["codes"].split(","):
                expected.errors.add((line, code.strip()))
            continue
        reveal = _REVEAL_MARKER.search(comment)
        if reveal is not None:
            expected.reveals[line] = reveal["type"]
    return expected


@attrs.frozen
class MypyReport:
    """mypy's findings over all the typing files, split per file, and lines it could not parse."""

    by_file: dict[str, Expectations]
    unparsed: list[str]
    exit_status: int

    def for_file(self, path: Path) -> Expectations:
        return self.by_file.get(_relative(path), Expectations())


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def parse_report(stdout: str, exit_status: int) -> MypyReport:
    """Split mypy's normal output into per-file errors and revealed types."""
    by_file: dict[str, Expectations] = {}
    unparsed: list[str] = []
    for text in stdout.splitlines():
        match = _REPORT_LINE.match(text)
        if match is None:
            if text and not _SUMMARY.match(text):
                unparsed.append(text)
            continue
        found = by_file.setdefault(Path(match["path"]).as_posix(), Expectations())
        line = int(match["line"])
        if match["severity"] == "error":
            found.errors.add((line, match["code"] or "<no code>"))
            continue
        revealed = _REVEALED.match(match["message"])
        if revealed is not None:
            found.reveals[line] = revealed["type"]
        # NOTE: other notes only explain an error next to them; the error is what counts.
    return MypyReport(by_file, unparsed, exit_status)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> MypyReport:
    """One strict mypy run, with the project's configuration, over every typing file."""
    cache = tmp_path_factory.mktemp("mypy-cache")
    files = [_relative(path) for path in (*PASS_FILES, *FAIL_FILES)]
    # NOTE: from the repository root: the configuration's ``mypy_path`` and the module names
    # of the files (``tests.typing.pass_...``, which revealed types spell out) are relative to it.
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        # NOTE: mypy raises the interpreter's recursion limit for good; without the restore,
        # every later test in this process would run under mypy's limit instead of Python's.
        limit = sys.getrecursionlimit()
        try:
            stdout, stderr, exit_status = mypy_api.run(
                [
                    "--config-file",
                    "pyproject.toml",
                    "--strict",
                    "--show-error-codes",
                    "--no-error-summary",
                    "--hide-error-context",
                    "--cache-dir",
                    str(cache),
                    *files,
                ]
            )
        finally:
            sys.setrecursionlimit(limit)
    # Exit status 2 is a crash or a bad command line, not a verdict on the files.
    assert exit_status in (0, 1), stderr or stdout
    assert not stderr, stderr
    return parse_report(stdout, exit_status)


def _describe(found: Expectations, expected: Expectations) -> str:
    lines = []
    for line, code in sorted(found.errors - expected.errors):
        lines.append(f"unexpected error on line {line}: [{code}]")
    for line, code in sorted(expected.errors - found.errors):
        lines.append(f"missing error on line {line}: [{code}]")
    for line in sorted(found.reveals.keys() | expected.reveals.keys()):
        if found.reveals.get(line) != expected.reveals.get(line):
            lines.append(
                f"line {line}: revealed {found.reveals.get(line)!r}, "
                f"expected {expected.reveals.get(line)!r}"
            )
    return "\n".join(lines)


def _check(report: MypyReport, path: Path) -> None:
    expected = read_markers(path.read_text(encoding="utf-8"))
    problems = _describe(report.for_file(path), expected)
    assert not problems, f"{_relative(path)}:\n{problems}"


def test_typing_files_exist() -> None:
    assert PASS_FILES
    assert FAIL_FILES


def test_report_fully_parsed(report: MypyReport) -> None:
    assert report.unparsed == []
    assert report.exit_status == 1  # the fail files have errors


@pytest.mark.parametrize("path", PASS_FILES, ids=lambda path: path.name)
def test_pass_file_is_clean(report: MypyReport, path: Path) -> None:
    assert not read_markers(path.read_text(encoding="utf-8")).errors, "a pass file expects errors"
    _check(report, path)


@pytest.mark.parametrize("path", FAIL_FILES, ids=lambda path: path.name)
def test_fail_file_has_exactly_its_errors(report: MypyReport, path: Path) -> None:
    assert read_markers(path.read_text(encoding="utf-8")).errors, "a fail file expects no error"
    _check(report, path)


def test_markers_are_read_from_comments_only() -> None:
    source = 'x = "# E: arg-type"\ny = 1  # E: arg-type, call-arg\nreveal_type(y)  # R: int\n'
    expected = read_markers(source)
    assert expected.errors == {(2, "arg-type"), (2, "call-arg")}
    assert expected.reveals == {3: "int"}


def test_report_is_split_per_file() -> None:
    stdout = (
        "tests/typing/fail_a.py:3: error: Incompatible return value type  [return-value]\n"
        "tests/typing/fail_a.py:3: note: See docs\n"
        'tests/typing/pass_b.py:7:5: note: Revealed type is "builtins.int"\n'
        "mypy crashed\n"
    )
    parsed = parse_report(stdout, 1)
    assert parsed.by_file == {
        "tests/typing/fail_a.py": Expectations({(3, "return-value")}, {}),
        "tests/typing/pass_b.py": Expectations(set(), {7: "builtins.int"}),
    }
    assert parsed.unparsed == ["mypy crashed"]


def test_the_mypy_run_leaves_the_recursion_limit_alone(report: MypyReport) -> None:
    # Regression: mypy's raised limit leaked into the rest of the suite, and a converter test
    # that expects deep nesting to be refused passed or failed with the test order.
    assert sys.getrecursionlimit() == RECURSION_LIMIT_AT_IMPORT
