"""``ServerErrorMiddleware``: the outermost guard that answers unhandled exceptions with a 500."""

from __future__ import annotations

import html
import linecache
import traceback

from framework._exception_handlers import track
from framework._utils import is_async_callable
from framework.concurrency import run_in_threadpool
from framework.requests import Request
from framework.responses import HTMLResponse, PlainTextResponse, Response
from framework.types import ASGIApp, ExceptionHandler, Receive, Scope, Send

__all__ = ["ServerErrorMiddleware"]

# Lines of source shown on each side of a frame's current line on the debug page.
_CONTEXT_LINES = 5

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #1d1d1f; }
h1 { color: #b00020; }
.frame { border: 1px solid #d0d7de; border-radius: 4px; margin: 1em 0; }
.where { background: #f6f8fa; margin: 0; padding: .5em .75em; }
pre { margin: 0; padding: .5em .75em; overflow-x: auto; }
.current { background: #ffebe9; font-weight: bold; }
.lineno { color: #6e7781; user-select: none; }
.chain { font-style: italic; }
"""

# What Python prints between two chained exceptions; the earlier one comes first.
_CAUSE = "The above exception was the direct cause of the following exception:"
_CONTEXT = "During handling of the above exception, another exception occurred:"


class ServerErrorMiddleware:
    """Answers any exception escaping the app with a 500, then re-raises it for the server to log.

    The 500 is the ``handler``'s response if one is given, a traceback page if ``debug`` is on,
    and a bare ``Internal Server Error`` otherwise. Nothing is sent if the response had already
    started. Only HTTP connections are guarded; other scopes pass straight through.
    """

    def __init__(
        self, app: ASGIApp, handler: ExceptionHandler | None = None, debug: bool = False
    ) -> None:
        self.app = app
        self.handler = handler
        self.debug = debug

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tracked = track(send)
        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if not tracked.started:
                response = await self._error_response(Request(scope), exc)
                await response(scope, receive, send)
            # NOTE: always re-raised, so the server logs it and test clients can surface it.
            raise

    async def _error_response(self, request: Request, exc: Exception) -> Response:
        # NOTE: debug wins over a registered handler, as in Starlette: a developer who turned
        # debug on wants the traceback.
        if self.debug:
            return self.debug_response(request, exc)
        handler = self.handler
        if handler is None:
            return self.error_response(request, exc)
        if is_async_callable(handler):
            response: Response = await handler(request, exc)
        else:
            response = await run_in_threadpool(handler, request, exc)  # type: ignore[arg-type]
        return response

    def debug_response(self, request: Request, exc: Exception) -> Response:
        """A traceback page as HTML for browsers, as plain text for every other client."""
        if "text/html" in request.headers.get("accept", ""):
            return HTMLResponse(_debug_html(exc), status_code=500)
        return PlainTextResponse(_debug_text(exc), status_code=500)

    def error_response(self, request: Request, exc: Exception) -> Response:
        """The production 500: it says nothing about the failure."""
        return PlainTextResponse("Internal Server Error", status_code=500)


def _debug_text(exc: BaseException) -> str:
    """The traceback exactly as Python prints it, chained exceptions included."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def _debug_html(exc: BaseException) -> str:
    """A self-contained HTML traceback page; every value taken from the error is escaped."""
    title = html.escape(_exception_line(exc))
    chain = _render_chain(traceback.TracebackException.from_exception(exc))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>500 Server Error</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>500 Server Error</h1>\n<h2>{title}</h2>\n{chain}</body>\n</html>\n"
    )


def _exception_line(exc: BaseException) -> str:
    """``Type: message`` as on a traceback's last line."""
    return traceback.format_exception_only(type(exc), exc)[-1].strip()


def _render_chain(te: traceback.TracebackException) -> str:
    """Each exception of the chain, earliest first, as Python orders a printed traceback."""
    # Built latest first while walking back through causes, then reversed.
    parts: list[str] = []
    current = te
    while True:
        parts.append(_render_exception(current))
        if current.__cause__ is not None:
            current, link = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, _CONTEXT
        else:
            break
        parts.append(f'<p class="chain">{link}</p>\n')
    return "".join(reversed(parts))


def _render_exception(te: traceback.TracebackException) -> str:
    """One exception: its frames, most recent call last, then its ``Type: message`` line."""
    frames = "".join(_render_frame(frame) for frame in te.stack)
    summary = html.escape("".join(te.format_exception_only()).strip())
    return (
        '<section class="exception">\n<h3>Traceback (most recent call last)</h3>\n'
        f"{frames}<p><strong>{summary}</strong></p>\n</section>\n"
    )


def _render_frame(frame: traceback.FrameSummary) -> str:
    """A frame's location and the source lines around its current line."""
    filename = frame.filename
    lineno = frame.lineno or 0
    where = (
        f"File <code>{html.escape(filename)}</code>, line {lineno}, "
        f"in <code>{html.escape(frame.name)}</code>"
    )
    first = max(1, lineno - _CONTEXT_LINES)
    rows: list[str] = []
    for number in range(first, lineno + _CONTEXT_LINES + 1):
        line = linecache.getline(filename, number)
        if not line:
            # Past the end of the file, or no source at all (e.g. code built by exec).
            continue
        text = f'<span class="lineno">{number:>5}</span>  {html.escape(line.rstrip())}'
        if number == lineno:
            text = f'<span class="current">{text}</span>'
        rows.append(text)
    source = "<pre>" + "\n".join(rows) + "</pre>\n" if rows else ""
    return f'<div class="frame">\n<p class="where">{where}</p>\n{source}</div>\n'
