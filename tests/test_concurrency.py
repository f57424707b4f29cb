from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from framework.concurrency import iterate_in_threadpool, run_in_threadpool


@pytest.mark.anyio
async def test_run_in_threadpool_runs_off_the_event_loop_thread() -> None:
    def which_thread(prefix: str, *, suffix: str) -> str:
        return f"{prefix}{threading.get_ident()}{suffix}"

    result = await run_in_threadpool(which_thread, "<", suffix=">")
    assert result != f"<{threading.get_ident()}>"
    assert result.startswith("<")
    assert result.endswith(">")


@pytest.mark.anyio
async def test_run_in_threadpool_propagates_exceptions() -> None:
    def fail() -> None:
        raise LookupError("boom")

    with pytest.raises(LookupError, match="boom"):
        await run_in_threadpool(fail)


@pytest.mark.anyio
async def test_iterate_in_threadpool_yields_every_item_in_order() -> None:
    threads: set[int] = set()

    def numbers() -> Iterator[int]:
        for n in range(5):
            threads.add(threading.get_ident())
            yield n

    assert [n async for n in iterate_in_threadpool(numbers())] == [0, 1, 2, 3, 4]
    assert threading.get_ident() not in threads


@pytest.mark.anyio
async def test_iterate_in_threadpool_on_an_empty_iterable() -> None:
    empty: list[int] = []
    assert [n async for n in iterate_in_threadpool(empty)] == []
