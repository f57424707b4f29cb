"""The server's side of the ASGI lifespan protocol, played by the test clients."""

from __future__ import annotations

import contextlib
import math
from typing import Any

import anyio
import anyio.lowlevel

from framework.types import ASGIApp, Message
from testing._asgi import call_app

__all__ = ["LifespanDriver"]


class LifespanDriver:
    """Starts and stops one run of an app's lifespan.

    Create it inside the event loop, start :meth:`run` as a task there, then await
    :meth:`startup` and, later, :meth:`shutdown`. ``state`` becomes the lifespan scope's
    ``"state"``, which the app fills in for the requests to come.
    """

    __slots__ = (
        "_app",
        "_cancel_scope",
        "_done",
        "_error",
        "_from_app",
        "_inbox",
        "_outbox",
        "_scope",
        "_to_app",
    )

    def __init__(self, app: ASGIApp, state: dict[str, Any]) -> None:
        self._app = app
        self._scope = {"type": "lifespan", "state": state}
        self._to_app, self._inbox = anyio.create_memory_object_stream[Message](math.inf)
        self._outbox, self._from_app = anyio.create_memory_object_stream[Message](math.inf)
        self._cancel_scope = anyio.CancelScope()
        self._done = anyio.Event()
        self._error: BaseException | None = None

    async def run(self) -> None:
        """Run the app's lifespan until it returns."""
        try:
            with self._cancel_scope:
                self._error = await call_app(
                    self._app, self._scope, self._receive, self._outbox.send
                )
        finally:
            self._inbox.close()
            self._outbox.close()
            self._done.set()

    async def startup(self) -> None:
        """Ask the app to start; raise what it raised, or :class:`RuntimeError` if it failed.

        An app that returns without answering does not support the lifespan protocol, and
        the client carries on without it.
        """
        self._tell("lifespan.startup")
        await self._expect("startup")

    async def shutdown(self) -> None:
        """Ask the app to stop and wait until its lifespan has returned."""
        if not self._done.is_set():
            self._tell("lifespan.shutdown")
            await self._expect("shutdown")
        await self._finish()

    def _tell(self, kind: str) -> None:
        # NOTE: an app that has already returned cannot listen; _expect then finds that out.
        with contextlib.suppress(anyio.BrokenResourceError):
            self._to_app.send_nowait({"type": kind})

    async def _expect(self, phase: str) -> None:
        try:
            message = await self._from_app.receive()
        except anyio.EndOfStream:
            await self._finish()
            return
        kind = message["type"]
        if kind == f"lifespan.{phase}.complete":
            return
        if kind == f"lifespan.{phase}.failed":
            await self._finish()
            raise RuntimeError(f"Lifespan {phase} failed: {message.get('message', '')}")
        self._cancel_scope.cancel()
        await self._finish()
        raise RuntimeError(f"Expected 'lifespan.{phase}.complete' or '.failed', got {kind!r}.")

    async def _finish(self) -> None:
        """Wait for the app to return, then raise what it raised, if the test has not seen it."""
        # NOTE: once the protocol is over the app gets nothing more; ending its stream makes
        # a further receive() stop the app (see _receive) instead of waiting forever.
        self._to_app.close()
        await self._done.wait()
        self._from_app.close()
        error, self._error = self._error, None
        if error is not None:
            raise error

    async def _receive(self) -> Message:
        try:
            return await self._inbox.receive()
        except anyio.EndOfStream:
            # NOTE: a server stops the app once the lifespan is over; cancelling its task
            # here does that without surfacing an error from the protocol's own end.
            self._cancel_scope.cancel()
            await anyio.lowlevel.checkpoint()
            raise
