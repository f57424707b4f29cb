from __future__ import annotations

import copy
import io
import pickle
import re
import tempfile
from collections.abc import Callable
from typing import Any, BinaryIO, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import framework.concurrency
import framework.datastructures
from framework.datastructures import (
    URL,
    Address,
    CommaSeparatedStrings,
    FormData,
    Headers,
    ImmutableMultiDict,
    MultiDict,
    MutableHeaders,
    QueryParams,
    Secret,
    State,
    UploadFile,
    URLPath,
)
from framework.types import Scope

T = TypeVar("T")


# --- URL -------------------------------------------------------------------------------------


def test_url_components() -> None:
    url = URL("https://user:pw@example.org:123/path/to/somewhere?abc=123#anchor")
    assert url.scheme == "https"
    assert url.netloc == "user:pw@example.org:123"
    assert url.path == "/path/to/somewhere"
    assert url.query == "abc=123"
    assert url.fragment == "anchor"
    assert url.username == "user"
    assert url.password == "pw"
    assert url.hostname == "example.org"
    assert url.port == 123
    assert url.is_secure
    assert url.components.geturl() == str(url)


def test_url_components_are_parsed_once() -> None:
    url = URL("http://example.org/")
    assert url.components is url.components


def test_url_missing_parts() -> None:
    url = URL("/relative")
    assert url.scheme == ""
    assert url.netloc == ""
    assert url.hostname is None
    assert url.port is None
    assert url.username is None
    assert url.password is None
    assert not url.is_secure
    assert URL().components.geturl() == ""


def test_url_hostname_is_lower_case_and_unbracketed() -> None:
    assert URL("http://EXAMPLE.org/").hostname == "example.org"
    assert URL("http://[::1]:8000/").hostname == "::1"
    assert URL("HTTPS://example.org/").scheme == "https"


@pytest.mark.parametrize(
    ("url", "secure"),
    [
        ("http://a.com/", False),
        ("https://a.com/", True),
        ("ws://a.com/", False),
        ("wss://a.com/", True),
        ("HTTPS://a.com/", True),
        ("/a", False),
    ],
)
def test_url_is_secure(url: str, secure: bool) -> None:
    assert URL(url).is_secure is secure


def test_url_invalid_port() -> None:
    with pytest.raises(ValueError, match="Port could not be cast"):
        _ = URL("http://a.com:abc/").port


def test_url_str_and_equality() -> None:
    text = "https://example.org/path?a=1#f"
    url = URL(text)
    assert str(url) == text
    assert url == text
    assert url == URL(text)
    assert url != URL("https://example.org/path")
    assert url != "https://example.org/path/"
    assert url != 1
    with pytest.raises(TypeError):
        hash(url)


def test_url_str_keeps_the_text_as_given() -> None:
    assert str(URL("http://a.com/p?")) == "http://a.com/p?"
    assert str(URL("http://a.com/p#")) == "http://a.com/p#"


def test_url_repr_masks_the_password() -> None:
    url = URL("https://user:secret@example.org/p")
    assert repr(url) == "URL('https://user:********@example.org/p')"
    assert "secret" not in repr(url)
    assert repr(URL("http://u:@a.com")) == "URL('http://u:@a.com')"
    assert repr(URL("http://a.com/")) == "URL('http://a.com/')"


def test_url_from_components() -> None:
    assert URL(scheme="https", netloc="a.com", path="/a", query="x=1", fragment="f") == (
        "https://a.com/a?x=1#f"
    )
    assert URL(path="/a") == "/a"
    assert URL(hostname="x", port=5, path="/a") == "//x:5/a"


def test_url_rejects_conflicting_arguments() -> None:
    with pytest.raises(TypeError, match=r"url.*scope"):
        URL("http://a.com", scope={"type": "http"})
    with pytest.raises(TypeError, match=r"scope.*components"):
        URL(scope={"type": "http"}, scheme="http")
    with pytest.raises(TypeError, match=r"url.*components"):
        URL("/a", scheme="https")
    with pytest.raises(ValueError, match="unexpected field names"):
        URL(foo="1")


_FULL = "https://user:pw@example.org:123/path?abc=123#anchor"


@pytest.mark.parametrize(
    ("url", "kwargs", "expected"),
    [
        (_FULL, {"scheme": "http"}, "http://user:pw@example.org:123/path?abc=123#anchor"),
        (_FULL, {"hostname": "foo.com"}, "https://user:pw@foo.com:123/path?abc=123#anchor"),
        (_FULL, {"port": 80}, "https://user:pw@example.org:80/path?abc=123#anchor"),
        (_FULL, {"port": None}, "https://user:pw@example.org/path?abc=123#anchor"),
        (_FULL, {"username": "bob"}, "https://bob:pw@example.org:123/path?abc=123#anchor"),
        (_FULL, {"password": "x"}, "https://user:x@example.org:123/path?abc=123#anchor"),
        (_FULL, {"username": None}, "https://example.org:123/path?abc=123#anchor"),
        (_FULL, {"password": None}, "https://user@example.org:123/path?abc=123#anchor"),
        (_FULL, {"path": "/x", "query": "", "fragment": ""}, "https://user:pw@example.org:123/x"),
        (_FULL, {"netloc": "z.com", "hostname": "y"}, "https://user:pw@y:123/path?abc=123#anchor"),
        ("http://a.com", {"port": 8000}, "http://a.com:8000"),
        ("http://a.com", {"port": "80"}, "http://a.com:80"),
        ("http://a.com:80/", {"port": ""}, "http://a.com:/"),
        ("http://a.com", {"password": "p"}, "http://a.com"),
        ("http://a.com", {"username": "u"}, "http://u@a.com"),
        ("http://a.com:80/", {"username": 5}, "http://5@a.com:80/"),
        ("http://:pw@a.com", {"port": 1}, "http://:pw@a.com:1"),
        ("http://u:@a.com", {"port": 1}, "http://u:@a.com:1"),
        ("http://u:p@a.com", {"username": ""}, "http://:p@a.com"),
        ("http://u:p@a.com", {"username": "", "password": ""}, "http://:@a.com"),
        ("http://[::1]:8000/", {"port": 9}, "http://[::1]:9/"),
        ("http://[::1]/", {"port": 1}, "http://[::1]:1/"),
        ("http://[::1]/", {"hostname": None}, "http://[::1]/"),
        ("http://[::1]:8000/", {"hostname": "::2"}, "http://[::2]:8000/"),
        ("http://[::1]:8000/", {"hostname": "[::2]"}, "http://[::2]:8000/"),
        ("http://a.com/p", {"hostname": "fe80::1%eth0"}, "http://[fe80::1%eth0]/p"),
        ("http://a.com:80/", {"hostname": None}, "http://a.com:80/"),
        ("http://a.com:80/", {"hostname": ""}, "http://:80/"),
        ("http://a.com:5", {"hostname": "b.com"}, "http://b.com:5"),
        ("http://A.COM:80/", {"username": "a"}, "http://a@A.COM:80/"),
        ("http://user:pw@a.com", {"hostname": "b.com", "port": 5}, "http://user:pw@b.com:5"),
        ("/path", {"hostname": "x.com"}, "//x.com/path"),
        ("/path", {"port": 1}, "//:1/path"),
        ("", {"port": 80}, "//:80"),
        ("http://a.com/p", {"path": ""}, "http://a.com"),
        ("http://a.com/p", {"path": "x"}, "http://a.com/x"),
        ("http://a.com/p", {"netloc": ""}, "http:///p"),
        ("http://a.com/p?", {"port": 1}, "http://a.com:1/p"),
        ("http://a.com/x", {}, "http://a.com/x"),
        ("http://a.com/", {"port": 80, "scheme": "https", "path": "/x"}, "https://a.com:80/x"),
    ],
)
def test_url_replace(url: str, kwargs: dict[str, Any], expected: str) -> None:
    replaced = URL(url).replace(**kwargs)
    assert type(replaced) is URL
    assert str(replaced) == expected


def test_url_replace_errors() -> None:
    with pytest.raises(ValueError, match=r"unexpected field names: \['foo'\]"):
        URL("http://a.com/").replace(foo="1")
    with pytest.raises(ValueError, match="Port could not be cast"):
        URL("http://a.com:xx/").replace(username="a")


def test_url_replace_keeps_the_subclass() -> None:
    class MyURL(URL):
        pass

    assert type(MyURL("http://a.com/").replace(path="/b")) is MyURL


@pytest.mark.parametrize(
    ("url", "kwargs", "expected"),
    [
        (
            "http://a.com/?a=1&b=2&a=3",
            {"a": 5, "c": [1, 2]},
            "http://a.com/?b=2&a=5&c=%5B1%2C+2%5D",
        ),
        ("http://a.com/?a=1", {"d": "x y&"}, "http://a.com/?a=1&d=x+y%26"),
        ("http://a.com/?a=1&b=&a=3", {}, "http://a.com/?a=1&b=&a=3"),
        ("http://a.com/?a=1&b=&a=3", {"b": None, "c": True}, "http://a.com/?a=1&a=3&b=None&c=True"),
        ("http://a.com/p?x=1#frag", {"a": 1}, "http://a.com/p?x=1&a=1#frag"),
        ("http://a.com/p?x=1;y=2", {"a": 1}, "http://a.com/p?x=1%3By%3D2&a=1"),
        ("http://a.com/p?x=%zz", {"a": 1}, "http://a.com/p?x=%25zz&a=1"),
        ("http://a.com/p?x", {"a": 1}, "http://a.com/p?x=&a=1"),
        ("http://a.com/p?", {"a": 1}, "http://a.com/p?a=1"),
    ],
)
def test_url_include_query_params(url: str, kwargs: dict[str, object], expected: str) -> None:
    assert str(URL(url).include_query_params(**kwargs)) == expected


def test_url_replace_query_params() -> None:
    url = URL("http://a.com/?a=1&b=2&a=3#f")
    assert url.replace_query_params(a=5, c=[1, 2]) == "http://a.com/?a=5&c=%5B1%2C+2%5D#f"
    assert url.replace_query_params() == "http://a.com/#f"
    assert url.replace_query_params(y=b"ab") == "http://a.com/?y=b%27ab%27#f"


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ("a", "http://a.com/?b=2"),
        (["a", "b"], "http://a.com/"),
        (("b",), "http://a.com/?a=1&a=3"),
        ([], "http://a.com/?a=1&b=2&a=3"),
        ("missing", "http://a.com/?a=1&b=2&a=3"),
    ],
)
def test_url_remove_query_params(keys: str | list[str], expected: str) -> None:
    assert str(URL("http://a.com/?a=1&b=2&a=3").remove_query_params(keys)) == expected


# --- URL from an ASGI scope ------------------------------------------------------------------


def make_scope(**overrides: Any) -> Scope:
    scope: Scope = {
        "type": "http",
        "scheme": "http",
        "server": ("example.org", 80),
        "path": "/p",
        "query_string": b"a=1",
        "headers": [],
    }
    scope.update(overrides)
    return scope


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "http://example.org/p?a=1"),
        ({"server": ("example.org", 8000)}, "http://example.org:8000/p?a=1"),
        ({"scheme": "https", "server": ("example.org", 443)}, "https://example.org/p?a=1"),
        ({"scheme": "https", "server": ("example.org", 80)}, "https://example.org:80/p?a=1"),
        ({"scheme": "ws", "server": ("example.org", 80)}, "ws://example.org/p?a=1"),
        ({"scheme": "wss", "server": ("example.org", 443)}, "wss://example.org/p?a=1"),
        ({"server": ["example.org", 8000]}, "http://example.org:8000/p?a=1"),
        ({"server": ("::1", 8000)}, "http://[::1]:8000/p?a=1"),
        ({"server": None}, "/p?a=1"),
        ({"query_string": b""}, "http://example.org/p"),
        # root_path is already part of path in ASGI; it is not added again.
        ({"root_path": "/root", "path": "/root/p"}, "http://example.org/root/p?a=1"),
        ({"root_path": "/root", "path": "/p"}, "http://example.org/p?a=1"),
        ({"path": "/a?b#c\\d"}, "http://example.org/a%3Fb%23c%5Cd?a=1"),
        ({"path": "/caf\u00e9 x"}, "http://example.org/caf\u00e9 x?a=1"),
        ({"path": "a"}, "http://example.org/a?a=1"),
        ({"path": ""}, "http://example.org?a=1"),
        ({"path": "//x"}, "http://example.org//x?a=1"),
        ({"path": "//x", "server": None}, "/%2Fx?a=1"),
        ({"path": "///x", "server": None}, "/%2F/x?a=1"),
        ({"query_string": b"a=1#x"}, "http://example.org/p?a=1#x"),
        ({"query_string": b"a=%C3%A9"}, "http://example.org/p?a=%C3%A9"),
        ({"query_string": "é=1".encode()}, "http://example.org/p?\u00e9=1"),
    ],
)
def test_url_from_scope(overrides: dict[str, Any], expected: str) -> None:
    assert str(URL(scope=make_scope(**overrides))) == expected


@pytest.mark.parametrize(
    ("headers", "server", "expected"),
    [
        ([(b"host", b"h.com:1")], ("example.org", 80), "http://h.com:1/p"),
        ([(b"host", b"h.com")], None, "http://h.com/p"),
        ([(b"host", b"h.com:80")], ("example.org", 80), "http://h.com:80/p"),
        ([(b"host", b"A.COM")], ("example.org", 80), "http://A.COM/p"),
        ([(b"x", b"y"), (b"host", b"h.com"), (b"host", b"h2.com")], None, "http://h.com/p"),
        # Only the first Host header counts, even when it is invalid.
        ([(b"host", b"a b"), (b"host", b"good.com")], ("example.org", 80), "http://example.org/p"),
        ([(b"host", b"")], ("example.org", 80), "http://example.org/p"),
        ([(b"host", b"")], None, "/p"),
        ([(b"host", b"a b")], None, "/p"),
        # ASGI header names are lower case; anything else is not the Host header.
        ([(b"Host", b"h.com")], ("example.org", 80), "http://example.org/p"),
    ],
)
def test_url_from_scope_host_header(
    headers: list[tuple[bytes, bytes]], server: tuple[str, int] | None, expected: str
) -> None:
    scope = make_scope(headers=headers, server=server, query_string=b"")
    assert str(URL(scope=scope)) == expected


VALID_HOSTS = [
    "a.com",
    "a.com:080",
    "a.com:0",
    "a.com:65535",
    "a.com:00000000000000000",
    "-a.com",
    "a-",
    ".",
    "_",
    "localhost",
    "a%20b",
    "a%zz",
    "a!b",
    "a~b",
    "a*b",
    "a,b",
    "a'b",
    "a$b",
    "a(b)",
    "a&b",
    "a+b",
    "a=b",
    "a;b",
    "1.2.3.4:80",
    "999.999.999.999",
    "xn--e-9fa.com",
    "[::1]",
    "[::1]:65535",
    "[::]",
    "[::FFFF]",
    "[::ffff:1.2.3.4]",
    "[1:2:3:4:5:6:7:8]",
    "[1:2:3:4:5:6:1.2.3.4]",
    "[v1.x]",
    "[vF.a:b!]",
    "[v1.:]",
]

INVALID_HOSTS = [
    "a.com:",
    ":80",
    "a.com:xx",
    "a.com:65536",
    "a.com:99999",
    "a.com:80:80",
    "a:+80",
    "a:-1",
    "a: 80",
    "a b",
    " a.com",
    "a/b",
    "a.com/../x",
    "a?b",
    "a#b",
    "a@b",
    "a\tb",
    "a\\b",
    'a"b',
    "a<b",
    "a[b",
    "a]b",
    "\u00e9.com",
    "::1",
    "[::1",
    "[::1]x",
    "[::1]:",
    "[::1]:65536",
    "[zz]",
    "[g::1]",
    "[]",
    "[:]",
    "[1.2.3.4]",
    "[1::2::3]",
    "[12345::]",
    "[::1.2.3.256]",
    "[::01.2.3.4]",
    "[1:2:3:4:5:6:7:8:9]",
    "[fe80::1%eth0]",
    "[fe80::1%25eth0]",
    "[V1.x]",
    "[v.x]",
    "[vz.x]",
    "[v1.]",
]


@pytest.mark.parametrize("host", VALID_HOSTS)
def test_valid_host_header_is_used(host: str) -> None:
    scope = make_scope(headers=[(b"host", host.encode("latin-1"))], query_string=b"")
    assert str(URL(scope=scope)) == f"http://{host}/p"


@pytest.mark.parametrize("host", INVALID_HOSTS)
def test_invalid_host_header_falls_back_to_the_server(host: str) -> None:
    scope = make_scope(headers=[(b"host", host.encode("latin-1"))], query_string=b"")
    assert str(URL(scope=scope)) == "http://example.org/p"


def test_long_host_headers_are_checked_too() -> None:
    long_valid = "a" * 300 + ".com:8000"
    valid = make_scope(headers=[(b"host", long_valid.encode())], query_string=b"")
    assert str(URL(scope=valid)) == f"http://{long_valid}/p"
    long_invalid = "a" * 300 + " .com"
    invalid = make_scope(headers=[(b"host", long_invalid.encode())], query_string=b"")
    assert str(URL(scope=invalid)) == "http://example.org/p"


def test_url_from_scope_tolerates_sparse_scopes() -> None:
    # Deviation from Starlette, which raises here: never fail a request on these.
    assert URL(scope={"type": "http", "path": "/x"}) == "/x"
    assert URL(scope=make_scope(server=("unix.sock", None))) == "http://unix.sock/p?a=1"
    assert URL(scope=make_scope(scheme="ftp", server=("a.com", 21))) == "ftp://a.com:21/p?a=1"
    assert URL(scope=make_scope(query_string=b"a=\xe9 \x7f")) == "http://example.org/p?a=%E9 \x7f"


def test_url_from_scope_reads_lazily() -> None:
    url = URL(scope=make_scope(headers=[(b"host", b"h.com:1")]))
    assert url.port == 1
    assert url.hostname == "h.com"
    assert url.query == "a=1"


_HOST_TEXT = st.text(alphabet="aZ09.-_~%!$&'()*+,;=:[]@/?# \t\u00e9v", max_size=12)
_SCOPES = st.fixed_dictionaries(
    {
        "type": st.just("http"),
        "scheme": st.sampled_from(["http", "https", "ws", "wss"]),
        "server": st.sampled_from(
            [("example.org", 80), ("example.org", 443), ("example.org", 8000), ("::1", 80), None]
        ),
        "path": st.text(alphabet="/ab?#\\%\u00e9 :", max_size=10),
        "query_string": st.text(alphabet="ab=&%#?\u00e9 ", max_size=8).map(str.encode),
        "headers": st.lists(
            st.tuples(
                st.sampled_from([b"host", b"x-other"]),
                st.one_of(st.sampled_from(VALID_HOSTS + INVALID_HOSTS), _HOST_TEXT).map(
                    lambda host: host.encode("latin-1")
                ),
            ),
            max_size=2,
        ),
    }
)


@given(_SCOPES)
def test_url_from_scope_matches_starlette(scope: Scope) -> None:
    reference = pytest.importorskip("starlette.datastructures")
    assert str(URL(scope=scope)) == str(reference.URL(scope=scope))


_URL_HOSTS = st.one_of(
    st.text(alphabet="abcxyz019-.", min_size=1, max_size=10),
    st.sampled_from(["[::1]", "[fe80::1]", "EXAMPLE.org"]),
)
_URL_TEXT = st.text(alphabet="abz09-._~/", max_size=8)


@st.composite
def _urls(draw: st.DrawFn) -> dict[str, Any]:
    parts: dict[str, Any] = {
        "scheme": draw(st.sampled_from(["http", "https", "ws", "wss"])),
        "host": draw(_URL_HOSTS),
        "port": draw(st.none() | st.integers(0, 65535)),
        "username": draw(st.none() | st.text(alphabet="abc", min_size=1, max_size=4)),
        "password": draw(st.none() | st.text(alphabet="xyz", min_size=1, max_size=4)),
        "path": "/" + draw(_URL_TEXT),
        "query": draw(st.text(alphabet="ab=&", max_size=6)),
        "fragment": draw(st.text(alphabet="fg", max_size=3)),
    }
    return parts


def _netloc(parts: dict[str, Any]) -> str:
    netloc = parts["host"] if parts["port"] is None else f"{parts['host']}:{parts['port']}"
    if parts["username"] is None:
        return netloc
    if parts["password"] is None:
        return f"{parts['username']}@{netloc}"
    return f"{parts['username']}:{parts['password']}@{netloc}"


@given(_urls())
def test_url_components_round_trip(parts: dict[str, Any]) -> None:
    netloc = _netloc(parts)
    url = URL(
        scheme=parts["scheme"],
        netloc=netloc,
        path=parts["path"],
        query=parts["query"],
        fragment=parts["fragment"],
    )
    assert url.scheme == parts["scheme"]
    assert url.netloc == netloc
    assert url.path == parts["path"]
    assert url.query == parts["query"]
    assert url.fragment == parts["fragment"]
    assert url.port == parts["port"]
    assert url.username == parts["username"]
    assert url.password == (None if parts["username"] is None else parts["password"])
    assert url.hostname == parts["host"].strip("[]").lower()
    assert URL(str(url)) == url
    for field in ("scheme", "netloc", "path", "query", "fragment"):
        assert url.replace(**{field: getattr(url, field)}) == url


@given(_urls(), _urls())
def test_url_replace_netloc_parts_round_trip(parts: dict[str, Any], other: dict[str, Any]) -> None:
    url = URL(f"{parts['scheme']}://{_netloc(parts)}{parts['path']}")
    replaced = url.replace(
        hostname=other["host"],
        port=other["port"],
        username=other["username"],
        password=other["password"],
    )
    assert replaced.hostname == other["host"].strip("[]").lower()
    assert replaced.port == other["port"]
    assert replaced.username == other["username"]
    assert replaced.password == (None if other["username"] is None else other["password"])
    assert replaced.path == url.path
    assert replaced.scheme == url.scheme
    # Replacing nothing but the port keeps the rest of the authority as written.
    same = url.replace(port=parts["port"])
    assert same == url
    assert url.replace(hostname=None) == url


_NETLOC_TEXT = st.one_of(st.none(), _URL_TEXT, _URL_HOSTS)
_REPLACE_KWARGS = st.fixed_dictionaries(
    {},
    optional={
        "scheme": st.sampled_from(["http", "https", "ftp", ""]),
        "path": _URL_TEXT,
        "fragment": _URL_TEXT,
        "hostname": _NETLOC_TEXT,
        "port": st.one_of(st.none(), st.integers(0, 99999), st.text(alphabet="0a", max_size=2)),
        "username": _NETLOC_TEXT,
        "password": _NETLOC_TEXT,
    },
)


@given(
    st.one_of(
        _urls().map(lambda p: f"{p['scheme']}://{_netloc(p)}{p['path']}?{p['query']}"),
        st.sampled_from(["", "/rel", "http://a.com:xx/", "mailto:x@y.com", "http://:p@a.com"]),
    ),
    _REPLACE_KWARGS,
)
def test_url_replace_matches_starlette(text: str, kwargs: dict[str, Any]) -> None:
    reference = pytest.importorskip("starlette.datastructures")
    try:
        expected = str(reference.URL(text).replace(**kwargs))
    except ValueError as error:
        with pytest.raises(ValueError, match=re.escape(str(error))):
            URL(text).replace(**kwargs)
    else:
        assert str(URL(text).replace(**kwargs)) == expected


# --- URLPath and Address ---------------------------------------------------------------------


def test_urlpath_is_a_str() -> None:
    path = URLPath("/a", "http", "x.com")
    assert path == "/a"
    assert str(path) == "/a"
    assert isinstance(path, str)
    assert path.protocol == "http"
    assert path.host == "x.com"
    assert URLPath("/a").protocol == ""
    assert URLPath("/a").host == ""


def test_urlpath_rejects_unknown_protocol() -> None:
    with pytest.raises(ValueError, match="protocol"):
        URLPath("/a", protocol="ftp")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "base", "expected"),
    [
        (URLPath("/a"), "http://b.com/root/", "http://b.com/root/a"),
        (URLPath("/a"), "http://b.com/root", "http://b.com/root/a"),
        (URLPath("/a"), URL("https://b.com:8/root?x=1#f"), "https://b.com:8/root/a"),
        (URLPath("/a?q=1"), "https://b.com", "https://b.com/a?q=1"),
        (URLPath("/a", "http"), "https://b.com", "https://b.com/a"),
        (URLPath("/a", "http"), "ws://b.com", "http://b.com/a"),
        (URLPath("/a", "http"), "ftp://b.com", "http://b.com/a"),
        (URLPath("/a", "websocket"), "https://b.com", "wss://b.com/a"),
        (URLPath("/a", "websocket"), "http://b.com", "ws://b.com/a"),
        (URLPath("/a", "websocket"), "wss://b.com", "wss://b.com/a"),
        (URLPath("/a", "", "c.com"), "https://b.com", "https://c.com/a"),
        (URLPath("/a", "http", "c.com"), "https://u:p@b.com:9", "https://c.com/a"),
        (URLPath("/a"), "https://u:p@b.com:9", "https://u:p@b.com:9/a"),
        (URLPath("/a"), "/base", "/base/a"),
    ],
)
def test_urlpath_make_absolute_url(path: URLPath, base: str | URL, expected: str) -> None:
    url = path.make_absolute_url(base)
    assert isinstance(url, URL)
    assert str(url) == expected


def test_address() -> None:
    address = Address("h", 1)
    assert address == ("h", 1)
    assert address.host == "h"
    assert address.port == 1
    assert Address(host="h", port=1) == address
    assert repr(address) == "Address(host='h', port=1)"


# --- Headers ---------------------------------------------------------------------------------


def test_headers_from_raw() -> None:
    headers = Headers(raw=[(b"a", b"1"), (b"b", b"2"), (b"a", b"3")])
    assert headers["a"] == "1"
    assert headers["A"] == "1"
    assert headers.get("a") == "1"
    assert headers.get("z") is None
    assert headers.get("z", "d") == "d"
    assert headers.getlist("A") == ["1", "3"]
    assert headers.getlist("z") == []
    assert headers.keys() == ["a", "b", "a"]
    assert headers.values() == ["1", "2", "3"]
    assert headers.items() == [("a", "1"), ("b", "2"), ("a", "3")]
    assert list(headers) == ["a", "b", "a"]
    assert len(headers) == 3
    assert "A" in headers
    assert "z" not in headers
    assert headers.raw == [(b"a", b"1"), (b"b", b"2"), (b"a", b"3")]
    with pytest.raises(KeyError, match="z"):
        headers["z"]


def test_headers_from_mapping_lowers_names() -> None:
    headers = Headers({"Content-Type": "text/plain", "X-Val": "\u00e9"})
    assert headers.raw == [(b"content-type", b"text/plain"), (b"x-val", b"\xe9")]
    assert headers["x-val"] == "\u00e9"
    assert headers.keys() == ["content-type", "x-val"]


def test_headers_from_headers_keeps_repeats() -> None:
    source = Headers(raw=[(b"a", b"1"), (b"a", b"2")])
    assert Headers(source).raw == [(b"a", b"1"), (b"a", b"2")]


def test_headers_raw_names_are_taken_as_lower_case() -> None:
    headers = Headers(raw=[(b"X-Up", b"1")])
    assert "x-up" not in headers
    assert headers.keys() == ["X-Up"]


def test_headers_are_latin1() -> None:
    headers = Headers(raw=[(b"x", b"\xc3\xa9"), (b"\xe9", b"1")])
    assert headers["x"] == "\u00c3\u00a9"
    assert headers["\u00e9"] == "1"


def test_headers_odd_keys_find_nothing() -> None:
    headers = Headers(raw=[(b"a", b"1")])
    assert "\u20ac" not in headers
    assert headers.get("\u20ac") is None
    assert headers.getlist("\u20ac") == []
    with pytest.raises(KeyError):
        headers["\u20ac"]
    odd_keys: list[object] = [b"a", 1, None]
    for odd in odd_keys:
        assert odd not in headers


def test_headers_reject_unencodable_mapping() -> None:
    with pytest.raises(UnicodeEncodeError):
        Headers({"a": "\u20ac"})


def test_headers_from_scope_share_the_scope_list() -> None:
    scope: Scope = {"headers": [(b"x", b"y")]}
    headers = Headers(scope=scope)
    assert headers["x"] == "y"
    scope["headers"].append((b"late", b"1"))
    assert headers["late"] == "1"


def test_headers_from_scope_accept_tuples_and_absence() -> None:
    assert Headers(scope={"headers": ((b"x", b"y"),)}).raw == [(b"x", b"y")]
    assert Headers(scope={}).raw == []


def test_headers_raw_is_a_copy() -> None:
    raw = [(b"a", b"1")]
    headers = Headers(raw=raw)
    headers.raw.append((b"b", b"2"))
    assert headers.raw == [(b"a", b"1")]
    assert headers.raw is not headers.raw


def test_headers_rejects_conflicting_arguments() -> None:
    with pytest.raises(TypeError, match=r"headers.*raw"):
        Headers({"a": "1"}, raw=[])
    with pytest.raises(TypeError, match=r"headers.*scope"):
        Headers({"a": "1"}, scope={})
    with pytest.raises(TypeError, match=r"raw.*scope"):
        Headers(raw=[], scope={})


def test_headers_empty() -> None:
    assert Headers().raw == []
    assert len(Headers()) == 0
    assert repr(Headers()) == "Headers({})"


def test_headers_equality_ignores_order() -> None:
    assert Headers({"A": "1"}) == Headers({"a": "1"})
    assert Headers({"a": "1"}) == Headers(raw=[(b"a", b"1")])
    assert Headers(raw=[(b"a", b"1"), (b"b", b"2")]) == Headers(raw=[(b"b", b"2"), (b"a", b"1")])
    assert Headers(raw=[(b"a", b"1"), (b"a", b"2")]) == Headers(raw=[(b"a", b"2"), (b"a", b"1")])
    assert Headers({"a": "1"}) != Headers({"a": "2"})
    assert Headers({"a": "1"}) == MutableHeaders({"a": "1"})
    assert MutableHeaders({"a": "1"}) == Headers({"a": "1"})
    assert Headers({"a": "1"}) != {"a": "1"}
    assert Headers(raw=[(b"a", b"1")]) != [("a", "1")]
    with pytest.raises(TypeError):
        hash(Headers())


def test_headers_repr() -> None:
    assert repr(Headers({"a": "1", "b": "2"})) == "Headers({'a': '1', 'b': '2'})"
    assert repr(Headers(raw=[(b"a", b"1"), (b"a", b"2")])) == (
        "Headers(raw=[(b'a', b'1'), (b'a', b'2')])"
    )
    assert repr(MutableHeaders({"a": "1"})) == "MutableHeaders({'a': '1'})"


def test_headers_mutablecopy_is_independent() -> None:
    headers = Headers(raw=[(b"a", b"1"), (b"a", b"2")])
    copy = headers.mutablecopy()
    assert type(copy) is MutableHeaders
    assert copy == headers
    copy["b"] = "3"
    assert "b" not in headers


_TOKEN = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=1
)
_LATIN1 = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF))


@given(st.lists(st.tuples(_TOKEN, _LATIN1)), _TOKEN)
def test_headers_case_insensitive_property(pairs: list[tuple[str, str]], probe: str) -> None:
    headers = Headers(raw=[(k.lower().encode(), v.encode("latin-1")) for k, v in pairs])
    expected = [v for k, v in pairs if k.lower() == probe.lower()]
    for variant in (probe, probe.lower(), probe.upper(), probe.swapcase()):
        assert headers.getlist(variant) == expected
        assert (variant in headers) is bool(expected)
        assert headers.get(variant) == (expected[0] if expected else None)
    assert headers.items() == [(k.lower(), v) for k, v in pairs]


@given(st.dictionaries(_TOKEN, _LATIN1))
def test_headers_mapping_round_trip(mapping: dict[str, str]) -> None:
    lowered = {k.lower(): v for k, v in mapping.items()}
    headers = Headers(lowered)
    assert dict(headers.items()) == lowered
    assert Headers(dict(headers.items())) == headers


# --- MutableHeaders --------------------------------------------------------------------------


def test_mutable_headers_setitem() -> None:
    headers = MutableHeaders(raw=[(b"a", b"1"), (b"b", b"2"), (b"a", b"3")])
    headers["A"] = "9"
    assert headers.raw == [(b"a", b"9"), (b"b", b"2")]
    headers["New"] = "x"
    assert headers.raw == [(b"a", b"9"), (b"b", b"2"), (b"new", b"x")]
    with pytest.raises(UnicodeEncodeError):
        headers["x"] = "\u20ac"


def test_mutable_headers_delitem() -> None:
    headers = MutableHeaders(raw=[(b"a", b"1"), (b"b", b"2"), (b"a", b"3")])
    del headers["A"]
    assert headers.raw == [(b"b", b"2")]
    del headers["missing"]
    assert headers.raw == [(b"b", b"2")]


def test_mutable_headers_setdefault() -> None:
    headers = MutableHeaders(raw=[(b"a", b"1"), (b"a", b"2")])
    assert headers.setdefault("A", "z") == "1"
    assert headers.setdefault("C", "q") == "q"
    assert headers.raw == [(b"a", b"1"), (b"a", b"2"), (b"c", b"q")]


def test_mutable_headers_append_and_update() -> None:
    headers = MutableHeaders()
    headers.append("C", "q")
    headers.append("c", "r")
    assert headers.raw == [(b"c", b"q"), (b"c", b"r")]
    headers.update({"C": "s", "D": "t"})
    assert headers.raw == [(b"c", b"s"), (b"d", b"t")]
    headers.update(Headers(raw=[(b"a", b"1"), (b"a", b"2")]))
    assert headers.raw == [(b"c", b"s"), (b"d", b"t"), (b"a", b"2")]
    headers.update({})
    assert len(headers) == 3


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([], [(b"vary", b"Origin")]),
        ([(b"vary", b"Accept")], [(b"vary", b"Accept, Origin")]),
        (
            [(b"vary", b"a"), (b"x", b"1"), (b"vary", b"b")],
            [(b"vary", b"a, b, Origin"), (b"x", b"1")],
        ),
        ([(b"vary", b"")], [(b"vary", b", Origin")]),
    ],
)
def test_mutable_headers_add_vary_header(
    raw: list[tuple[bytes, bytes]], expected: list[tuple[bytes, bytes]]
) -> None:
    headers = MutableHeaders(raw=raw)
    headers.add_vary_header("Origin")
    assert headers.raw == expected


def test_mutable_headers_or() -> None:
    headers = MutableHeaders({"a": "1"})
    merged = headers | {"B": "2"}
    assert type(merged) is MutableHeaders
    assert merged == Headers({"a": "1", "b": "2"})
    assert headers == Headers({"a": "1"})
    assert headers | Headers({"x": "1"}) == Headers({"a": "1", "x": "1"})
    with pytest.raises(TypeError, match="Expected a mapping but got int"):
        headers | 1  # type: ignore[operator]
    with pytest.raises(TypeError, match="Expected a mapping but got list"):
        headers | [("x", "1")]  # type: ignore[operator]


def test_mutable_headers_ior() -> None:
    headers = MutableHeaders({"a": "1"})
    original = headers
    headers |= {"a": "5", "c": "3"}
    assert headers is original
    assert headers.raw == [(b"a", b"5"), (b"c", b"3")]
    with pytest.raises(TypeError, match="Expected a mapping but got int"):
        headers |= 1  # type: ignore[arg-type]


def test_immutable_headers_have_no_or() -> None:
    with pytest.raises(TypeError):
        Headers({"a": "1"}) | {"b": "2"}  # type: ignore[operator]


def test_mutable_headers_act_on_the_given_raw_list() -> None:
    raw_headers = [(b"content-length", b"1")]
    headers = MutableHeaders(raw=raw_headers)
    assert headers.raw is raw_headers
    headers["x-y"] = "1"
    headers.append("x-z", "2")
    del headers["content-length"]
    headers.setdefault("x-w", "3")
    headers.add_vary_header("Origin")
    assert raw_headers == [(b"x-y", b"1"), (b"x-z", b"2"), (b"x-w", b"3"), (b"vary", b"Origin")]
    assert headers.raw is raw_headers


def test_mutable_headers_from_scope_own_a_fresh_list() -> None:
    original = [(b"x", b"y")]
    message: Scope = {"headers": original}
    headers = MutableHeaders(scope=message)
    headers["z"] = "1"
    assert message["headers"] == [(b"x", b"y"), (b"z", b"1")]
    assert headers.raw is message["headers"]
    assert original == [(b"x", b"y")]


def test_mutable_headers_from_scope_tuples_and_absence() -> None:
    message: Scope = {"headers": ((b"x", b"y"),)}
    MutableHeaders(scope=message).append("z", "1")
    assert message["headers"] == [(b"x", b"y"), (b"z", b"1")]
    empty: Scope = {"type": "http.response.start"}
    MutableHeaders(scope=empty)["a"] = "1"
    assert empty["headers"] == [(b"a", b"1")]


def test_mutable_headers_from_mapping() -> None:
    assert MutableHeaders(headers={"A": "1"}).raw == [(b"a", b"1")]


# --- ImmutableMultiDict and MultiDict ----------------------------------------------------------


def test_immutable_multidict() -> None:
    d = ImmutableMultiDict([("a", "1"), ("b", "2"), ("a", "3")])
    assert d["a"] == "3"
    assert d.get("a") == "3"
    assert d.get("z") is None
    assert d.get("z", "x") == "x"
    assert d.getlist("a") == ["1", "3"]
    assert d.getlist("z") == []
    assert list(d) == ["a", "b"]
    assert list(d.keys()) == ["a", "b"]
    assert list(d.values()) == ["3", "2"]
    assert list(d.items()) == [("a", "3"), ("b", "2")]
    assert d.multi_items() == [("a", "1"), ("b", "2"), ("a", "3")]
    assert len(d) == 2
    assert "a" in d
    assert "z" not in d
    assert repr(d) == "ImmutableMultiDict([('a', '1'), ('b', '2'), ('a', '3')])"
    with pytest.raises(KeyError):
        d["z"]
    with pytest.raises(TypeError):
        hash(d)


def test_immutable_multidict_multi_items_is_a_copy() -> None:
    d = ImmutableMultiDict([("a", "1")])
    d.multi_items().append(("b", "2"))
    assert d.multi_items() == [("a", "1")]


def test_immutable_multidict_construction() -> None:
    assert ImmutableMultiDict().multi_items() == []
    assert repr(ImmutableMultiDict()) == "ImmutableMultiDict([])"
    assert ImmutableMultiDict(None).multi_items() == []
    assert ImmutableMultiDict({"a": "1"}, b="2").multi_items() == [("a", "1"), ("b", "2")]
    assert ImmutableMultiDict(b="2").multi_items() == [("b", "2")]
    source = ImmutableMultiDict([("a", "1"), ("a", "3")])
    assert ImmutableMultiDict(source, a="2").multi_items() == [("a", "1"), ("a", "3"), ("a", "2")]
    assert ImmutableMultiDict(source, a="2")["a"] == "2"
    assert ImmutableMultiDict(QueryParams("a=1&a=2")).multi_items() == [("a", "1"), ("a", "2")]
    headers = Headers(raw=[(b"a", b"1"), (b"a", b"2")])
    assert ImmutableMultiDict(headers).multi_items() == [("a", "1"), ("a", "2")]
    assert ImmutableMultiDict(iter([("a", "1")])).multi_items() == [("a", "1")]
    assert ImmutableMultiDict([("a", 1), (2, "b")])[2] == "b"
    with pytest.raises(TypeError):
        ImmutableMultiDict([("a", "1")], [("b", "2")])  # type: ignore[call-arg]


def test_immutable_multidict_equality() -> None:
    d = ImmutableMultiDict([("a", "1"), ("b", "2"), ("a", "3")])
    assert d == ImmutableMultiDict([("a", "1"), ("a", "3"), ("b", "2")])
    assert d == ImmutableMultiDict([("b", "2"), ("a", "1"), ("a", "3")])
    assert d != ImmutableMultiDict([("a", "3"), ("a", "1"), ("b", "2")])
    assert d != ImmutableMultiDict([("a", "1"), ("b", "2")])
    assert d != ImmutableMultiDict([("a", "1"), ("b", "2"), ("a", "3"), ("a", "3")])
    assert d != ImmutableMultiDict([("a", "1"), ("c", "2"), ("a", "3")])
    assert d != MultiDict([("a", "1"), ("b", "2"), ("a", "3")])
    assert d != QueryParams([("a", "1"), ("b", "2"), ("a", "3")])
    assert d != {"a": "3", "b": "2"}
    assert ImmutableMultiDict([(1, "x"), ("a", "y")]) == ImmutableMultiDict([("a", "y"), (1, "x")])


def _multidict() -> MultiDict:
    return MultiDict([("a", "1"), ("b", "2"), ("a", "3")])


def test_multidict_setitem_and_delitem() -> None:
    m = _multidict()
    m["a"] = "9"
    assert m.multi_items() == [("b", "2"), ("a", "9")]
    assert m["a"] == "9"
    m["c"] = "8"
    assert m.multi_items() == [("b", "2"), ("a", "9"), ("c", "8")]
    del m["a"]
    assert m.multi_items() == [("b", "2"), ("c", "8")]
    assert "a" not in m
    with pytest.raises(KeyError):
        del m["z"]


def test_multidict_pop() -> None:
    m = _multidict()
    assert m.pop("a") == "3"
    assert m.multi_items() == [("b", "2")]
    assert m.pop("z") is None
    assert m.pop("z", 5) == 5


def test_multidict_popitem() -> None:
    m = _multidict()
    assert m.popitem() == ("b", "2")
    assert m.multi_items() == [("a", "1"), ("a", "3")]
    assert m.popitem() == ("a", "3")
    assert m.multi_items() == []
    with pytest.raises(KeyError):
        m.popitem()
    m = MultiDict([("b", "2"), ("a", "1"), ("b", "3")])
    assert m.popitem() == ("a", "1")
    assert m.multi_items() == [("b", "2"), ("b", "3")]


def test_multidict_poplist_and_clear() -> None:
    m = _multidict()
    assert m.poplist("a") == ["1", "3"]
    assert m.multi_items() == [("b", "2")]
    assert m.poplist("z") == []
    m.clear()
    assert m.multi_items() == []
    assert len(m) == 0


def test_multidict_setdefault() -> None:
    m = _multidict()
    assert m.setdefault("a", "x") == "3"
    assert m.setdefault("c", "x") == "x"
    assert m.setdefault("d") is None
    assert m.multi_items() == [("a", "1"), ("b", "2"), ("a", "3"), ("c", "x"), ("d", None)]


def test_multidict_setlist() -> None:
    m = _multidict()
    m.setlist("a", ["x", "y"])
    assert m.multi_items() == [("b", "2"), ("a", "x"), ("a", "y")]
    assert m["a"] == "y"
    m.setlist("c", ["z"])
    assert m.multi_items() == [("b", "2"), ("a", "x"), ("a", "y"), ("c", "z")]
    m.setlist("a", [])
    assert m.multi_items() == [("b", "2"), ("c", "z")]
    assert "a" not in m
    m.setlist("missing", [])
    assert m.multi_items() == [("b", "2"), ("c", "z")]


def test_multidict_append() -> None:
    m = _multidict()
    m.append("b", "7")
    assert m.multi_items() == [("a", "1"), ("b", "2"), ("a", "3"), ("b", "7")]
    assert m["b"] == "7"


def test_multidict_update() -> None:
    m = _multidict()
    m.update({"a": "x", "c": "y"})
    assert m.multi_items() == [("b", "2"), ("a", "x"), ("c", "y")]
    m = _multidict()
    m.update([("a", "x"), ("a", "y")])
    assert m.multi_items() == [("b", "2"), ("a", "x"), ("a", "y")]
    assert m["a"] == "y"
    m = _multidict()
    m.update(MultiDict([("b", "x"), ("b", "y")]), c="z")
    assert m.multi_items() == [("a", "1"), ("a", "3"), ("b", "x"), ("b", "y"), ("c", "z")]
    m = _multidict()
    m.update()
    assert m.multi_items() == _multidict().multi_items()
    m.update(c="1")
    assert m.multi_items() == [("a", "1"), ("b", "2"), ("a", "3"), ("c", "1")]


def test_multidict_repr_and_equality() -> None:
    assert repr(MultiDict([("a", "1"), ("a", "2")])) == "MultiDict([('a', '1'), ('a', '2')])"
    assert _multidict() == _multidict()


_KEYS = st.sampled_from(["a", "b", "c", "d"])
_VALUES = st.text(alphabet="xyz", max_size=2)


class MultiDictAgainstPairs(RuleBasedStateMachine):
    """MultiDict must behave like a plain list of (key, value) pairs."""

    def __init__(self) -> None:
        super().__init__()
        self.multidict = MultiDict()
        self.pairs: list[tuple[str, str]] = []

    def _without(self, key: str) -> list[tuple[str, str]]:
        return [pair for pair in self.pairs if pair[0] != key]

    @rule(key=_KEYS, value=_VALUES)
    def setitem(self, key: str, value: str) -> None:
        self.multidict[key] = value
        self.pairs = [*self._without(key), (key, value)]

    @rule(key=_KEYS)
    def delitem(self, key: str) -> None:
        present = any(k == key for k, _ in self.pairs)
        if present:
            del self.multidict[key]
        else:
            with pytest.raises(KeyError):
                del self.multidict[key]
        self.pairs = self._without(key)

    @rule(key=_KEYS, value=_VALUES)
    def append(self, key: str, value: str) -> None:
        self.multidict.append(key, value)
        self.pairs.append((key, value))

    @rule(key=_KEYS)
    def pop(self, key: str) -> None:
        values = [v for k, v in self.pairs if k == key]
        assert self.multidict.pop(key, "default") == (values[-1] if values else "default")
        self.pairs = self._without(key)

    @rule(key=_KEYS)
    def poplist(self, key: str) -> None:
        assert self.multidict.poplist(key) == [v for k, v in self.pairs if k == key]
        self.pairs = self._without(key)

    @rule()
    def popitem(self) -> None:
        if not self.pairs:
            with pytest.raises(KeyError):
                self.multidict.popitem()
            return
        key, value = self.multidict.popitem()
        assert value == [v for k, v in self.pairs if k == key][-1]
        self.pairs = self._without(key)

    @rule(key=_KEYS, values=st.lists(_VALUES, max_size=3))
    def setlist(self, key: str, values: list[str]) -> None:
        self.multidict.setlist(key, values)
        self.pairs = self._without(key) + [(key, v) for v in values]

    @rule(key=_KEYS, value=_VALUES)
    def setdefault(self, key: str, value: str) -> None:
        values = [v for k, v in self.pairs if k == key]
        assert self.multidict.setdefault(key, value) == (values[-1] if values else value)
        if not values:
            self.pairs.append((key, value))

    @rule(other=st.lists(st.tuples(_KEYS, _VALUES), max_size=4))
    def update(self, other: list[tuple[str, str]]) -> None:
        self.multidict.update(other)
        replaced = {k for k, _ in other}
        self.pairs = [p for p in self.pairs if p[0] not in replaced] + other

    @rule()
    def clear(self) -> None:
        self.multidict.clear()
        self.pairs = []

    @invariant()
    def agrees(self) -> None:
        assert self.multidict.multi_items() == self.pairs
        last = dict(self.pairs)
        assert dict(self.multidict.items()) == last
        assert set(self.multidict) == set(last)
        assert len(self.multidict) == len(last)
        for key in ["a", "b", "c", "d"]:
            assert self.multidict.getlist(key) == [v for k, v in self.pairs if k == key]
            assert (key in self.multidict) is (key in last)
            assert self.multidict.get(key) == last.get(key)
        assert self.multidict == MultiDict(self.pairs)


TestMultiDictAgainstPairs = MultiDictAgainstPairs.TestCase


# --- QueryParams -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "pairs"),
    [
        ("a=1&a=2&b=", [("a", "1"), ("a", "2"), ("b", "")]),
        ("a=1&a=2&b=&c", [("a", "1"), ("a", "2"), ("b", ""), ("c", "")]),
        ("a=1%202&b=x+y", [("a", "1 2"), ("b", "x y")]),
        ("a=%C3%A9", [("a", "\u00e9")]),
        ("c=%E9", [("c", "\ufffd")]),
        ("a=%zz", [("a", "%zz")]),
        ("a=%00", [("a", "\x00")]),
        ("?a=1", [("?a", "1")]),
        ("a=1;b=2", [("a", "1;b=2")]),
        ("&&a=1&&", [("a", "1")]),
        ("=1&=", [("", "1"), ("", "")]),
        ("", []),
        (b"a=%C3%A9", [("a", "\u00e9")]),
        (b"d=\xe9", [("d", "\u00e9")]),
        (b"", []),
        (None, []),
        ({"a": 1}, [("a", "1")]),
        ([("a", 1), (2, None)], [("a", "1"), ("2", "None")]),
        (ImmutableMultiDict([("a", 1), ("a", 2)]), [("a", "1"), ("a", "2")]),
    ],
)
def test_query_params_construction(value: Any, pairs: list[tuple[str, str]]) -> None:
    assert QueryParams(value).multi_items() == pairs


def test_query_params_kwargs() -> None:
    assert QueryParams(a=1).multi_items() == [("a", "1")]
    assert QueryParams("a=1", b="2").multi_items() == [("a", "1"), ("b", "2")]
    assert QueryParams([("a", "1")], a=2)["a"] == "2"
    with pytest.raises(TypeError):
        QueryParams("a=1", "b=2")  # type: ignore[call-arg]


def test_query_params_mapping_behaviour() -> None:
    q = QueryParams("a=123&a=456&b=789")
    assert "a" in q
    assert "A" not in q
    assert q["a"] == "456"
    assert q.get("nope", default=None) is None
    assert q.getlist("a") == ["123", "456"]
    assert list(q.keys()) == ["a", "b"]
    assert list(q.values()) == ["456", "789"]
    assert list(q.items()) == [("a", "456"), ("b", "789")]
    assert len(q) == 2
    assert q == QueryParams("a=123&b=789&a=456")
    assert q != "a=123&a=456&b=789"
    assert q != ImmutableMultiDict([("a", "123"), ("a", "456"), ("b", "789")])


def test_query_params_str_and_repr() -> None:
    assert str(QueryParams("a=1&a=2&b=&c")) == "a=1&a=2&b=&c="
    assert str(QueryParams("a=1%202&b=x+y&c=%E9")) == "a=1+2&b=x+y&c=%EF%BF%BD"
    assert str(QueryParams([("a", "\u00e9 /&=?#+")])) == "a=%C3%A9+%2F%26%3D%3F%23%2B"
    assert str(QueryParams([("a b", "x")])) == "a+b=x"
    assert str(QueryParams({"a": [1, 2]})) == "a=%5B1%2C+2%5D"
    assert str(QueryParams()) == ""
    assert repr(QueryParams("a=1&a=2")) == "QueryParams('a=1&a=2')"
    assert repr(QueryParams(None)) == "QueryParams('')"


_QUERY_TEXT = st.text(alphabet=st.characters(codec="utf-8"))


@given(st.lists(st.tuples(_QUERY_TEXT, _QUERY_TEXT)))
def test_query_params_str_round_trip(pairs: list[tuple[str, str]]) -> None:
    params = QueryParams(pairs)
    assert QueryParams(str(params)).multi_items() == pairs
    assert QueryParams(str(params).encode("latin-1")).multi_items() == pairs


@given(st.text(alphabet="ab=&%+2Fé ;"))
def test_query_params_reparse_is_stable(query: str) -> None:
    params = QueryParams(query)
    assert QueryParams(str(params)) == params


# --- UploadFile and FormData -----------------------------------------------------------------


def test_upload_file_attributes() -> None:
    buffer = io.BytesIO(b"abc")
    upload = UploadFile(buffer, filename="x.txt", headers=Headers({"content-type": "text/plain"}))
    assert upload.file is buffer
    assert upload.filename == "x.txt"
    assert upload.size is None
    assert upload.content_type == "text/plain"
    assert repr(upload) == (
        "UploadFile(filename='x.txt', size=None, headers=Headers({'content-type': 'text/plain'}))"
    )
    bare = UploadFile(io.BytesIO(), size=3)
    assert bare.headers == Headers()
    assert bare.content_type is None
    assert bare.filename is None
    assert repr(bare) == "UploadFile(filename=None, size=3, headers=Headers({}))"


def test_upload_file_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        UploadFile(io.BytesIO(), 3)  # type: ignore[call-arg]


@pytest.mark.anyio
async def test_upload_file_read_write_seek_close() -> None:
    upload = UploadFile(io.BytesIO(), size=0)
    await upload.write(b"abc")
    await upload.write(b"de")
    assert upload.size == 5
    await upload.seek(0)
    assert await upload.read() == b"abcde"
    assert await upload.read() == b""
    await upload.seek(1)
    assert await upload.read(2) == b"bc"
    await upload.close()
    assert upload.file.closed


@pytest.mark.anyio
async def test_upload_file_untracked_size_stays_none() -> None:
    upload = UploadFile(io.BytesIO())
    await upload.write(b"abc")
    assert upload.size is None


class ThreadpoolSpy:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        real = framework.concurrency.run_in_threadpool

        async def spy(func: Callable[..., T], *args: Any) -> T:
            self.calls.append(func.__name__)
            return await real(func, *args)

        monkeypatch.setattr("framework.datastructures.run_in_threadpool", spy)


@pytest.mark.anyio
async def test_upload_file_in_memory_skips_the_threadpool(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = ThreadpoolSpy(monkeypatch)
    with tempfile.SpooledTemporaryFile(max_size=10) as spooled:
        upload = UploadFile(spooled, size=0)  # type: ignore[arg-type]
        await upload.write(b"12345")
        await upload.write(b"67890")
        await upload.seek(0)
        assert await upload.read() == b"1234567890"
        assert spy.calls == []
        await upload.close()
        assert spy.calls == []
        assert spooled.closed


@pytest.mark.anyio
async def test_upload_file_on_disk_uses_the_threadpool(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = ThreadpoolSpy(monkeypatch)
    with tempfile.SpooledTemporaryFile(max_size=10) as spooled:
        upload = UploadFile(spooled, size=0)  # type: ignore[arg-type]
        await upload.write(b"12345")
        assert spy.calls == []
        # This write would roll the file over to disk, which blocks.
        await upload.write(b"123456")
        assert spy.calls == ["write"]
        assert upload.size == 11
        await upload.seek(0)
        assert await upload.read() == b"12345123456"
        await upload.close()
        assert spy.calls == ["write", "seek", "read", "close"]


@pytest.mark.anyio
async def test_upload_file_other_files_use_the_threadpool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spy = ThreadpoolSpy(monkeypatch)
    with tempfile.TemporaryFile() as raw:
        file: BinaryIO = raw
        upload = UploadFile(file)
        await upload.write(b"x")
        await upload.seek(0)
        assert await upload.read() == b"x"
        await upload.close()
    assert spy.calls == ["write", "seek", "read", "close"]


@pytest.mark.anyio
async def test_form_data_close_closes_every_file() -> None:
    first = UploadFile(io.BytesIO(b"1"), filename="a")
    second = UploadFile(io.BytesIO(b"2"), filename="b")
    form = FormData([("a", "1"), ("f", first), ("f", second)])
    assert form.getlist("f") == [first, second]
    assert form["a"] == "1"
    await form.close()
    assert first.file.closed
    assert second.file.closed


def test_form_data_construction_and_repr() -> None:
    upload = UploadFile(io.BytesIO(), filename="x")
    assert FormData({"a": "1"}).multi_items() == [("a", "1")]
    assert FormData(a="1").multi_items() == [("a", "1")]
    assert FormData([("a", "1")], f=upload).multi_items() == [("a", "1"), ("f", upload)]
    assert FormData(FormData([("a", "1"), ("a", "2")])).getlist("a") == ["1", "2"]
    assert repr(FormData()) == "FormData([])"
    assert repr(FormData([("f", upload)])) == (
        "FormData([('f', UploadFile(filename='x', size=None, headers=Headers({})))])"
    )
    assert FormData(a="1") != ImmutableMultiDict(a="1")


# --- State, Secret, CommaSeparatedStrings ----------------------------------------------------


def test_state_attributes() -> None:
    state = State({"a": 1})
    assert state.a == 1
    state.b = 2
    assert state.b == 2
    del state.a
    with pytest.raises(AttributeError, match=r"^'State' object has no attribute 'a'$"):
        _ = state.a
    with pytest.raises(KeyError):
        del state.missing


def test_state_is_a_view_of_its_dict() -> None:
    backing: dict[str, Any] = {"a": 1}
    state = State(backing)
    state.b = 2
    state["c"] = 3
    assert backing == {"a": 1, "b": 2, "c": 3}
    backing["d"] = 4
    assert state.d == 4
    assert state["a"] == 1
    del state["a"]
    assert "a" not in backing
    with pytest.raises(KeyError):
        del state["a"]
    with pytest.raises(KeyError):
        state["a"]
    assert len(state) == 3
    assert list(state) == ["b", "c", "d"]
    assert "b" in state


def test_state_defaults_to_empty() -> None:
    assert len(State()) == 0
    assert len(State(None)) == 0
    assert State({"_state": 1})["_state"] == 1
    assert State({"a": 1}) != State({"a": 1})


def test_state_copies_and_pickles() -> None:
    state = State({"a": [1]})
    shallow = copy.copy(state)
    assert shallow.a is state.a
    deep = copy.deepcopy(state)
    assert deep.a == [1]
    assert deep.a is not state.a
    assert pickle.loads(pickle.dumps(state)).a == [1]


@pytest.mark.parametrize(
    "value",
    [
        URL("http://a.com/x"),
        Headers({"a": "1"}),
        MutableHeaders({"a": "1"}),
        QueryParams("a=1&a=2"),
        MultiDict([("a", "1")]),
        ImmutableMultiDict([("a", "1")]),
    ],
    ids=lambda value: type(value).__name__,
)
def test_copy_and_pickle(value: object) -> None:
    assert copy.copy(value) == value
    assert copy.deepcopy(value) == value
    assert pickle.loads(pickle.dumps(value)) == value


def test_secret() -> None:
    secret = Secret("pw")
    assert repr(secret) == "Secret('**********')"
    assert str(secret) == "pw"
    assert secret
    assert not Secret("")


@pytest.mark.parametrize(
    ("value", "items"),
    [
        ("a, b,c", ["a", "b", "c"]),
        (" a , b , c ", ["a", "b", "c"]),
        ('"a,b", c', ["a,b", "c"]),
        ("'a,b', c", ["a,b", "c"]),
        ("a b, c", ["a b", "c"]),
        ("", []),
        (",,a,,", ["a"]),
        ("a\\,b", ["a,b"]),
        ("a#b, c", ["a"]),
        ('"a""b", c', ["ab", "c"]),
        ('a, "", c', ["a", "", "c"]),
        ("a,\tb", ["a", "b"]),
        ("a;b, c*d, x.y-z_1/2:3=4", ["a;b", "c*d", "x.y-z_1/2:3=4"]),
        ("\u00e9, \u00fc", ["\u00e9", "\u00fc"]),
        (["x", "y"], ["x", "y"]),
        (("x, y", "z"), ["x, y", "z"]),
    ],
)
def test_comma_separated_strings(value: str | list[str], items: list[str]) -> None:
    parsed = CommaSeparatedStrings(value)
    assert list(parsed) == items
    assert len(parsed) == len(items)


def test_comma_separated_strings_sequence() -> None:
    parsed = CommaSeparatedStrings("a, b,c")
    assert parsed[1] == "b"
    assert parsed[-1] == "c"
    assert parsed[0:2] == ["a", "b"]
    assert "b" in parsed
    assert parsed.index("c") == 2
    assert list(reversed(parsed)) == ["c", "b", "a"]
    assert repr(parsed) == "CommaSeparatedStrings(['a', 'b', 'c'])"
    assert str(parsed) == "'a', 'b', 'c'"
    assert str(CommaSeparatedStrings(["x, y", "z"])) == "'x, y', 'z'"


def test_comma_separated_strings_unclosed_quote() -> None:
    with pytest.raises(ValueError, match="No closing quotation"):
        CommaSeparatedStrings('"a')


_CSV_ITEM = st.text(alphabet="abcXYZ019 -_.:/=,;é", max_size=8).map(str.strip)


@given(st.lists(_CSV_ITEM))
def test_comma_separated_strings_str_round_trip(items: list[str]) -> None:
    assert list(CommaSeparatedStrings(str(CommaSeparatedStrings(items)))) == items


@pytest.mark.anyio
async def test_upload_file_close_twice_is_harmless() -> None:
    # Regression: the second close asked the closed spooled file for its position.
    with tempfile.SpooledTemporaryFile(max_size=1024) as spooled:
        upload = UploadFile(spooled, filename="a.txt")  # type: ignore[arg-type]
        await upload.write(b"data")
        await upload.close()
        await upload.close()
        assert upload.file.closed
