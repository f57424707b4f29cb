"""Testing tools for apps built with ``framework``: in-process test clients.

The clients are imported on first use, so that ``import testing`` stays cheap for tools
that only need other parts of the package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from testing.client import (
        AsyncTestClient,
        TestClient,
        WebSocketDenialResponse,
        WebSocketTestSession,
    )

__all__ = ["AsyncTestClient", "TestClient", "WebSocketDenialResponse", "WebSocketTestSession"]


if not TYPE_CHECKING:
    # NOTE: hidden from type checkers, which see the imports above instead and so still
    # reject a misspelt name.

    def __getattr__(name: str) -> Any:
        if name in __all__:
            return getattr(importlib.import_module("testing.client"), name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
