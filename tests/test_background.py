from __future__ import annotations

import functools
import threading

import pytest

from framework._utils import get_route_path, is_async_callable
from framework.background import BackgroundTask, BackgroundTasks


@pytest.mark.anyio
async def test_async_task_is_awaited_with_its_arguments() -> None:
    calls: list[tuple[int, str]] = []

    async def record(number: int, *, word: str) -> None:
        calls.append((number, word))

    task = BackgroundTask(record, 1, word="one")
    assert task.is_async
    await task()
    assert calls == [(1, "one")]


@pytest.mark.anyio
async def test_sync_task_runs_in_a_worker_thread() -> None:
    threads: list[int] = []
    task = BackgroundTask(lambda: threads.append(threading.get_ident()))
    assert not task.is_async
    await task()
    assert threads
    assert threads[0] != threading.get_ident()


@pytest.mark.anyio
async def test_tasks_run_in_order_and_stop_at_the_first_failure() -> None:
    order: list[str] = []

    async def step(name: str) -> None:
        order.append(name)
        if name == "fail":
            raise RuntimeError(name)

    tasks = BackgroundTasks([BackgroundTask(step, "first")])
    tasks.add_task(step, "second")
    tasks.add_task(step, "fail")
    tasks.add_task(step, "never")
    with pytest.raises(RuntimeError, match="fail"):
        await tasks()
    assert order == ["first", "second", "fail"]


def test_is_async_callable_sees_through_partials_and_callable_objects() -> None:
    async def coro(x: int) -> int:
        return x

    class AsyncCallable:
        async def __call__(self) -> None:
            return None

    class SyncCallable:
        def __call__(self) -> None:
            return None

    assert is_async_callable(coro)
    assert is_async_callable(functools.partial(functools.partial(coro), 1))
    assert is_async_callable(AsyncCallable())
    assert not is_async_callable(SyncCallable())
    assert not is_async_callable(lambda: None)


@pytest.mark.parametrize(
    ("path", "root_path", "expected"),
    [
        ("/items", "", "/items"),
        ("/api/items", "/api", "/items"),
        ("/api", "/api", ""),
        ("/apiary", "/api", "/apiary"),
        ("/other", "/api", "/other"),
    ],
)
def test_get_route_path_strips_the_root_path_on_a_segment_boundary(
    path: str, root_path: str, expected: str
) -> None:
    assert get_route_path({"path": path, "root_path": root_path}) == expected
