"""Jinja2 templates rendered into HTML responses.

Jinja2 is an optional dependency: install it with ``pip install 'framework[templates]'``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

try:
    import jinja2
except ModuleNotFoundError as exc:
    raise ImportError(
        "framework.templating needs Jinja2, which is not installed. "
        "Install it with: pip install 'framework[templates]' (or pip install jinja2)."
    ) from exc

from framework.background import BackgroundTask
from framework.datastructures import URL
from framework.requests import HTTPConnection, Request
from framework.responses import HTMLResponse
from framework.types import Receive, Scope, Send

__all__ = ["Jinja2Templates"]

ContextProcessor = Callable[[Request], dict[str, Any]]
TemplateDirectory = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]

_DEBUG = "http.response.debug"


class _TemplatesConfigError(ValueError, AssertionError):
    """``Jinja2Templates`` needs exactly one of ``directory`` and ``env``.

    NOTE: Starlette reports this with ``assert``; deriving from both keeps ``except
    AssertionError`` working while the check still runs under ``python -O``.
    """


class _TemplateResponse(HTMLResponse):
    """An HTML response rendered from a template, which keeps the template and its context.

    Where the server offers the ``http.response.debug`` extension (the test client does), the
    template and context are sent along, so tests can read ``response.template`` and
    ``response.context``.
    """

    def __init__(
        self,
        template: jinja2.Template,
        context: dict[str, Any],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        self.template = template
        self.context = context
        super().__init__(template.render(context), status_code, headers, media_type, background)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        extensions = scope.get("extensions")
        if extensions is not None and _DEBUG in extensions:
            await send(
                {"type": _DEBUG, "info": {"template": self.template, "context": self.context}}
            )
        await super().__call__(scope, receive, send)


@jinja2.pass_context
def _url_for(context: Mapping[str, Any], name: str, /, **path_params: Any) -> URL:
    """``url_for`` in templates: the URL of a route, through the request in the context."""
    request: HTTPConnection = context["request"]
    return request.url_for(name, **path_params)


class Jinja2Templates:
    """Templates loaded from ``directory`` (one or several) or from a ready Jinja2 ``env``.

    Templates may call ``url_for(name, **path_params)``; ``context_processors`` add variables
    to every template's context, computed from the request.
    """

    def __init__(
        self,
        directory: TemplateDirectory | None = None,
        *,
        context_processors: list[ContextProcessor] | None = None,
        env: jinja2.Environment | None = None,
    ) -> None:
        if (directory is None) == (env is None):
            raise _TemplatesConfigError("either 'directory' or 'env' arguments must be passed")
        self.context_processors: list[ContextProcessor] = context_processors or []
        if env is None:
            assert directory is not None
            env = jinja2.Environment(
                loader=jinja2.FileSystemLoader(directory),
                autoescape=jinja2.select_autoescape(),
            )
        self.env = env
        self._setup_env_defaults(env)

    def _setup_env_defaults(self, env: jinja2.Environment) -> None:
        # A url_for the user already put in the environment is kept.
        env.globals.setdefault("url_for", _url_for)

    def get_template(self, name: str) -> jinja2.Template:
        """The template called ``name`` (``jinja2.TemplateNotFound`` if there is none)."""
        return self.env.get_template(name)

    def TemplateResponse(
        self,
        request: Request,
        name: str,
        context: dict[str, Any] | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> _TemplateResponse:
        """Render template ``name`` with ``context`` (plus ``request``) into an HTML response."""
        if not isinstance(request, HTTPConnection):
            raise TypeError(
                "TemplateResponse() takes the request first: "
                "TemplateResponse(request, name, context=None, ...)"
            )
        # NOTE: the caller's dict is copied rather than filled in, so a context shared
        # between responses is never changed; context processors have the last word.
        full_context: dict[str, Any] = {"request": request}
        if context:
            full_context.update(context)
        for processor in self.context_processors:
            full_context.update(processor(request))
        template = self.get_template(name)
        return _TemplateResponse(
            template,
            full_context,
            status_code=status_code,
            headers=headers,
            media_type=media_type,
            background=background,
        )
