"""An in-process broadcaster: every change to a todo goes to every live-feed subscriber."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from examples.todo.models import TodoEvent

__all__ = ["Broadcaster", "TooManySubscribers"]


class TooManySubscribers(Exception):
    """The broadcaster already serves as many subscribers as it allows."""


class Broadcaster:
    """Fans events out to subscribers through bounded memory streams.

    ``publish`` never waits: a subscriber whose buffer of ``buffer_size`` events is full is
    too slow to keep up, and is dropped (its stream ends) rather than holding everyone back or
    letting memory grow. At most ``max_subscribers`` subscribe at once.
    """

    def __init__(self, buffer_size: int = 64, max_subscribers: int = 1000) -> None:
        if buffer_size < 1 or buffer_size == math.inf:
            raise ValueError("buffer_size must be a positive, finite number of events")
        self.buffer_size = buffer_size
        self.max_subscribers = max_subscribers
        self._streams: set[MemoryObjectSendStream[TodoEvent]] = set()

    @property
    def subscribers(self) -> int:
        """How many subscribers there are now."""
        return len(self._streams)

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[MemoryObjectReceiveStream[TodoEvent]]:
        """The events published while the context is open; it unsubscribes on exit.

        Raises :class:`TooManySubscribers` when full.
        """
        if len(self._streams) >= self.max_subscribers:
            raise TooManySubscribers(f"at most {self.max_subscribers} subscribers")
        send, receive = anyio.create_memory_object_stream[TodoEvent](self.buffer_size)
        self._streams.add(send)
        try:
            with receive:
                yield receive
        finally:
            self._streams.discard(send)
            send.close()

    def publish(self, event: TodoEvent) -> None:
        """Give ``event`` to every subscriber, dropping those that are too slow."""
        for stream in list(self._streams):
            try:
                stream.send_nowait(event)
            except anyio.WouldBlock:
                self._streams.discard(stream)
                stream.close()
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                self._streams.discard(stream)
