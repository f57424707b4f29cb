from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framework.middleware.cors import ALL_METHODS, SAFELISTED_HEADERS, CORSMiddleware
from framework.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from testing.client import TestClient

TestClientFactory = Callable[..., "TestClient"]

PREFLIGHT_VARY = (
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, "
    "Access-Control-Request-Private-Network"
)
DEFAULT_ALLOW_HEADERS = "Accept, Accept-Language, Content-Language, Content-Type"


def make_app(headers: Sequence[tuple[bytes, bytes]] = ()) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raw = [(b"content-type", b"text/plain"), *headers]
        await send({"type": "http.response.start", "status": 200, "headers": raw})
        await send({"type": "http.response.body", "body": b"app"})

    return app


class Result:
    """A response as the tests look at it: status, headers (names lower-cased) and body."""

    def __init__(self, messages: list[Message]) -> None:
        start, *rest = messages
        self.status: int = start["status"]
        self.raw: list[tuple[str, str]] = [
            (name.decode("latin-1"), value.decode("latin-1")) for name, value in start["headers"]
        ]
        self.body = b"".join(message.get("body", b"") for message in rest)

    def get(self, name: str) -> str | None:
        values = self.getlist(name)
        assert len(values) <= 1, f"{name} sent {len(values)} times"
        return values[0] if values else None

    def getlist(self, name: str) -> list[str]:
        return [value for key, value in self.raw if key == name]


async def request(
    middleware: ASGIApp, method: str = "GET", headers: dict[str, str] | None = None
) -> Result:
    scope: Scope = {
        "type": "http",
        "method": method,
        "path": "/",
        "headers": [(k.encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    await middleware(scope, receive, send)
    return Result(messages)


def cors(app: ASGIApp | None = None, **options: Any) -> CORSMiddleware:
    return CORSMiddleware(app or make_app(), **options)


def preflight_headers(
    origin: str = "https://a.com", method: str = "GET", **more: str
) -> dict[str, str]:
    headers = {"origin": origin, "access-control-request-method": method}
    headers.update({k.replace("_", "-"): v for k, v in more.items()})
    return headers


# -------------------------------------------------------------------------- simple requests


@pytest.mark.anyio
async def test_request_without_origin_only_gets_vary() -> None:
    result = await request(cors(allow_origins=["*"], expose_headers=["X-E"]))
    assert result.body == b"app"
    assert result.get("vary") == "Origin"
    assert result.get("access-control-allow-origin") is None
    assert result.get("access-control-expose-headers") is None


@pytest.mark.anyio
async def test_wildcard_origin_without_credentials() -> None:
    result = await request(cors(allow_origins=["*"]), headers={"origin": "https://a.com"})
    assert result.get("access-control-allow-origin") == "*"
    assert result.get("access-control-allow-credentials") is None
    assert result.get("vary") == "Origin"


@pytest.mark.anyio
@pytest.mark.parametrize("cookie", [None, "session=1"])
async def test_a_wildcard_origin_never_gets_credentials(cookie: str | None) -> None:
    # Starlette echoes any origin with credentials when the request has cookies: every site
    # could then read the user's authenticated responses. A wildcard grants "*" only.
    app = cors(allow_origins=["*"], allow_credentials=True)
    headers = {"origin": "https://evil.example"}
    if cookie is not None:
        headers["cookie"] = cookie
    result = await request(app, headers=headers)
    assert result.get("access-control-allow-origin") == "*"
    assert result.get("access-control-allow-credentials") is None
    assert result.get("vary") == "Origin"


@pytest.mark.anyio
async def test_a_listed_origin_beside_a_wildcard_gets_credentials() -> None:
    app = cors(allow_origins=["*", "https://a.com"], allow_credentials=True)
    result = await request(app, headers={"origin": "https://a.com"})
    assert result.get("access-control-allow-origin") == "https://a.com"
    assert result.get("access-control-allow-credentials") == "true"


@pytest.mark.anyio
async def test_listed_origin_is_echoed_with_exposed_headers() -> None:
    app = cors(allow_origins=["https://a.com"], expose_headers=["X-E", "x-f"])
    result = await request(app, headers={"origin": "https://a.com"})
    assert result.get("access-control-allow-origin") == "https://a.com"
    assert result.get("access-control-expose-headers") == "X-E, x-f"


@pytest.mark.anyio
@pytest.mark.parametrize("origin", ["https://b.com", "https://A.com", "null", "https://a.com.evil"])
async def test_unlisted_origin_gets_no_allow_origin(origin: str) -> None:
    app = cors(allow_origins=["https://a.com"], allow_credentials=True, expose_headers=["X-E"])
    result = await request(app, headers={"origin": origin})
    assert result.body == b"app"
    assert result.get("access-control-allow-origin") is None
    # NOTE: as in Starlette, the origin-independent headers are still sent.
    assert result.get("access-control-allow-credentials") == "true"
    assert result.get("access-control-expose-headers") == "X-E"
    assert result.get("vary") == "Origin"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://x.a.com", True),
        ("https://x.y.a.com", True),
        ("https://x.a.com.evil.com", False),
        ("https://a.com", False),
        ("http://x.a.com", False),
    ],
)
async def test_origin_regex_must_match_the_whole_origin(origin: str, allowed: bool) -> None:
    app = cors(allow_origin_regex=r"https://.*\.a\.com")
    result = await request(app, headers={"origin": origin})
    assert result.get("access-control-allow-origin") == (origin if allowed else None)
    assert app.is_allowed_origin(origin) is allowed


@pytest.mark.anyio
async def test_listed_origins_and_regex_combine() -> None:
    app = cors(allow_origins=["https://z.com"], allow_origin_regex=r"https://a.*")
    for origin in ("https://z.com", "https://abc"):
        result = await request(app, headers={"origin": origin})
        assert result.get("access-control-allow-origin") == origin


@pytest.mark.anyio
async def test_policy_replaces_the_apps_allow_origin_when_it_sends_one() -> None:
    app = make_app([(b"access-control-allow-origin", b"https://z.com")])
    result = await request(cors(app, allow_origins=["*"]), headers={"origin": "https://a.com"})
    assert result.get("access-control-allow-origin") == "*"
    result = await request(
        cors(app, allow_origins=["https://a.com"]), headers={"origin": "https://a.com"}
    )
    assert result.get("access-control-allow-origin") == "https://a.com"
    result = await request(
        cors(app, allow_origins=["https://a.com"]), headers={"origin": "https://b.com"}
    )
    assert result.get("access-control-allow-origin") == "https://z.com"


@pytest.mark.anyio
async def test_existing_vary_headers_are_merged() -> None:
    app = make_app([(b"vary", b"Accept-Encoding"), (b"vary", b"Cookie")])
    result = await request(cors(app, allow_origins=["*"]), headers={"origin": "https://a.com"})
    assert result.getlist("vary") == ["Accept-Encoding, Cookie, Origin"]
    result = await request(cors(app))
    assert result.getlist("vary") == ["Accept-Encoding, Cookie, Origin"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://a.com"},
        {"access-control-request-method": "GET"},
        {},
    ],
)
async def test_options_without_origin_and_request_method_reaches_the_app(
    headers: dict[str, str],
) -> None:
    result = await request(cors(allow_origins=["*"]), "OPTIONS", headers)
    assert result.body == b"app"


@pytest.mark.anyio
async def test_request_method_header_on_other_methods_is_not_a_preflight() -> None:
    result = await request(cors(allow_origins=["*"]), "POST", preflight_headers())
    assert result.body == b"app"


# -------------------------------------------------------------------------------- preflight


@pytest.mark.anyio
async def test_preflight_allowed() -> None:
    app = cors(allow_origins=["https://a.com"], allow_headers=["X-Token"], max_age=50)
    result = await request(
        app, "OPTIONS", preflight_headers(access_control_request_headers="x-token, Accept")
    )
    assert (result.status, result.body) == (200, b"OK")
    assert result.get("vary") == PREFLIGHT_VARY
    assert result.get("access-control-allow-origin") == "https://a.com"
    assert result.get("access-control-allow-methods") == "GET"
    assert result.get("access-control-max-age") == "50"
    assert result.get("access-control-allow-headers") == f"{DEFAULT_ALLOW_HEADERS}, X-Token"
    assert result.get("access-control-allow-credentials") is None
    assert result.get("content-type") == "text/plain; charset=utf-8"
    assert result.get("content-length") == "2"


@pytest.mark.anyio
async def test_preflight_with_wildcards() -> None:
    app = cors(allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])
    headers = preflight_headers(method="PATCH", access_control_request_headers="X-Foo,  x-bar")
    result = await request(app, "OPTIONS", headers)
    assert result.status == 200
    assert result.get("access-control-allow-origin") == "*"
    assert result.get("access-control-allow-methods") == ", ".join(ALL_METHODS)
    assert result.get("access-control-allow-headers") == "X-Foo,  x-bar"


@pytest.mark.anyio
async def test_preflight_wildcard_headers_without_request_headers() -> None:
    app = cors(allow_origins=["*"], allow_headers=["*"])
    result = await request(app, "OPTIONS", preflight_headers())
    assert result.status == 200
    assert result.get("access-control-allow-headers") is None


@pytest.mark.anyio
async def test_preflight_from_a_wildcard_origin_gets_no_credentials() -> None:
    app = cors(allow_origins=["*"], allow_credentials=True, allow_headers=["*"])
    result = await request(app, "OPTIONS", preflight_headers(origin="null"))
    assert result.status == 200
    assert result.get("access-control-allow-origin") == "*"
    assert result.get("access-control-allow-credentials") is None


@pytest.mark.anyio
async def test_preflight_from_a_listed_origin_with_credentials_echoes_it() -> None:
    app = cors(allow_origins=["https://a.com"], allow_credentials=True, allow_headers=["*"])
    result = await request(app, "OPTIONS", preflight_headers(origin="https://a.com"))
    assert result.status == 200
    assert result.get("access-control-allow-origin") == "https://a.com"
    assert result.get("access-control-allow-credentials") == "true"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (preflight_headers(origin="https://b.com"), "Disallowed CORS origin"),
        (preflight_headers(method="PUT"), "Disallowed CORS method"),
        (preflight_headers(method="get"), "Disallowed CORS method"),
        (preflight_headers(access_control_request_headers="x-other"), "Disallowed CORS headers"),
        (preflight_headers(access_control_request_headers=""), "Disallowed CORS headers"),
        (
            preflight_headers(access_control_request_headers="accept,,content-type"),
            "Disallowed CORS headers",
        ),
        (
            preflight_headers(access_control_request_private_network="true"),
            "Disallowed CORS private-network",
        ),
        (
            preflight_headers(
                origin="https://b.com",
                method="PUT",
                access_control_request_headers="x-other",
                access_control_request_private_network="true",
            ),
            "Disallowed CORS origin, method, headers, private-network",
        ),
    ],
)
async def test_preflight_refused(headers: dict[str, str], message: str) -> None:
    result = await request(cors(allow_origins=["https://a.com"]), "OPTIONS", headers)
    assert (result.status, result.body.decode()) == (400, message)
    assert result.get("vary") == PREFLIGHT_VARY
    assert result.get("access-control-allow-methods") == "GET"
    if "origin" in message:
        assert result.get("access-control-allow-origin") is None


@pytest.mark.anyio
async def test_wildcard_methods_still_refuse_unknown_methods() -> None:
    app = cors(allow_origins=["*"], allow_methods=["*"])
    result = await request(app, "OPTIONS", preflight_headers(method="FOO"))
    assert (result.status, result.body) == (400, b"Disallowed CORS method")


@pytest.mark.anyio
async def test_method_names_are_case_sensitive() -> None:
    app = cors(allow_origins=["*"], allow_methods=["GET", "post"])
    assert (await request(app, "OPTIONS", preflight_headers(method="post"))).status == 200
    assert (await request(app, "OPTIONS", preflight_headers(method="POST"))).status == 400
    result = await request(app, "OPTIONS", preflight_headers())
    assert result.get("access-control-allow-methods") == "GET, post"


@pytest.mark.anyio
async def test_private_network_access() -> None:
    app = cors(allow_origins=["https://a.com"], allow_private_network=True)
    result = await request(
        app, "OPTIONS", preflight_headers(access_control_request_private_network="true")
    )
    assert result.status == 200
    assert result.get("access-control-allow-private-network") == "true"
    result = await request(app, "OPTIONS", preflight_headers())
    assert result.get("access-control-allow-private-network") is None


@pytest.mark.anyio
async def test_allowed_headers_listing_is_sorted_and_deduplicated() -> None:
    app = cors(allow_origins=["*"], allow_headers=["x-b", "X-A", "Accept"])
    result = await request(app, "OPTIONS", preflight_headers(access_control_request_headers="X-B"))
    assert result.status == 200
    assert result.get("access-control-allow-headers") == f"{DEFAULT_ALLOW_HEADERS}, X-A, x-b"
    assert {"Accept", "Accept-Language", "Content-Language", "Content-Type"} == SAFELISTED_HEADERS


# --------------------------------------------------------------------- credentials property

ORIGINS = ["https://a.com", "https://b.com", "http://x.a.com", "null"]


@given(
    allow_origins=st.lists(st.sampled_from([*ORIGINS, "*"]), max_size=3),
    allow_credentials=st.booleans(),
    use_regex=st.booleans(),
    origin=st.sampled_from([*ORIGINS, "https://evil.com"]),
    preflight=st.booleans(),
)
def test_wildcard_is_never_sent_with_credentials(
    allow_origins: list[str], allow_credentials: bool, use_regex: bool, origin: str, preflight: bool
) -> None:
    app = cors(
        allow_origins=allow_origins,
        allow_credentials=allow_credentials,
        allow_origin_regex=r"https?://.*\.a\.com" if use_regex else None,
    )
    method, headers = (
        ("OPTIONS", preflight_headers(origin)) if preflight else ("GET", {"origin": origin})
    )
    result = anyio.run(request, app, method, headers)
    allow_origin = result.get("access-control-allow-origin")
    credentials = result.get("access-control-allow-credentials")
    assert not (allow_origin == "*" and credentials == "true")
    listed = origin in allow_origins or (
        use_regex and re.fullmatch(r"https?://.*\.a\.com", origin) is not None
    )
    if allow_credentials and "*" in allow_origins and not listed:
        assert credentials is None
    elif allow_credentials:
        assert credentials == "true"
    if allow_origin is not None:
        assert app.is_allowed_origin(origin)
        assert allow_origin in ("*", origin)
    elif app.is_allowed_origin(origin):
        raise AssertionError("an allowed origin got no Access-Control-Allow-Origin")
    assert "Origin" in (result.get("vary") or "")


# ---------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    "option", ["allow_origins", "allow_methods", "allow_headers", "expose_headers"]
)
def test_a_plain_string_is_refused(option: str) -> None:
    options: dict[str, Any] = {option: "x"}
    with pytest.raises(TypeError, match=rf"{option}=\['x'\]"):
        CORSMiddleware(make_app(), **options)


@pytest.mark.anyio
async def test_other_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def receive() -> Message:
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        raise AssertionError("unreachable")

    middleware = cors(app, allow_origins=["*"])
    await middleware(
        {"type": "websocket", "headers": [(b"origin", b"https://a.com")]}, receive, send
    )
    await middleware({"type": "lifespan"}, receive, send)
    assert seen == ["websocket", "lifespan"]


# ------------------------------------------------------------------------------ test client


def test_through_the_test_client(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(
        cors(allow_origins=["https://a.com"], allow_methods=["GET", "POST"], allow_credentials=True)
    )
    response = client.get("/", headers={"origin": "https://a.com"})
    assert response.text == "app"
    assert response.headers["access-control-allow-origin"] == "https://a.com"
    assert response.headers["access-control-allow-credentials"] == "true"
    response = client.options("/", headers=preflight_headers(method="POST"))
    assert (response.status_code, response.text) == (200, "OK")
    response = client.options("/", headers=preflight_headers(method="DELETE"))
    assert (response.status_code, response.text) == (400, "Disallowed CORS method")
