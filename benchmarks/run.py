"""In-process benchmark: the same requests on each app, interleaved, in one run.

    python -m benchmarks.run [--rounds 15] [--batch 2000]

Prints the median microseconds per request for each endpoint and app, and the ratio of this
framework's time to each peer's (below 1.0 means faster).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from benchmarks.apps import APPS
from framework.types import ASGIApp, Message

ENDPOINTS: dict[str, tuple[str, str]] = {
    "GET /plaintext": ("/plaintext", ""),
    "GET /json": ("/json", ""),
    "GET /users/{id}": ("/users/42", ""),
    "GET /search?q=&limit=": ("/search", "q=hello&limit=20"),
    "GET /last/{x} (200 routes)": ("/last/abc", ""),
}


def make_scope(path: str, query: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": "GET",
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"user-agent", b"bench"),
            (b"accept", b"*/*"),
        ],
        "state": {},
    }


async def receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def discard(message: Message) -> None:
    return None


async def call_once(app: ASGIApp, scope: dict[str, Any]) -> tuple[int, bytes]:
    messages: list[Message] = []

    async def record(message: Message) -> None:
        messages.append(message)

    await app(dict(scope), receive, record)
    status = next(m["status"] for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return status, body


async def time_batch(app: ASGIApp, scope: dict[str, Any], batch: int) -> float:
    copy = scope.copy
    start = time.perf_counter_ns()
    for _ in range(batch):
        await app(copy(), receive, discard)
    return (time.perf_counter_ns() - start) / batch / 1000


async def check_agreement(apps: dict[str, ASGIApp]) -> None:
    for label, (path, query) in ENDPOINTS.items():
        answers = {name: await call_once(app, make_scope(path, query)) for name, app in apps.items()}
        if len(set(answers.values())) != 1:
            raise SystemExit(f"apps disagree on {label}: {answers}")
        status, _ = next(iter(answers.values()))
        if status != 200:
            raise SystemExit(f"{label} answered {status}")


async def measure(
    apps: dict[str, ASGIApp], rounds: int, batch: int
) -> dict[tuple[str, str], list[float]]:
    await check_agreement(apps)
    samples: dict[tuple[str, str], list[float]] = {}
    cells = [(label, name) for label in ENDPOINTS for name in apps]
    for cell in cells:  # warm-up: fill caches, import lazily loaded modules
        path, query = ENDPOINTS[cell[0]]
        await time_batch(apps[cell[1]], make_scope(path, query), batch // 4 or 1)
    for _ in range(rounds):
        random.shuffle(cells)
        for label, name in cells:
            path, query = ENDPOINTS[label]
            per_request = await time_batch(apps[name], make_scope(path, query), batch)
            samples.setdefault((label, name), []).append(per_request)
    return samples


def report(samples: dict[tuple[str, str], list[float]], names: list[str]) -> str:
    peers = [name for name in names if name != "framework"]
    header = ["endpoint", *(f"{n} µs" for n in names), *(f"÷{p}" for p in peers)]
    rows = [header]
    medians: dict[tuple[str, str], float] = {
        key: statistics.median(values) for key, values in samples.items()
    }
    for label in ENDPOINTS:
        ours = medians[(label, "framework")]
        row = [label]
        row += [f"{medians[(label, n)]:.2f}" for n in names]
        row += [f"{ours / medians[(label, p)]:.2f}x" for p in peers]
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) for row in rows]
    last = medians[("GET /last/{x} (200 routes)", "framework")]
    users = medians[("GET /users/{id}", "framework")]
    lines.append(f"\n/last/{{x}} behind 200 routes ÷ /users/{{id}} (framework): {last / users:.2f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--apps", nargs="*", default=list(APPS))
    args = parser.parse_args(argv)
    factories: dict[str, Callable[[], ASGIApp]] = {name: APPS[name] for name in args.apps}
    apps = {name: factory() for name, factory in factories.items()}
    samples = asyncio.run(measure(apps, args.rounds, args.batch))
    print(report(samples, list(apps)))


if __name__ == "__main__":
    main()
