from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import jinja2
import pytest

from framework.applications import App
from framework.background import BackgroundTask
from framework.requests import Request
from framework.responses import Response
from framework.routing import Route
from framework.templating import Jinja2Templates
from framework.types import Message

if TYPE_CHECKING:
    from testing.client import TestClient

TestClientFactory = Callable[..., "TestClient"]


@pytest.fixture
def template_dir(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text(
        "<html>Hello, {{ name }}! <a href='{{ url_for(\"user\", user_id=7) }}'>me</a></html>"
    )
    (tmp_path / "escape.html").write_text("{{ value }}")
    (tmp_path / "escape.txt").write_text("{{ value }}")
    (tmp_path / "request.html").write_text("{{ request.url.path }} {{ extra }} {{ name }}")
    return tmp_path


async def user(request: Request) -> Response:
    return Response()  # pragma: no cover


def make_app(endpoint: Callable[[Request], Any]) -> App:
    return App(routes=[Route("/", endpoint), Route("/users/{user_id:int}", user, name="user")])


def test_template_response(template_dir: Path, test_client_factory: TestClientFactory) -> None:
    templates = Jinja2Templates(directory=template_dir)

    async def homepage(request: Request) -> Response:
        return templates.TemplateResponse(request, "index.html", {"name": "World"})

    response = test_client_factory(make_app(homepage)).get("/")
    assert response.status_code == 200
    assert response.text == (
        "<html>Hello, World! <a href='http://testserver/users/7'>me</a></html>"
    )
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.template.name == "index.html"  # type: ignore[attr-defined]
    context = response.context  # type: ignore[attr-defined]
    assert set(context) == {"request", "name"}
    assert isinstance(context["request"], Request)
    assert context["name"] == "World"


def test_response_options(template_dir: Path, test_client_factory: TestClientFactory) -> None:
    templates = Jinja2Templates(directory=str(template_dir))
    ran: list[str] = []

    async def homepage(request: Request) -> Response:
        return templates.TemplateResponse(
            request=request,
            name="escape.txt",
            context={"value": "x"},
            status_code=201,
            headers={"x-extra": "1"},
            media_type="text/plain",
            background=BackgroundTask(ran.append, "done"),
        )

    response = test_client_factory(make_app(homepage)).get("/")
    assert response.status_code == 201
    assert response.headers["x-extra"] == "1"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "x"
    assert ran == ["done"]


def test_context_is_optional(template_dir: Path, test_client_factory: TestClientFactory) -> None:
    templates = Jinja2Templates(directory=template_dir)

    async def homepage(request: Request) -> Response:
        return templates.TemplateResponse(request, "request.html")

    response = test_client_factory(make_app(homepage)).get("/")
    assert response.text == "/  "
    assert set(response.context) == {"request"}  # type: ignore[attr-defined]


def test_callers_context_is_not_changed(
    template_dir: Path, test_client_factory: TestClientFactory
) -> None:
    templates = Jinja2Templates(directory=template_dir)
    shared = {"name": "shared"}

    async def homepage(request: Request) -> Response:
        return templates.TemplateResponse(request, "request.html", shared)

    response = test_client_factory(make_app(homepage)).get("/")
    assert response.text == "/  shared"
    assert shared == {"name": "shared"}


def test_autoescape(template_dir: Path, test_client_factory: TestClientFactory) -> None:
    templates = Jinja2Templates(directory=template_dir)
    name = "escape.html"

    async def homepage(request: Request) -> Response:
        return templates.TemplateResponse(request, name, {"value": "<script>"})

    client = test_client_factory(make_app(homepage))
    assert client.get("/").text == "&lt;script&gt;"
    name = "escape.txt"
    assert client.get("/").text == "<script>"


def test_context_processors(template_dir: Path, test_client_factory: TestClientFactory) -> None:
    def add_extra(request: Request) -> dict[str, Any]:
        return {"extra": f"extra for {request.url.path}", "name": "from processor"}

    templates = Jinja2Templates(directory=template_dir, context_processors=[add_extra])

    async def homepage(request: Request) -> Response:
        return templates.TemplateResponse(request, "request.html", {"name": "from view"})

    response = test_client_factory(make_app(homepage)).get("/")
    # Context processors run last, so they win over the view's context.
    assert response.text == "/ extra for / from processor"
    assert response.context["extra"] == "extra for /"  # type: ignore[attr-defined]


def test_multiple_directories(tmp_path: Path) -> None:
    first = tmp_path / "first"
    second = tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "a.html").write_text("first a")
    (second / "a.html").write_text("second a")
    (second / "b.html").write_text("second b")
    templates = Jinja2Templates(directory=[first, str(second)])
    assert templates.get_template("a.html").render() == "first a"
    assert templates.get_template("b.html").render() == "second b"


def test_env(test_client_factory: TestClientFactory) -> None:
    env = jinja2.Environment(
        loader=jinja2.DictLoader({"t.html": "{{ url_for('user', user_id=1) }}"})
    )
    templates = Jinja2Templates(env=env)
    assert templates.env is env
    assert "url_for" in env.globals

    async def homepage(request: Request) -> Response:
        return templates.TemplateResponse(request, "t.html")

    assert test_client_factory(make_app(homepage)).get("/").text == ("http://testserver/users/1")


def test_env_keeps_its_own_url_for() -> None:
    env = jinja2.Environment()

    def my_url_for(name: str) -> str:
        return name

    env.globals["url_for"] = my_url_for
    Jinja2Templates(env=env)
    assert env.globals["url_for"] is my_url_for


@pytest.mark.parametrize("kwargs", [{}, {"directory": "templates", "env": jinja2.Environment()}])
def test_directory_or_env_required(kwargs: dict[str, Any]) -> None:
    message = "either 'directory' or 'env' arguments must be passed"
    with pytest.raises(AssertionError, match=message):
        Jinja2Templates(**kwargs)
    with pytest.raises(ValueError, match=message):
        Jinja2Templates(**kwargs)


def test_missing_template(template_dir: Path, test_client_factory: TestClientFactory) -> None:
    templates = Jinja2Templates(directory=template_dir)

    async def homepage(request: Request) -> Response:
        return templates.TemplateResponse(request, "missing.html")

    with pytest.raises(jinja2.TemplateNotFound):
        test_client_factory(make_app(homepage)).get("/")


def test_request_must_come_first(template_dir: Path) -> None:
    templates = Jinja2Templates(directory=template_dir)
    with pytest.raises(TypeError, match="takes the request first"):
        templates.TemplateResponse("index.html", {"request": None})  # type: ignore[arg-type]


def test_debug_info_only_when_offered(template_dir: Path) -> None:
    templates = Jinja2Templates(directory=template_dir)
    scope: dict[str, Any] = {"type": "http", "method": "GET", "path": "/", "headers": []}
    response = templates.TemplateResponse(Request(scope), "escape.txt", {"value": "v"})

    async def run(extensions: dict[str, Any] | None) -> list[str]:
        messages: list[Message] = []

        async def receive() -> Message:
            raise AssertionError  # pragma: no cover

        async def send(message: Message) -> None:
            messages.append(message)

        call_scope = dict(scope)
        if extensions is not None:
            call_scope["extensions"] = extensions
        await response(call_scope, receive, send)
        return [message["type"] for message in messages]

    assert anyio.run(run, None) == ["http.response.start", "http.response.body"]
    assert anyio.run(run, {}) == ["http.response.start", "http.response.body"]
    assert anyio.run(run, {"http.response.debug": {}}) == [
        "http.response.debug",
        "http.response.start",
        "http.response.body",
    ]


def test_import_without_jinja2_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jinja2", None)
    monkeypatch.delitem(sys.modules, "framework.templating")
    with pytest.raises(ImportError, match=r"pip install 'framework\[templates\]'") as info:
        importlib.import_module("framework.templating")
    assert isinstance(info.value.__cause__, ModuleNotFoundError)
