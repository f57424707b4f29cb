"""Testing tools for apps built with ``framework``: in-process test clients and the fuzzer.

Every name is imported on first use, so that ``import testing`` stays cheap for tools that
only need other parts of the package (the fuzzer brings in Hypothesis).
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
    from testing.fuzz import fuzz
    from testing.report import FuzzReport

__all__ = [
    "AsyncTestClient",
    "FuzzReport",
    "TestClient",
    "WebSocketDenialResponse",
    "WebSocketTestSession",
    "fuzz",
]

_HOMES = {"fuzz": "testing.fuzz", "FuzzReport": "testing.report"}


if not TYPE_CHECKING:
    # NOTE: hidden from type checkers, which see the imports above instead and so still
    # reject a misspelt name.

    def __getattr__(name: str) -> Any:
        if name in __all__:
            return getattr(importlib.import_module(_HOMES.get(name, "testing.client")), name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
