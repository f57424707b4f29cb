"""The todo example end to end: CRUD on SQLite, validation, tags, users, the live feed, OpenAPI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import anyio
import pytest
from openapi_spec_validator import validate

from examples.todo import app as app_module
from examples.todo.app import create_app, lifespan_for
from examples.todo.broadcast import Broadcaster, TooManySubscribers
from examples.todo.models import Todo, TodoEvent
from examples.todo.state import AppState
from framework import App, WebSocket, WebSocketEndpoint
from framework._keys import LIFESPAN_STATE
from framework.routing import WebSocketRoute
from testing.client import TestClient
from tests.conftest import TestClientFactory


@pytest.fixture
def app(tmp_path: Path) -> App:
    return create_app(str(tmp_path / "todo.sqlite3"))


@pytest.fixture
def client(app: App, test_client_factory: TestClientFactory) -> Iterator[TestClient]:
    with test_client_factory(app) as client:
        yield client


def _state(client: TestClient) -> AppState:
    state: AppState = client.app_state[LIFESPAN_STATE]
    return state


def _create(client: TestClient, title: str, **extra: Any) -> dict[str, Any]:
    response = client.post("/todos", json={"title": title, **extra})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


# --- todos


def test_crud(client: TestClient) -> None:
    assert client.get("/todos").json() == []
    first = _create(client, "write the example")
    assert first == {"id": 1, "title": "write the example", "done": False, "tags": []}
    _create(client, "test it", done=True)
    _create(client, "ship it")

    response = client.get("/todos/1", headers={"X-Trace": "abc"})
    assert response.status_code == 200
    assert response.json() == first
    assert [todo["id"] for todo in client.get("/todos").json()] == [1, 2, 3]
    page = client.get("/todos", params={"limit": "1", "offset": "1"}).json()
    assert [todo["title"] for todo in page] == ["test it"]
    assert [todo["id"] for todo in client.get("/todos", params={"done": "true"}).json()] == [2]

    patched = client.patch("/todos/1", json={"done": True})
    assert patched.json() == {**first, "done": True}
    renamed = client.patch("/todos/1", json={"title": "rewrite"}).json()
    assert renamed == {**first, "title": "rewrite", "done": True}

    deleted = client.delete("/todos/1")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert "content-type" not in deleted.headers
    assert [todo["id"] for todo in client.get("/todos").json()] == [2, 3]


def test_missing_todos_are_json_404s(client: TestClient) -> None:
    for response in (
        client.get("/todos/42"),
        client.patch("/todos/42", json={"done": True}),
        client.delete("/todos/42"),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"detail": "todo not found"}


def test_the_title_is_at_most_200_characters(client: TestClient) -> None:
    assert _create(client, "x" * 200)["title"] == "x" * 200
    response = client.post("/todos", json={"title": "x" * 201})
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "loc": ["body", "title"],
                "msg": "must be at most 200 characters",
                "type": "value_error",
            }
        ]
    }


def test_422_lists_every_problem_with_its_location(client: TestClient) -> None:
    response = client.patch("/todos/0", json={"title": "", "done": "yes"})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["path", "todo_id"]
    assert sorted((error["loc"], error["type"]) for error in detail[1:]) == [
        (["body", "done"], "type_error"),
        (["body", "title"], "value_error"),
    ]

    query = client.get("/todos", params={"limit": "0", "offset": "-1", "done": "maybe"}).json()
    assert [error["loc"] for error in query["detail"]] == [
        ["query", "limit"],
        ["query", "offset"],
        ["query", "done"],
    ]

    cookie = client.get("/users/me", headers={"cookie": "session=abc"}).json()
    assert cookie["detail"][0]["loc"] == ["cookie", "session"]
    assert cookie["detail"][0]["type"] == "type_error"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", {"loc": ["body"], "type": "missing"}),
        (b"{", {"loc": ["body"], "type": "json_invalid"}),
        (b"[]", {"loc": ["body"], "type": "type_error"}),
        (b"{}", {"loc": ["body", "title"], "type": "missing"}),
        (b'{"title": 1}', {"loc": ["body", "title"], "type": "type_error"}),
        (b'{"title": "\\ud800"}', {"loc": ["body", "title"], "type": "type_error"}),
    ],
)
def test_bad_bodies_get_422(client: TestClient, content: bytes, expected: dict[str, Any]) -> None:
    response = client.post("/todos", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert {"loc": error["loc"], "type": error["type"]} == expected
    assert client.get("/todos").json() == []


# --- tags, users, stats


def test_tags(client: TestClient) -> None:
    todo = _create(client, "tag me")
    work = client.post("/tags", json={"name": "work"})
    assert work.status_code == 201
    assert work.json() == {"id": 1, "name": "work"}
    assert client.post("/tags", json={"name": "home"}).json() == {"id": 2, "name": "home"}
    duplicate = client.post("/tags", json={"name": "work"})
    assert duplicate.status_code == 409
    assert duplicate.json() == {"detail": "a tag named 'work' exists"}
    assert [tag["name"] for tag in client.get("/tags").json()] == ["home", "work"]

    assert client.put(f"/todos/{todo['id']}/tags/1").json()["tags"] == ["work"]
    assert client.put(f"/todos/{todo['id']}/tags/1").json()["tags"] == ["work"]
    assert client.put(f"/todos/{todo['id']}/tags/2").json()["tags"] == ["home", "work"]
    assert client.get("/todos").json()[0]["tags"] == ["home", "work"]
    assert client.delete(f"/todos/{todo['id']}/tags/1").json()["tags"] == ["home"]
    assert client.put(f"/todos/{todo['id']}/tags/9").status_code == 404
    assert client.put("/todos/9/tags/1").json() == {"detail": "todo or tag not found"}
    assert client.delete("/todos/9/tags/1").status_code == 404


def test_users_roles_and_the_session_cookie(client: TestClient) -> None:
    ada = client.post("/users", json={"name": "ada", "role": "admin"})
    assert ada.status_code == 201
    assert ada.json() == {"id": 1, "name": "ada", "role": "admin"}
    assert client.post("/users", json={"name": "bob"}).json()["role"] == "member"
    bad = client.post("/users", json={"name": "eve", "role": "root"}).json()
    assert bad["detail"][0]["loc"] == ["body", "role"]
    assert bad["detail"][0]["type"] == "enum"

    assert client.get("/users/me", headers={"cookie": "session=1"}).json()["name"] == "ada"
    unknown = client.get("/users/me", headers={"cookie": "session=7"})
    assert unknown.status_code == 401
    assert unknown.json() == {"detail": "no such session"}
    missing = client.get("/users/me").json()
    assert missing["detail"] == [
        {"loc": ["cookie", "session"], "msg": "field required", "type": "missing"}
    ]


def test_stats(client: TestClient) -> None:
    _create(client, "a", done=True)
    _create(client, "b")
    _create(client, "c")
    assert client.get("/stats").json() == {"total": 3, "done": 1, "open": 2}
    assert client.get("/stats", params={"count": "open"}).json() == {
        "total": 2,
        "done": 0,
        "open": 2,
    }
    assert client.get("/stats", params={"count": "done"}).json()["total"] == 1
    bad = client.get("/stats", params={"count": "some"}).json()
    assert bad["detail"][0]["loc"] == ["query", "count"]
    assert bad["detail"][0]["type"] == "literal_error"


# --- the database


def test_the_database_path_comes_from_todo_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, test_client_factory: TestClientFactory
) -> None:
    path = tmp_path / "from-env.sqlite3"
    monkeypatch.setenv("TODO_DB", str(path))
    with test_client_factory(app_module.app) as client:
        _create(client, "kept")
    assert path.exists()
    # A restart reads the same file: the data is really stored.
    with test_client_factory(create_app()) as client:
        assert [todo["title"] for todo in client.get("/todos").json()] == ["kept"]


def test_the_default_database_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TODO_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    with TestClient(create_app()) as client:
        assert client.get("/todos").status_code == 200
    assert os.path.exists(tmp_path / app_module.DEFAULT_DB)


# --- the live feed


def test_changes_are_pushed_to_every_subscriber(client: TestClient) -> None:
    with (
        client.websocket_connect("/live/todos") as first,
        client.websocket_connect("/live/todos") as second,
    ):
        for websocket in (first, second):
            websocket.send_json({"action": "subscribe"})
            assert websocket.receive_json() == {"type": "subscribed"}
        assert _state(client).broadcaster.subscribers == 2

        todo = _create(client, "pushed")
        expected = {"kind": "created", "todo_id": todo["id"], "todo": todo}
        assert first.receive_json() == expected
        assert second.receive_json() == expected

        client.patch(f"/todos/{todo['id']}", json={"done": True})
        assert first.receive_json()["todo"]["done"] is True
        client.delete(f"/todos/{todo['id']}")
        assert first.receive_json() == {"kind": "deleted", "todo_id": todo["id"], "todo": None}
        assert second.receive_json()["kind"] == "updated"
        assert second.receive_json()["kind"] == "deleted"
    # Closing the connections ends their subscriptions.
    assert _state(client).broadcaster.subscribers == 0


def test_a_bad_message_gets_an_error_and_the_connection_keeps_working(
    client: TestClient,
) -> None:
    with client.websocket_connect("/live/todos") as websocket:
        websocket.send_json({"action": "shout"})
        error = websocket.receive_json()
        assert error["type"] == "error"
        assert error["detail"][0]["loc"] == ["data", "action"]
        assert error["detail"][0]["type"] == "literal_error"
        websocket.send_text("not json")
        assert websocket.receive_json()["detail"][0]["type"] == "json_invalid"
        websocket.send_json({"action": "ping"})
        assert websocket.receive_json() == {"type": "pong"}


def test_unsubscribing_stops_the_events(client: TestClient) -> None:
    with client.websocket_connect("/live/todos") as websocket:
        websocket.send_json({"action": "subscribe"})
        assert websocket.receive_json() == {"type": "subscribed"}
        websocket.send_json({"action": "subscribe"})
        assert websocket.receive_json() == {"type": "subscribed"}
        assert _state(client).broadcaster.subscribers == 1
        websocket.send_json({"action": "unsubscribe"})
        assert websocket.receive_json() == {"type": "unsubscribed"}
        _create(client, "unseen")
        websocket.send_json({"action": "ping"})
        assert websocket.receive_json() == {"type": "pong"}
        assert _state(client).broadcaster.subscribers == 0


@pytest.mark.anyio
async def test_a_slow_subscriber_is_dropped() -> None:
    broadcaster = Broadcaster(buffer_size=2)
    event = TodoEvent("created", 1, Todo(1, "t", False))
    with broadcaster.subscribe() as slow, broadcaster.subscribe() as fast:
        broadcaster.publish(event)
        assert fast.receive_nowait() == event
        broadcaster.publish(event)
        assert fast.receive_nowait() == event
        broadcaster.publish(event)  # the slow one's buffer is full now
        assert broadcaster.subscribers == 1
        assert fast.receive_nowait() == event
        # What was buffered still arrives; then the stream ends.
        assert [item async for item in slow] == [event, event]
    assert broadcaster.subscribers == 0


def test_the_broadcaster_is_bounded() -> None:
    broadcaster = Broadcaster(max_subscribers=1)
    with broadcaster.subscribe(), pytest.raises(TooManySubscribers), broadcaster.subscribe():
        pass
    with pytest.raises(ValueError, match="buffer_size"):
        Broadcaster(buffer_size=0)


def test_a_full_feed_refuses_new_subscribers(client: TestClient) -> None:
    _state(client).broadcaster.max_subscribers = 0
    with client.websocket_connect("/live/todos") as websocket:
        websocket.send_json({"action": "subscribe"})
        message = websocket.receive()
        assert message["type"] == "websocket.close"
        assert message["code"] == 1013


@pytest.mark.anyio
async def test_database_calls_run_off_the_event_loop(tmp_path: Path) -> None:
    from examples.todo.db import Database

    async with Database.connect(str(tmp_path / "db.sqlite3")) as db:
        async with anyio.create_task_group() as tasks:
            for index in range(20):
                tasks.start_soon(db.create_todo, f"todo {index}", False)
        assert len(await db.list_todos(100, 0)) == 20
        assert (await db.stats()).total == 20


class StateEcho(WebSocketEndpoint):
    """Takes the lifespan state in every callback, served by a plain ``WebSocketRoute``."""

    encoding = "json"
    seen: ClassVar[list[str]] = []

    async def on_connect(self, websocket: WebSocket, state: AppState) -> None:
        await websocket.accept()
        self.seen.append(f"connect {type(state).__name__}")

    async def on_receive(self, websocket: WebSocket, data: int, state: AppState) -> None:
        await websocket.send_json({"data": data, "subscribers": state.broadcaster.subscribers})

    async def on_disconnect(self, websocket: WebSocket, close_code: int, state: AppState) -> None:
        self.seen.append(f"disconnect {close_code} {type(state).__name__}")


def test_websocket_callbacks_receive_the_lifespan_state(
    tmp_path: Path, test_client_factory: TestClientFactory
) -> None:
    lifespan = lifespan_for(str(tmp_path / "db.sqlite3"))
    app = App(routes=[WebSocketRoute("/echo", StateEcho)], lifespan=lifespan)
    assert app.lifespan_state_type is AppState
    with test_client_factory(app) as client, client.websocket_connect("/echo") as websocket:
        websocket.send_json(5)
        assert websocket.receive_json() == {"data": 5, "subscribers": 0}
        websocket.send_json("five")
        assert websocket.receive_json()["type"] == "error"
    assert StateEcho.seen[-2:] == ["connect AppState", "disconnect 1000 AppState"]


# --- routes and OpenAPI


def test_url_path_for_by_class_name(app: App) -> None:
    assert app.url_path_for("TodoList") == "/todos"
    assert app.url_path_for("TodoItem", todo_id=3) == "/todos/3"
    assert app.url_path_for("TodoTag", todo_id=3, tag_id=4) == "/todos/3/tags/4"
    assert app.url_path_for("TagList") == "/tags"
    assert app.url_path_for("CurrentUser") == "/users/me"
    assert app.url_path_for("TodoFeed") == "/live/todos"


def test_openapi_is_valid_and_served(client: TestClient, app: App) -> None:
    document = client.get("/openapi.json").json()
    assert document == app.openapi()
    validate(document)
    assert document["info"]["title"] == "Todo"
    paths = document["paths"]
    assert set(paths) == {
        "/todos",
        "/todos/{todo_id}",
        "/todos/{todo_id}/tags/{tag_id}",
        "/tags",
        "/users",
        "/users/me",
        "/stats",
    }
    assert paths["/todos"]["post"]["tags"] == ["todos"]
    assert "201" in paths["/todos"]["post"]["responses"]
    assert "404" in paths["/todos/{todo_id}"]["get"]["responses"]
    assert "204" in paths["/todos/{todo_id}"]["delete"]["responses"]
    parameters = {p["name"]: p for p in paths["/todos/{todo_id}"]["get"]["parameters"]}
    assert parameters["x-trace"]["in"] == "header"
    limit = {p["name"]: p for p in paths["/todos"]["get"]["parameters"]}["limit"]
    assert limit["schema"]["minimum"] == 1
    assert limit["schema"]["maximum"] == 100
