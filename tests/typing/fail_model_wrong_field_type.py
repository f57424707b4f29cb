"""attrs models are checked where they are built."""

from __future__ import annotations

import attrs


@attrs.frozen
class NewTodo:
    title: str = attrs.field(validator=attrs.validators.max_len(200))
    done: bool = False


@attrs.frozen
class Todo:
    id: int
    title: str
    done: bool


wrong_id = Todo(id="1", title="write tests", done=False)  # E: arg-type
missing_field = Todo(id=1, title="write tests")  # E: call-arg
unknown_field = NewTodo(title="x", priority=1)  # E: call-arg
frozen = Todo(id=1, title="write tests", done=True)
frozen.done = False  # E: misc
