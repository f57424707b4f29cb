"""A fast, Starlette-compatible ASGI toolkit.

The toolkit lives in modules named as in Starlette (``framework.routing``,
``framework.requests``, ...); the names used in almost every app are re-exported here.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from framework.applications import App
    from framework.background import BackgroundTask, BackgroundTasks
    from framework.endpoints import HTTPEndpoint, WebSocketEndpoint
    from framework.exceptions import HTTPException, WebSocketException
    from framework.requests import Request
    from framework.responses import (
        FileResponse,
        HTMLResponse,
        JSONResponse,
        PlainTextResponse,
        RedirectResponse,
        Response,
        StreamingResponse,
    )
    from framework.routing import Host, Mount, Route, Router, WebSocketRoute
    from framework.typed.params import (
        Body,
        Cookie,
        File,
        Form,
        Header,
        Path,
        Query,
        raises,
        status_code,
    )
    from framework.typed.resources import Resource
    from framework.websockets import WebSocket, WebSocketDisconnect

# NOTE: resolved on first use (PEP 562), so ``import framework.requests`` stays a toolkit import:
# it loads neither the typed layer nor cattrs until a typed name is asked for.
_EXPORTS = {
    "App": "framework.applications",
    "BackgroundTask": "framework.background",
    "BackgroundTasks": "framework.background",
    "Body": "framework.typed.params",
    "Cookie": "framework.typed.params",
    "File": "framework.typed.params",
    "FileResponse": "framework.responses",
    "Form": "framework.typed.params",
    "Header": "framework.typed.params",
    "Host": "framework.routing",
    "HTMLResponse": "framework.responses",
    "HTTPEndpoint": "framework.endpoints",
    "HTTPException": "framework.exceptions",
    "JSONResponse": "framework.responses",
    "Mount": "framework.routing",
    "Path": "framework.typed.params",
    "PlainTextResponse": "framework.responses",
    "Query": "framework.typed.params",
    "raises": "framework.typed.params",
    "RedirectResponse": "framework.responses",
    "Request": "framework.requests",
    "Resource": "framework.typed.resources",
    "Response": "framework.responses",
    "Route": "framework.routing",
    "Router": "framework.routing",
    "status_code": "framework.typed.params",
    "StreamingResponse": "framework.responses",
    "WebSocket": "framework.websockets",
    "WebSocketDisconnect": "framework.websockets",
    "WebSocketEndpoint": "framework.endpoints",
    "WebSocketException": "framework.exceptions",
    "WebSocketRoute": "framework.routing",
}

__version__ = "0.1.0"

__all__ = [
    "App",
    "BackgroundTask",
    "BackgroundTasks",
    "Body",
    "Cookie",
    "File",
    "FileResponse",
    "Form",
    "HTMLResponse",
    "HTTPEndpoint",
    "HTTPException",
    "Header",
    "Host",
    "JSONResponse",
    "Mount",
    "Path",
    "PlainTextResponse",
    "Query",
    "RedirectResponse",
    "Request",
    "Resource",
    "Response",
    "Route",
    "Router",
    "StreamingResponse",
    "WebSocket",
    "WebSocketDisconnect",
    "WebSocketEndpoint",
    "WebSocketException",
    "WebSocketRoute",
    "__version__",
    "raises",
    "status_code",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'framework' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
