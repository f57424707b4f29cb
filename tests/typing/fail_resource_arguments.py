"""``Resource(...)`` and ``App(resources=...)`` take what API.md documents."""

from __future__ import annotations

from framework import App, Resource

good = Resource(prefix="/todos", tags=["todos"], name="todos")
bad_prefix = Resource(prefix=1)  # E: arg-type
bad_tags = Resource("/todos", tags=[1])  # E: list-item
unknown = Resource("/todos", title="Todos")  # E: call-arg
positional_name = Resource("/todos", ["todos"], "todos")  # E: call-arg
app = App(resources=[1])  # E: list-item
