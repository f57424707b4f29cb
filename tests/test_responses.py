from __future__ import annotations

import datetime as dt
import hashlib
import http.cookies
import itertools
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from email.utils import format_datetime, formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

import framework.responses as responses_module
from framework.background import BackgroundTask
from framework.requests import ClientDisconnect
from framework.responses import (
    MAX_RANGES,
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
    _parse_range,
)
from framework.types import ASGIApp, Message, Scope

# --------------------------------------------------------------------------------------- helpers


async def never_disconnect() -> Message:
    await anyio.sleep_forever()
    raise AssertionError("unreachable")


def make_scope(
    method: str = "GET",
    headers: Sequence[tuple[str, str]] = (),
    **extra: Any,
) -> Scope:
    scope: Scope = {
        "type": "http",
        "method": method,
        "path": "/",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
    }
    scope.update(extra)
    return scope


async def call(
    app: ASGIApp,
    method: str = "GET",
    headers: Sequence[tuple[str, str]] = (),
    **extra: Any,
) -> list[Message]:
    """Run ``app`` as an ASGI app and collect what it sends."""
    messages: list[Message] = []

    async def send(message: Message) -> None:
        messages.append(message)

    with anyio.fail_after(10):
        await app(make_scope(method, headers, **extra), never_disconnect, send)
    return messages


def start_of(messages: list[Message]) -> tuple[int, dict[str, str]]:
    start = messages[0]
    assert start["type"] == "http.response.start"
    decoded = {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]}
    return start["status"], decoded


def body_of(messages: list[Message]) -> bytes:
    bodies = [m for m in messages[1:] if m["type"] == "http.response.body"]
    # Exactly one message closes the body, and it is the last one.
    assert all(m.get("more_body", False) for m in bodies[:-1])
    assert not bodies[-1].get("more_body", False)
    return b"".join(bytes(m["body"]) for m in bodies)


# ------------------------------------------------------------------------------------- Response


@pytest.mark.anyio
async def test_empty_response_has_zero_content_length_and_no_content_type() -> None:
    messages = await call(Response())
    assert messages == [
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]},
        {"type": "http.response.body", "body": b""},
    ]


def test_text_media_types_get_a_charset() -> None:
    assert Response("x", media_type="text/plain").raw_headers == [
        (b"content-length", b"1"),
        (b"content-type", b"text/plain; charset=utf-8"),
    ]
    assert Response("x", media_type="text/plain; charset=latin-1").raw_headers[1] == (
        b"content-type",
        b"text/plain; charset=latin-1",
    )
    assert Response("x", media_type="text/plain;CHARSET=x").raw_headers[1] == (
        b"content-type",
        b"text/plain;CHARSET=x",
    )
    assert Response("x", media_type="application/json").raw_headers[1] == (
        b"content-type",
        b"application/json",
    )


def test_charset_attribute_is_used_for_text_and_content_type() -> None:
    class Latin1(PlainTextResponse):
        charset = "latin-1"

    response = Latin1("é")
    assert response.body == b"\xe9"
    assert response.raw_headers == [
        (b"content-length", b"1"),
        (b"content-type", b"text/plain; charset=latin-1"),
    ]


@pytest.mark.parametrize("status_code", [100, 101, 199, 204, 304])
def test_no_content_length_for_bodiless_statuses(status_code: int) -> None:
    response = Response("x", status_code=status_code, media_type="text/plain")
    assert response.raw_headers == [(b"content-type", b"text/plain; charset=utf-8")]


def test_user_headers_come_first_lowercased_and_win() -> None:
    response = Response(
        "x", headers={"X-A": "b", "Content-Type": "foo/bar"}, media_type="text/plain"
    )
    assert response.raw_headers == [
        (b"x-a", b"b"),
        (b"content-type", b"foo/bar"),
        (b"content-length", b"1"),
    ]
    assert Response(b"x", headers={"content-length": "7"}).raw_headers == [
        (b"content-length", b"7")
    ]
    assert Response("x", headers={"x-a": "b"}, media_type="text/html").raw_headers == [
        (b"x-a", b"b"),
        (b"content-length", b"1"),
        (b"content-type", b"text/html; charset=utf-8"),
    ]


def test_header_values_are_latin1() -> None:
    assert Response(headers={"a": "é"}).raw_headers[0] == (b"a", b"\xe9")
    with pytest.raises(UnicodeEncodeError):
        Response(headers={"a": "€"})


def test_render_passes_bytes_and_memoryview_through() -> None:
    view = memoryview(b"abc")
    response = Response(view)
    assert response.body is view
    assert response.raw_headers == [(b"content-length", b"3")]
    assert Response(b"\x00\xff").body == b"\x00\xff"
    with pytest.raises(AttributeError):
        Response(123)


def test_render_encodes_other_text_like_objects() -> None:
    from collections import UserString

    assert Response(UserString("é")).body == b"\xc3\xa9"


def test_set_raw_replaces_the_first_and_drops_the_rest() -> None:
    raw = [(b"a", b"1"), (b"b", b"2"), (b"a", b"3"), (b"a", b"4")]
    responses_module._set_raw(raw, b"a", b"x")
    assert raw == [(b"a", b"x"), (b"b", b"2")]
    responses_module._set_raw(raw, b"c", b"y")
    assert raw == [(b"a", b"x"), (b"b", b"2"), (b"c", b"y")]


def test_render_returning_none_means_no_content_length() -> None:
    class NoBody(Response):
        def render(self, content: Any) -> bytes:
            return None  # type: ignore[return-value]

    assert NoBody("x").raw_headers == []


def test_content_type_cache_is_bounded() -> None:
    for i in range(responses_module._CONTENT_TYPES_MAX + 10):
        Response(media_type=f"text/x-{i}")
    assert len(responses_module._CONTENT_TYPES) <= responses_module._CONTENT_TYPES_MAX
    assert Response(media_type="text/x-9999").raw_headers[-1] == (
        b"content-type",
        b"text/x-9999; charset=utf-8",
    )


def test_headers_view_writes_through_to_raw_headers() -> None:
    response = Response("x")
    assert response.headers["content-length"] == "1"
    response.headers["X-Y"] = "z"
    assert response.raw_headers == [(b"content-length", b"1"), (b"x-y", b"z")]
    response.raw_headers = [(b"a", b"b")]
    assert dict(response.headers) == {"a": "b"}


def test_class_attributes() -> None:
    assert Response.media_type is None
    assert Response.charset == "utf-8"
    assert PlainTextResponse.media_type == "text/plain"
    assert HTMLResponse.media_type == "text/html"
    assert JSONResponse.media_type == "application/json"
    assert Response(media_type="a/b").media_type == "a/b"


@pytest.mark.anyio
async def test_websocket_scope_sends_denial_messages() -> None:
    messages = await call(PlainTextResponse("no", status_code=403), type="websocket")
    assert [m["type"] for m in messages] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
    ]
    assert messages[0]["status"] == 403
    assert messages[1]["body"] == b"no"


@pytest.mark.anyio
async def test_background_runs_after_the_body() -> None:
    events: list[str] = []

    async def task(name: str) -> None:
        events.append(name)

    async def send(message: Message) -> None:
        events.append(message["type"])

    response = Response("x", background=BackgroundTask(task, "bg"))
    await response(make_scope(), never_disconnect, send)
    assert events == ["http.response.start", "http.response.body", "bg"]


# ------------------------------------------------------------------------ text, HTML and JSON


@pytest.mark.anyio
async def test_plain_text_response() -> None:
    messages = await call(PlainTextResponse("héllo", status_code=201, headers={"x-a": "1"}))
    assert start_of(messages) == (
        201,
        {"x-a": "1", "content-length": "6", "content-type": "text/plain; charset=utf-8"},
    )
    assert body_of(messages) == "héllo".encode()


@pytest.mark.anyio
async def test_html_response() -> None:
    messages = await call(HTMLResponse("<b>hi</b>"))
    assert start_of(messages)[1]["content-type"] == "text/html; charset=utf-8"
    assert body_of(messages) == b"<b>hi</b>"


def test_json_response_is_compact_utf8() -> None:
    response = JSONResponse({"a": "é", "b": [1, 2.5, None, True]})
    assert response.body == '{"a":"é","b":[1,2.5,null,true]}'.encode()
    assert response.raw_headers == [
        (b"content-length", b"32"),
        (b"content-type", b"application/json"),
    ]
    assert JSONResponse(None).body == b"null"
    assert JSONResponse({1: 2}).body == b'{"1":2}'


def test_json_response_refuses_nan() -> None:
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        JSONResponse({"x": float("nan")})


def test_json_media_type_override() -> None:
    response = JSONResponse([], media_type="application/problem+json")
    assert response.raw_headers[-1] == (b"content-type", b"application/problem+json")


# -------------------------------------------------------------------------------- redirects


@pytest.mark.anyio
async def test_redirect_response() -> None:
    messages = await call(RedirectResponse("/a b?x=ü&y=1#f%20"))
    assert messages == [
        {
            "type": "http.response.start",
            "status": 307,
            "headers": [(b"content-length", b"0"), (b"location", b"/a%20b?x=%C3%BC&y=1#f%20")],
        },
        {"type": "http.response.body", "body": b""},
    ]


def test_redirect_quotes_with_starlettes_safe_set() -> None:
    ascii_url = "".join(chr(i) for i in range(32, 127))
    response = RedirectResponse(ascii_url, status_code=302)
    assert response.status_code == 302
    assert response.headers["location"] == (
        "%20!%22#$%&'()*+,-./0123456789:;%3C=%3E?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[%5C]%5E_%60"
        "abcdefghijklmnopqrstuvwxyz%7B%7C%7D~"
    )
    # Control characters cannot reach the header and split it.
    assert RedirectResponse("/x\r\nSet-Cookie: a=b").headers["location"] == (
        "/x%0D%0ASet-Cookie:%20a=b"
    )


def test_redirect_replaces_a_location_given_in_headers() -> None:
    response = RedirectResponse("/new", headers={"Location": "/old", "x-a": "b"})
    assert response.raw_headers == [
        (b"location", b"/new"),
        (b"x-a", b"b"),
        (b"content-length", b"0"),
    ]


def test_redirect_accepts_a_url_object() -> None:
    from framework.datastructures import URL

    assert RedirectResponse(URL("https://example.com/a?b=c")).headers["location"] == (
        "https://example.com/a?b=c"
    )


# ----------------------------------------------------------------------------------- cookies


def cookies(response: Response) -> list[str]:
    return [v.decode("latin-1") for k, v in response.raw_headers if k == b"set-cookie"]


def set_cookie(**kwargs: Any) -> list[str]:
    response = Response()
    response.set_cookie(**kwargs)
    return cookies(response)


def test_set_cookie_defaults() -> None:
    assert set_cookie(key="a") == ['a=""; Path=/; SameSite=lax']
    assert set_cookie(key="a", value="b") == ["a=b; Path=/; SameSite=lax"]


def test_set_cookie_quotes_values_like_the_stdlib() -> None:
    assert set_cookie(key="a", value='b c;d"é') == ['a="b c\\073d\\"\\351"; Path=/; SameSite=lax']
    assert set_cookie(key="a", value="x\ny") == ['a="x\\012y"; Path=/; SameSite=lax']


def test_set_cookie_with_every_attribute() -> None:
    (header,) = set_cookie(
        key="a",
        value="b",
        max_age=10,
        expires=20,
        path="/p",
        domain="ex.com",
        secure=True,
        httponly=True,
        samesite="strict",
    )
    match = re.fullmatch(
        r"a=b; Domain=ex.com; expires=(.*); HttpOnly; Max-Age=10; Path=/p; "
        r"SameSite=strict; Secure",
        header,
    )
    assert match is not None
    expires = parsedate_to_datetime(match.group(1)).timestamp()
    assert abs(expires - (time.time() + 20)) < 5


def test_set_cookie_expires_as_datetime_or_string() -> None:
    when = dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    assert set_cookie(key="a", expires=when) == [
        'a=""; expires=Thu, 02 Jan 2020 03:04:05 GMT; Path=/; SameSite=lax'
    ]
    assert set_cookie(key="a", expires="Wed, 01 Jan 2020 00:00:00 GMT") == [
        'a=""; expires=Wed, 01 Jan 2020 00:00:00 GMT; Path=/; SameSite=lax'
    ]
    with pytest.raises(ValueError, match="UTC"):
        set_cookie(key="a", expires=dt.datetime(2020, 1, 2))


def test_set_cookie_optional_attributes() -> None:
    assert set_cookie(key="a", samesite=None) == ['a=""; Path=/']
    assert set_cookie(key="a", samesite="none") == ['a=""; Path=/; SameSite=none']
    assert set_cookie(key="a", samesite="Lax") == ['a=""; Path=/; SameSite=Lax']
    assert set_cookie(key="a", path=None) == ['a=""; SameSite=lax']
    assert set_cookie(key="a", max_age=0) == ['a=""; Max-Age=0; Path=/; SameSite=lax']
    assert set_cookie(key="a", domain="") == ['a=""; Path=/; SameSite=lax']
    assert set_cookie(key="a", expires="") == ['a=""; Path=/; SameSite=lax']


def test_set_cookie_validation() -> None:
    with pytest.raises(AssertionError, match="samesite must be either 'strict', 'lax' or 'none'"):
        set_cookie(key="a", samesite="bogus")
    with pytest.raises(Exception, match="Illegal key"):
        set_cookie(key="a b")


def test_partitioned_cookie_on_every_python_version() -> None:
    assert set_cookie(key="a", partitioned=True, secure=True) == [
        'a=""; Partitioned; Path=/; SameSite=lax; Secure'
    ]


latin1_text = st.text(alphabet=st.characters(max_codepoint=255), max_size=12)


def stdlib_cookie(key: str, value: str, **attributes: Any) -> str:
    cookie: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
    cookie[key] = value
    for name, attribute in attributes.items():
        if attribute is not None:
            cookie[key][name] = attribute
    return cookie[key].OutputString()


@given(
    key=st.text(max_size=6) | st.sampled_from(["a", "Path", "EXPIRES", "max-age", "x_y"]),
    value=latin1_text,
    max_age=st.none() | st.integers(-(10**12), 10**12),
    expires=st.none()
    | latin1_text
    | st.datetimes(timezones=st.just(dt.timezone.utc), min_value=dt.datetime(1000, 1, 1)),
    path=st.none() | latin1_text,
    domain=st.none() | latin1_text,
    secure=st.booleans(),
    httponly=st.booleans(),
    samesite=st.sampled_from([None, "lax", "strict", "none", "Strict"]),
)
def test_cookies_match_the_standard_library(
    key: str,
    value: str,
    max_age: int | None,
    expires: str | dt.datetime | None,
    path: str | None,
    domain: str | None,
    secure: bool,
    httponly: bool,
    samesite: str | None,
) -> None:
    try:
        expected = stdlib_cookie(
            key,
            value,
            **{"max-age": max_age},
            expires=format_datetime(expires, usegmt=True)
            if isinstance(expires, dt.datetime)
            else expires,
            path=path,
            domain=domain,
            secure=secure or None,
            httponly=httponly or None,
            samesite=samesite,
        )
    except http.cookies.CookieError as exc:
        error = str(exc)
        with pytest.raises(http.cookies.CookieError, match=re.escape(error)):
            set_cookie(key=key, value=value)
        return
    assert set_cookie(
        key=key,
        value=value,
        max_age=max_age,
        expires=expires,
        path=path,
        domain=domain,
        secure=secure,
        httponly=httponly,
        samesite=samesite,
    ) == [expected]


def test_cookie_values_beyond_latin1_are_refused() -> None:
    with pytest.raises(UnicodeEncodeError):
        set_cookie(key="a", value="€")


def test_several_cookies_are_separate_headers() -> None:
    response = Response()
    response.set_cookie("a", "1")
    response.set_cookie("b", "2")
    assert cookies(response) == ["a=1; Path=/; SameSite=lax", "b=2; Path=/; SameSite=lax"]


def test_delete_cookie() -> None:
    response = Response()
    response.delete_cookie("a", path="/x", domain="d", secure=True, httponly=True, samesite="none")
    (header,) = cookies(response)
    match = re.fullmatch(
        r'a=""; Domain=d; expires=(.*); HttpOnly; Max-Age=0; Path=/x; SameSite=none; Secure',
        header,
    )
    assert match is not None
    assert parsedate_to_datetime(match.group(1)).timestamp() <= time.time() + 1
    default = Response()
    default.delete_cookie("a")
    assert re.fullmatch(r'a=""; expires=.*; Max-Age=0; Path=/; SameSite=lax', cookies(default)[0])


# --------------------------------------------------------------------------------- streaming


async def numbers(count: int) -> AsyncIterator[str]:
    for i in range(count):
        yield str(i)


@pytest.mark.anyio
async def test_streaming_async_iterable() -> None:
    async def chunks() -> AsyncIterator[str | bytes | memoryview]:
        yield "a"
        yield b"b"
        yield memoryview(b"c")

    response = StreamingResponse(chunks(), media_type="text/plain", headers={"a": "b"})
    messages = await call(response)
    assert messages[0] == {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"a", b"b"), (b"content-type", b"text/plain; charset=utf-8")],
    }
    assert [(bytes(m["body"]), m["more_body"]) for m in messages[1:]] == [
        (b"a", True),
        (b"b", True),
        (b"c", True),
        (b"", False),
    ]


@pytest.mark.anyio
async def test_streaming_sync_iterable_runs_in_a_thread() -> None:
    import threading

    threads: set[int] = set()

    def chunks() -> Iterator[str]:
        for part in ("x", "y"):
            threads.add(threading.get_ident())
            yield part

    messages = await call(StreamingResponse(chunks()))
    assert body_of(messages) == b"xy"
    assert threading.get_ident() not in threads


@pytest.mark.anyio
async def test_streaming_accepts_a_callable_returning_an_iterable() -> None:
    assert body_of(await call(StreamingResponse(lambda: numbers(3)))) == b"012"
    assert body_of(await call(StreamingResponse(lambda: iter([b"a", b"b"])))) == b"ab"


def test_streaming_refuses_non_iterables() -> None:
    with pytest.raises(TypeError, match="expected an iterable"):
        StreamingResponse(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected an iterable"):
        StreamingResponse(lambda: 42)  # type: ignore[arg-type,return-value]


def test_streaming_response_has_no_body_or_content_length() -> None:
    response = StreamingResponse(numbers(1))
    assert not hasattr(response, "body")
    assert response.raw_headers == []


@pytest.mark.anyio
async def test_streaming_plain_async_iterables_without_aclose() -> None:
    class Chunks:
        def __init__(self) -> None:
            self.left = [b"b", b"a"]

        def __aiter__(self) -> Chunks:
            return self

        async def __anext__(self) -> bytes:
            if not self.left:
                raise StopAsyncIteration
            return self.left.pop()

    assert body_of(await call(StreamingResponse(Chunks()))) == b"ab"


@pytest.mark.anyio
async def test_streaming_websocket_denial() -> None:
    messages = await call(StreamingResponse(numbers(2)), type="websocket")
    assert [m["type"] for m in messages] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
        "websocket.http.response.body",
        "websocket.http.response.body",
    ]


@pytest.mark.anyio
async def test_streaming_background_runs_after_the_stream() -> None:
    events: list[str] = []

    async def send(message: Message) -> None:
        events.append(message["type"])

    response = StreamingResponse(numbers(1), background=BackgroundTask(events.append, "bg"))
    await response(make_scope(), never_disconnect, send)
    assert events == ["http.response.start", "http.response.body", "http.response.body", "bg"]


@pytest.mark.anyio
async def test_streaming_stops_when_the_client_disconnects() -> None:
    produced: list[int] = []
    sent: list[Message] = []
    disconnected = anyio.Event()
    background: list[str] = []

    async def endless() -> AsyncIterator[bytes]:
        i = 0
        while True:
            produced.append(i)
            yield b"x"
            i += 1
            await anyio.sleep(0)

    async def receive() -> Message:
        await disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)
        if len(sent) == 5:
            disconnected.set()

    response = StreamingResponse(endless(), background=BackgroundTask(background.append, "bg"))
    with anyio.fail_after(5):
        await response(make_scope(), receive, send)
    assert 5 <= len(sent) < 50
    assert background == ["bg"]


@pytest.mark.anyio
async def test_streaming_ignores_other_messages_while_listening() -> None:
    messages: list[Message] = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> Message:
        if messages:
            return messages.pop()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await StreamingResponse(numbers(3))(make_scope(), receive, send)
    assert body_of(sent) == b"012"


@pytest.mark.anyio
async def test_streaming_errors_propagate_unwrapped() -> None:
    async def failing() -> AsyncIterator[bytes]:
        yield b"a"
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        await call(StreamingResponse(failing()))


@pytest.mark.anyio
async def test_streaming_receive_errors_propagate_unwrapped() -> None:
    async def receive() -> Message:
        raise OSError("receive failed")

    async def send(message: Message) -> None:
        await anyio.sleep(0)

    async def slow() -> AsyncIterator[bytes]:
        await anyio.sleep(5)
        yield b"never"

    with anyio.fail_after(5), pytest.raises(OSError, match="receive failed"):
        await StreamingResponse(slow())(make_scope(), receive, send)


@pytest.mark.anyio
async def test_asgi_2_4_send_oserror_is_a_client_disconnect() -> None:
    background: list[str] = []
    sent: list[Message] = []

    async def send(message: Message) -> None:
        if message.get("body") == b"1":
            raise OSError("gone")
        sent.append(message)

    async def receive() -> Message:
        raise AssertionError("ASGI 2.4 streaming must not listen for disconnects")

    response = StreamingResponse(numbers(5), background=BackgroundTask(background.append, "bg"))
    scope = make_scope(asgi={"version": "3.0", "spec_version": "2.4"})
    with pytest.raises(ClientDisconnect):
        await response(scope, receive, send)
    assert [m.get("body") for m in sent] == [None, b"0"]
    assert background == []


@pytest.mark.anyio
async def test_asgi_2_4_oserror_from_the_body_is_not_a_disconnect() -> None:
    async def failing() -> AsyncIterator[bytes]:
        yield b"a"
        raise OSError("disk read failed")

    with pytest.raises(OSError, match="disk read failed"):
        await call(StreamingResponse(failing()), asgi={"spec_version": "2.4"})


@pytest.mark.anyio
async def test_asgi_2_4_streams_without_a_listener() -> None:
    messages = await call(StreamingResponse(numbers(2)), asgi={"spec_version": "2.5"})
    assert body_of(messages) == b"01"


@pytest.mark.anyio
async def test_older_spec_versions_let_oserror_through() -> None:
    async def send(message: Message) -> None:
        raise OSError("closed")

    with pytest.raises(OSError, match="closed"):
        await StreamingResponse(numbers(1))(
            make_scope(asgi={"spec_version": "2.3"}), never_disconnect, send
        )


@pytest.mark.parametrize(
    ("version", "expected"),
    [("2.4", (2, 4)), ("2.10", (2, 10)), ("3", (3,)), ("junk", (2, 0)), (None, (2, 0))],
)
def test_spec_version_parsing(version: str | None, expected: tuple[int, ...]) -> None:
    scope: Scope = {} if version is None else {"asgi": {"spec_version": version}}
    assert responses_module._spec_version(scope) == expected


# ------------------------------------------------------------------------------ FileResponse


CONTENT = b"0123456789abcdefghij"


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    path = tmp_path / "f.txt"
    path.write_bytes(CONTENT)
    return path


def etag_of(path: Path) -> str:
    st_ = path.stat()
    return '"' + hashlib.md5(f"{st_.st_mtime}-{st_.st_size}".encode()).hexdigest() + '"'


@pytest.mark.anyio
async def test_file_response_headers_and_body(text_file: Path) -> None:
    messages = await call(FileResponse(text_file))
    status, headers = start_of(messages)
    assert status == 200
    assert list(headers) == [
        "content-type",
        "accept-ranges",
        "content-length",
        "last-modified",
        "etag",
    ]
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["accept-ranges"] == "bytes"
    assert headers["content-length"] == "20"
    assert headers["last-modified"] == formatdate(text_file.stat().st_mtime, usegmt=True)
    assert headers["etag"] == etag_of(text_file)
    assert messages[1] == {"type": "http.response.body", "body": CONTENT, "more_body": False}


@pytest.mark.anyio
async def test_file_response_reads_in_chunks(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    data = os.urandom(FileResponse.chunk_size * 2 + 10)
    path.write_bytes(data)
    messages = await call(FileResponse(path))
    sizes = [(len(m["body"]), m["more_body"]) for m in messages[1:]]
    assert sizes == [(65536, True), (65536, True), (10, False)]
    assert body_of(messages) == data

    exact = tmp_path / "exact.bin"
    exact.write_bytes(data[: FileResponse.chunk_size])
    messages = await call(FileResponse(exact))
    assert [(len(m["body"]), m["more_body"]) for m in messages[1:]] == [(65536, False)]


@pytest.mark.anyio
async def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    messages = await call(FileResponse(path))
    assert start_of(messages)[1]["content-length"] == "0"
    assert messages[1:] == [{"type": "http.response.body", "body": b"", "more_body": False}]


@pytest.mark.anyio
async def test_file_that_shrank_is_cut_short(text_file: Path) -> None:
    stat_result = text_file.stat()
    text_file.write_bytes(b"0123")
    messages = await call(FileResponse(text_file, stat_result=stat_result))
    assert start_of(messages)[1]["content-length"] == "20"
    assert body_of(messages) == b"0123"


@pytest.mark.anyio
async def test_file_that_grew_is_sent_up_to_its_measured_size(text_file: Path) -> None:
    stat_result = text_file.stat()
    text_file.write_bytes(CONTENT * 2)
    assert body_of(await call(FileResponse(text_file, stat_result=stat_result))) == CONTENT


def test_media_type_and_content_disposition(text_file: Path) -> None:
    def header(response: FileResponse, name: str) -> str | None:
        return response.headers.get(name)

    assert FileResponse(text_file).media_type == "text/plain"
    assert FileResponse("x.tar.gz").media_type == "application/x-tar"
    assert FileResponse("unknown").media_type == "application/octet-stream"
    assert FileResponse(text_file, filename="a.json").media_type == "application/json"
    assert FileResponse(text_file, media_type="a/b").media_type == "a/b"
    assert header(FileResponse(text_file), "content-disposition") is None
    assert header(FileResponse(text_file, filename="a.txt"), "content-disposition") == (
        'attachment; filename="a.txt"'
    )
    assert header(FileResponse(text_file, filename="ünï côde.txt"), "content-disposition") == (
        "attachment; filename*=utf-8''%C3%BCn%C3%AF%20c%C3%B4de.txt"
    )
    inline = FileResponse(text_file, filename='a b"c.txt', content_disposition_type="inline")
    assert header(inline, "content-disposition") == "inline; filename*=utf-8''a%20b%22c.txt"
    injected = FileResponse(text_file, filename="a\r\nx-evil: 1")
    assert header(injected, "content-disposition") == (
        "attachment; filename*=utf-8''a%0D%0Ax-evil%3A%201"
    )


def test_user_headers_win_over_file_headers(text_file: Path) -> None:
    response = FileResponse(
        text_file,
        headers={"x-a": "1", "content-disposition": "inline", "etag": '"mine"'},
        filename="z.txt",
        media_type="foo/bar",
        stat_result=text_file.stat(),
    )
    assert response.raw_headers == [
        (b"x-a", b"1"),
        (b"content-disposition", b"inline"),
        (b"etag", b'"mine"'),
        (b"content-type", b"foo/bar"),
        (b"accept-ranges", b"bytes"),
        (b"content-length", b"20"),
        (b"last-modified", formatdate(text_file.stat().st_mtime, usegmt=True).encode()),
    ]


@pytest.mark.anyio
async def test_head_sends_headers_only(text_file: Path) -> None:
    messages = await call(FileResponse(text_file), method="HEAD")
    assert start_of(messages)[1]["content-length"] == "20"
    assert messages[1:] == [{"type": "http.response.body", "body": b"", "more_body": False}]
    # The legacy ``method`` argument asks for the same.
    messages = await call(FileResponse(text_file, method="head"))
    assert messages[1:] == [{"type": "http.response.body", "body": b"", "more_body": False}]


@pytest.mark.anyio
async def test_missing_file_or_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"File at path .*nope\.txt does not exist\."):
        await call(FileResponse(tmp_path / "nope.txt"))
    with pytest.raises(RuntimeError, match=r"File at path .* is not a file\."):
        await call(FileResponse(tmp_path))


@pytest.mark.anyio
async def test_pathsend_extension(text_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(text_file.parent)
    extensions: dict[str, dict[str, Any]] = {"http.response.pathsend": {}}
    messages = await call(FileResponse("f.txt"), extensions=extensions)
    assert start_of(messages)[0] == 200
    assert messages[1:] == [{"type": "http.response.pathsend", "path": str(text_file)}]
    head = await call(FileResponse("f.txt"), method="HEAD", extensions=extensions)
    assert head[1:] == [{"type": "http.response.body", "body": b"", "more_body": False}]
    ranged = await call(
        FileResponse("f.txt"), headers=[("range", "bytes=0-1")], extensions=extensions
    )
    assert body_of(ranged) == b"01"


@pytest.mark.anyio
async def test_file_response_websocket_denial(text_file: Path) -> None:
    messages = await call(FileResponse(text_file, status_code=403), type="websocket")
    assert [m["type"] for m in messages] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
    ]
    assert messages[1]["body"] == CONTENT


@pytest.mark.anyio
async def test_file_background_runs_after_body(text_file: Path) -> None:
    events: list[str] = []

    async def send(message: Message) -> None:
        events.append(message["type"])

    response = FileResponse(text_file, background=BackgroundTask(events.append, "bg"))
    await response(make_scope(), never_disconnect, send)
    assert events == ["http.response.start", "http.response.body", "bg"]


# ---------------------------------------------------------------------- conditional requests


@pytest.mark.anyio
@pytest.mark.parametrize(
    "if_none_match",
    ["{etag}", "W/{etag}", '"other", {etag}', "*", ' "x" ,{etag} '],
)
async def test_if_none_match_gives_304(text_file: Path, if_none_match: str) -> None:
    etag = etag_of(text_file)
    messages = await call(
        FileResponse(text_file), headers=[("if-none-match", if_none_match.format(etag=etag))]
    )
    assert messages == [
        {"type": "http.response.start", "status": 304, "headers": [(b"etag", etag.encode())]},
        {"type": "http.response.body", "body": b""},
    ]


@pytest.mark.anyio
async def test_if_none_match_mismatch_gives_200_and_outranks_if_modified_since(
    text_file: Path,
) -> None:
    last_modified = formatdate(text_file.stat().st_mtime, usegmt=True)
    messages = await call(
        FileResponse(text_file),
        headers=[("if-none-match", '"other"'), ("if-modified-since", last_modified)],
    )
    assert start_of(messages)[0] == 200
    assert body_of(messages) == CONTENT


@pytest.mark.anyio
async def test_if_modified_since(text_file: Path) -> None:
    mtime = text_file.stat().st_mtime
    for value, status in [
        (formatdate(mtime, usegmt=True), 304),
        (formatdate(mtime + 3600, usegmt=True), 304),
        (formatdate(mtime - 3600, usegmt=True), 200),
        ("garbage", 200),
        ("", 200),
        ("Mon, 99 Foo 99999 99:99:99 GMT", 200),
    ]:
        messages = await call(FileResponse(text_file), headers=[("if-modified-since", value)])
        assert start_of(messages)[0] == status, value


@pytest.mark.anyio
async def test_unreadable_dates_are_not_304(
    text_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(value: str) -> None:
        raise IndexError(value)

    monkeypatch.setattr(responses_module, "parsedate_tz", broken)
    messages = await call(FileResponse(text_file), headers=[("if-modified-since", "x")])
    assert start_of(messages)[0] == 200


@pytest.mark.anyio
async def test_without_an_etag_only_dates_can_give_304(text_file: Path) -> None:
    response = FileResponse(text_file, stat_result=text_file.stat())
    del response.headers["etag"]
    messages = await call(response, headers=[("accept", "*/*"), ("if-none-match", "*")])
    assert start_of(messages)[0] == 200


@pytest.mark.anyio
async def test_304_keeps_only_cache_headers(text_file: Path) -> None:
    response = FileResponse(
        text_file,
        headers={"cache-control": "max-age=60", "vary": "accept", "x-other": "1"},
        filename="a.txt",
    )
    response.set_cookie("a", "b")
    messages = await call(response, headers=[("if-none-match", "*")])
    assert start_of(messages) == (
        304,
        {
            "cache-control": "max-age=60",
            "vary": "accept",
            "set-cookie": "a=b; Path=/; SameSite=lax",
            "etag": etag_of(text_file),
        },
    )


@pytest.mark.anyio
async def test_conditionals_apply_to_get_and_head_with_status_200_only(text_file: Path) -> None:
    headers = [("if-none-match", "*")]
    assert start_of(await call(FileResponse(text_file), "HEAD", headers))[0] == 304
    assert start_of(await call(FileResponse(text_file), "POST", headers))[0] == 200
    not_found = FileResponse(text_file, status_code=404)
    assert start_of(await call(not_found, headers=headers))[0] == 404


@pytest.mark.anyio
async def test_304_runs_the_background(text_file: Path) -> None:
    events: list[str] = []
    response = FileResponse(text_file, background=BackgroundTask(events.append, "bg"))
    await call(response, headers=[("if-none-match", "*")])
    assert events == ["bg"]


# ------------------------------------------------------------------------------------ ranges


async def ranged(path: Path, value: str, method: str = "GET", **kwargs: Any) -> list[Message]:
    return await call(FileResponse(path, **kwargs), method, [("range", value)])


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("value", "content_range", "body"),
    [
        ("bytes=0-4", "bytes 0-4/20", b"01234"),
        ("bytes=5-", "bytes 5-19/20", b"56789abcdefghij"),
        ("bytes=-3", "bytes 17-19/20", b"hij"),
        ("bytes=-30", "bytes 0-19/20", CONTENT),
        ("bytes=0-100", "bytes 0-19/20", CONTENT),
        ("bytes=0-0", "bytes 0-0/20", b"0"),
        ("bytes=19-19", "bytes 19-19/20", b"j"),
        ("BYTES = 0-4", "bytes 0-4/20", b"01234"),
        (" bytes= 0 - 4 ", "bytes 0-4/20", b"01234"),
        ("bytes=00-01", "bytes 0-1/20", b"01"),
        ("bytes=0-4,3-8", "bytes 0-8/20", b"012345678"),
        ("bytes=0-4,5-8", "bytes 0-8/20", b"012345678"),
        ("bytes=0-1,3-4,2-2", "bytes 0-4/20", b"01234"),
        ("bytes=0-4,,5-6", "bytes 0-6/20", b"0123456"),
        ("bytes=0-4,a-5", "bytes 0-4/20", b"01234"),
        ("bytes=0-" + "9" * 5000, "bytes 0-19/20", CONTENT),
    ],
)
async def test_single_range(text_file: Path, value: str, content_range: str, body: bytes) -> None:
    messages = await ranged(text_file, value)
    status, headers = start_of(messages)
    assert status == 206
    assert headers["content-range"] == content_range
    assert headers["content-length"] == str(len(body))
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert body_of(messages) == body


def parse_multipart(content_type: str, body: bytes) -> list[tuple[dict[str, str], bytes]]:
    match = re.fullmatch(r"multipart/byteranges; boundary=([0-9a-f]{26})", content_type)
    assert match is not None
    boundary = match.group(1).encode()
    assert body.endswith(b"\r\n--" + boundary + b"--")
    parts = []
    for chunk in body[: -len(boundary) - 6].split(b"\r\n--" + boundary + b"\r\n"):
        chunk = chunk.removeprefix(b"--" + boundary + b"\r\n")
        head, _, data = chunk.partition(b"\r\n\r\n")
        fields = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        parts.append((fields, data))
    return parts


@pytest.mark.anyio
async def test_multiple_ranges_give_multipart_byteranges(text_file: Path) -> None:
    messages = await ranged(text_file, "bytes=10-12,0-4,1-2")
    status, headers = start_of(messages)
    assert status == 206
    assert "content-range" not in headers
    body = body_of(messages)
    assert headers["content-length"] == str(len(body))
    assert parse_multipart(headers["content-type"], body) == [
        ({"Content-Type": "text/plain; charset=utf-8", "Content-Range": "bytes 0-4/20"}, b"01234"),
        ({"Content-Type": "text/plain; charset=utf-8", "Content-Range": "bytes 10-12/20"}, b"abc"),
    ]


@pytest.mark.anyio
async def test_multipart_parts_use_the_responses_content_type(text_file: Path) -> None:
    messages = await ranged(text_file, "bytes=0-1,5-6", headers={"content-type": "x/y"})
    _, headers = start_of(messages)
    parts = parse_multipart(headers["content-type"], body_of(messages))
    assert [fields["Content-Type"] for fields, _ in parts] == ["x/y", "x/y"]


@pytest.mark.anyio
async def test_multipart_across_chunks(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    data = os.urandom(FileResponse.chunk_size * 3)
    path.write_bytes(data)
    first = (10, FileResponse.chunk_size * 2)
    second = (FileResponse.chunk_size * 2 + 100, FileResponse.chunk_size * 3 - 1)
    messages = await ranged(path, f"bytes={first[0]}-{first[1]},{second[0]}-{second[1]}")
    _, headers = start_of(messages)
    body = body_of(messages)
    assert headers["content-length"] == str(len(body))
    parts = parse_multipart(headers["content-type"], body)
    assert [data for _, data in parts] == [
        data[first[0] : first[1] + 1],
        data[second[0] : second[1] + 1],
    ]


@pytest.mark.anyio
async def test_head_with_ranges(text_file: Path) -> None:
    get = await ranged(text_file, "bytes=1-1,3-3,5-5")
    head = await ranged(text_file, "bytes=1-1,3-3,5-5", "HEAD")
    status, headers = start_of(head)
    assert status == 206
    assert headers["content-length"] == str(len(body_of(get)))
    assert head[1:] == [{"type": "http.response.body", "body": b"", "more_body": False}]
    single = await ranged(text_file, "bytes=1-2", "HEAD")
    assert start_of(single)[1]["content-range"] == "bytes 1-2/20"
    assert single[1:] == [{"type": "http.response.body", "body": b"", "more_body": False}]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "value",
    ["bytes=20-", "bytes=30-40", "bytes=-0", "bytes=0-4, 30-40", "bytes=25-20", "bytes=5-2,30-40"],
)
async def test_unsatisfiable_ranges_give_416(text_file: Path, value: str) -> None:
    messages = await ranged(text_file, value)
    assert messages == [
        {
            "type": "http.response.start",
            "status": 416,
            "headers": [
                (b"content-range", b"bytes */20"),
                (b"content-length", b"0"),
                (b"content-type", b"text/plain; charset=utf-8"),
            ],
        },
        {"type": "http.response.body", "body": b""},
    ]


@pytest.mark.anyio
async def test_any_range_of_an_empty_file_is_unsatisfiable(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    for value in ("bytes=0-4", "bytes=-5", "bytes=0-"):
        messages = await ranged(path, value)
        assert start_of(messages)[0] == 416
        assert start_of(messages)[1]["content-range"] == "bytes */0"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("garbage", "Malformed range header."),
        ("bytes", "Malformed range header."),
        ("=0-4", "Only support bytes range"),
        ("items=0-4", "Only support bytes range"),
        ("bytes=", "Range header: range must be requested"),
        ("bytes=-", "Range header: range must be requested"),
        ("bytes=1", "Range header: range must be requested"),
        ("bytes=a-4", "Range header: range must be requested"),
        ("bytes=1-b", "Range header: range must be requested"),
        ("bytes=0-4=5", "Range header: range must be requested"),
        ("bytes=-4-", "Range header: range must be requested"),
        ("bytes=+1-4", "Range header: range must be requested"),
        ("bytes=1_0-12", "Range header: range must be requested"),
        ("bytes=\u00b2-4", "Range header: range must be requested"),
        ("bytes=5-2", "Range header: start must be less than end"),
    ],
)
async def test_malformed_ranges_give_400(text_file: Path, value: str, message: str) -> None:
    messages = await ranged(text_file, value)
    assert start_of(messages)[0] == 400
    assert body_of(messages) == message.encode()


@pytest.mark.anyio
async def test_range_errors_run_the_background(text_file: Path) -> None:
    events: list[str] = []
    await ranged(text_file, "bytes=50-", background=BackgroundTask(events.append, "416"))
    await ranged(text_file, "bytes=x", background=BackgroundTask(events.append, "400"))
    assert events == ["416", "400"]


@pytest.mark.anyio
async def test_if_range(text_file: Path) -> None:
    etag = etag_of(text_file)
    last_modified = formatdate(text_file.stat().st_mtime, usegmt=True)
    for if_range, status in [
        (etag, 206),
        (last_modified, 206),
        ("W/" + etag, 200),
        ('"other"', 200),
        ("garbage", 200),
    ]:
        messages = await call(
            FileResponse(text_file), headers=[("range", "bytes=0-4"), ("if-range", if_range)]
        )
        assert start_of(messages)[0] == status, if_range


@pytest.mark.anyio
async def test_ranges_apply_to_get_and_head_with_status_200_only(text_file: Path) -> None:
    headers = [("range", "bytes=0-1")]
    assert body_of(await call(FileResponse(text_file), "POST", headers)) == CONTENT
    not_found = await call(FileResponse(text_file, status_code=404), headers=headers)
    assert start_of(not_found)[0] == 404
    assert body_of(not_found) == CONTENT


@pytest.mark.anyio
async def test_too_many_ranges_get_the_whole_file(text_file: Path) -> None:
    def spec(count: int) -> str:
        return "bytes=" + ",".join(f"{i}-{i}" for i in range(0, count * 2, 2)[:count])

    allowed = await ranged(text_file, spec(MAX_RANGES - 6))
    assert start_of(allowed)[0] == 206

    big = text_file.parent / "big.bin"
    big.write_bytes(bytes(200))
    assert start_of(await ranged(big, spec(MAX_RANGES)))[0] == 206
    too_many = await ranged(big, spec(MAX_RANGES + 1))
    assert start_of(too_many)[0] == 200
    assert body_of(too_many) == bytes(200)


@pytest.mark.anyio
async def test_ranges_adding_up_to_more_than_the_file_get_the_whole_file(text_file: Path) -> None:
    for value in ("bytes=0-,0-", "bytes=" + ",".join(["0-9"] * 3), "bytes=-20,0-0"):
        messages = await ranged(text_file, value)
        assert start_of(messages)[0] == 200, value
        assert body_of(messages) == CONTENT
    # Overlap within the file's size is merged, not refused.
    assert start_of(await ranged(text_file, "bytes=0-9,5-14"))[0] == 206


@st.composite
def range_requests(draw: st.DrawFn) -> tuple[int, str]:
    size = draw(st.integers(1, 200))
    specs = []
    for _ in range(draw(st.integers(1, 20))):
        kind = draw(st.sampled_from(["closed", "open", "suffix"]))
        if kind == "closed":
            start = draw(st.integers(0, size - 1))
            specs.append(f"{start}-{draw(st.integers(start, size + 10))}")
        elif kind == "open":
            specs.append(f"{draw(st.integers(0, size - 1))}-")
        else:
            specs.append(f"-{draw(st.integers(1, size + 10))}")
    return size, "bytes=" + ",".join(specs)


def covered(size: int, header: str) -> set[int]:
    """The byte offsets a Range header asks for, computed the obvious way."""
    offsets: set[int] = set()
    for spec in header.removeprefix("bytes=").split(","):
        first, _, last = spec.partition("-")
        if not first:
            offsets.update(range(max(size - int(last), 0), size))
        else:
            offsets.update(range(int(first), min(int(last) + 1, size) if last else size))
    return offsets


@given(range_requests())
def test_parsed_ranges_are_merged_sorted_and_cover_the_request(request: tuple[int, str]) -> None:
    size, header = request
    ranges = _parse_range(header, size)
    if ranges is None:
        return
    assert len(ranges) <= MAX_RANGES
    assert all(0 <= start < stop <= size for start, stop in ranges)
    # Sorted, and neither overlapping nor adjacent.
    assert all(a[1] < b[0] for a, b in itertools.pairwise(ranges))
    assert {i for start, stop in ranges for i in range(start, stop)} == covered(size, header)


@given(range_requests())
def test_range_responses_never_exceed_the_file_plus_part_headers(request: tuple[int, str]) -> None:
    size, header = request
    ranges = _parse_range(header, size)
    if ranges is not None:
        assert sum(stop - start for start, stop in ranges) <= size


# ----------------------------------------------------------------------------------- exports


def test_sse_names_are_reexported() -> None:
    from framework import sse

    assert responses_module.EventSourceResponse is sse.EventSourceResponse
    assert responses_module.ServerSentEvent is sse.ServerSentEvent
    assert {"EventSourceResponse", "ServerSentEvent"} <= set(responses_module.__all__)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        responses_module.Nope  # noqa: B018


@pytest.mark.parametrize(
    "statement",
    [
        "import framework.sse; from framework.responses import EventSourceResponse",
        "import framework.responses; from framework.sse import EventSourceResponse",
        "from framework.responses import *; EventSourceResponse; ServerSentEvent",
    ],
)
def test_either_module_may_be_imported_first(statement: str) -> None:
    subprocess.run([sys.executable, "-c", statement], check=True)


def test_redirect_to_a_url_with_a_lone_surrogate_does_not_raise() -> None:
    # Regression: quote() refused lone surrogates (servers may pass undecodable bytes that way).
    response = RedirectResponse("/files/\udcff\ud800")
    location = dict(response.raw_headers)[b"location"]
    assert location.startswith(b"/files/%")
    assert location.isascii()
