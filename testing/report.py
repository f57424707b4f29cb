"""What the fuzz harness found: cases, responses, failures and the report, with reproductions.

A `Case` is one request as the harness generated it (before it is put on the wire by
`testing._wire`); a `Failure` is a check that a case's `Exchange` broke, with three ways to replay
it: a `TestClient` call, a ``curl`` line and a pytest regression test.
"""

from __future__ import annotations

import json
import shlex
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import attrs

__all__ = [
    "NO_JSON",
    "Case",
    "Exchange",
    "Failure",
    "FuzzReport",
    "OperationSummary",
    "Step",
    "short_bytes",
]

_EXCERPT = 300
_BASE_URL = "http://localhost:8000"


class _NoJSON:
    def __repr__(self) -> str:
        return "NO_JSON"


NO_JSON: Any = _NoJSON()
"""A case's ``json`` when its body is not JSON (none, raw bytes or a form)."""


def short_bytes(data: bytes | None) -> str:
    """``repr`` of ``data``, or its size alone when it is long (an oversized body)."""
    if data is None or len(data) <= _EXCERPT:
        return repr(data)
    return f"<{len(data)} bytes: {data[:20]!r}...>"


@attrs.frozen
class Case:
    """One generated request.

    ``path`` is the path with its parameters filled in (not percent-encoded); ``query``,
    ``headers`` and ``cookies`` are text pairs in order; the body is one of ``json`` (a JSON
    value), ``content`` (raw bytes, with ``media_type``), or ``form`` and ``files`` (a form).
    ``valid`` says whether the request satisfies every type and limit the handler declared;
    an invalid case says in ``mutation`` what was broken. A WebSocket session (``method`` is
    ``"WS"``) sends ``messages`` in turn, then disconnects.
    """

    operation: str
    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    cookies: tuple[tuple[str, str], ...] = ()
    json: Any = NO_JSON
    content: bytes | None = attrs.field(default=None, repr=short_bytes)
    media_type: str | None = None
    form: tuple[tuple[str, str], ...] = ()
    files: tuple[tuple[str, str, bytes, str], ...] = ()
    valid: bool = True
    mutation: str | None = None
    messages: tuple[str | bytes, ...] = ()

    @property
    def has_json(self) -> bool:
        return self.json is not NO_JSON

    @property
    def url(self) -> str:
        """The path, percent-encoded, with its query string."""
        path = quote(self.path, safe="/")
        if not self.query:
            return path
        return f"{path}?{urlencode(self.query, quote_via=quote)}"

    def __str__(self) -> str:
        lines = [f"{self.method} {self.url}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.cookies:
            lines.append("cookie: " + "; ".join(f"{n}={v}" for n, v in self.cookies))
        if self.has_json:
            lines.append(_shown_json(self.json))
        elif self.content is not None:
            lines.append(f"content-type: {self.media_type}")
            lines.append(_excerpt(self.content))
        if self.form:
            lines.append("form: " + ", ".join(f"{n}={v!r}" for n, v in self.form))
        for name, filename, data, media_type in self.files:
            lines.append(f"file: {name}={filename!r} ({media_type}, {len(data)} bytes)")
        lines += [f"send: {message!r}" for message in self.messages]
        if self.mutation:
            lines.append(f"(invalid: {self.mutation})")
        return "\n".join(lines)

    def test_client_call(self) -> str:
        """The same request as a ``TestClient`` call, ready to paste."""
        if self.method == "WS":
            sends = "".join(
                f"\n    websocket.send_{'text' if isinstance(m, str) else 'bytes'}({m!r})"
                for m in self.messages
            )
            return f"with client.websocket_connect({self.url!r}) as websocket:{sends or ' pass'}"
        arguments = [repr(self.url)]
        headers = list(self.headers)
        if self.cookies:
            headers.append(("cookie", "; ".join(f"{n}={v}" for n, v in self.cookies)))
        if self.has_json:
            arguments.append(f"json={self.json!r}")
        elif self.content is not None:
            arguments.append(f"content={self.content!r}")
            if self.media_type is not None:
                headers.append(("content-type", self.media_type))
        if self.form:
            arguments.append(f"data={_form_dict(self.form)!r}")
        if self.files:
            files = [(name, (filename, data, kind)) for name, filename, data, kind in self.files]
            arguments.append(f"files={files!r}")
        if headers:
            arguments.append(f"headers={dict(headers)!r}")
        method = self.method.lower()
        if method in {"get", "head", "options", "delete"} and (
            self.has_json or self.content is not None or self.form or self.files
        ):
            return f"client.request({self.method!r}, {', '.join(arguments)})"
        return f"client.{method}({', '.join(arguments)})"

    def curl(self, base_url: str = _BASE_URL) -> str:
        """The same request as a shell-quoted ``curl`` command line."""
        if self.method == "WS":
            return "# curl cannot send WebSocket messages: " + shlex.quote(
                "ws://localhost:8000" + self.url
            )
        parts = ["curl", "-X", self.method, shlex.quote(base_url + self.url)]
        for name, value in self.headers:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.cookies:
            parts += ["--cookie", shlex.quote("; ".join(f"{n}={v}" for n, v in self.cookies))]
        if self.has_json:
            parts += ["-H", shlex.quote("content-type: application/json")]
            parts += ["--data-binary", shlex.quote(_json_text(self.json))]
        elif self.content is not None:
            if self.media_type is not None:
                parts += ["-H", shlex.quote(f"content-type: {self.media_type}")]
            parts += ["--data-binary", _shell_bytes(self.content)]
        for name, value in self.form:
            parts += ["--form-string", shlex.quote(f"{name}={value}")]
        for name, filename, _, media_type in self.files:
            # NOTE: curl reads a file's content from disk; the line names the file to create.
            parts += ["-F", shlex.quote(f"{name}=@{filename};type={media_type}")]
        return " ".join(parts)


def _form_dict(pairs: Sequence[tuple[str, str]]) -> dict[str, str | list[str]]:
    result: dict[str, str | list[str]] = {}
    for name, value in pairs:
        old = result.get(name)
        if old is None:
            result[name] = value
        elif isinstance(old, list):
            old.append(value)
        else:
            result[name] = [old, value]
    return result


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=True)


def _shown_json(value: Any) -> str:
    text = _json_text(value)
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + f"... ({len(text)} characters)"


def _excerpt(data: bytes) -> str:
    shown = data[:_EXCERPT].decode("utf-8", "backslashreplace")
    return shown if len(data) <= _EXCERPT else shown + f"... ({len(data)} bytes)"


def _shell_bytes(data: bytes) -> str:
    """``data`` as one shell word: plainly quoted when it is printable text, else in ``$'...'``
    form (bash, zsh) with every other byte escaped, so that the exact bytes are sent."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        text = None
    if text is not None and text.isprintable():
        return shlex.quote(text)
    escaped = "".join(
        chr(byte) if 32 <= byte < 127 and byte not in b"'\\" else f"\\x{byte:02x}" for byte in data
    )
    return f"$'{escaped}'"


@attrs.frozen
class Exchange:
    """What the app answered to one case: status, headers, body, and any exception that escaped.

    ``status`` is 0 when the app sent no response at all; ``error_at`` is ``file:line`` of the
    innermost frame of the user's code in the escaped exception's traceback.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    exception: BaseException | None = attrs.field(default=None, eq=False)
    traceback: str | None = None
    error_at: str | None = None

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    @property
    def media_type(self) -> str | None:
        value = self.header("content-type")
        return None if value is None else value.split(";", 1)[0].strip().lower()

    def __str__(self) -> str:
        lines = [f"{self.status}" if self.status else "no response"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.body:
            lines.append(_excerpt(self.body))
        return "\n".join(lines)


@attrs.frozen
class Step:
    """One request of a stateful sequence and the answer it got."""

    case: Case
    exchange: Exchange


@attrs.frozen
class Failure:
    """One distinct bug: the check it broke, on which operation, and the minimal request.

    ``steps`` holds, for a stateful failure, the whole sequence that led to it (the last step
    is ``case``); ``found_after`` is when the run first saw the bug (seconds after it began).
    """

    check: str
    operation: str
    message: str
    case: Case
    exchange: Exchange
    steps: tuple[Step, ...] = ()
    found_after: float | None = attrs.field(default=None, eq=False)

    @property
    def key(self) -> tuple[str, str, str | None, str | None]:
        """What makes two failures the same bug: operation, check, and, for an exception, its
        type and the line that raised it."""
        exception = self.exchange.exception
        kind = None if exception is None else type(exception).__qualname__
        return (self.operation, self.check, kind, self.exchange.error_at)

    @property
    def reproduction(self) -> str:
        """The request(s) as ``TestClient`` calls, ready to paste."""
        return "\n".join(step.case.test_client_call() for step in self._sequence())

    @property
    def curl(self) -> str:
        """The request(s) as ``curl`` command lines."""
        return "\n".join(step.case.curl() for step in self._sequence())

    @property
    def pytest_test(self) -> str:
        """A regression test, ready to paste into a test module that has a ``client`` fixture."""
        name = "test_" + "_".join(
            word for word in _identifier(f"{self.operation} {self.check}").split("_") if word
        )
        calls = [f"response = {step.case.test_client_call()}" for step in self._sequence()]
        body = "\n".join(calls) + "\n" + _expectation(self.check)
        return f"def {name}(client):\n" + textwrap.indent(body, "    ")

    def _sequence(self) -> tuple[Step, ...]:
        return self.steps or (Step(self.case, self.exchange),)

    def __str__(self) -> str:
        parts = [f"[{self.check}] {self.operation}: {self.message}"]
        if len(self.steps) > 1:
            parts.append("Sequence:")
            parts += [
                textwrap.indent(f"{index}. {step.case}\n-> {step.exchange.status}", "  ")
                for index, step in enumerate(self.steps, 1)
            ]
        else:
            parts.append("Request:\n" + textwrap.indent(str(self.case), "  "))
        if self.exchange.traceback:
            parts.append("Traceback:\n" + textwrap.indent(self.exchange.traceback.rstrip(), "  "))
        else:
            parts.append("Response:\n" + textwrap.indent(str(self.exchange), "  "))
        parts.append("Reproduce:\n" + textwrap.indent(self.reproduction, "  "))
        parts.append("curl:\n" + textwrap.indent(self.curl, "  "))
        return "\n".join(parts)


def _identifier(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text.lower())


_EXPECTATIONS: Mapping[str, str] = {
    "not_a_server_error": "assert response.status_code < 500",
    "negative_data_rejected": "assert not 200 <= response.status_code < 300",
    "positive_data_accepted": "assert response.status_code != 422",
    "use_after_free": "assert response.status_code == 404",
    "resource_available": "assert response.status_code != 404",
}


def _expectation(check: str) -> str:
    return _EXPECTATIONS.get(check, f"# check {check!r} failed on this response")


@attrs.define
class OperationSummary:
    """What the harness sent to one operation, and which of its declared statuses it saw."""

    operation: str
    declared: tuple[int, ...]
    requests: int = 0
    successes: int = 0
    seen: set[int] = attrs.field(factory=set)

    def record(self, exchange: Exchange) -> None:
        self.requests += 1
        self.seen.add(exchange.status)
        if 200 <= exchange.status < 300:
            self.successes += 1

    @property
    def never_seen(self) -> tuple[int, ...]:
        """Declared statuses that no request got: parts of the operation never reached."""
        return tuple(status for status in self.declared if status not in self.seen)

    def __str__(self) -> str:
        share = 0 if not self.requests else round(100 * self.successes / self.requests)
        line = f"{self.operation}: {self.requests} requests, {share}% 2xx"
        if self.never_seen:
            line += f"; never answered {', '.join(map(str, self.never_seen))}"
        return line


@attrs.frozen
class FuzzReport:
    """The result of a `testing.fuzz.fuzz` run: every distinct failure, and a summary per route.

    ``str(report)`` shows every failure with its reproductions, then the summary.
    """

    failures: tuple[Failure, ...]
    summaries: tuple[OperationSummary, ...]
    seed: int | None
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def requests(self) -> int:
        return sum(summary.requests for summary in self.summaries)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        head = (
            f"{len(self.failures)} failure{'' if len(self.failures) == 1 else 's'} in "
            f"{self.requests} requests ({self.seconds:.2f} s, seed {self.seed})"
        )
        parts = [head]
        for index, failure in enumerate(self.failures, 1):
            parts.append(f"\n--- {index}/{len(self.failures)} " + str(failure))
        parts.append("\nRoutes:")
        parts += [f"  {summary}" for summary in self.summaries]
        return "\n".join(parts)
