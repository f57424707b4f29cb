"""The hello example does what its README says, in-process."""

from __future__ import annotations

from examples.hello.app import app
from tests.conftest import TestClientFactory


def test_home_and_greeting(test_client_factory: TestClientFactory) -> None:
    with test_client_factory(app) as client:
        assert client.get("/").text == "Hello, world!"
        assert client.get("/hello/Ada").json() == {"greeting": "Hello, Ada!"}


def test_redirect_points_at_home(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(app, follow_redirects=False)
    response = client.get("/old-home")
    assert response.status_code == 307
    assert response.headers["location"] == "http://testserver/"


def test_countdown_streams_and_validates(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(app)
    assert client.get("/countdown", params={"from": "3"}).text == "3\n2\n1\n0\n"
    assert client.get("/countdown", params={"from": "1000"}).status_code == 400


def test_mounted_users(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(app)
    assert client.get("/users/").json() == [{"id": 1}, {"id": 2}]
    assert client.get("/users/7").json() == {"id": 7}
    assert client.get("/users/seven").status_code == 404
    assert app.url_path_for("users:detail", user_id=7) == "/users/7"


def test_websocket_echo(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(app)
    with client.websocket_connect("/ws/echo") as websocket:
        websocket.send_text("ping")
        assert websocket.receive_text() == "ping"


def test_static_index_and_missing_file(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(app)
    response = client.get("/static/")
    assert response.status_code == 200
    assert "Hello from a static file" in response.text
    assert client.get("/static/missing.txt").status_code == 404
