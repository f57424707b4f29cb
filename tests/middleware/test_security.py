from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from framework.middleware.security import SecurityHeadersMiddleware
from framework.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from testing.client import TestClient

TestClientFactory = Callable[..., "TestClient"]

DEFAULTS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
]


def make_app(headers: list[tuple[bytes, bytes]] | None = None) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raw = [(b"content-type", b"text/plain"), *(headers or [])]
        await send({"type": "http.response.start", "status": 200, "headers": raw})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


async def response_headers(middleware: ASGIApp, scheme: str = "http") -> list[tuple[bytes, bytes]]:
    scope: Scope = {"type": "http", "method": "GET", "path": "/", "scheme": scheme, "headers": []}
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    await middleware(scope, receive, send)
    assert messages[1]["body"] == b"ok"
    headers: list[tuple[bytes, bytes]] = messages[0]["headers"]
    return headers


def secure(app: ASGIApp | None = None, **options: Any) -> SecurityHeadersMiddleware:
    return SecurityHeadersMiddleware(app or make_app(), **options)


# ---------------------------------------------------------------------------------- headers


@pytest.mark.anyio
async def test_defaults() -> None:
    assert await response_headers(secure()) == [(b"content-type", b"text/plain"), *DEFAULTS]
    assert await response_headers(secure(), "https") == [
        (b"content-type", b"text/plain"),
        *DEFAULTS,
    ]


@pytest.mark.anyio
async def test_every_header_can_be_left_out() -> None:
    middleware = secure(content_type_options=None, frame_options=None, referrer_policy=None)
    assert await response_headers(middleware) == [(b"content-type", b"text/plain")]


@pytest.mark.anyio
async def test_headers_are_configurable() -> None:
    middleware = secure(
        frame_options="SAMEORIGIN",
        referrer_policy="no-referrer, strict-origin-when-cross-origin",
        cross_origin_opener_policy="same-origin",
        content_security_policy="default-src 'self'",
    )
    headers = dict(await response_headers(middleware))
    assert headers[b"x-frame-options"] == b"SAMEORIGIN"
    assert headers[b"referrer-policy"] == b"no-referrer, strict-origin-when-cross-origin"
    assert headers[b"cross-origin-opener-policy"] == b"same-origin"
    assert headers[b"content-security-policy"] == b"default-src 'self'"


@pytest.mark.anyio
async def test_csp_from_a_mapping() -> None:
    policy = {
        "default-src": "'self'",
        "img-src": ["'self'", "data:", "https://cdn.example.com"],
        "upgrade-insecure-requests": "",
        "frame-ancestors": [],
    }
    headers = dict(await response_headers(secure(content_security_policy=policy)))
    assert headers[b"content-security-policy"] == (
        b"default-src 'self'; img-src 'self' data: https://cdn.example.com; "
        b"upgrade-insecure-requests; frame-ancestors"
    )


@pytest.mark.anyio
async def test_csp_report_only() -> None:
    middleware = secure(content_security_policy="default-src 'none'", csp_report_only=True)
    headers = dict(await response_headers(middleware))
    assert headers[b"content-security-policy-report-only"] == b"default-src 'none'"
    assert b"content-security-policy" not in headers


@pytest.mark.anyio
async def test_headers_the_app_set_are_kept() -> None:
    app = make_app([(b"x-frame-options", b"SAMEORIGIN"), (b"Referrer-Policy", b"no-referrer")])
    headers = await response_headers(secure(app))
    assert headers == [
        (b"content-type", b"text/plain"),
        (b"x-frame-options", b"SAMEORIGIN"),
        (b"Referrer-Policy", b"no-referrer"),
        (b"x-content-type-options", b"nosniff"),
    ]


# ------------------------------------------------------------------------------------- HSTS


@pytest.mark.anyio
async def test_hsts_is_sent_on_https_only() -> None:
    middleware = secure(hsts_max_age=3600)
    assert b"strict-transport-security" not in dict(await response_headers(middleware, "http"))
    https = dict(await response_headers(middleware, "https"))
    assert https[b"strict-transport-security"] == b"max-age=3600"


@pytest.mark.anyio
async def test_hsts_can_be_forced_and_extended() -> None:
    middleware = secure(
        hsts_max_age=63_072_000, hsts_include_subdomains=True, hsts_preload=True, force_hsts=True
    )
    headers = dict(await response_headers(middleware, "http"))
    assert headers[b"strict-transport-security"] == (
        b"max-age=63072000; includeSubDomains; preload"
    )


@pytest.mark.anyio
async def test_app_hsts_is_kept() -> None:
    app = make_app([(b"strict-transport-security", b"max-age=0")])
    headers = await response_headers(secure(app, hsts_max_age=3600), "https")
    assert [value for name, value in headers if name == b"strict-transport-security"] == [
        b"max-age=0"
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"hsts_max_age": -1}, r"hsts_max_age=-1"),
        ({"hsts_max_age": True}, r"hsts_max_age=True"),
        ({"hsts_max_age": 3600, "hsts_preload": True}, r"hsts_include_subdomains=True"),
        (
            {"hsts_max_age": 3600, "hsts_include_subdomains": True, "hsts_preload": True},
            r"hsts_max_age >= 31536000",
        ),
        ({"hsts_include_subdomains": True}, r"need hsts_max_age"),
        ({"force_hsts": True}, r"need hsts_max_age"),
    ],
)
def test_hsts_options_are_validated(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        secure(**options)


# ------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"content_type_options": "sniff"},
            r"content_type_options='sniff'\): expected one of nosniff",
        ),
        ({"frame_options": "ALLOW-FROM x"}, r"frame_options='ALLOW-FROM x'"),
        ({"referrer_policy": "no-referrer, everything"}, r"referrer_policy='everything'"),
        ({"cross_origin_opener_policy": "open"}, r"cross_origin_opener_policy='open'"),
        ({"content_security_policy": "default-src\r\nX-Evil: 1"}, r"control characters"),
        ({"content_security_policy": "default-src 'self' \u2603"}, r"latin-1"),
        ({"content_security_policy": {"bad directive": "x"}}, r"not a directive name"),
        ({"content_security_policy": {"img-src": "a; script-src *"}}, r"contains ';' or ','"),
    ],
)
def test_bad_values_are_refused_at_construction(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        secure(**options)


def test_choices_are_case_insensitive() -> None:
    secure(frame_options="sameorigin", referrer_policy="No-Referrer")


# ----------------------------------------------------------------------------- other scopes


@pytest.mark.anyio
async def test_non_http_and_empty_configuration_pass_through() -> None:
    sends: list[object] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        sends.append(send)

    async def receive() -> Message:
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        raise AssertionError("unreachable")

    await secure(app)({"type": "websocket", "headers": []}, receive, send)
    await secure(app)({"type": "lifespan"}, receive, send)
    nothing = secure(app, content_type_options=None, frame_options=None, referrer_policy=None)
    await nothing({"type": "http", "scheme": "http", "headers": []}, receive, send)
    assert sends == [send, send, send]


# ------------------------------------------------------------------------------ test client


def test_through_the_test_client(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(secure(hsts_max_age=600), base_url="https://testserver")
    response = client.get("/")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["strict-transport-security"] == "max-age=600"
