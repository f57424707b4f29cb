"""A fast, Starlette-compatible ASGI toolkit.

The toolkit lives in modules named as in Starlette (``framework.routing``,
``framework.requests``, ...); the names used in almost every app are re-exported here.
"""

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
