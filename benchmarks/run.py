"""In-process benchmark: the same requests on each app, interleaved, in one run.

    python -m benchmarks.run [--rounds 15] [--batch 2000] [--suite toolkit typed]

Suites: ``toolkit`` (this framework's Starlette-style functions against Starlette and a raw
ASGI callable), ``typed`` (typed class-based endpoints against Starlette doing the same parsing
by hand, and FastAPI), and ``scaling``/``scaling-404`` (route lookup behind 10, 100 and 1,000
routes: the first, the last, and a path that matches none). Prints the median microseconds per
request for each endpoint and app, and the ratio of this framework's time to each peer's (below
1.0 means faster).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from typing import Any

import attrs

from benchmarks.apps import APPS, SCALING_APPS, SCALING_SIZES, AppFactory
from benchmarks.typed_apps import TYPED_APPS
from framework.types import ASGIApp, Message


@attrs.frozen
class Call:
    """One benchmarked request."""

    method: str
    path: str
    query: str = ""
    body: bytes = b""

    def scope(self) -> dict[str, Any]:
        headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench"), (b"accept", b"*/*")]
        if self.body:
            headers.append((b"content-type", b"application/json"))
            headers.append((b"content-length", str(len(self.body)).encode()))
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 50000),
            "scheme": "http",
            "method": self.method,
            "root_path": "",
            "path": self.path,
            "raw_path": self.path.encode(),
            "query_string": self.query.encode(),
            "headers": headers,
            "state": {},
        }


@attrs.frozen
class Suite:
    """Endpoints timed on a set of apps; ``framework`` is compared with every other app."""

    endpoints: dict[str, Call]
    apps: dict[str, AppFactory]
    expected_status: int = 200


SUITES = {
    "toolkit": Suite(
        endpoints={
            "GET /plaintext": Call("GET", "/plaintext"),
            "GET /json": Call("GET", "/json"),
            "GET /users/{id}": Call("GET", "/users/42"),
            "GET /search?q=&limit=": Call("GET", "/search", "q=hello&limit=20"),
            "GET /last/{x} (200 routes)": Call("GET", "/last/abc"),
        },
        apps=APPS,
    ),
    "typed": Suite(
        endpoints={
            "GET /users/{id}": Call("GET", "/users/42"),
            "GET /search?q=&limit=": Call("GET", "/search", "q=hello&limit=20"),
            "POST /items (attrs body, 201)": Call(
                "POST", "/items", body=b'{"name":"widget","price":9.5,"tags":["a","b"]}'
            ),
        },
        apps=TYPED_APPS,
    ),
    "scaling": Suite(
        endpoints={
            f"{n} routes, {where}": Call("GET", f"/n{n}/r{index}/x")
            for n in SCALING_SIZES
            for where, index in (("first", 0), ("last", n - 1))
        },
        apps=SCALING_APPS,
    ),
    "scaling-404": Suite(
        endpoints={f"{n} routes, not found": Call("GET", f"/n{n}/none") for n in SCALING_SIZES},
        apps=SCALING_APPS,
        expected_status=404,
    ),
}


def receiver(body: bytes) -> Any:
    message = {"type": "http.request", "body": body, "more_body": False}

    async def receive() -> Message:
        return dict(message)

    return receive


async def discard(message: Message) -> None:
    return None


async def call_once(app: ASGIApp, call: Call) -> tuple[int, Any]:
    messages: list[Message] = []

    async def record(message: Message) -> None:
        messages.append(message)

    await app(call.scope(), receiver(call.body), record)
    status = next(m["status"] for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body


async def time_batch(app: ASGIApp, call: Call, batch: int) -> float:
    scope = call.scope()
    copy = scope.copy
    receive = receiver(call.body)
    start = time.perf_counter_ns()
    for _ in range(batch):
        await app(copy(), receive, discard)
    return (time.perf_counter_ns() - start) / batch / 1000


async def check_agreement(suite: Suite, apps: dict[str, ASGIApp]) -> None:
    for label, call in suite.endpoints.items():
        answers = {name: await call_once(app, call) for name, app in apps.items()}
        distinct = {json.dumps(answer, default=repr, sort_keys=True) for answer in answers.values()}
        if len(distinct) != 1:
            raise SystemExit(f"apps disagree on {label}: {answers}")
        status, _ = next(iter(answers.values()))
        if status not in (suite.expected_status, 201):
            raise SystemExit(f"{label} answered {status}")


async def measure(
    suite: Suite, apps: dict[str, ASGIApp], rounds: int, batch: int
) -> dict[tuple[str, str], float]:
    await check_agreement(suite, apps)
    samples: dict[tuple[str, str], list[float]] = {}
    cells = [(label, name) for label in suite.endpoints for name in apps]
    for label, name in cells:  # warm-up: caches, lazily imported modules, lazily built stacks
        await time_batch(apps[name], suite.endpoints[label], max(batch // 4, 1))
    for _ in range(rounds):
        random.shuffle(cells)
        for label, name in cells:
            per_request = await time_batch(apps[name], suite.endpoints[label], batch)
            samples.setdefault((label, name), []).append(per_request)
    return {cell: statistics.median(values) for cell, values in samples.items()}


def table(suite: Suite, names: list[str], medians: dict[tuple[str, str], float]) -> str:
    peers = [name for name in names if name != "framework"]
    rows = [["endpoint", *(f"{name} µs" for name in names), *(f"÷{peer}" for peer in peers)]]
    for label in suite.endpoints:
        ours = medians[(label, "framework")]
        rows.append(
            [
                label,
                *(f"{medians[(label, name)]:.2f}" for name in names),
                *(f"{ours / medians[(label, peer)]:.2f}x" for peer in peers),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--suite", nargs="*", choices=list(SUITES), default=list(SUITES))
    parser.add_argument(
        "--scaling-batch",
        type=int,
        default=200,
        help="requests per batch in the scaling suites (Starlette's scan of 1,000 routes is slow)",
    )
    args = parser.parse_args(argv)
    for name in args.suite:
        suite = SUITES[name]
        apps = {app_name: factory() for app_name, factory in suite.apps.items()}
        batch = args.scaling_batch if name.startswith("scaling") else args.batch
        medians = asyncio.run(measure(suite, apps, args.rounds, batch))
        print(f"== {name} (median of {args.rounds} interleaved rounds of {batch} requests)")
        print(table(suite, list(apps), medians))
        if name == "toolkit":
            last = medians[("GET /last/{x} (200 routes)", "framework")]
            users = medians[("GET /users/{id}", "framework")]
            print(f"/last/{{x}} behind 200 routes ÷ /users/{{id}}, framework: {last / users:.2f}x")
        print()


if __name__ == "__main__":
    main()
