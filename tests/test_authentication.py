from __future__ import annotations

import base64
import binascii
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pytest

from framework.applications import App
from framework.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
    SimpleUser,
    UnauthenticatedUser,
    has_required_scope,
    requires,
)
from framework.endpoints import HTTPEndpoint
from framework.middleware import Middleware
from framework.middleware.authentication import AuthenticationMiddleware
from framework.requests import HTTPConnection, Request
from framework.responses import JSONResponse, Response
from framework.routing import Route, WebSocketRoute
from framework.websockets import WebSocket, WebSocketDisconnect

if TYPE_CHECKING:
    from testing.client import TestClient

TestClientFactory = Callable[..., "TestClient"]


class BasicAuth(AuthenticationBackend):
    """Basic auth where any password is right; "admin" also gets the admin scope."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        header = conn.headers.get("authorization")
        if header is None:
            return None
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            username, _, _ = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
            raise AuthenticationError("Invalid basic auth credentials") from exc
        scopes = ["authenticated"] + (["admin"] if username == "admin" else [])
        return AuthCredentials(scopes), SimpleUser(username)


def basic(username: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:password".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def user_json(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "authenticated": request.user.is_authenticated,
            "user": request.user.display_name,
            "scopes": request.auth.scopes,
        }
    )


async def homepage(request: Request) -> JSONResponse:
    return user_json(request)


@requires("authenticated")
async def dashboard(request: Request) -> JSONResponse:
    return user_json(request)


@requires(["authenticated", "admin"])
async def admin(request: Request) -> JSONResponse:
    return user_json(request)


@requires("authenticated")
def dashboard_sync(request: Request) -> JSONResponse:
    return user_json(request)


@requires("authenticated", redirect="homepage")
async def redirecting(request: Request) -> JSONResponse:
    return user_json(request)


@requires("authenticated", redirect="homepage")
def redirecting_sync(request: Request) -> JSONResponse:
    return user_json(request)


@requires("admin", status_code=404)
async def hidden(request: Request) -> JSONResponse:
    return user_json(request)


class Endpoint(HTTPEndpoint):
    @requires("authenticated")
    async def get(self, request: Request) -> Response:
        return user_json(request)

    @requires("admin")
    def post(self, request: Request) -> Response:
        return user_json(request)


@requires("authenticated")
async def websocket_endpoint(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json({"user": websocket.user.display_name})
    await websocket.close()


def make_app(**middleware_options: Any) -> App:
    return App(
        routes=[
            Route("/", homepage, name="homepage"),
            Route("/dashboard", dashboard),
            Route("/admin", admin),
            Route("/dashboard/sync", dashboard_sync),
            Route("/redirecting", redirecting),
            Route("/redirecting/sync", redirecting_sync),
            Route("/hidden", hidden),
            Route("/endpoint", Endpoint),
            WebSocketRoute("/ws", websocket_endpoint),
        ],
        middleware=[Middleware(AuthenticationMiddleware, BasicAuth(), **middleware_options)],
    )


@pytest.fixture
def client(test_client_factory: TestClientFactory) -> TestClient:
    return test_client_factory(make_app())


def test_unauthenticated_user(client: TestClient) -> None:
    response = client.get("/")
    assert response.json() == {"authenticated": False, "user": "", "scopes": []}


def test_authenticated_user(client: TestClient) -> None:
    response = client.get("/", headers=basic("tomchristie"))
    assert response.json() == {
        "authenticated": True,
        "user": "tomchristie",
        "scopes": ["authenticated"],
    }


def test_requires_async(client: TestClient) -> None:
    assert client.get("/dashboard").status_code == 403
    response = client.get("/dashboard", headers=basic("tomchristie"))
    assert response.status_code == 200
    assert response.json()["user"] == "tomchristie"


def test_requires_sync(client: TestClient) -> None:
    assert client.get("/dashboard/sync").status_code == 403
    response = client.get("/dashboard/sync", headers=basic("tomchristie"))
    assert response.json()["user"] == "tomchristie"


def test_requires_every_scope(client: TestClient) -> None:
    assert client.get("/admin").status_code == 403
    assert client.get("/admin", headers=basic("tomchristie")).status_code == 403
    response = client.get("/admin", headers=basic("admin"))
    assert response.status_code == 200
    assert response.json()["scopes"] == ["authenticated", "admin"]


def test_requires_custom_status_code(client: TestClient) -> None:
    response = client.get("/hidden")
    assert (response.status_code, response.text) == (404, "Not Found")
    assert client.get("/hidden", headers=basic("admin")).status_code == 200


@pytest.mark.parametrize("path", ["/redirecting", "/redirecting/sync"])
def test_requires_redirect(path: str, test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(make_app(), follow_redirects=False)
    response = client.get(path + "?page=2")
    assert response.status_code == 303
    next_url = urlencode({"next": f"http://testserver{path}?page=2"})
    assert response.headers["location"] == f"http://testserver/?{next_url}"
    response = client.get(path, headers=basic("tomchristie"))
    assert response.status_code == 200
    assert response.json()["user"] == "tomchristie"


def test_requires_on_endpoint_methods(client: TestClient) -> None:
    assert client.get("/endpoint").status_code == 403
    assert client.get("/endpoint", headers=basic("tomchristie")).json()["user"] == "tomchristie"
    assert client.post("/endpoint", headers=basic("tomchristie")).status_code == 403
    assert client.post("/endpoint", headers=basic("admin")).json()["user"] == "admin"


def test_requires_websocket(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect("/ws"):
        pass  # pragma: no cover
    assert info.value.code == 1000
    with client.websocket_connect("/ws", headers=basic("tomchristie")) as websocket:
        assert websocket.receive_json() == {"user": "tomchristie"}


def test_request_without_middleware_asserts(test_client_factory: TestClientFactory) -> None:
    app = App(routes=[Route("/", dashboard)])
    with pytest.raises(AssertionError, match="AuthenticationMiddleware must be installed"):
        test_client_factory(app).get("/")


def test_requires_without_connection_parameter() -> None:
    def no_request(thing: Any) -> None: ...

    with pytest.raises(TypeError, match='No "request" or "websocket" argument on function'):
        requires("authenticated")(no_request)
    # Starlette raised a bare Exception; code catching that still works.
    with pytest.raises(Exception, match="No"):
        requires("authenticated")(no_request)


def test_requires_wrong_argument_type() -> None:
    @requires("authenticated")
    def endpoint(request: Request) -> None: ...

    with pytest.raises(TypeError, match="expected a Request as argument 'request'"):
        endpoint("not a request")  # type: ignore[arg-type]


def test_requires_by_keyword() -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [],
        "auth": AuthCredentials(["a"]),
        "user": SimpleUser("x"),
    }

    @requires("a")
    def endpoint(request: Request) -> str:
        return "ok"

    assert endpoint(request=Request(scope)) == "ok"


def test_requires_keeps_the_signature() -> None:
    async def original(request: Request, extra: int = 1) -> Response:
        """Doc of the original."""
        return Response()

    wrapped = requires("x")(original)
    assert inspect.signature(wrapped) == inspect.signature(original)
    assert wrapped.__name__ == "original"
    assert wrapped.__doc__ == "Doc of the original."
    assert inspect.iscoroutinefunction(wrapped)
    assert not inspect.iscoroutinefunction(requires("x")(dashboard_sync.__wrapped__))  # type: ignore[attr-defined]

    # The type checker sees the original parameters (checked by mypy on this file):
    # passing a string where an int is expected is an error it reports.
    async def call() -> None:
        await wrapped(Request({"type": "http"}), extra="no")  # type: ignore[arg-type]


def test_has_required_scope() -> None:
    conn = HTTPConnection({"type": "http", "auth": AuthCredentials(["a", "b"])})
    assert has_required_scope(conn, [])
    assert has_required_scope(conn, ["a"])
    assert has_required_scope(conn, ["a", "b"])
    assert not has_required_scope(conn, ["a", "c"])


def test_auth_credentials() -> None:
    assert AuthCredentials().scopes == []
    assert AuthCredentials(("a", "b")).scopes == ["a", "b"]


def test_users() -> None:
    user = SimpleUser("bob")
    assert (user.is_authenticated, user.display_name, user.identity) == (True, "bob", "bob")
    assert user.username == "bob"
    anonymous = UnauthenticatedUser()
    assert (anonymous.is_authenticated, anonymous.display_name, anonymous.identity) == (
        False,
        "",
        "",
    )
    base = BaseUser()
    for name in ("is_authenticated", "display_name", "identity"):
        with pytest.raises(NotImplementedError):
            getattr(base, name)


@pytest.mark.anyio
async def test_backend_must_be_implemented() -> None:
    with pytest.raises(NotImplementedError):
        await AuthenticationBackend().authenticate(HTTPConnection({"type": "http"}))
