from __future__ import annotations

import json
import re
import time
from base64 import b64encode
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
import itsdangerous
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework.applications import App
from framework.datastructures import Secret
from framework.middleware import Middleware
from framework.middleware.sessions import Session, SessionMiddleware
from framework.requests import Request
from framework.responses import JSONResponse
from framework.routing import Route
from framework.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from testing.client import TestClient

TestClientFactory = Callable[..., "TestClient"]

Action = Callable[[dict[str, Any]], None]
DELETE_COOKIE = (
    "session=null; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly; samesite=lax"
)


def make_app(
    action: Action | None = None, headers: list[tuple[bytes, bytes]] | None = None
) -> ASGIApp:
    """An app that runs ``action`` on the session, then answers with the session as JSON."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        session: dict[str, Any] = scope["session"]
        if action is not None:
            action(session)
        body = json.dumps(dict(session), sort_keys=True).encode()
        start = {"type": "http.response.start", "status": 200, "headers": list(headers or [])}
        await send(start)
        await send({"type": "http.response.body", "body": body})

    return app


class Result:
    def __init__(self, messages: list[Message]) -> None:
        self.status: int = messages[0]["status"]
        self.headers: list[tuple[str, str]] = [
            (name.decode(), value.decode()) for name, value in messages[0]["headers"]
        ]
        self.session = json.loads(messages[1]["body"])

    def getlist(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]

    @property
    def set_cookie(self) -> str | None:
        values = self.getlist("set-cookie")
        assert len(values) <= 1
        return values[0] if values else None

    @property
    def cookie_value(self) -> str:
        assert self.set_cookie is not None
        return self.set_cookie.split(";")[0].partition("=")[2]


async def request(app: ASGIApp, cookie: str | None = None, name: str = "session") -> Result:
    headers = [] if cookie is None else [(b"cookie", f"{name}={cookie}".encode("latin-1"))]
    scope: Scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    await app(scope, receive, send)
    return Result(messages)


def sessions(action: Action | None = None, **options: Any) -> SessionMiddleware:
    options.setdefault("secret_key", "secret")
    return SessionMiddleware(make_app(action), **options)


def set_a(session: dict[str, Any]) -> None:
    session["a"] = 1


def sign(payload: bytes, secret: str = "secret", age: int = 0) -> str:
    signer = itsdangerous.TimestampSigner(secret)
    signer.get_timestamp = lambda: int(time.time()) - age  # type: ignore[method-assign]
    return signer.sign(payload).decode()


VALID = sign(b64encode(b'{"a": 1}'))


# ------------------------------------------------------------------------------ the session


def test_session_tracks_reads_and_changes() -> None:
    session = Session({"a": 1})
    assert (session.accessed, session.modified) == (False, False)
    session.mark_accessed()
    assert (session.accessed, session.modified) == (True, False)
    session.mark_modified()
    assert (session.accessed, session.modified) == (True, True)


@pytest.mark.parametrize(
    ("action", "accessed", "modified"),
    [
        (lambda s: s["a"], True, False),
        (lambda s: s.get("zz"), True, False),
        (lambda s: "a" in s, True, False),
        (lambda s: list(s), True, False),
        (lambda s: len(s), True, False),
        (lambda s: s.keys(), True, False),
        (lambda s: s.values(), True, False),
        (lambda s: s.items(), True, False),
        (lambda s: s.__setitem__("a", 1), True, True),
        (lambda s: s.__delitem__("a"), True, True),
        (lambda s: s.clear(), True, True),
        (lambda s: s.pop("a"), True, True),
        (lambda s: s.pop("zz", None), True, False),
        (lambda s: s.popitem(), True, True),
        (lambda s: s.setdefault("a", 2), True, False),
        (lambda s: s.setdefault("b", 2), True, True),
        (lambda s: s.update(), True, True),
        (lambda s: s.update({"b": 2}, c=3), True, True),
        (lambda s: s.__ior__({"b": 2}), True, True),
    ],
)
def test_session_operations(
    action: Callable[[Session], object], accessed: bool, modified: bool
) -> None:
    session = Session({"a": 1})
    action(session)
    assert (session.accessed, session.modified) == (accessed, modified)


def test_session_mutations_behave_like_dict() -> None:
    session = Session({"a": 1})
    assert session.pop("a") == 1
    assert session.pop("a", "default") == "default"
    with pytest.raises(KeyError):
        session.pop("a")
    session.update({"b": 2}, c=3)
    session |= {"d": 4}
    assert session == {"b": 2, "c": 3, "d": 4}
    assert isinstance(session, Session)
    assert session.popitem() == ("d", 4)
    assert session.setdefault("e", 5) == 5
    session.clear()
    with pytest.raises(KeyError):
        session.popitem()
    with pytest.raises(KeyError):
        del session["missing"]


# ------------------------------------------------------------------------------- the cookie


@pytest.mark.anyio
async def test_new_session_sets_a_signed_cookie() -> None:
    result = await request(sessions(set_a))
    assert result.session == {"a": 1}
    assert result.getlist("vary") == ["Cookie"]
    assert result.set_cookie is not None
    assert re.fullmatch(
        r"session=eyJhIjogMX0=\.[\w-]+\.[\w-]+; path=/; Max-Age=1209600; httponly; samesite=lax",
        result.set_cookie,
    )
    again = await request(sessions(), result.cookie_value)
    assert again.session == {"a": 1}


@pytest.mark.anyio
async def test_cookie_options() -> None:
    app = sessions(
        set_a,
        session_cookie="sid",
        max_age=None,
        path="/app",
        same_site="strict",
        https_only=True,
        domain="example.com",
        partitioned=True,
    )
    result = await request(app)
    assert result.set_cookie is not None
    assert result.set_cookie.startswith("sid=")
    assert result.set_cookie.endswith(
        "; path=/app; httponly; samesite=strict; secure; domain=example.com; partitioned"
    )


@pytest.mark.anyio
async def test_max_age_zero_is_written() -> None:
    result = await request(sessions(set_a, max_age=0))
    assert result.set_cookie is not None
    assert "; Max-Age=0; " in result.set_cookie


@pytest.mark.anyio
async def test_unchanged_session_sets_no_cookie_but_varies() -> None:
    result = await request(sessions(lambda s: s.get("a")), VALID)
    assert result.session == {"a": 1}
    assert result.set_cookie is None
    assert result.getlist("vary") == ["Cookie"]


@pytest.mark.anyio
async def test_untouched_session_adds_nothing() -> None:
    middleware = SessionMiddleware(_untouched_app, secret_key="secret")
    messages: list[Message] = []

    async def send(message: Message) -> None:
        messages.append(message)

    for cookie in (None, VALID, "garbage"):
        headers = [] if cookie is None else [(b"cookie", f"session={cookie}".encode())]
        scope: Scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
        await middleware(scope, _no_receive, send)
        assert messages.pop(0)["headers"] == [(b"content-type", b"text/plain")]
        messages.clear()


async def _untouched_app(scope: Scope, receive: Receive, send: Send) -> None:
    headers = [(b"content-type", b"text/plain")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


async def _no_receive() -> Message:
    raise AssertionError("unreachable")


@pytest.mark.anyio
async def test_setting_an_unchanged_value_still_rewrites_the_cookie() -> None:
    result = await request(sessions(set_a), VALID)
    assert result.set_cookie is not None


@pytest.mark.anyio
async def test_clearing_a_stored_session_deletes_the_cookie() -> None:
    result = await request(sessions(lambda s: s.clear()), VALID)
    assert result.session == {}
    assert result.set_cookie == DELETE_COOKIE
    emptied = await request(sessions(lambda s: s.pop("a")), VALID)
    assert emptied.set_cookie == DELETE_COOKIE


@pytest.mark.anyio
async def test_deleting_keeps_the_cookie_attributes() -> None:
    app = sessions(lambda s: s.clear(), https_only=True, domain="example.com", path="/p")
    result = await request(app, VALID)
    assert result.set_cookie == (
        "session=null; path=/p; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly; "
        "samesite=lax; secure; domain=example.com"
    )


@pytest.mark.anyio
@pytest.mark.parametrize("cookie", [None, "garbage", VALID + "x"])
async def test_clearing_without_a_valid_cookie_sets_nothing(cookie: str | None) -> None:
    result = await request(sessions(lambda s: s.clear()), cookie)
    assert result.set_cookie is None


@pytest.mark.anyio
async def test_valid_cookie_with_empty_session_is_deleted_when_cleared() -> None:
    result = await request(sessions(lambda s: s.clear()), sign(b64encode(b"{}")))
    assert result.set_cookie == DELETE_COOKIE


@pytest.mark.anyio
async def test_secret_object_and_existing_vary() -> None:
    middleware = SessionMiddleware(
        make_app(set_a, [(b"vary", b"Accept")]), secret_key=Secret("secret")
    )
    result = await request(middleware)
    assert result.getlist("vary") == ["Accept, Cookie"]
    assert (await request(sessions(), result.cookie_value)).session == {"a": 1}


@pytest.mark.anyio
async def test_app_may_replace_the_session_with_a_plain_dict() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scope["session"] = {"fresh": True}
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    result = await request(SessionMiddleware(app, secret_key="secret"))
    assert (await request(sessions(), result.cookie_value)).session == {"fresh": True}


@pytest.mark.anyio
async def test_cookie_among_others() -> None:
    result = await request(sessions(), f"x; other=1; session={VALID}; more=2", name="a")
    assert result.session == {"a": 1}


# --------------------------------------------------------------------------- bad cookies


@pytest.mark.anyio
@pytest.mark.parametrize(
    "cookie",
    [
        "",
        "garbage",
        "a.b.c",
        VALID[:-1],
        VALID.replace("eyJhIjogMX0=", "eyJhIjogMn0="),  # payload {"a": 2}, old signature
        sign(b64encode(b'{"a": 1}'), secret="other-secret"),
        sign(b64encode(b'{"a": 1}'), age=61),  # expired with max_age=60
        sign(b"!!!not base64"),
        sign(b64encode(b"not json")),
        sign(b64encode(b"[1, 2]")),
        sign(b64encode(b'"text"')),
        sign(b64encode(b"\xff\xfe")),
    ],
)
async def test_bad_cookie_gives_an_empty_session(cookie: str) -> None:
    result = await request(sessions(max_age=60), cookie)
    assert result.status == 200
    assert result.session == {}
    assert result.set_cookie is None


@pytest.mark.anyio
async def test_old_cookie_is_valid_without_max_age() -> None:
    result = await request(sessions(max_age=None), sign(b64encode(b'{"a": 1}'), age=10**8))
    assert result.session == {"a": 1}


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=120))
def test_any_cookie_value_gives_200_and_an_empty_session(cookie: str) -> None:
    result = anyio.run(request, sessions(), cookie)
    assert result.status == 200
    assert result.session == {}


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=10), st.integers() | st.text(max_size=10), max_size=5))
def test_session_round_trips(data: dict[str, Any]) -> None:
    def store(session: dict[str, Any]) -> None:
        session.update(data)

    first = anyio.run(request, sessions(store))
    if not data:
        assert first.set_cookie is None
        return
    assert anyio.run(request, sessions(), first.cookie_value).session == data


# -------------------------------------------------------------------------- configuration


def test_same_site_is_validated() -> None:
    with pytest.raises(ValueError, match=r"same_site='bogus'"):
        SessionMiddleware(make_app(), secret_key="k", same_site="bogus")  # type: ignore[arg-type]


# -------------------------------------------------------------------------- other scopes


@pytest.mark.anyio
async def test_websocket_gets_the_session_and_an_untouched_send() -> None:
    seen: list[dict[str, Any]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["session"])
        await send({"type": "websocket.accept"})

    messages: list[Message] = []

    async def send(message: Message) -> None:
        messages.append(message)

    scope: Scope = {
        "type": "websocket",
        "path": "/",
        "headers": [(b"cookie", f"session={VALID}".encode())],
    }
    await SessionMiddleware(app, secret_key="secret")(scope, _no_receive, send)
    assert seen == [{"a": 1}]
    assert messages == [{"type": "websocket.accept"}]


@pytest.mark.anyio
async def test_lifespan_passes_through() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    async def send(message: Message) -> None:
        raise AssertionError("unreachable")

    await SessionMiddleware(app, secret_key="k")({"type": "lifespan"}, _no_receive, send)
    assert seen == [{"type": "lifespan"}]


# --------------------------------------------------------------------------- test client


def test_through_the_test_client(test_client_factory: TestClientFactory) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        session = scope["session"]
        if scope["path"] == "/login":
            session["user"] = "ada"
        elif scope["path"] == "/logout":
            session.clear()
        body = json.dumps(dict(session)).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    client = test_client_factory(SessionMiddleware(app, secret_key="secret"))
    assert client.get("/").json() == {}
    assert client.get("/login").json() == {"user": "ada"}
    assert client.get("/").json() == {"user": "ada"}
    response = client.get("/logout")
    assert response.json() == {}
    assert response.headers["set-cookie"].startswith("session=null;")
    assert client.get("/").json() == {}
    client.cookies.set("session", "tampered")
    assert client.get("/").json() == {}


def test_request_session_in_an_application(test_client_factory: TestClientFactory) -> None:

    async def count(request: Request) -> JSONResponse:
        request.session["count"] = request.session.get("count", 0) + 1
        return JSONResponse(request.session)

    app = App(
        routes=[Route("/", count)],
        middleware=[Middleware(SessionMiddleware, secret_key="secret", https_only=True)],
    )
    client = test_client_factory(app, base_url="https://testserver")
    assert client.get("/").json() == {"count": 1}
    response = client.get("/")
    assert response.json() == {"count": 2}
    assert response.headers["vary"] == "Cookie"
    assert "; secure" in response.headers["set-cookie"]
