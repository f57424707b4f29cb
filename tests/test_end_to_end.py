"""The example app under a real server (uvicorn on a loopback port) and real clients.

Every wait is bounded: the server must start within a few seconds, each request and WebSocket
operation has a timeout, and the server thread must stop when asked.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import httpx
import pytest
import uvicorn
from websockets.sync.client import connect

from examples.hello.app import app as hello_app
from framework.applications import App
from framework.middleware import Middleware
from framework.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from framework.requests import Request
from framework.responses import Response, StreamingResponse
from framework.routing import Mount, Route, WebSocketRoute
from framework.staticfiles import StaticFiles
from framework.types import ASGIApp
from framework.websockets import WebSocket, WebSocketDisconnect

TIMEOUT = 5.0


@contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """Run ``app`` under uvicorn on a free loopback port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        lifespan="on",
        log_level="warning",
        ws="websockets-sansio",
        timeout_graceful_shutdown=int(TIMEOUT),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(TIMEOUT)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop"


@pytest.fixture(scope="module")
def hello() -> Iterator[str]:
    with serve(hello_app) as address:
        yield address


@pytest.fixture
def http(hello: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://{hello}", timeout=TIMEOUT) as client:
        yield client


def test_home(http: httpx.Client) -> None:
    response = http.get("/")
    assert response.status_code == 200
    assert response.text == "Hello, world!"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == "13"


def test_path_parameters_and_mount(http: httpx.Client) -> None:
    assert http.get("/hello/Ada").json() == {"greeting": "Hello, Ada!"}
    assert http.get("/users/42").json() == {"id": 42}
    assert http.get("/users/").json() == [{"id": 1}, {"id": 2}]


def test_not_found(http: httpx.Client) -> None:
    response = http.get("/nowhere")
    assert (response.status_code, response.text) == (404, "Not Found")


def test_streaming(http: httpx.Client) -> None:
    with http.stream("GET", "/countdown", params={"from": "3"}) as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers
        assert response.headers["transfer-encoding"] == "chunked"
        assert list(response.iter_lines()) == ["3", "2", "1", "0"]


def test_streaming_bad_input_is_400(http: httpx.Client) -> None:
    assert http.get("/countdown", params={"from": "1000"}).status_code == 400


def test_redirect(http: httpx.Client, hello: str) -> None:
    response = http.get("/old-home")
    assert response.status_code == 307
    assert response.headers["location"] == f"http://{hello}/"
    followed = http.get("/old-home", follow_redirects=True)
    assert followed.text == "Hello, world!"
    assert [r.status_code for r in followed.history] == [307]


def test_many_requests_on_one_connection(http: httpx.Client) -> None:
    for n in range(20):
        assert http.get(f"/hello/{n}").json() == {"greeting": f"Hello, {n}!"}


async def _echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


def _echo_app() -> ASGIApp:
    """The example app's ``/ws/echo`` if it has one; otherwise a small app providing it."""
    for route in hello_app.routes:
        if isinstance(route, WebSocketRoute) and route.path == "/ws/echo":
            return hello_app
    return App(routes=[WebSocketRoute("/ws/echo", _echo)])


def test_websocket_echo() -> None:
    with (
        serve(_echo_app()) as address,
        connect(f"ws://{address}/ws/echo", open_timeout=TIMEOUT, close_timeout=TIMEOUT) as ws,
    ):
        for text in ("hello", "", "\u00e9t\u00e9 \U0001f600", "x" * 10_000):
            ws.send(text)
            assert ws.recv(timeout=TIMEOUT) == text


def _raw_get(address: str, target: str) -> bytes:
    """Send ``target`` exactly as written (no client-side normalisation); return the reply."""
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as conn:
        conn.sendall(
            f"GET {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n".encode()
        )
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_static_files_and_middleware(tmp_path: Path) -> None:
    root = tmp_path / "public"
    root.mkdir()
    (root / "hello.txt").write_text("static hello")
    (tmp_path / "secret.txt").write_text("do not serve")

    class Tag(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            response = await call_next(request)
            response.headers["x-tag"] = "seen"
            return response

    app = App(
        routes=[Mount("/static", StaticFiles(directory=root))],
        middleware=[Middleware(Tag)],
    )
    with (
        serve(app) as address,
        httpx.Client(base_url=f"http://{address}", timeout=TIMEOUT) as client,
    ):
        response = client.get("/static/hello.txt")
        assert response.text == "static hello"
        assert response.headers["x-tag"] == "seen"
        etag = response.headers["etag"]
        assert client.get("/static/hello.txt", headers={"if-none-match": etag}).status_code == 304
        ranged = client.get("/static/hello.txt", headers={"range": "bytes=0-5"})
        assert (ranged.status_code, ranged.text) == (206, "static")
        for target in (
            "/static/../secret.txt",
            "/static/%2e%2e/secret.txt",
            "/static/..%2fsecret.txt",
            "/static/%2e%2e%2fsecret.txt",
            "/static/%252e%252e/secret.txt",
            "/static/..%5csecret.txt",
            "/static/%00",
        ):
            reply = _raw_get(address, target)
            assert reply.startswith(b"HTTP/1.1 404 "), (target, reply[:40])
            assert b"do not serve" not in reply


def test_client_leaving_mid_stream_stops_the_stream() -> None:
    stopped = threading.Event()

    async def endless(request: Request) -> Response:
        async def lines() -> AsyncIterator[bytes]:
            try:
                n = 0
                while True:
                    yield b"%d\n" % n
                    n += 1
                    await anyio.sleep(0.001)
            finally:
                stopped.set()

        return StreamingResponse(lines(), media_type="text/plain")

    class PassThrough(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            return await call_next(request)

    app = App(routes=[Route("/endless", endless)], middleware=[Middleware(PassThrough)])
    with serve(app) as address:
        with (
            httpx.Client(base_url=f"http://{address}", timeout=TIMEOUT) as client,
            client.stream("GET", "/endless") as response,
        ):
            lines = response.iter_lines()
            assert [next(lines) for _ in range(3)] == ["0", "1", "2"]
        assert stopped.wait(TIMEOUT), "the stream went on after the client left"
