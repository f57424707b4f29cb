"""Every private key the framework puts in an ASGI scope (or in ``scope["state"]``).

One module holds them so that no two pieces pick the same key, and so that a lower layer never
has to import a higher one just to read what the higher one stored.
"""

from __future__ import annotations

__all__ = [
    "BODY_CACHE",
    "EXCEPTION_HANDLERS",
    "LIFESPAN_STATE",
    "MAX_BODY_SIZE",
    "MAX_MESSAGE_SIZE",
]

BODY_CACHE = "framework.request.body"
"""``(receive, body)``: the body a ``Request`` read, kept with the channel it came from, so a
later ``Request`` on the same scope reads it again (and a rewritten ``receive`` does not)."""

EXCEPTION_HANDLERS = "framework.exception_handlers"
"""The ``(by class, by status)`` handler tables ``ExceptionMiddleware`` hands to the routes."""

LIFESPAN_STATE = "framework.lifespan_state"
"""Key of ``scope["state"]`` holding the object the app's lifespan yielded (its typed state)."""

MAX_BODY_SIZE = "framework.max_body_size"
"""The request body limit in force (bytes), set by the innermost ``max_body_size=``."""

MAX_MESSAGE_SIZE = "framework.websocket.max_message_size"
"""The incoming WebSocket message limit (bytes) an app, router or route sets."""
