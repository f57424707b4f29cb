from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from framework.middleware.trustedhost import (
    ENFORCE_DOMAIN_WILDCARD,
    ParsedHost,
    TrustedHostMiddleware,
    parse_host_header,
)
from framework.responses import PlainTextResponse
from framework.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from testing.client import TestClient

TestClientFactory = Callable[..., "TestClient"]


async def ok_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.accept"})
        return
    await PlainTextResponse("ok")(scope, receive, send)


def make_scope(host: str | None, **extra: Any) -> Scope:
    scope: Scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "root_path": "",
        "query_string": b"",
        "server": ("testserver", 80),
        "headers": [] if host is None else [(b"host", host.encode("latin-1"))],
    }
    scope.update(extra)
    return scope


async def call(app: ASGIApp, scope: Scope) -> list[Message]:
    messages: list[Message] = []

    async def receive() -> Message:
        if scope["type"] == "websocket":
            return {"type": "websocket.connect"}
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    await app(scope, receive, send)
    return messages


async def run(app: ASGIApp, scope: Scope) -> tuple[int, dict[bytes, bytes], bytes]:
    messages = await call(app, scope)
    start, *rest = messages
    body = b"".join(message.get("body", b"") for message in rest)
    return start["status"], dict(start["headers"]), body


async def status_of(allowed: list[str] | None, host: str | None, **extra: Any) -> int:
    return (
        await run(TrustedHostMiddleware(ok_app, allowed_hosts=allowed), make_scope(host, **extra))
    )[0]


# ------------------------------------------------------------------------------------ matching


@pytest.mark.anyio
@pytest.mark.parametrize("host", ["example.com", "anything", "bad host", None])
async def test_default_and_star_allow_every_host(host: str | None) -> None:
    assert await status_of(None, host) == 200
    assert await status_of(["*"], host) == 200
    assert await status_of(["example.com", "*"], host) == 200


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("example.com", 200),
        ("EXAMPLE.com", 200),
        ("example.com:8000", 200),
        ("evil.com", 400),
        ("example.com.evil.com", 400),
        ("wwwexample.com", 400),
        ("example.com.", 400),
    ],
)
async def test_exact_hosts_match_case_insensitively_without_port(host: str, status: int) -> None:
    assert await status_of(["Example.COM"], host) == status


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("a.example.com", 200),
        ("A.b.Example.com:443", 200),
        ("example.com", 400),
        ("aexample.com", 400),
        ("a.example.com.evil", 400),
    ],
)
async def test_wildcard_matches_subdomains_only(host: str, status: int) -> None:
    assert await status_of(["*.example.com"], host) == status


@pytest.mark.anyio
async def test_ipv6_host_keeps_brackets() -> None:
    assert await status_of(["[::1]"], "[::1]:8000") == 200
    assert await status_of(["::1"], "[::1]:8000") == 400


@pytest.mark.anyio
@pytest.mark.parametrize(
    "host", [None, "", "bad host", "example.com:abc", "u@example.com", "example.com/x", "[::1"]
)
async def test_missing_or_invalid_host_is_refused(host: str | None) -> None:
    status, headers, body = await run(
        TrustedHostMiddleware(ok_app, allowed_hosts=["example.com", "testserver"]),
        make_scope(host),
    )
    assert (status, body) == (400, b"Invalid host header")
    assert headers[b"content-type"] == b"text/plain; charset=utf-8"


@pytest.mark.anyio
async def test_empty_allow_list_refuses_everything() -> None:
    assert await status_of([], "example.com") == 400


@pytest.mark.anyio
async def test_a_lone_string_is_one_pattern() -> None:
    middleware = TrustedHostMiddleware(ok_app, allowed_hosts="example.com")
    assert middleware.allowed_hosts == ["example.com"]
    assert (await run(middleware, make_scope("example.com")))[0] == 200


# -------------------------------------------------------------------------------- www redirect


@pytest.mark.anyio
async def test_www_redirect_keeps_scheme_port_path_and_query() -> None:
    app = TrustedHostMiddleware(ok_app, allowed_hosts=["www.example.com"])
    status, headers, _ = await run(
        app, make_scope("Example.com:8000", path="/a b", query_string=b"x=1&y=%20")
    )
    assert status == 307
    assert headers[b"location"] == b"http://www.Example.com:8000/a%20b?x=1&y=%20"

    status, headers, _ = await run(app, make_scope("example.com", scheme="https"))
    assert (status, headers[b"location"]) == (307, b"https://www.example.com/")


@pytest.mark.anyio
async def test_www_redirect_can_be_disabled() -> None:
    app = TrustedHostMiddleware(ok_app, allowed_hosts=["www.example.com"], www_redirect=False)
    assert (await run(app, make_scope("example.com")))[0] == 400


@pytest.mark.anyio
async def test_no_redirect_when_bare_host_is_allowed_or_www_is_not() -> None:
    assert await status_of(["www.example.com", "example.com"], "example.com") == 200
    assert await status_of(["*.example.com"], "example.com") == 400


# ------------------------------------------------------------------------------ other scopes


@pytest.mark.anyio
async def test_websocket_with_bad_host_gets_a_denial_response() -> None:
    messages = await call(
        TrustedHostMiddleware(ok_app, allowed_hosts=["example.com"]),
        make_scope("evil.com", type="websocket", scheme="ws"),
    )
    assert messages[0]["type"] == "websocket.http.response.start"
    assert messages[0]["status"] == 400


@pytest.mark.anyio
async def test_websocket_with_good_host_passes() -> None:
    messages = await call(
        TrustedHostMiddleware(ok_app, allowed_hosts=["example.com"]),
        make_scope("example.com", type="websocket", scheme="ws"),
    )
    assert messages == [{"type": "websocket.accept"}]


@pytest.mark.anyio
async def test_lifespan_passes_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    await call(TrustedHostMiddleware(app, allowed_hosts=["example.com"]), {"type": "lifespan"})
    assert seen == ["lifespan"]


# ------------------------------------------------------------------------------ configuration


@pytest.mark.parametrize(
    "pattern", ["a*.example.com", "*example.com", "example.*.com", "*.*.com", "**.example.com"]
)
def test_bad_wildcards_are_refused_at_construction(pattern: str) -> None:
    with pytest.raises(AssertionError, match=r"Domain wildcard patterns must be like"):
        TrustedHostMiddleware(ok_app, allowed_hosts=[pattern])
    assert ENFORCE_DOMAIN_WILDCARD == "Domain wildcard patterns must be like '*.example.com'."


# ---------------------------------------------------------------------------- host parsing


@pytest.mark.parametrize(
    ("header", "parsed"),
    [
        ("example.com", ParsedHost("example.com", None)),
        ("EXAMPLE.com:80", ParsedHost("EXAMPLE.com", "80")),
        ("example.com:0080", ParsedHost("example.com", "0080")),
        ("1.2.3.4:5", ParsedHost("1.2.3.4", "5")),
        ("[::1]", ParsedHost("[::1]", None)),
        ("[::ffff:1.2.3.4]:8443", ParsedHost("[::ffff:1.2.3.4]", "8443")),
        ("[v1.x]", ParsedHost("[v1.x]", None)),
        ("a_b.com", ParsedHost("a_b.com", None)),
        (None, None),
        ("", None),
        ("example.com:", None),
        ("example.com:abc", None),
        ("example.com:+80", None),
        ("example.com:99999", None),
        ("a:80:80", None),
        ("::1", None),
        ("[::g]", None),
        ("[1::2::3]", None),
        ("[fe80::1%eth0]", None),
        ("[::1]x", None),
        ("u@example.com", None),
        ("exa mple", None),
        (" example.com", None),
        ("a/b", None),
        ("bücher.ch", None),
    ],
)
def test_parse_host_header(header: str | None, parsed: ParsedHost | None) -> None:
    assert parse_host_header(header) == parsed


@given(st.text(max_size=40))
def test_parse_host_header_never_raises_and_round_trips(header: str) -> None:
    parsed = parse_host_header(header)
    if parsed is not None:
        rebuilt = parsed.host if parsed.port is None else f"{parsed.host}:{parsed.port}"
        assert rebuilt == header


# ------------------------------------------------------------------------------- test client


def test_through_the_test_client(test_client_factory: TestClientFactory) -> None:
    app = TrustedHostMiddleware(ok_app, allowed_hosts=["testserver", "www.example.org"])
    client = test_client_factory(app)
    assert client.get("/").text == "ok"
    assert client.get("/", headers={"host": "evil.com"}).status_code == 400
    response = client.get("/p?q=1", headers={"host": "example.org"}, follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "http://www.example.org/p?q=1"


@pytest.mark.anyio
async def test_allowed_hosts_are_cached_within_a_bound() -> None:
    middleware = TrustedHostMiddleware(ok_app, allowed_hosts=["*.example.com"])
    for number in range(600):
        assert await status_of_middleware(middleware, f"h{number}.example.com") == 200
        assert await status_of_middleware(middleware, f"h{number}.example.com") == 200
    assert 0 < len(middleware._allowed_cache) <= 256
    assert await status_of_middleware(middleware, "evil.com") == 400
    assert b"evil.com" not in middleware._allowed_cache


async def status_of_middleware(middleware: ASGIApp, host: str) -> int:
    return (await run(middleware, make_scope(host)))[0]
