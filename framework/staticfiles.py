"""``StaticFiles``: an ASGI app serving the files under one or more directories."""

from __future__ import annotations

import importlib.util
import os
import stat
from email.utils import mktime_tz, parsedate_tz
from typing import Literal, TypeAlias

import anyio.to_thread

from framework import _keys
from framework._utils import get_route_path
from framework.datastructures import URL, Headers
from framework.exceptions import HTTPException
from framework.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from framework.types import Receive, Scope, Send

__all__ = ["NotModifiedResponse", "PathLike", "StaticFiles"]

PathLike: TypeAlias = str | os.PathLike[str]

_Found: TypeAlias = tuple[Literal["file", "index", "404", "none"], str, os.stat_result | None]

_NOT_FOUND: tuple[str, None] = ("", None)


class _PackageDirectoryError(ValueError, AssertionError):
    """A ``packages=`` entry names no package, or one without the statics directory.

    NOTE: Starlette reports these with ``assert``; deriving from both keeps ``except
    AssertionError`` working while the check still runs under ``python -O``.
    """


class NotModifiedResponse(Response):
    """An empty 304 response keeping the validator and caching headers of the full one."""

    NOT_MODIFIED_HEADERS = (
        "cache-control",
        "content-location",
        "date",
        "etag",
        "expires",
        "vary",
    )

    def __init__(self, headers: Headers) -> None:
        super().__init__(
            status_code=304,
            headers={
                name: value for name, value in headers.items() if name in self.NOT_MODIFIED_HEADERS
            },
        )


def _http_date(value: str) -> int | None:
    """Seconds since the epoch for an HTTP date, or ``None`` if it cannot be parsed."""
    try:
        parsed = parsedate_tz(value)
        return None if parsed is None else mktime_tz(parsed)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


class StaticFiles:
    """Serve files from ``directory`` and from the ``statics`` directory of ``packages``.

    Only GET and HEAD are allowed. Requests cannot reach outside the directories: ``..``,
    absolute paths, backslashes, NUL bytes and (unless ``follow_symlink``) symlinks leading
    out all get 404. With ``html=True`` a directory serves its ``index.html`` and a missing
    file serves the top-level ``404.html`` with status 404.
    """

    def __init__(
        self,
        *,
        directory: PathLike | None = None,
        packages: list[str | tuple[str, str]] | None = None,
        html: bool = False,
        check_dir: bool = True,
        follow_symlink: bool = False,
    ) -> None:
        self.directory = directory
        self.packages = packages
        self.all_directories = self.get_directories(directory, packages)
        self.html = html
        self.config_checked = False
        self.follow_symlink = follow_symlink
        if check_dir and directory is not None and not os.path.isdir(directory):
            raise RuntimeError(f"Directory '{directory}' does not exist")
        self._roots = self._resolve_roots()

    def get_directories(
        self,
        directory: PathLike | None = None,
        packages: list[str | tuple[str, str]] | None = None,
    ) -> list[PathLike]:
        """The directories to serve, in lookup order: ``directory`` first, then each package's."""
        directories: list[PathLike] = []
        if directory is not None:
            directories.append(directory)
        for package in packages or []:
            if isinstance(package, tuple):
                package, statics_dir = package
            else:
                statics_dir = "statics"
            spec = importlib.util.find_spec(package)
            if spec is None or spec.origin is None:
                raise _PackageDirectoryError(f"Package {package!r} could not be found.")
            package_directory = os.path.normpath(os.path.join(spec.origin, "..", statics_dir))
            if not os.path.isdir(package_directory):
                raise _PackageDirectoryError(
                    f"Directory {statics_dir!r} in package {package!r} could not be found."
                )
            directories.append(package_directory)
        return directories

    def _resolve_roots(self) -> list[tuple[str, str]]:
        """Each directory with the prefix that every path served from it must start with."""
        # PERF: the directories are resolved once (and again on the first request, see
        # check_config), not on every lookup.
        resolve = os.path.abspath if self.follow_symlink else os.path.realpath
        roots = []
        for directory in self.all_directories:
            root = resolve(directory)
            roots.append((os.fspath(directory), root if root.endswith(os.sep) else root + os.sep))
        return roots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1000, "reason": ""})
            return
        assert scope["type"] == "http"
        if not self.config_checked:
            await self.check_config()
            self.config_checked = True
        path = self.get_path(scope)
        try:
            response = await self.get_response(path, scope)
        except HTTPException as exc:
            if _keys.EXCEPTION_HANDLERS in scope:
                raise
            # NOTE: served on its own there is no exception middleware to turn the error into
            # a response, and the server would answer 500; answer it here instead.
            response = PlainTextResponse(exc.detail, exc.status_code, headers=exc.headers)
        await response(scope, receive, send)

    def get_path(self, scope: Scope) -> str:
        """The requested path relative to the served directories, normalised."""
        route_path = get_route_path(scope)
        return os.path.normpath(os.path.join(*route_path.split("/")))

    async def get_response(self, path: str, scope: Scope) -> Response:
        """The response for ``path``: the file, a directory's index, a redirect or a 404."""
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(status_code=405, headers={"Allow": "GET, HEAD"})
        try:
            # PERF: the lookups run on the event loop, not in the thread pool as Starlette's
            # do: they are a few stat() calls, answered from the kernel's cache in
            # microseconds, where a trip to a worker thread costs around a hundred. The
            # trade-off: a file system that stalls (a hung network mount) stalls the loop.
            kind, full_path, stat_result = self._find(path)
        except PermissionError:
            raise HTTPException(status_code=401) from None
        if kind == "file":
            assert stat_result is not None
            return self.file_response(full_path, stat_result, scope)
        if kind == "index":
            assert stat_result is not None
            if not scope["path"].endswith("/"):
                # A relative link in the index must resolve inside the directory.
                url = URL(scope=scope)
                return RedirectResponse(url=url.replace(path=url.path + "/"))
            return self.file_response(full_path, stat_result, scope)
        if kind == "404":
            return FileResponse(full_path, stat_result=stat_result, status_code=404)
        raise HTTPException(status_code=404)

    def _find(self, path: str) -> _Found:
        """What serves ``path``: a file, a directory's index, the 404 page, or nothing."""
        full_path, stat_result = self.lookup_path(path)
        if stat_result is not None:
            if stat.S_ISREG(stat_result.st_mode):
                return "file", full_path, stat_result
            if stat.S_ISDIR(stat_result.st_mode) and self.html:
                full_path, stat_result = self.lookup_path(os.path.join(path, "index.html"))
                if stat_result is not None and stat.S_ISREG(stat_result.st_mode):
                    return "index", full_path, stat_result
        if self.html:
            full_path, stat_result = self.lookup_path("404.html")
            if stat_result is not None and stat.S_ISREG(stat_result.st_mode):
                return "404", full_path, stat_result
        return "none", "", None

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        """The full path and metadata of ``path`` in the first directory holding it.

        Returns ``("", None)`` when no directory holds it or when it would lead outside them.
        Raises ``PermissionError`` when the file exists but cannot be read.
        """
        if "\x00" in path or "\\" in path or os.path.isabs(path):
            return _NOT_FOUND
        follow_symlink = self.follow_symlink
        for directory, prefix in self._roots:
            joined = os.path.join(directory, path)
            try:
                # NOTE: abspath only removes ".." lexically, so symlinks inside the directory
                # may point anywhere; realpath resolves them, so their targets must lie inside.
                full_path = os.path.abspath(joined) if follow_symlink else os.path.realpath(joined)
                if not (full_path + os.sep).startswith(prefix):
                    continue
                return full_path, os.stat(full_path)
            except PermissionError:
                raise
            except (OSError, ValueError):
                # Missing files, and names the OS refuses: too long, symlink loops, or not
                # encodable (a server may pass undecodable bytes through as surrogates).
                continue
        return _NOT_FOUND

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        """A ``FileResponse`` for the file, or a 304 when the client's copy is current."""
        response = FileResponse(full_path, status_code=status_code, stat_result=stat_result)
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response

    async def check_config(self) -> None:
        """Fail clearly on the first request if ``directory`` is missing or not a directory."""
        if self.directory is None:
            return
        try:
            stat_result = await anyio.to_thread.run_sync(os.stat, self.directory)
        except FileNotFoundError:
            raise RuntimeError(
                f"StaticFiles directory '{self.directory}' does not exist."
            ) from None
        if not stat.S_ISDIR(stat_result.st_mode):
            raise RuntimeError(f"StaticFiles path '{self.directory}' is not a directory.")
        # NOTE: with check_dir=False the directory may have appeared (or become a symlink)
        # since construction, so it is resolved again now.
        self._roots = self._resolve_roots()

    def is_not_modified(self, response_headers: Headers, request_headers: Headers) -> bool:
        """Whether the client's cached copy, per If-None-Match or If-Modified-Since, is current."""
        if_none_match = request_headers.get("if-none-match")
        if if_none_match is not None:
            # NOTE: If-Modified-Since is ignored when If-None-Match is present (RFC 9110 13.1.3).
            etag = response_headers.get("etag")
            if etag is None:
                return False
            etag = etag.removeprefix("W/")
            for candidate in if_none_match.split(","):
                candidate = candidate.strip()
                if candidate == "*" or candidate.removeprefix("W/") == etag:
                    return True
            return False
        if_modified_since = request_headers.get("if-modified-since")
        last_modified = response_headers.get("last-modified")
        if if_modified_since is None or last_modified is None:
            return False
        since = _http_date(if_modified_since)
        modified = _http_date(last_modified)
        return since is not None and modified is not None and since >= modified
