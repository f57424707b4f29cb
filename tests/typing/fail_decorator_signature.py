"""``@status_code`` and ``@raises`` keep the handler's signature, and take only ints."""

from __future__ import annotations

import attrs

from framework import HTTPEndpoint, raises, status_code


@attrs.frozen
class Todo:
    id: int
    title: str


class TodoList(HTTPEndpoint):
    path = "/todos"

    @status_code(201)
    @raises(409)
    async def post(self, title: str) -> Todo:
        return Todo(id=1, title=title)


async def use(endpoint: TodoList) -> None:
    reveal_type(TodoList.post)  # R: def (self: tests.typing.fail_decorator_signature.TodoList, title: str) -> typing.Coroutine[Any, Any, tests.typing.fail_decorator_signature.Todo]
    todo = await endpoint.post("write tests")
    reveal_type(todo)  # R: tests.typing.fail_decorator_signature.Todo
    await endpoint.post(1)  # E: arg-type
    await endpoint.post("a", "b")  # E: call-arg
    await endpoint.post(name="a")  # E: call-arg


@status_code("201")  # E: arg-type
async def created() -> None: ...


@raises(404, "409")  # E: arg-type
async def conflict() -> None: ...
