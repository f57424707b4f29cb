"""Calling the app under test so that its failure can be reported to the test, not lost."""

from __future__ import annotations

import anyio

from framework.types import ASGIApp, Receive, Scope, Send

__all__ = ["call_app"]


async def call_app(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send
) -> BaseException | None:
    """Await ``app`` and return the exception it raised instead of raising it.

    Cancellation is not the app's failure: it still propagates, so that the cancel scope that
    caused it can absorb it.
    """
    try:
        await app(scope, receive, send)
    except anyio.get_cancelled_exc_class():
        raise
    except BaseException as exc:
        # NOTE: the app runs in an event-loop task while the test waits in another task or
        # thread; handing the exception over as a value lets the waiting side raise it where
        # the test can see it.
        return exc
    return None
