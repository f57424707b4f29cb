from __future__ import annotations

import os
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framework.applications import App
from framework.datastructures import Headers
from framework.exceptions import HTTPException
from framework.requests import Request
from framework.responses import PlainTextResponse, Response
from framework.routing import Mount
from framework.staticfiles import NotModifiedResponse, StaticFiles
from framework.types import Message, Scope

if TYPE_CHECKING:
    from testing.client import TestClient

TestClientFactory = Callable[..., "TestClient"]

SECRET = b"top secret"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A served root with files, a sub-directory with an index, and secrets next to it."""
    root = tmp_path / "root"
    root.mkdir()
    (root / "example.txt").write_bytes(b"<file content>")
    (root / "index.html").write_bytes(b"<h1>index</h1>")
    (root / "404.html").write_bytes(b"<h1>Custom not found</h1>")
    (root / "dir").mkdir()
    (root / "dir" / "index.html").write_bytes(b"<h1>dir index</h1>")
    (root / "dir" / "other.txt").write_bytes(b"other")
    (root / "empty").mkdir()
    (root / "%2e%2e").write_bytes(b"literal name")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(SECRET)
    (tmp_path / "root_secret.txt").write_bytes(SECRET)
    return root


def make_app(directory: Path | str, **options: Any) -> App:
    return App(routes=[Mount("/static", app=StaticFiles(directory=directory, **options))])


def test_serves_file(tree: Path, test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(make_app(tree))
    response = client.get("/static/example.txt")
    assert response.status_code == 200
    assert response.text == "<file content>"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == "14"
    assert response.headers["accept-ranges"] == "bytes"
    assert "etag" in response.headers
    assert "last-modified" in response.headers


def test_serves_file_with_str_and_pathlike_directory(
    tree: Path, test_client_factory: TestClientFactory
) -> None:
    for directory in (str(tree), tree):
        client = test_client_factory(make_app(directory))
        assert client.get("/static/dir/other.txt").text == "other"


def test_head(tree: Path, test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(make_app(tree))
    response = client.head("/static/example.txt")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "14"


def test_missing_file_is_404(tree: Path, test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(make_app(tree))
    response = client.get("/static/404.txt")
    assert response.status_code == 404
    assert response.text == "Not Found"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_only_get_and_head(method: str, tree: Path, test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(make_app(tree))
    response = client.request(method, "/static/example.txt")
    assert response.status_code == 405
    assert response.text == "Method Not Allowed"
    assert response.headers["allow"] == "GET, HEAD"


def test_directory_without_html_is_404(tree: Path, test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(make_app(tree))
    assert client.get("/static/dir/").status_code == 404
    assert client.get("/static/").status_code == 404


def test_custom_404_handler_sees_the_error(
    tree: Path, test_client_factory: TestClientFactory
) -> None:
    async def not_found(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("custom", status_code=404)

    app = App(
        routes=[Mount("/static", app=StaticFiles(directory=tree))],
        exception_handlers={404: not_found},
    )
    assert test_client_factory(app).get("/static/nope").text == "custom"


def test_standalone_errors_are_responses(
    tree: Path, test_client_factory: TestClientFactory
) -> None:
    """Served without an App around it, a 404 or 405 is still an answer, not a crash."""
    client = test_client_factory(StaticFiles(directory=tree))
    assert client.get("/example.txt").text == "<file content>"
    response = client.get("/nope")
    assert (response.status_code, response.text) == (404, "Not Found")
    response = client.post("/example.txt")
    assert (response.status_code, response.headers["allow"]) == (405, "GET, HEAD")


def test_websocket_is_closed(tree: Path, test_client_factory: TestClientFactory) -> None:
    from framework.websockets import WebSocketDisconnect

    client = test_client_factory(make_app(tree))
    with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect("/static/x"):
        pass  # pragma: no cover
    assert info.value.code == 1000


# -- html mode ---------------------------------------------------------------


def test_html_serves_index(tree: Path, test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(make_app(tree, html=True))
    response = client.get("/static/")
    assert response.status_code == 200
    assert response.text == "<h1>index</h1>"
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert client.get("/static/dir/").text == "<h1>dir index</h1>"


def test_html_redirects_directory_to_slash(
    tree: Path, test_client_factory: TestClientFactory
) -> None:
    client = test_client_factory(make_app(tree, html=True), follow_redirects=False)
    response = client.get("/static/dir?x=1")
    assert response.status_code == 307
    assert response.headers["location"] == "http://testserver/static/dir/?x=1"
    followed = test_client_factory(make_app(tree, html=True)).get("/static/dir")
    assert followed.text == "<h1>dir index</h1>"
    assert str(followed.url) == "http://testserver/static/dir/"


def test_html_missing_uses_404_page(tree: Path, test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(make_app(tree, html=True))
    for path in ("/static/missing", "/static/empty/", "/static/dir/missing.html"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.text == "<h1>Custom not found</h1>"
        assert response.headers["content-type"] == "text/html; charset=utf-8"


def test_html_without_404_page(tree: Path, test_client_factory: TestClientFactory) -> None:
    (tree / "404.html").unlink()
    client = test_client_factory(make_app(tree, html=True))
    response = client.get("/static/missing")
    assert (response.status_code, response.text) == (404, "Not Found")


def test_html_directory_without_index(tree: Path, test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(make_app(tree, html=True), follow_redirects=False)
    response = client.get("/static/empty")
    assert response.status_code == 404
    assert response.text == "<h1>Custom not found</h1>"


def test_html_404_ignores_conditional_headers(
    tree: Path, test_client_factory: TestClientFactory
) -> None:
    client = test_client_factory(make_app(tree, html=True))
    response = client.get("/static/missing", headers={"if-none-match": "*", "range": "bytes=0-1"})
    assert response.status_code == 404
    assert response.text == "<h1>Custom not found</h1>"


# -- configuration -----------------------------------------------------------


def test_missing_directory_at_construction(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(RuntimeError, match=f"Directory '{missing}' does not exist"):
        StaticFiles(directory=missing)


def test_file_as_directory_at_construction(tree: Path) -> None:
    with pytest.raises(RuntimeError, match="does not exist"):
        StaticFiles(directory=tree / "example.txt")


def test_check_dir_false_fails_on_first_request(
    tmp_path: Path, test_client_factory: TestClientFactory
) -> None:
    missing = tmp_path / "missing"
    client = test_client_factory(make_app(missing, check_dir=False))
    with pytest.raises(RuntimeError, match=f"StaticFiles directory '{missing}' does not exist."):
        client.get("/static/example.txt")


def test_check_dir_false_path_is_a_file(tree: Path, test_client_factory: TestClientFactory) -> None:
    path = tree / "example.txt"
    client = test_client_factory(make_app(path, check_dir=False))
    with pytest.raises(RuntimeError, match=f"StaticFiles path '{path}' is not a directory."):
        client.get("/static/example.txt")


def test_check_dir_false_directory_created_later(
    tmp_path: Path, test_client_factory: TestClientFactory
) -> None:
    target = tmp_path / "real"
    link = tmp_path / "later"
    client = test_client_factory(make_app(link, check_dir=False))
    target.mkdir()
    (target / "a.txt").write_text("made later")
    # Created as a symlink after construction: resolved again on the first request.
    link.symlink_to(target)
    assert client.get("/static/a.txt").text == "made later"


def test_config_checked_once(tree: Path, test_client_factory: TestClientFactory) -> None:
    static = StaticFiles(directory=tree)
    assert static.config_checked is False
    client = test_client_factory(App(routes=[Mount("/", app=static)]))
    client.get("/example.txt")
    assert static.config_checked is True


def test_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, test_client_factory: TestClientFactory
) -> None:
    package = tmp_path / "static_pkg_for_tests"
    (package / "statics").mkdir(parents=True)
    (package / "assets").mkdir()
    (package / "__init__.py").write_text("")
    (package / "statics" / "a.txt").write_text("from package statics")
    (package / "assets" / "b.txt").write_text("from package assets")
    monkeypatch.syspath_prepend(str(tmp_path))

    static = StaticFiles(packages=["static_pkg_for_tests", ("static_pkg_for_tests", "assets")])
    assert [os.path.basename(d) for d in static.all_directories] == ["statics", "assets"]
    client = test_client_factory(App(routes=[Mount("/", app=static)]))
    assert client.get("/a.txt").text == "from package statics"
    assert client.get("/b.txt").text == "from package assets"


def test_directory_wins_over_packages(
    tree: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    test_client_factory: TestClientFactory,
) -> None:
    package = tmp_path / "static_pkg_order"
    (package / "statics").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "statics" / "example.txt").write_text("package copy")
    (package / "statics" / "only-in-package.txt").write_text("package only")
    monkeypatch.syspath_prepend(str(tmp_path))

    static = StaticFiles(directory=tree, packages=["static_pkg_order"])
    client = test_client_factory(App(routes=[Mount("/", app=static)]))
    assert client.get("/example.txt").text == "<file content>"
    assert client.get("/only-in-package.txt").text == "package only"


def test_package_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AssertionError, match=r"Package 'no_such_package_xyz' could not be found\."):
        StaticFiles(packages=["no_such_package_xyz"])
    package = tmp_path / "static_pkg_without_statics"
    package.mkdir()
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(
        ValueError,
        match=r"Directory 'statics' in package 'static_pkg_without_statics' could not be found\.",
    ):
        StaticFiles(packages=["static_pkg_without_statics"])
    with pytest.raises(ValueError, match="Directory 'other'"):
        StaticFiles(packages=[("static_pkg_without_statics", "other")])


def test_no_directories_serves_nothing(test_client_factory: TestClientFactory) -> None:
    static = StaticFiles()
    assert static.all_directories == []
    client = test_client_factory(App(routes=[Mount("/", app=static)]))
    assert client.get("/anything").status_code == 404


# -- conditional requests and ranges -----------------------------------------


def test_etag_304(tree: Path, test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(make_app(tree))
    etag = client.get("/static/example.txt").headers["etag"]
    for value in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = client.get("/static/example.txt", headers={"if-none-match": value})
        assert response.status_code == 304, value
        assert response.content == b""
        assert response.headers["etag"] == etag
        assert "content-length" not in response.headers
        assert "content-type" not in response.headers
    response = client.get("/static/example.txt", headers={"if-none-match": '"stale"'})
    assert response.status_code == 200


def test_if_modified_since(tree: Path, test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(make_app(tree))
    last_modified = client.get("/static/example.txt").headers["last-modified"]
    response = client.get("/static/example.txt", headers={"if-modified-since": last_modified})
    assert response.status_code == 304
    later = formatdate(time.time() + 3600, usegmt=True)
    assert (
        client.get("/static/example.txt", headers={"if-modified-since": later}).status_code == 304
    )
    earlier = "Thu, 01 Jan 1998 00:00:00 GMT"
    response = client.get("/static/example.txt", headers={"if-modified-since": earlier})
    assert response.status_code == 200
    response = client.get("/static/example.txt", headers={"if-modified-since": "garbage"})
    assert response.status_code == 200


def test_if_none_match_overrides_if_modified_since(
    tree: Path, test_client_factory: TestClientFactory
) -> None:
    client = test_client_factory(make_app(tree))
    last_modified = client.get("/static/example.txt").headers["last-modified"]
    response = client.get(
        "/static/example.txt",
        headers={"if-none-match": '"stale"', "if-modified-since": last_modified},
    )
    assert response.status_code == 200


def test_range(tree: Path, test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(make_app(tree))
    response = client.get("/static/example.txt", headers={"range": "bytes=1-4"})
    assert response.status_code == 206
    assert response.content == b"file"
    assert response.headers["content-range"] == "bytes 1-4/14"
    response = client.get("/static/example.txt", headers={"range": "bytes=100-"})
    assert response.status_code == 416
    response = client.get("/static/example.txt", headers={"range": "nonsense"})
    assert response.status_code == 400


def test_is_not_modified_directly(tree: Path) -> None:
    static = StaticFiles(directory=tree)
    response_headers = Headers({"etag": '"abc"', "last-modified": "Mon, 01 Jan 2024 00:00:00 GMT"})

    def check(**request: str) -> bool:
        return static.is_not_modified(response_headers, Headers(request))

    assert check() is False
    assert check(**{"if-none-match": '"abc"'}) is True
    assert check(**{"if-none-match": 'W/"abc"'}) is True
    assert check(**{"if-none-match": ' "x" , "abc" '}) is True
    assert check(**{"if-none-match": '"abcd"'}) is False
    assert check(**{"if-modified-since": "Mon, 01 Jan 2024 00:00:00 GMT"}) is True
    assert check(**{"if-modified-since": "Tue, 02 Jan 2024 00:00:00 GMT"}) is True
    assert check(**{"if-modified-since": "Sun, 31 Dec 2023 00:00:00 GMT"}) is False
    assert check(**{"if-modified-since": "not a date"}) is False
    assert check(**{"if-modified-since": "Mon, 01 Jan 99999999999999999999 00:00:00 GMT"}) is False
    no_validators = Headers({})
    assert static.is_not_modified(no_validators, Headers({"if-none-match": "*"})) is False
    assert static.is_not_modified(no_validators, Headers({"if-modified-since": "x"})) is False


def test_not_modified_response_keeps_caching_headers() -> None:
    headers = Headers(
        {
            "etag": '"x"',
            "cache-control": "max-age=60",
            "vary": "accept-encoding",
            "content-type": "text/plain",
            "content-length": "10",
            "last-modified": "Mon, 01 Jan 2024 00:00:00 GMT",
        }
    )
    response = NotModifiedResponse(headers)
    assert response.status_code == 304
    assert response.body == b""
    assert dict(response.headers) == {
        "etag": '"x"',
        "cache-control": "max-age=60",
        "vary": "accept-encoding",
    }


def test_file_response_hook_can_be_overridden(
    tree: Path, test_client_factory: TestClientFactory
) -> None:
    class CachingStaticFiles(StaticFiles):
        def file_response(
            self,
            full_path: str | os.PathLike[str],
            stat_result: os.stat_result,
            scope: Scope,
            status_code: int = 200,
        ) -> Response:
            response = super().file_response(full_path, stat_result, scope, status_code)
            response.headers["cache-control"] = "max-age=3600"
            return response

    app = App(routes=[Mount("/", app=CachingStaticFiles(directory=tree))])
    response = test_client_factory(app).get("/example.txt")
    assert response.headers["cache-control"] == "max-age=3600"


# -- permissions and odd files -------------------------------------------------


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="needs file permissions to apply"
)
def test_unreadable_file_is_401(tree: Path, test_client_factory: TestClientFactory) -> None:
    locked = tree / "locked"
    locked.mkdir()
    (locked / "file.txt").write_text("x")
    locked.chmod(0)
    try:
        response = test_client_factory(make_app(tree)).get("/static/locked/file.txt")
        assert response.status_code == 401
    finally:
        locked.chmod(stat.S_IRWXU)


def test_unreadable_file_is_401_when_stat_refuses(
    tree: Path, monkeypatch: pytest.MonkeyPatch, test_client_factory: TestClientFactory
) -> None:
    real_stat = os.stat

    def refusing_stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if str(path).endswith("example.txt"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", refusing_stat)
    response = test_client_factory(make_app(tree)).get("/static/example.txt")
    assert response.status_code == 401


def test_too_long_name_is_404(tree: Path, test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(make_app(tree))
    assert client.get("/static/" + "a" * 5000).status_code == 404
    assert client.get("/static/" + "/".join(["a" * 200] * 30)).status_code == 404


def test_symlink_loop_is_404(tree: Path, test_client_factory: TestClientFactory) -> None:
    (tree / "loop").symlink_to(tree / "loop")
    for follow_symlink in (False, True):
        client = test_client_factory(make_app(tree, follow_symlink=follow_symlink))
        assert client.get("/static/loop").status_code == 404
        assert client.get("/static/loop/x").status_code == 404


def test_fifo_is_404(tree: Path, test_client_factory: TestClientFactory) -> None:
    if not hasattr(os, "mkfifo"):  # pragma: no cover
        pytest.skip("no FIFOs here")
    os.mkfifo(tree / "pipe")
    assert test_client_factory(make_app(tree)).get("/static/pipe").status_code == 404


# -- no way out of the root --------------------------------------------------


def raw_get(app: Any, path: str, method: str = "GET") -> tuple[int, bytes]:
    """Send ``path`` to ``app`` exactly as given, as the scope's already-decoded path."""

    async def run() -> tuple[int, bytes]:
        scope: Scope = {
            "type": "http",
            "method": method,
            "path": path,
            "raw_path": path.encode("utf-8", "surrogatepass"),
            "root_path": "",
            "query_string": b"",
            "headers": [],
            "scheme": "http",
            "server": ("testserver", 80),
            "client": ("testclient", 1),
        }
        messages: list[Message] = []

        async def receive() -> Message:
            await anyio.sleep_forever()
            raise AssertionError  # pragma: no cover

        async def send(message: Message) -> None:
            messages.append(message)

        await app(scope, receive, send)
        body = b"".join(m.get("body", b"") for m in messages[1:])
        return messages[0]["status"], body

    return anyio.run(run)


TRAVERSALS = [
    "/../outside/secret.txt",
    "/../root_secret.txt",
    "/..",
    "/../",
    "/dir/../../outside/secret.txt",
    "/dir/../../../../../../../../etc/passwd",
    "/./../outside/secret.txt",
    "//etc/passwd",
    "///etc/passwd",
    "/%2e%2e/outside/secret.txt",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%252e%252e/outside/secret.txt",
    "/..%2fouteside/secret.txt",
    "/..%2f..%2fetc%2fpasswd",
    "/\\..\\outside\\secret.txt",
    "/..\\outside\\secret.txt",
    "/dir\\..\\..\\outside\\secret.txt",
    "/example.txt\x00",
    "/\x00/../outside/secret.txt",
    "/..\x00/outside/secret.txt",
    "/C:/Windows/win.ini",
    "/C:\\Windows\\win.ini",
    "/ /../../outside/secret.txt",
    "/....//outside/secret.txt",
]


@pytest.mark.parametrize("path", TRAVERSALS)
@pytest.mark.parametrize("html", [False, True])
def test_traversal_never_escapes(tree: Path, path: str, html: bool) -> None:
    for app in (make_app(tree, html=html), StaticFiles(directory=tree, html=html)):
        status, body = raw_get(app, "/static" + path if isinstance(app, App) else path)
        assert status == 404, path
        assert SECRET not in body


@pytest.mark.parametrize(
    "path",
    [
        "/static/../outside/secret.txt",
        "/static/%2e%2e/outside/secret.txt",
        "/static/%252e%252e/outside/secret.txt",
        "/static/..%2f..%2froot_secret.txt",
        "/static/%2e%2e%2f%2e%2e%2froot_secret.txt",
        "/static/..%5coutside%5csecret.txt",
        "/static/%00",
    ],
)
def test_traversal_through_client_never_escapes(
    tree: Path, path: str, test_client_factory: TestClientFactory
) -> None:
    client = test_client_factory(make_app(tree))
    response = client.get(path)
    assert response.status_code == 404
    assert SECRET not in response.content


@pytest.mark.parametrize("path", ["/\udcff", "/dir/\ud800"])
@pytest.mark.parametrize("html", [False, True])
def test_undecodable_paths_are_404(tree: Path, path: str, html: bool) -> None:
    """Lone surrogates (undecodable bytes a server passed through) never cause a 500."""
    status, _ = raw_get(StaticFiles(directory=tree, html=html), path)
    assert status == 404
    status, _ = raw_get(StaticFiles(directory=tree), "/\ud800/..")
    assert status == 404


def test_undecodable_directory_path_redirects_with_an_encoded_location(tree: Path) -> None:
    # "/\ud800/.." is the root, which holds an index: html mode adds the slash, and the
    # surrogate is percent-encoded into the Location header rather than failing.
    status, _ = raw_get(StaticFiles(directory=tree, html=True), "/\ud800/..")
    assert status == 307


def test_percent_encoded_name_is_a_name(tree: Path) -> None:
    # The server decoded the path once: a remaining "%2e%2e" is a literal file name.
    status, body = raw_get(StaticFiles(directory=tree), "/%2e%2e")
    assert (status, body) == (200, b"literal name")


def test_dot_segments_inside_root_are_fine(tree: Path) -> None:
    static = StaticFiles(directory=tree)
    assert raw_get(static, "/dir/../example.txt") == (200, b"<file content>")
    assert raw_get(static, "/./dir/./other.txt") == (200, b"other")
    assert raw_get(static, "//example.txt") == (200, b"<file content>")


def test_symlink_out_of_root_is_404(tree: Path) -> None:
    outside = tree.parent / "outside"
    (tree / "link.txt").symlink_to(outside / "secret.txt")
    (tree / "linkdir").symlink_to(outside)
    static = StaticFiles(directory=tree)
    assert raw_get(static, "/link.txt")[0] == 404
    assert raw_get(static, "/linkdir/secret.txt")[0] == 404
    # Even in html mode, where a missing file gets the 404 page.
    html = StaticFiles(directory=tree, html=True)
    assert raw_get(html, "/link.txt") == (404, b"<h1>Custom not found</h1>")


def test_symlink_inside_root_is_served(tree: Path) -> None:
    (tree / "alias.txt").symlink_to(tree / "example.txt")
    (tree / "aliasdir").symlink_to(tree / "dir")
    static = StaticFiles(directory=tree)
    assert raw_get(static, "/alias.txt") == (200, b"<file content>")
    assert raw_get(static, "/aliasdir/other.txt") == (200, b"other")


def test_follow_symlink_serves_links_out_of_root(tree: Path) -> None:
    outside = tree.parent / "outside"
    (tree / "link.txt").symlink_to(outside / "secret.txt")
    (tree / "linkdir").symlink_to(outside)
    static = StaticFiles(directory=tree, follow_symlink=True)
    assert raw_get(static, "/link.txt") == (200, SECRET)
    assert raw_get(static, "/linkdir/secret.txt") == (200, SECRET)
    # Following symlinks does not open ".." though.
    assert raw_get(static, "/../outside/secret.txt")[0] == 404
    assert raw_get(static, "/linkdir/../../outside/secret.txt")[0] == 404


def test_root_that_is_a_symlink(tree: Path, tmp_path: Path) -> None:
    link = tmp_path / "root_link"
    link.symlink_to(tree)
    for follow_symlink in (False, True):
        static = StaticFiles(directory=link, follow_symlink=follow_symlink)
        assert raw_get(static, "/example.txt") == (200, b"<file content>")
        assert raw_get(static, "/../outside/secret.txt")[0] == 404


def test_sibling_with_common_prefix_is_outside(tmp_path: Path) -> None:
    root = tmp_path / "static"
    root.mkdir()
    sibling = tmp_path / "static-private"
    sibling.mkdir()
    (sibling / "key.txt").write_bytes(SECRET)
    (root / "peek").symlink_to(sibling / "key.txt")
    static = StaticFiles(directory=root)
    assert raw_get(static, "/peek")[0] == 404
    assert raw_get(static, "/../static-private/key.txt")[0] == 404


def test_lookup_path_refuses_unsafe_paths(tree: Path) -> None:
    static = StaticFiles(directory=tree)
    assert static.lookup_path("example.txt")[0] == os.path.realpath(tree / "example.txt")
    for unsafe in (
        "../outside/secret.txt",
        str(tree.parent / "outside" / "secret.txt"),
        str(tree / "example.txt"),
        "..\\outside\\secret.txt",
        "example.txt\x00",
        "dir/../../root_secret.txt",
    ):
        assert static.lookup_path(unsafe) == ("", None), unsafe


def test_get_path_normalises(tree: Path) -> None:
    static = StaticFiles(directory=tree)

    def scope(path: str) -> Scope:
        return {"type": "http", "path": path, "root_path": ""}

    assert static.get_path(scope("/a/../b/./c//d")) == os.path.join("b", "c", "d")
    assert static.get_path(scope("/")) == "."
    assert static.get_path(scope("")) == "."


@pytest.mark.anyio
async def test_get_response_raises_http_exceptions(tree: Path) -> None:
    static = StaticFiles(directory=tree)
    scope: Scope = {"type": "http", "method": "GET", "path": "/nope", "headers": []}
    with pytest.raises(HTTPException) as info:
        await static.get_response("nope", scope)
    assert info.value.status_code == 404
    with pytest.raises(HTTPException) as info:
        await static.get_response("example.txt", {**scope, "method": "POST"})
    assert info.value.status_code == 405


@pytest.fixture(scope="module")
def shared_tree() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        base = Path(directory)
        root = base / "root"
        (root / "dir").mkdir(parents=True)
        (root / "a.txt").write_bytes(b"a")
        (root / "dir" / "b.txt").write_bytes(b"b")
        (root / "index.html").write_bytes(b"index")
        (root / "404.html").write_bytes(b"missing")
        (root / "out").symlink_to(base / "outside")
        (base / "outside").mkdir()
        (base / "outside" / "secret.txt").write_bytes(SECRET)
        (base / "secret.txt").write_bytes(SECRET)
        yield root


_segment = st.one_of(
    st.sampled_from(
        [
            "..",
            ".",
            "",
            "a.txt",
            "dir",
            "b.txt",
            "out",
            "secret.txt",
            "outside",
            "%2e%2e",
            "%252e%252e",
            "\\..",
            "..\\..",
            "\x00",
            "etc",
            "passwd",
            "C:",
            "~",
            "index.html",
            "\ud800",
            "\udcff",
        ]
    ),
    st.text(max_size=12),
)
_paths = st.lists(_segment, max_size=8).map(lambda parts: "/" + "/".join(parts))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=_paths, html=st.booleans(), method=st.sampled_from(["GET", "HEAD"]))
def test_random_paths_never_escape_or_fail(
    shared_tree: Path, path: str, html: bool, method: str
) -> None:
    static = StaticFiles(directory=shared_tree, html=html)
    status, body = raw_get(static, path, method)
    assert status in (200, 307, 404)
    assert SECRET not in body
