from __future__ import annotations

import json
import tempfile
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework import formparsers
from framework import requests as requests_module
from framework.datastructures import URL, Address, FormData, Headers, QueryParams, State, UploadFile
from framework.exceptions import HTTPException
from framework.formparsers import MultiPartException
from framework.requests import (
    SERVER_PUSH_HEADERS_TO_COPY,
    ClientDisconnect,
    HTTPConnection,
    Request,
    cookie_parser,
    empty_receive,
    empty_send,
)
from framework.types import Message, Receive, Scope

BOUNDARY = b"reqboundary"
MULTIPART = b"multipart/form-data; boundary=" + BOUNDARY


def http_scope(
    *,
    headers: list[tuple[bytes, bytes]] | None = None,
    path: str = "/",
    query_string: bytes = b"",
    **extra: Any,
) -> Scope:
    scope: Scope = {
        "type": "http",
        "method": "POST",
        "scheme": "http",
        "server": ("testserver", 80),
        "path": path,
        "root_path": "",
        "query_string": query_string,
        "headers": headers or [],
    }
    scope.update(extra)
    return scope


def receive_from(*chunks: bytes) -> Receive:
    """A receive channel yielding ``chunks`` as one body, then disconnecting."""
    messages: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks
    ]
    messages.append({"type": "http.request", "body": b"", "more_body": False})

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    return receive


async def unreachable_receive() -> Message:
    raise AssertionError("receive must not be called")


def multipart_body(*parts: tuple[bytes, bytes]) -> bytes:
    body = b""
    for disposition, data in parts:
        body += b"--" + BOUNDARY + b"\r\nContent-Disposition: " + disposition + b"\r\n\r\n"
        body += data + b"\r\n"
    return body + b"--" + BOUNDARY + b"--\r\n"


# --- cookie_parser --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", {}),
        ("a=1; b=2", {"a": "1", "b": "2"}),
        ("a", {"": "a"}),
        ("a=", {"a": ""}),
        ("=b", {"": "b"}),
        ("a=1=2", {"a": "1=2"}),
        (' a = "x y" ;; b="\\101\\""', {"a": "x y", "b": 'A"'}),
        ('a=""', {"a": ""}),
        ('a="', {"a": '"'}),
        ("x;y;=z", {"": "z"}),
        ('"a"=b', {'"a"': "b"}),
        ("a=1; a=2", {"a": "2"}),
        (
            'keebler=E=mc2; L="Loves"; fudge=\\012;',
            {"keebler": "E=mc2", "L": "Loves", "fudge": "\\012"},
        ),
    ],
)
def test_cookie_parser(header: str, expected: dict[str, str]) -> None:
    assert cookie_parser(header) == expected


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(list('ab =;"\\0127\t\n\x0b\xa0\u3000')), max_size=30))
def test_cookie_parser_matches_starlette(header: str) -> None:
    starlette_requests = pytest.importorskip("starlette.requests")
    assert cookie_parser(header) == starlette_requests.cookie_parser(header)


@settings(max_examples=100)
@given(st.text(max_size=40))
def test_cookie_parser_never_fails(header: str) -> None:
    assert isinstance(cookie_parser(header), dict)


# --- HTTPConnection -------------------------------------------------------------------------


def test_connection_is_a_read_only_view_of_the_scope() -> None:
    scope = http_scope(custom=1)
    conn = HTTPConnection(scope)
    assert conn["custom"] == 1
    assert set(conn) == set(scope)
    assert len(conn) == len(scope)
    assert conn.scope is scope


def test_connection_equality_is_identity_and_hashable() -> None:
    scope = http_scope()
    first, second = HTTPConnection(scope), HTTPConnection(scope)
    assert first == first
    assert first != second
    assert len({first, second}) == 2


def test_connection_accepts_http_and_websocket_only() -> None:
    HTTPConnection({"type": "websocket", "headers": []})
    with pytest.raises(AssertionError):
        HTTPConnection({"type": "lifespan"})
    with pytest.raises(AssertionError):
        Request({"type": "websocket", "headers": []})


def test_url_headers_and_query_params() -> None:
    conn = HTTPConnection(
        http_scope(
            path="/a/b",
            query_string=b"x=1&x=2&y=%20",
            headers=[(b"host", b"example.com"), (b"x-thing", b"1"), (b"x-thing", b"2")],
        )
    )
    assert conn.url == URL("http://example.com/a/b?x=1&x=2&y=%20")
    assert conn.url is conn.url
    assert isinstance(conn.headers, Headers)
    assert conn.headers.getlist("X-Thing") == ["1", "2"]
    assert conn.headers is conn.headers
    assert isinstance(conn.query_params, QueryParams)
    assert conn.query_params.getlist("x") == ["1", "2"]
    assert conn.query_params["y"] == " "
    assert conn.query_params is conn.query_params


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, "http://testserver/"),
        ({"root_path": "/mount"}, "http://testserver/mount/"),
        ({"root_path": "/mount/", "path": "/mount/x"}, "http://testserver/mount/"),
        ({"root_path": "/inner", "app_root_path": "/outer"}, "http://testserver/outer/"),
    ],
)
def test_base_url(extra: dict[str, Any], expected: str) -> None:
    scope = http_scope(query_string=b"q=1")
    scope.update(extra)
    conn = HTTPConnection(scope)
    assert str(conn.base_url) == expected
    assert conn.base_url is conn.base_url
    assert scope["query_string"] == b"q=1"


def test_path_params_client_and_app() -> None:
    app = object()
    conn = HTTPConnection(http_scope(path_params={"id": 1}, client=("1.2.3.4", 5), app=app))
    assert conn.path_params == {"id": 1}
    assert conn.client == Address("1.2.3.4", 5)
    assert conn.client.host == "1.2.3.4"
    assert conn.app is app
    bare = HTTPConnection(http_scope())
    assert bare.path_params == {}
    assert bare.client is None


def test_cookies_merge_every_cookie_header() -> None:
    conn = HTTPConnection(http_scope(headers=[(b"cookie", b"a=1; b=2"), (b"cookie", b"c=3; a=4")]))
    assert conn.cookies == {"a": "4", "b": "2", "c": "3"}
    assert HTTPConnection(http_scope()).cookies == {}


def test_cookies_are_parsed_only_when_read_and_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def counting_parser(header: str) -> dict[str, str]:
        calls.append(header)
        return cookie_parser(header)

    monkeypatch.setattr(requests_module, "cookie_parser", counting_parser)
    conn = HTTPConnection(http_scope(headers=[(b"cookie", b"a=1")]))
    assert conn.headers["cookie"] == "a=1"
    assert calls == []
    assert conn.cookies == {"a": "1"}
    assert conn.cookies is conn.cookies
    assert calls == ["a=1"]


@pytest.mark.parametrize(
    ("attribute", "message"),
    [
        ("session", "SessionMiddleware must be installed to access request.session"),
        ("auth", "AuthenticationMiddleware must be installed to access request.auth"),
        ("user", "AuthenticationMiddleware must be installed to access request.user"),
    ],
)
def test_middleware_attributes(attribute: str, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        getattr(HTTPConnection(http_scope()), attribute)
    value = object()
    scope = http_scope()
    scope[attribute] = value
    assert getattr(HTTPConnection(scope), attribute) is value


def test_state_is_created_in_the_scope_and_shared() -> None:
    scope = http_scope()
    conn = HTTPConnection(scope)
    state = conn.state
    assert isinstance(state, State)
    assert conn.state is state
    state.answer = 42
    assert scope["state"] == {"answer": 42}
    assert HTTPConnection(scope).state.answer == 42
    scope = http_scope(state={"x": 1})
    assert HTTPConnection(scope).state.x == 1


class FakeURLPathFor:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        from framework.datastructures import URLPath

        return URLPath(f"{self.prefix}/{name}/{path_params['id']}")


def test_url_for_prefers_the_router_then_the_app() -> None:
    conn = HTTPConnection(
        http_scope(root_path="/root", router=FakeURLPathFor("/r"), app=FakeURLPathFor("/a"))
    )
    assert conn.url_for("item", id=3) == URL("http://testserver/root/r/item/3")
    conn = HTTPConnection(http_scope(app=FakeURLPathFor("/a")))
    assert str(conn.url_for("item", id=4)) == "http://testserver/a/item/4"
    with pytest.raises(RuntimeError, match="url_for"):
        HTTPConnection(http_scope()).url_for("item", id=1)


def test_request_is_generic_in_its_state() -> None:
    request: Request[State] = Request[State](http_scope())
    assert isinstance(request.state, State)
    assert HTTPConnection[State] is not HTTPConnection


# --- Request basics -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_method_and_receive() -> None:
    receive = receive_from(b"x")
    request = Request(http_scope(method="PUT"), receive)
    assert request.method == "PUT"
    assert request.receive is receive


@pytest.mark.anyio
async def test_empty_channels_raise() -> None:
    with pytest.raises(RuntimeError, match="Receive channel has not been made available"):
        await empty_receive()
    with pytest.raises(RuntimeError, match="Send channel has not been made available"):
        await empty_send({})
    with pytest.raises(RuntimeError, match="Receive channel"):
        await Request(http_scope()).body()


# --- stream, body, json ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_stream_yields_chunks_then_an_empty_chunk() -> None:
    request = Request(http_scope(), receive_from(b"ab", b"", b"cd"))
    assert [chunk async for chunk in request.stream()] == [b"ab", b"cd", b""]
    with pytest.raises(RuntimeError, match="Stream consumed"):
        async for _ in request.stream():
            pass  # pragma: no cover


@pytest.mark.anyio
async def test_stream_raises_client_disconnect() -> None:
    messages: list[Message] = [
        {"type": "http.request", "body": b"a", "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return messages.pop(0)

    request = Request(http_scope(), receive)
    with pytest.raises(ClientDisconnect):
        await request.body()
    assert await request.is_disconnected()


@pytest.mark.anyio
async def test_body_is_read_once_and_cached() -> None:
    request = Request(http_scope(), receive_from(b"hello ", b"world"))
    assert await request.body() == b"hello world"
    assert await request.body() == b"hello world"
    assert [chunk async for chunk in request.stream()] == [b"hello world", b""]


def read_once(*chunks: bytes) -> Receive:
    """A receive channel for one body; asking it again after that fails the test."""
    messages: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks
    ]
    messages.append({"type": "http.request", "body": b"", "more_body": False})

    async def receive() -> Message:
        if not messages:
            raise AssertionError("the body was asked of the server twice")
        return messages.pop(0)

    return receive


@pytest.mark.anyio
async def test_body_read_by_one_request_is_seen_by_a_later_request() -> None:
    """A middleware reads the body; the endpoint builds its own Request on the same scope."""
    scope = http_scope(headers=[(b"content-type", b"application/x-www-form-urlencoded")])
    receive = read_once(b"a=1&", b"b=2")
    assert await Request(scope, receive).body() == b"a=1&b=2"

    later = Request(scope, receive)
    assert await later.body() == b"a=1&b=2"
    assert [chunk async for chunk in later.stream()] == [b"a=1&b=2", b""]
    assert (await later.form()).multi_items() == [("a", "1"), ("b", "2")]

    streamed = Request(scope, receive)
    assert [chunk async for chunk in streamed.stream()] == [b"a=1&b=2", b""]


@pytest.mark.anyio
async def test_json_from_a_body_read_by_an_earlier_request() -> None:
    scope = http_scope()
    receive = read_once(b'{"a": ', b"[1, 2]}")
    assert await Request(scope, receive).body() == b'{"a": [1, 2]}'
    assert await Request(scope, receive).json() == {"a": [1, 2]}


@pytest.mark.anyio
async def test_a_new_receive_channel_is_a_new_body() -> None:
    # Regression: a middleware that read the body and handed the app a receive channel with a
    # rewritten body (decompressed, decrypted...) had its rewrite ignored.
    scope = http_scope()
    assert await Request(scope, read_once(b"hello")).body() == b"hello"
    assert await Request(scope, read_once(b"HELLO")).body() == b"HELLO"


@pytest.mark.anyio
async def test_streaming_does_not_keep_the_body() -> None:
    # NOTE: stream() is for bodies too large to hold; only body() keeps a copy.
    scope = http_scope()
    request = Request(scope, receive_from(b"a", b"b"))
    assert [chunk async for chunk in request.stream()] == [b"a", b"b", b""]
    assert "framework.request.body" not in scope


@pytest.mark.anyio
async def test_json() -> None:
    request = Request(http_scope(), receive_from(b'{"a": 1, "b": [null, 1.5]}'))
    first = await request.json()
    assert first == {"a": 1, "b": [None, 1.5]}
    assert await request.json() is first


@pytest.mark.anyio
async def test_json_null_is_cached_too() -> None:
    calls = 0
    receive = receive_from(b"null")

    async def counting_receive() -> Message:
        nonlocal calls
        calls += 1
        return await receive()

    request = Request(http_scope(), counting_receive)
    assert await request.json() is None
    calls_for_first_read = calls
    assert await request.json() is None
    assert calls == calls_for_first_read


@pytest.mark.anyio
async def test_invalid_json_raises_json_decode_error() -> None:
    with pytest.raises(json.JSONDecodeError):
        await Request(http_scope(), receive_from(b"{nope")).json()


# --- form -----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_form_urlencoded() -> None:
    scope = http_scope(headers=[(b"content-type", b"application/x-www-form-urlencoded")])
    request = Request(scope, receive_from(b"a=1&b=", b"2"))
    form = await request.form()
    assert form.multi_items() == [("a", "1"), ("b", "2")]
    assert await request.form() is form


@pytest.mark.anyio
async def test_form_multipart_as_context_manager_closes_files() -> None:
    body = multipart_body(
        (b'form-data; name="a"', b"1"), (b'form-data; name="f"; filename="x.txt"', b"data")
    )
    request = Request(http_scope(headers=[(b"content-type", MULTIPART)]), receive_from(body))
    async with request.form() as form:
        assert form["a"] == "1"
        upload = form["f"]
        assert isinstance(upload, UploadFile)
        assert await upload.read() == b"data"
        assert not upload.file.closed
    assert upload.file.closed


@pytest.mark.anyio
async def test_request_close_closes_form_files() -> None:
    body = multipart_body((b'form-data; name="f"; filename="x.txt"', b"data"))
    request = Request(http_scope(headers=[(b"content-type", MULTIPART)]), receive_from(body))
    await request.close()
    upload = (await request.form())["f"]
    assert isinstance(upload, UploadFile)
    await request.close()
    assert upload.file.closed


@pytest.mark.anyio
@pytest.mark.parametrize("content_type", [None, b"text/plain", b"application/json"])
async def test_form_of_other_content_types_is_empty(content_type: bytes | None) -> None:
    headers = [] if content_type is None else [(b"content-type", content_type)]
    form = await Request(http_scope(headers=headers), unreachable_receive).form()
    assert isinstance(form, FormData)
    assert len(form) == 0


@pytest.mark.anyio
async def test_unused_form_reader_leaves_nothing_behind() -> None:
    # Warnings are errors: a coroutine created but never awaited would fail this test.
    Request(http_scope(), unreachable_receive).form()


@pytest.mark.anyio
async def test_form_errors_outside_an_app_are_multipart_exceptions() -> None:
    request = Request(
        http_scope(headers=[(b"content-type", b"multipart/form-data")]), receive_from(b"")
    )
    with pytest.raises(MultiPartException, match=r"Missing boundary in multipart\."):
        await request.form()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("content_type", "body", "limits", "detail"),
    [
        (b"multipart/form-data", b"", {}, "Missing boundary in multipart."),
        (MULTIPART, b"garbage", {}, "Invalid multipart data."),
        (
            MULTIPART,
            multipart_body((b'form-data; name="a"', b"1"), (b'form-data; name="b"', b"2")),
            {"max_fields": 1},
            "Too many fields. Maximum number of fields is 1.",
        ),
        (
            MULTIPART,
            multipart_body(
                (b'form-data; name="a"; filename="1"', b"1"),
                (b'form-data; name="b"; filename="2"', b"2"),
            ),
            {"max_files": 1},
            "Too many files. Maximum number of files is 1.",
        ),
        (
            MULTIPART,
            multipart_body((b'form-data; name="a"', b"x" * 2000)),
            {"max_part_size": 1024},
            "Part exceeded maximum size of 1KB.",
        ),
        (
            b"application/x-www-form-urlencoded",
            b"a=1&b=2",
            {"max_fields": 1},
            "Too many fields. Maximum number of fields is 1.",
        ),
        (
            b"application/x-www-form-urlencoded",
            b"a=" + b"x" * 2000,
            {"max_part_size": 1024},
            "Field exceeded maximum size of 1KB.",
        ),
    ],
)
async def test_form_errors_inside_an_app_are_400s(
    content_type: bytes, body: bytes, limits: dict[str, Any], detail: str
) -> None:
    scope = http_scope(headers=[(b"content-type", content_type)], app=object())
    with pytest.raises(HTTPException) as info:
        await Request(scope, receive_from(body)).form(**limits)
    assert info.value.status_code == 400
    assert info.value.detail == detail


@pytest.mark.anyio
async def test_client_disconnect_during_form_closes_files() -> None:
    first = multipart_body((b'form-data; name="f"; filename="x"', b"data"))[:-8]
    messages: list[Message] = [
        {"type": "http.request", "body": first, "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return messages.pop(0)

    spools: list[tempfile.SpooledTemporaryFile[bytes]] = []

    def spool(max_size: int = 0) -> tempfile.SpooledTemporaryFile[bytes]:
        # The code under test owns the spool and must close it; that is what is checked.
        file: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=max_size
        )
        spools.append(file)
        return file

    request = Request(http_scope(headers=[(b"content-type", MULTIPART)]), receive)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(formparsers, "SpooledTemporaryFile", spool)
        with pytest.raises(ClientDisconnect):
            await request.form()
    assert len(spools) == 1
    assert spools[0].closed


# --- disconnects ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_is_disconnected_does_not_wait() -> None:
    never = anyio.Event()

    async def blocking_receive() -> Message:
        await never.wait()
        raise AssertionError("unreachable")  # pragma: no cover

    request = Request(http_scope(), blocking_receive)
    with anyio.fail_after(1):
        assert not await request.is_disconnected()


@pytest.mark.anyio
async def test_is_disconnected_sees_a_disconnect_and_remembers_it() -> None:
    calls = 0

    async def receive() -> Message:
        nonlocal calls
        calls += 1
        return {"type": "http.disconnect"}

    request = Request(http_scope(), receive)
    assert await request.is_disconnected()
    assert await request.is_disconnected()
    assert calls == 1


@pytest.mark.anyio
async def test_is_disconnected_keeps_a_body_chunk_it_received() -> None:
    request = Request(http_scope(), receive_from(b"first", b"second"))
    assert not await request.is_disconnected()
    assert await request.body() == b"firstsecond"


# --- server push and early hints ------------------------------------------------------------


@pytest.mark.anyio
async def test_send_push_promise() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    headers = [(b"accept", b"text/html"), (b"user-agent", b"ua"), (b"cookie", b"secret=1")]
    await Request(http_scope(headers=headers), send=send).send_push_promise("/style.css")
    assert sent == []
    scope = http_scope(headers=headers, extensions={"http.response.push": {}})
    await Request(scope, send=send).send_push_promise("/style.css")
    assert sent == [
        {
            "type": "http.response.push",
            "path": "/style.css",
            "headers": [(b"accept", b"text/html"), (b"user-agent", b"ua")],
        }
    ]
    assert "cookie" not in SERVER_PUSH_HEADERS_TO_COPY


@pytest.mark.anyio
async def test_send_early_hints() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await Request(http_scope(), send=send).send_early_hints("</a.css>; rel=preload")
    assert sent == []
    scope = http_scope(extensions={"http.response.early_hint": {}})
    await Request(scope, send=send).send_early_hints("</a.css>; rel=preload", "</b.js>")
    assert sent == [
        {"type": "http.response.early_hint", "links": [b"</a.css>; rel=preload", b"</b.js>"]}
    ]


def test_public_surface() -> None:
    assert sorted(requests_module.__all__) == [
        "ClientDisconnect",
        "HTTPConnection",
        "Request",
        "SERVER_PUSH_HEADERS_TO_COPY",
        "cookie_parser",
        "empty_receive",
        "empty_send",
    ]


def test_session_access_marks_a_tracking_session_as_accessed() -> None:
    class TrackingSession(dict[str, Any]):
        accessed = False

        def mark_accessed(self) -> None:
            self.accessed = True

    session = TrackingSession()
    request = Request({"type": "http", "session": session})
    assert not session.accessed
    assert request.session is session
    assert session.accessed


@pytest.mark.anyio
async def test_polling_for_disconnect_twice_keeps_every_body_chunk() -> None:
    # Regression: the second poll replaced the chunk the first one had taken.
    request = Request(http_scope(), receive_from(b"A", b"B"))
    assert not await request.is_disconnected()
    assert not await request.is_disconnected()
    assert await request.body() == b"AB"
