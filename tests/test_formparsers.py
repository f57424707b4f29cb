from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from framework import formparsers
from framework.datastructures import FormData, Headers, UploadFile
from framework.exceptions import HTTPException
from framework.formparsers import FormParser, MultiPartException, MultiPartParser
from framework.requests import Request
from framework.types import Message, Receive, Scope, Send

pytestmark = pytest.mark.anyio

BOUNDARY = b"x7boundary"
MULTIPART = "multipart/form-data; boundary=" + BOUNDARY.decode()
URLENCODED = "application/x-www-form-urlencoded"


class chunks_of:
    """The body as an async iterator; not a generator, so abandoning it leaves nothing open."""

    def __init__(self, *chunks: bytes) -> None:
        self._chunks = list(chunks)

    def __aiter__(self) -> chunks_of:
        return self

    async def __anext__(self) -> bytes:
        if not self._chunks:
            raise StopAsyncIteration
        return self._chunks.pop(0)


def headers_for(content_type: str) -> Headers:
    return Headers(raw=[(b"content-type", content_type.encode("latin-1"))])


def part(disposition: bytes, data: bytes, *extra_headers: bytes) -> bytes:
    lines = [b"Content-Disposition: " + disposition, *extra_headers]
    return (
        b"--" + BOUNDARY + b"\r\n" + b"".join(h + b"\r\n" for h in lines) + b"\r\n" + data + b"\r\n"
    )


def multipart(*parts: bytes) -> bytes:
    return b"".join(parts) + b"--" + BOUNDARY + b"--\r\n"


def split(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(cut, len(body)) for cut in cuts})
    pieces, start = [], 0
    for point in points:
        pieces.append(body[start:point])
        start = point
    pieces.append(body[start:])
    return pieces


async def parse_urlencoded(body: bytes, content_type: str = URLENCODED, **limits: Any) -> FormData:
    return await FormParser(headers_for(content_type), chunks_of(body), **limits).parse()


async def parse_multipart(body: bytes, content_type: str = MULTIPART, **limits: Any) -> FormData:
    return await MultiPartParser(headers_for(content_type), chunks_of(body), **limits).parse()


async def plain(form: FormData) -> list[tuple[str, Any]]:
    """Form items with files replaced by (filename, content type, content, size); closes them."""
    items: list[tuple[str, Any]] = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            items.append(
                (name, (value.filename, value.content_type, await value.read(), value.size))
            )
            await value.close()
        else:
            items.append((name, value))
    return items


# --- urlencoded ---------------------------------------------------------------------------


async def test_urlencoded_fields_in_order() -> None:
    form = await parse_urlencoded(b"a=1&b=2&a=%20x+y&c&=d&e=&&")
    assert form.multi_items() == [
        ("a", "1"),
        ("b", "2"),
        ("a", " x y"),
        ("c", ""),
        ("", "d"),
        ("e", ""),
    ]


async def test_urlencoded_only_ampersand_separates() -> None:
    form = await parse_urlencoded(b"a=b;c=d&x=%zz")
    assert form.multi_items() == [("a", "b;c=d"), ("x", "%zz")]


async def test_urlencoded_raw_non_ascii_bytes_use_the_charset() -> None:
    form = await parse_urlencoded("a=é&b=€".encode())
    assert form.multi_items() == [("a", "é"), ("b", "€")]


async def test_urlencoded_bad_utf8_is_replaced() -> None:
    form = await parse_urlencoded(b"a=%ff&b=\xc3\xa9")
    assert form.multi_items() == [("a", "\ufffd"), ("b", "é")]


async def test_urlencoded_charset_from_content_type() -> None:
    form = await parse_urlencoded(b"%e9=%e9", URLENCODED + "; charset=latin-1")
    assert form.multi_items() == [("é", "é")]


async def test_urlencoded_charset_field_applies_to_every_field() -> None:
    form = await parse_urlencoded(b"a=%e9&_charset_=iso-8859-1")
    assert form.multi_items() == [("a", "é"), ("_charset_", "iso-8859-1")]


@pytest.mark.parametrize("charset", ["bogus", "base64", "rot13", "a\x00b", ""])
async def test_urlencoded_unusable_charset_falls_back_to_utf8(charset: str) -> None:
    form = await parse_urlencoded(b"a=%c3%a9&_charset_=" + charset.encode("latin-1"))
    assert form["a"] == "é"
    form = await parse_urlencoded(b"a=%c3%a9", URLENCODED + "; charset=" + charset)
    assert form["a"] == "é"


async def test_urlencoded_charset_that_cannot_decode_falls_back_to_latin1() -> None:
    form = await parse_urlencoded(b"a=%e9", URLENCODED + "; charset=undefined")
    assert form["a"] == "é"


async def test_urlencoded_too_many_fields() -> None:
    assert len(await parse_urlencoded(b"a=1&b=2", max_fields=2)) == 2
    with pytest.raises(MultiPartException) as info:
        await parse_urlencoded(b"a=1&b=2&c=3", max_fields=2)
    assert info.value.message == "Too many fields. Maximum number of fields is 2."


async def test_urlencoded_empty_chunks_are_not_fields() -> None:
    assert len(await parse_urlencoded(b"&&&a=1&&&", max_fields=1)) == 1


async def test_urlencoded_field_too_large() -> None:
    # The limit covers the name and the value together.
    assert (await parse_urlencoded(b"a=" + b"x" * 2047, max_part_size=2048))["a"] == "x" * 2047
    with pytest.raises(MultiPartException) as info:
        await parse_urlencoded(b"a=" + b"x" * 2048, max_part_size=2048)
    assert info.value.message == "Field exceeded maximum size of 2KB."
    with pytest.raises(MultiPartException):
        await parse_urlencoded(b"n" * 3000 + b"=1", max_part_size=2048)


async def test_urlencoded_field_size_is_checked_as_it_streams() -> None:
    parser = FormParser(
        headers_for(URLENCODED), chunks_of(b"a=", b"x" * 100, b"x" * 100), max_part_size=150
    )
    with pytest.raises(MultiPartException):
        await parser.parse()
    # Refused on the chunk that crossed the limit, so no more than that was buffered.
    assert len(parser._value) <= 150


@settings(max_examples=100)
@given(
    st.lists(st.tuples(st.text(max_size=10), st.text(max_size=10)), max_size=8),
    st.lists(st.integers(min_value=0, max_value=200), max_size=5),
)
async def test_urlencoded_round_trip(pairs: list[tuple[str, str]], cuts: list[int]) -> None:
    # NOTE: a pair with an empty name and value encodes as "=", which is still one field.
    body = urlencode(pairs).encode()
    parser = FormParser(headers_for(URLENCODED), chunks_of(*split(body, cuts)))
    assert (await parser.parse()).multi_items() == pairs


@settings(max_examples=100)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60).map(str.encode))
async def test_urlencoded_matches_starlette(body: bytes) -> None:
    # NOTE: ASCII only: Starlette reads raw non-ASCII bytes as latin-1 ("é" sent unescaped
    # as UTF-8 becomes "Ã©"); this parser decodes them with the form's charset.
    starlette_requests = pytest.importorskip("starlette.requests")
    scope = {"type": "http", "headers": [(b"content-type", URLENCODED.encode())]}
    reference = starlette_requests.Request(scope, receive_from(body))
    expected = (await reference.form()).multi_items()
    assert (await parse_urlencoded(body)).multi_items() == expected


# --- multipart ------------------------------------------------------------------------------


async def test_multipart_fields_and_files() -> None:
    body = multipart(
        part(b'form-data; name="a"', b"1"),
        part(
            b'form-data; name="upload"; filename="hello.txt"',
            b"hello\r\nworld",
            b"Content-Type: text/plain",
            b"X-Extra: yes",
        ),
        part(b'form-data; name="a"', b""),
    )
    form = await parse_multipart(body)
    assert await plain(form) == [
        ("a", "1"),
        ("upload", ("hello.txt", "text/plain", b"hello\r\nworld", 12)),
        ("a", ""),
    ]
    upload = form["upload"]
    assert isinstance(upload, UploadFile)
    assert upload.headers.raw == [
        (b"content-disposition", b'form-data; name="upload"; filename="hello.txt"'),
        (b"content-type", b"text/plain"),
        (b"x-extra", b"yes"),
    ]


async def test_multipart_form_close_closes_files() -> None:
    form = await parse_multipart(multipart(part(b'form-data; name="f"; filename="x"', b"1")))
    upload = form["f"]
    assert isinstance(upload, UploadFile)
    assert not upload.file.closed
    await form.close()
    assert upload.file.closed


async def test_multipart_empty_filename_is_still_a_file() -> None:
    form = await parse_multipart(multipart(part(b'form-data; name="f"; filename=""', b"x")))
    assert await plain(form) == [("f", ("", None, b"x", 1))]


async def test_multipart_part_with_content_type_but_no_filename_is_a_field() -> None:
    form = await parse_multipart(
        multipart(part(b'form-data; name="a"', b"text", b"Content-Type: text/plain"))
    )
    assert form.multi_items() == [("a", "text")]


async def test_multipart_unquoted_and_escaped_parameters() -> None:
    form = await parse_multipart(
        multipart(
            part(b"form-data; name=a; filename=b", b"1"),
            part(b'form-data; name="q\\"d"; filename="C:\\\\dir\\\\ie6.txt"', b"2"),
        )
    )
    assert [(name, value[0]) for name, value in await plain(form)] == [
        ("a", "b"),
        ('q"d', "ie6.txt"),
    ]


async def test_multipart_case_insensitive_content_type_and_quoted_boundary() -> None:
    body = multipart(part(b'form-data; name="a"', b"v"))
    for content_type in (
        'multipart/form-data; boundary="x7boundary"',
        "Multipart/Form-Data; Boundary=x7boundary",
    ):
        assert (await parse_multipart(body, content_type))["a"] == "v"


async def test_multipart_names_and_values_are_utf8_with_latin1_fallback() -> None:
    form = await parse_multipart(
        multipart(
            part('form-data; name="é"; filename="ü.txt"'.encode(), b"file"),
            part(b'form-data; name="a"', b"\xe9"),
            part(b'form-data; name="b"', "é".encode()),
        )
    )
    assert [
        (name, value if isinstance(value, str) else value[0]) for name, value in await plain(form)
    ] == [("é", "ü.txt"), ("a", "é"), ("b", "é")]


async def test_multipart_charset_from_content_type() -> None:
    form = await parse_multipart(
        multipart(part(b'form-data; name="a"', "€".encode("cp1252"))),
        MULTIPART + "; charset=cp1252",
    )
    assert form["a"] == "€"


async def test_multipart_charset_field() -> None:
    # cp1252 bytes that are also valid UTF-8 show that the charset, not the fallback, decoded.
    value = "Ã©".encode("cp1252")
    form = await parse_multipart(
        multipart(
            part(b'form-data; name="_charset_"', b"cp1252"),
            part(b'form-data; name="a"', value),
            part(b'form-data; name="f"; filename="' + value + b'"', b""),
        )
    )
    assert form["a"] == "Ã©"
    upload = form["f"]
    assert isinstance(upload, UploadFile)
    assert upload.filename == "Ã©"
    await form.close()
    form = await parse_multipart(
        multipart(
            part(b'form-data; name="_charset_"', b"base64"), part(b'form-data; name="a"', b"x")
        )
    )
    assert form["a"] == "x"


async def test_multipart_filename_star_is_ignored() -> None:
    # RFC 7578 forbids the RFC 5987 form in multipart/form-data; python-multipart ignores it,
    # so a part with only filename* is a plain field (as in Starlette).
    form = await parse_multipart(
        multipart(part(b"form-data; name=\"a\"; filename*=UTF-8''%e2%82%ac.txt", b"x"))
    )
    assert form.multi_items() == [("a", "x")]


async def test_multipart_missing_boundary() -> None:
    for content_type in (
        "multipart/form-data",
        "multipart/form-data; boundary=",
        'multipart/form-data; boundary=""',
    ):
        with pytest.raises(MultiPartException) as info:
            await parse_multipart(multipart(), content_type)
        assert info.value.message == "Missing boundary in multipart."


async def test_multipart_boundary_too_long() -> None:
    with pytest.raises(MultiPartException) as info:
        await parse_multipart(b"", "multipart/form-data; boundary=" + "b" * 300)
    assert info.value.message == "Invalid multipart data."


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"garbage", id="garbage"),
        pytest.param(
            b"preamble\r\n" + multipart(part(b'form-data; name="a"', b"v")), id="preamble"
        ),
        pytest.param(
            multipart(part(b'form-data; name="a"', b"v", *[b"X: y"] * 40)), id="too-many-headers"
        ),
        pytest.param(
            multipart(part(b'form-data; name="a"', b"v", b"X: " + b"y" * 9000)), id="huge-header"
        ),
    ],
)
async def test_multipart_invalid_data(body: bytes) -> None:
    with pytest.raises(MultiPartException) as info:
        await parse_multipart(body)
    assert info.value.message == "Invalid multipart data."


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            b"--" + BOUNDARY + b"\r\nX-Other: 1\r\n\r\ndata\r\n--" + BOUNDARY + b"--\r\n",
            id="no-disposition",
        ),
        pytest.param(
            b"--" + BOUNDARY + b"\r\n\r\ndata\r\n--" + BOUNDARY + b"--\r\n", id="no-headers"
        ),
        pytest.param(multipart(part(b"form-data", b"data")), id="no-name"),
        pytest.param(multipart(part(b'form-data; filename="f"', b"data")), id="file-no-name"),
    ],
)
async def test_multipart_part_needs_a_name(body: bytes) -> None:
    with pytest.raises(MultiPartException) as info:
        await parse_multipart(body)
    assert info.value.message == 'The Content-Disposition header field "name" must be provided.'


async def test_multipart_too_many_fields() -> None:
    body = multipart(part(b'form-data; name="a"', b"1"), part(b'form-data; name="b"', b"2"))
    assert len(await parse_multipart(body, max_fields=2)) == 2
    with pytest.raises(MultiPartException) as info:
        await parse_multipart(body, max_fields=1)
    assert info.value.message == "Too many fields. Maximum number of fields is 1."


async def test_multipart_too_many_files() -> None:
    body = multipart(
        part(b'form-data; name="a"; filename="1"', b"1"),
        part(b'form-data; name="b"; filename="2"', b"2"),
    )
    assert len(await plain(await parse_multipart(body, max_files=2, max_fields=0))) == 2
    with pytest.raises(MultiPartException) as info:
        await parse_multipart(body, max_files=1)
    assert info.value.message == "Too many files. Maximum number of files is 1."


async def test_multipart_field_too_large_but_files_are_not_limited() -> None:
    body = multipart(part(b'form-data; name="a"', b"x" * 2049))
    with pytest.raises(MultiPartException) as info:
        await parse_multipart(body, max_part_size=2048)
    assert info.value.message == "Part exceeded maximum size of 2KB."
    body = multipart(part(b'form-data; name="a"; filename="f"', b"x" * 5000))
    form = await parse_multipart(body, max_part_size=2048)
    assert await plain(form) == [("a", ("f", None, b"x" * 5000, 5000))]


async def test_multipart_large_file_spools_to_disk() -> None:
    content = bytes(range(256)) * 8192  # 2 MiB, twice the spool's memory limit
    body = multipart(part(b'form-data; name="f"; filename="big.bin"', content))
    form = await MultiPartParser(
        headers_for(MULTIPART), chunks_of(*split(body, list(range(0, len(body), 65536))))
    ).parse()
    upload = form["f"]
    assert isinstance(upload, UploadFile)
    assert upload.file._rolled  # type: ignore[attr-defined]
    assert upload.size == len(content)
    assert await upload.read() == content
    await form.close()


async def test_multipart_unfinished_parts_are_dropped_and_their_files_closed() -> None:
    with recorded_spools() as spools:
        form = await parse_multipart(
            part(b'form-data; name="a"', b"1") + part(b'form-data; name="f"; filename="x"', b"abc")
        )
    assert form.multi_items() == [("a", "1")]
    assert len(spools) == 1
    assert spools[0].closed


async def test_multipart_files_are_closed_when_parsing_fails() -> None:
    body = multipart(
        part(b'form-data; name="f"; filename="x"', b"abc"),
        part(b'form-data; name="a"', b"1"),
        part(b'form-data; name="b"', b"2"),
    )
    with recorded_spools() as spools, pytest.raises(MultiPartException):
        await parse_multipart(body, max_fields=1)
    assert len(spools) == 1
    assert spools[0].closed


async def test_multipart_files_are_closed_when_the_stream_fails() -> None:
    class Gone(Exception):
        pass

    async def failing() -> AsyncIterator[bytes]:
        yield part(b'form-data; name="f"; filename="x"', b"abc")
        raise Gone

    with recorded_spools() as spools, pytest.raises(Gone):
        await MultiPartParser(headers_for(MULTIPART), failing()).parse()
    assert len(spools) == 1
    assert spools[0].closed


part_names = st.text(alphabet="abcdefghij-.é€ ", min_size=1, max_size=8)
field_values = st.binary(max_size=30)
file_parts = st.tuples(part_names, st.binary(max_size=300), st.sampled_from([None, "text/plain"]))
multipart_items = st.lists(st.tuples(part_names, st.one_of(field_values, file_parts)), max_size=5)


def build_multipart(items: list[tuple[str, bytes | tuple[str, bytes, str | None]]]) -> bytes:
    parts = []
    for name, value in items:
        disposition = b'form-data; name="' + name.encode() + b'"'
        if isinstance(value, bytes):
            parts.append(part(disposition, value))
        else:
            filename, content, content_type = value
            extra = [b"Content-Type: " + content_type.encode()] if content_type else []
            parts.append(
                part(disposition + b'; filename="' + filename.encode() + b'"', content, *extra)
            )
    return multipart(*parts)


@settings(max_examples=60)
@given(multipart_items, st.lists(st.integers(min_value=0, max_value=2000), max_size=6))
async def test_multipart_chunking_does_not_matter(
    items: list[tuple[str, bytes | tuple[str, bytes, str | None]]], cuts: list[int]
) -> None:
    body = build_multipart(items)
    assume(b"\r\n--" + BOUNDARY not in body.replace(b"--" + BOUNDARY, b""))
    whole = await plain(await parse_multipart(body))
    pieces = await plain(
        await MultiPartParser(headers_for(MULTIPART), chunks_of(*split(body, cuts))).parse()
    )
    assert pieces == whole
    assert len(whole) == len(items)


@settings(max_examples=60)
@given(multipart_items)
async def test_multipart_matches_starlette(
    items: list[tuple[str, bytes | tuple[str, bytes, str | None]]],
) -> None:
    starlette_requests = pytest.importorskip("starlette.requests")
    body = build_multipart(items)
    scope = {"type": "http", "headers": [(b"content-type", MULTIPART.encode())]}
    reference = starlette_requests.Request(scope, receive_from(body))
    expected: list[tuple[str, Any]] = []
    for name, value in (await reference.form()).multi_items():
        if isinstance(value, str):
            expected.append((name, value))
        else:
            expected.append(
                (name, (value.filename, value.content_type, await value.read(), value.size))
            )
            await value.close()
    assert await plain(await parse_multipart(body)) == expected


# --- never a 500: garbled bodies through Request.form() in an ASGI app ------------------------


def receive_from(*chunks: bytes) -> Receive:
    messages: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks
    ]
    messages.append({"type": "http.request", "body": b"", "more_body": False})

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    return receive


async def form_app(scope: Scope, receive: Receive, send: Send) -> None:
    """A raw ASGI app that reads a form with small limits and answers 200 or the error's status."""
    request = Request(scope, receive, send)
    try:
        async with request.form(max_files=2, max_fields=3, max_part_size=64) as form:
            assert isinstance(form, FormData)
            for value in form.values():
                if isinstance(value, UploadFile):
                    await value.read()
        status, body = 200, b""
    except HTTPException as exc:
        status, body = exc.status_code, exc.detail.encode()
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def call_form_app(content_type: bytes, chunks: list[bytes]) -> tuple[int, bytes]:
    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"content-type", content_type)],
        "app": form_app,
    }
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await form_app(scope, receive_from(*chunks), send)
    return sent[0]["status"], sent[1]["body"]


@contextmanager
def recorded_spools() -> Iterator[list[tempfile.SpooledTemporaryFile[bytes]]]:
    spools: list[tempfile.SpooledTemporaryFile[bytes]] = []

    def spool(max_size: int = 0) -> tempfile.SpooledTemporaryFile[bytes]:
        # The code under test owns the spool and must close it; that is what is checked.
        file: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=max_size
        )
        spools.append(file)
        return file

    with mock.patch.object(formparsers, "SpooledTemporaryFile", spool):
        yield spools


def mutate(body: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    for position, delete, insert in edits:
        at = position % (len(body) + 1)
        body = body[:at] + insert + body[at + delete :]
    return body


content_types = st.one_of(
    st.just(MULTIPART.encode()),
    st.sampled_from(
        [
            b"multipart/form-data",
            b"multipart/form-data; boundary=",
            b"multipart/form-data; boundary=" + b"b" * 300,
            b'multipart/form-data; boundary="x7boundary"; charset=base64',
            MULTIPART.encode() + b"; charset=utf-16",
            URLENCODED.encode(),
            URLENCODED.encode() + b"; charset=undefined",
            b"text/plain",
        ]
    ),
    st.binary(max_size=40).map(lambda raw: b"multipart/form-data; boundary=" + raw),
)

garbled_bodies = st.one_of(
    st.binary(max_size=300),
    st.builds(
        mutate,
        multipart_items.map(build_multipart),
        st.lists(
            st.tuples(
                st.integers(min_value=0),
                st.integers(min_value=0, max_value=8),
                st.binary(max_size=8),
            ),
            min_size=1,
            max_size=4,
        ),
    ),
    st.builds(
        lambda parts: multipart(*parts),
        st.lists(
            st.builds(
                part,
                st.sampled_from(
                    [
                        b'form-data; name="a"',
                        b'form-data; name="f"; filename="f"',
                        b"form-data",
                        b'form-data; name="_charset_"',
                        b"form-data; name=\"a\"; filename*=UTF-8''x",
                        b"",
                    ]
                ),
                st.binary(max_size=100),
                st.sampled_from([b"Content-Type: text/plain", b"X: \xff", b": empty", b"nocolon"]),
            ),
            max_size=6,
        ),
    ),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(content_types, garbled_bodies, st.lists(st.integers(min_value=0, max_value=400), max_size=4))
async def test_garbled_forms_give_a_form_or_a_400(
    content_type: bytes, body: bytes, cuts: list[int]
) -> None:
    with recorded_spools() as spools:
        status, detail = await call_form_app(content_type, split(body, cuts))
    event(f"status {status}: {detail[:30]!r}")
    assert status in (200, 400)
    if status == 400:
        assert detail
    assert all(spool.closed for spool in spools)


async def test_form_app_turns_limits_into_400() -> None:
    body = multipart(*[part(b'form-data; name="a"', b"1")] * 4)
    assert await call_form_app(MULTIPART.encode(), [body]) == (
        400,
        b"Too many fields. Maximum number of fields is 3.",
    )
    assert await call_form_app(b"multipart/form-data", [body]) == (
        400,
        b"Missing boundary in multipart.",
    )
