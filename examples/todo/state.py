"""What the app's lifespan yields: handlers receive it by annotating a parameter with its type."""

from __future__ import annotations

import attrs

from examples.todo.broadcast import Broadcaster
from examples.todo.db import Database

__all__ = ["AppState"]


@attrs.define
class AppState:
    """The open database and the live feed's broadcaster, for as long as the app runs."""

    db: Database
    broadcaster: Broadcaster = attrs.field(factory=Broadcaster)
