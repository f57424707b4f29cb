"""Request and response data structures: URLs, headers, multi-dicts, uploads and small helpers."""

from __future__ import annotations

import functools
import io
import ipaddress
import re
import shlex
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, Sequence, ValuesView
from typing import Any, BinaryIO, ClassVar, Literal, NamedTuple, TypeVar, overload
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit

from framework.concurrency import run_in_threadpool
from framework.types import Scope

__all__ = [
    "URL",
    "Address",
    "CommaSeparatedStrings",
    "FormData",
    "Headers",
    "ImmutableMultiDict",
    "MultiDict",
    "MutableHeaders",
    "QueryParams",
    "Secret",
    "State",
    "URLPath",
    "UploadFile",
]

_KeyType = TypeVar("_KeyType")
_CovariantValueType = TypeVar("_CovariantValueType", covariant=True)
_T = TypeVar("_T")

_URLComponent = str | int | None

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

# RFC 3986 ``host [":" port]``: a registered name (unreserved, sub-delims and "%"), a bracketed
# IPv6 address (checked further by ``ipaddress``) or a bracketed IPvFuture literal.
_HOST_RE = re.compile(
    r"""
    (?:
        [A-Za-z0-9\-._~!$&'()*+,;=%]+
      | \[(?P<ipv6>[0-9A-Fa-f:.]+)\]
      | \[v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+\]
    )
    (?::(?P<port>[0-9]+))?
    """,
    re.VERBOSE | re.ASCII,
)


def _is_valid_host(host: str) -> bool:
    """Whether a ``Host`` header value is a syntactically valid ``host[:port]``."""
    match = _HOST_RE.fullmatch(host)
    if match is None:
        return False
    port = match.group("port")
    if port is not None and int(port) > 65535:
        return False
    ipv6 = match.group("ipv6")
    if ipv6 is not None:
        try:
            ipaddress.IPv6Address(ipv6)
        except ValueError:
            return False
    return True


# PERF: a server sees few distinct Host values, so verdicts are remembered. Only short values
# are cached, and the cache is bounded, so a client cannot make it grow without limit.
_is_valid_short_host = functools.lru_cache(maxsize=256)(_is_valid_host)
_SHORT_HOST = 255


def _host_from_scope(scope: Scope) -> str | None:
    """The ``host[:port]`` a client addressed, from the Host header or else the server address.

    ``None`` when neither gives one and the URL has to stay relative.
    """
    for key, value in scope.get("headers", ()):
        if key == b"host":
            # NOTE: only the first Host header counts; an invalid one is ignored rather than
            # trusted, so a forged value cannot end up in redirects or absolute URLs.
            host: str = value.decode("latin-1")
            check = _is_valid_short_host if len(host) <= _SHORT_HOST else _is_valid_host
            if check(host):
                return host
            break
    server = scope.get("server")
    if server is None:
        return None
    name: str = server[0]
    port: int | None = server[1]
    if ":" in name:
        name = f"[{name}]"
    # NOTE: a Unix-socket server reports no port; there is then nothing to append.
    if port is None or port == _DEFAULT_PORTS.get(scope.get("scheme", "http")):
        return name
    return f"{name}:{port}"


def _url_from_scope(scope: Scope) -> str:
    """The full URL of an ASGI connection, as a string."""
    # NOTE: these three characters in a decoded path would be read back as the start of the
    # query, the start of the fragment, or (by browsers) a path separator.
    path: str = scope.get("path", "").replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    host = _host_from_scope(scope)
    if host is None:
        # NOTE: without a host, a leading "//" would be parsed as an authority.
        url = "/%2F" + path[2:] if path.startswith("//") else path
    else:
        if path and path[0] != "/":
            path = "/" + path
        url = f"{scope.get('scheme', 'http')}://{host}{path}"
    query_string: bytes = scope.get("query_string", b"")
    if query_string:
        try:
            query = query_string.decode()
        except UnicodeDecodeError:
            # NOTE: bytes that are not UTF-8 are percent-encoded instead of failing the request.
            query = "".join(chr(b) if b < 0x80 else f"%{b:02X}" for b in query_string)
        url = f"{url}?{query}"
    return url


class URL:
    """A parsed URL, built from a string, an ASGI scope or keyword components."""

    __slots__ = ("_components", "_url")

    _url: str
    _components: SplitResult | None

    def __init__(
        self, url: str = "", scope: Scope | None = None, **components: _URLComponent
    ) -> None:
        if scope is not None:
            if url:
                raise TypeError('Cannot set both "url" and "scope".')
            if components:
                raise TypeError('Cannot set both "scope" and "**components".')
            url = _url_from_scope(scope)
        elif components:
            if url:
                raise TypeError('Cannot set both "url" and "**components".')
            url = URL("").replace(**components)._url
        self._url = url
        # PERF: parsing is deferred until a component is asked for.
        self._components = None

    @property
    def components(self) -> SplitResult:
        """The URL split by :func:`urllib.parse.urlsplit`."""
        components = self._components
        if components is None:
            components = self._components = urlsplit(self._url)
        return components

    @property
    def scheme(self) -> str:
        """The scheme, lower-cased (``"https"``)."""
        return self.components.scheme

    @property
    def netloc(self) -> str:
        """The authority as written: ``user:password@host:port``."""
        return self.components.netloc

    @property
    def path(self) -> str:
        """The path."""
        return self.components.path

    @property
    def query(self) -> str:
        """The query string, without the ``?``."""
        return self.components.query

    @property
    def fragment(self) -> str:
        """The fragment, without the ``#``."""
        return self.components.fragment

    @property
    def username(self) -> str | None:
        """The user name of the authority, if any."""
        return self.components.username

    @property
    def password(self) -> str | None:
        """The password of the authority, if any."""
        return self.components.password

    @property
    def hostname(self) -> str | None:
        """The host name, lower-cased, without brackets around an IPv6 address."""
        return self.components.hostname

    @property
    def port(self) -> int | None:
        """The explicit port, or ``None``; raises ``ValueError`` for a non-numeric port."""
        return self.components.port

    @property
    def is_secure(self) -> bool:
        """True for ``https`` and ``wss`` URLs."""
        return self.scheme in ("https", "wss")

    def replace(self, **kwargs: _URLComponent) -> URL:
        """A copy with some components replaced.

        Accepts the ``urlsplit`` fields (``scheme``, ``netloc``, ``path``, ``query``,
        ``fragment``) and also ``hostname``, ``port``, ``username`` and ``password``, which
        rebuild the netloc. ``None`` for ``port``, ``username`` or ``password`` removes it.
        """
        if "hostname" in kwargs or "port" in kwargs or "username" in kwargs or "password" in kwargs:
            kwargs["netloc"] = self._replaced_netloc(kwargs)
        # NOTE: values pass through unchecked, as the fields of a SplitResult; a name that is
        # not a field makes ``_replace`` raise ValueError.
        fields: dict[str, Any] = kwargs
        components = self.components._replace(**fields)
        return type(self)(components.geturl())

    def _replaced_netloc(self, kwargs: dict[str, _URLComponent]) -> str:
        """Pop the netloc parts from ``kwargs`` and build the new netloc from them."""
        hostname = kwargs.pop("hostname", None)
        port = kwargs.pop("port", self.port)
        username = kwargs.pop("username", self.username)
        password = kwargs.pop("password", self.password)
        if hostname is None:
            # NOTE: the host is taken as written, keeping its case and IPv6 brackets.
            host = self.netloc.rpartition("@")[2]
            if not host.endswith("]"):
                host = host.rpartition(":")[0] if ":" in host else host
        else:
            host = str(hostname)
            if ":" in host and not host.startswith("["):
                host = f"[{host}]"
        netloc = host if port is None else f"{host}:{port}"
        if username is None:
            return netloc
        if password is None:
            return f"{username}@{netloc}"
        return f"{username}:{password}@{netloc}"

    def include_query_params(self, **kwargs: object) -> URL:
        """A copy with these query parameters set, replacing any with the same names."""
        params = MultiDict(parse_qsl(self.query, keep_blank_values=True))
        params.update({str(key): str(value) for key, value in kwargs.items()})
        return self.replace(query=urlencode(params.multi_items()))

    def replace_query_params(self, **kwargs: object) -> URL:
        """A copy whose query string holds exactly these parameters."""
        query = urlencode([(str(key), str(value)) for key, value in kwargs.items()])
        return self.replace(query=query)

    def remove_query_params(self, keys: str | Sequence[str]) -> URL:
        """A copy without the query parameters named by ``keys`` (one name or several)."""
        if isinstance(keys, str):
            keys = [keys]
        params = MultiDict(parse_qsl(self.query, keep_blank_values=True))
        for key in keys:
            params.pop(key, None)
        return self.replace(query=urlencode(params.multi_items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (str, URL)):
            return self._url == str(other)
        return False

    def __str__(self) -> str:
        return self._url

    def __repr__(self) -> str:
        url = self._url
        if self.password:
            url = str(self.replace(password="********"))
        return f"{type(self).__name__}({url!r})"


class URLPath(str):
    """A path produced by ``url_path_for``, which remembers the protocol and host of its route.

    ``protocol`` is ``"http"``, ``"websocket"`` or ``""`` (take the base URL's scheme).
    """

    protocol: str
    host: str

    def __new__(
        cls, path: str, protocol: Literal["http", "websocket", ""] = "", host: str = ""
    ) -> URLPath:
        if protocol not in ("http", "websocket", ""):
            raise ValueError(f'protocol must be "http", "websocket" or "", not {protocol!r}')
        self = super().__new__(cls, path)
        self.protocol = protocol
        self.host = host
        return self

    def make_absolute_url(self, base_url: str | URL) -> URL:
        """The absolute URL of this path below ``base_url``."""
        if isinstance(base_url, str):
            base_url = URL(base_url)
        if self.protocol == "http":
            scheme = "https" if base_url.is_secure else "http"
        elif self.protocol == "websocket":
            scheme = "wss" if base_url.is_secure else "ws"
        else:
            scheme = base_url.scheme
        netloc = self.host or base_url.netloc
        path = base_url.path.rstrip("/") + str(self)
        return URL(scheme=scheme, netloc=netloc, path=path)


class Address(NamedTuple):
    """A ``(host, port)`` pair: the client or server of a connection."""

    host: str
    port: int


class Secret:
    """A string, such as a password, whose ``repr`` does not reveal it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return f"{type(self).__name__}('**********')"

    def __str__(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)


class CommaSeparatedStrings(Sequence[str]):
    """A sequence of strings parsed from a comma-separated value, as found in config files.

    Items may be quoted to hold a comma (``'"a,b", c'``); surrounding whitespace is dropped.
    """

    def __init__(self, value: str | Sequence[str]) -> None:
        if isinstance(value, str):
            splitter = shlex.shlex(value, posix=True)
            splitter.whitespace = ","
            splitter.whitespace_split = True
            self._items = [item.strip() for item in splitter]
        else:
            self._items = list(value)

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        return self._items[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._items!r})"

    def __str__(self) -> str:
        return ", ".join(repr(item) for item in self._items)


def _pairs(
    value: ImmutableMultiDict[_KeyType, _T] | Mapping[_KeyType, _T] | Iterable[tuple[_KeyType, _T]],
) -> list[tuple[_KeyType, _T]]:
    """A fresh list of the (key, value) pairs of a multi-dict, mapping or iterable of pairs."""
    # PERF: plain lists come first; they are common and skip the slower ABC isinstance checks.
    if isinstance(value, list):
        return list(value)
    if isinstance(value, ImmutableMultiDict):
        return list(value._list)
    if isinstance(value, Mapping):
        # NOTE: Headers.items() keeps repeated names, so they survive the conversion.
        return list(value.items())
    return list(value)


def _grouped(items: list[tuple[Any, Any]]) -> dict[Any, list[Any]]:
    """The values of each key, in order."""
    groups: dict[Any, list[Any]] = {}
    for key, value in items:
        groups.setdefault(key, []).append(value)
    return groups


class ImmutableMultiDict(Mapping[_KeyType, _CovariantValueType]):
    """A read-only mapping that may hold several values per key.

    Indexing gives a key's last value; ``getlist`` gives all of them and ``multi_items`` every
    pair in order.
    """

    __slots__ = ("_dict", "_list")

    _list: list[tuple[Any, Any]]
    _dict: dict[Any, Any]

    def __init__(
        self,
        value: ImmutableMultiDict[_KeyType, _CovariantValueType]
        | Mapping[_KeyType, _CovariantValueType]
        | Iterable[tuple[_KeyType, _CovariantValueType]]
        | None = None,
        /,
        **kwargs: Any,
    ) -> None:
        items: list[tuple[Any, Any]] = [] if value is None else _pairs(value)
        if kwargs:
            items.extend(kwargs.items())
        self._list = items
        self._dict = dict(items)

    def getlist(self, key: Any) -> list[_CovariantValueType]:
        """Every value of ``key``, in order; empty if it is absent."""
        return [item_value for item_key, item_value in self._list if item_key == key]

    def keys(self) -> KeysView[_KeyType]:
        """The distinct keys."""
        return self._dict.keys()

    def values(self) -> ValuesView[_CovariantValueType]:
        """The last value of each key."""
        return self._dict.values()

    def items(self) -> ItemsView[_KeyType, _CovariantValueType]:
        """Each key with its last value."""
        return self._dict.items()

    def multi_items(self) -> list[tuple[_KeyType, _CovariantValueType]]:
        """Every (key, value) pair, in insertion order."""
        return list(self._list)

    @overload
    def get(self, key: _KeyType, /) -> _CovariantValueType | None: ...

    @overload
    def get(
        self, key: _KeyType, /, default: _CovariantValueType | _T
    ) -> _CovariantValueType | _T: ...

    def get(self, key: Any, /, default: Any = None) -> Any:
        """The last value of ``key``, or ``default``."""
        return self._dict.get(key, default)

    def __getitem__(self, key: _KeyType) -> _CovariantValueType:
        value: _CovariantValueType = self._dict[key]
        return value

    def __contains__(self, key: object) -> bool:
        return key in self._dict

    def __iter__(self) -> Iterator[_KeyType]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __eq__(self, other: object) -> bool:
        # NOTE: equal when each key has the same values in the same order; how different keys
        # interleave does not matter.
        if not isinstance(other, type(self)):
            return False
        if len(self._list) != len(other._list):
            return False
        return _grouped(self._list) == _grouped(other._list)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._list!r})"


class MultiDict(ImmutableMultiDict[Any, Any]):
    """A mutable :class:`ImmutableMultiDict`."""

    __slots__ = ()

    def __setitem__(self, key: Any, value: Any) -> None:
        self._list = [item for item in self._list if item[0] != key]
        self._list.append((key, value))
        self._dict[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._dict[key]
        self._list = [item for item in self._list if item[0] != key]

    def pop(self, key: Any, default: Any = None) -> Any:
        """Remove every value of ``key`` and return its last one, or ``default``."""
        self._list = [item for item in self._list if item[0] != key]
        return self._dict.pop(key, default)

    def popitem(self) -> tuple[Any, Any]:
        """Remove the most recently added key and return it with its last value."""
        key, value = self._dict.popitem()
        self._list = [item for item in self._list if item[0] != key]
        return key, value

    def poplist(self, key: Any) -> list[Any]:
        """Remove ``key`` and return all its values."""
        values = [item_value for item_key, item_value in self._list if item_key == key]
        self.pop(key)
        return values

    def clear(self) -> None:
        """Remove everything."""
        self._dict.clear()
        self._list.clear()

    def setdefault(self, key: Any, default: Any = None) -> Any:
        """The last value of ``key``, adding ``key`` with ``default`` first if it is absent."""
        if key not in self._dict:
            self._dict[key] = default
            self._list.append((key, default))
        return self._dict[key]

    def setlist(self, key: Any, values: list[Any]) -> None:
        """Replace every value of ``key`` by ``values``; an empty list removes the key."""
        if not values:
            self.pop(key)
            return
        self._list = [item for item in self._list if item[0] != key]
        self._list.extend((key, value) for value in values)
        self._dict[key] = values[-1]

    def append(self, key: Any, value: Any) -> None:
        """Add one more value for ``key``."""
        self._list.append((key, value))
        self._dict[key] = value

    def update(
        self,
        value: ImmutableMultiDict[Any, Any]
        | Mapping[Any, Any]
        | Iterable[tuple[Any, Any]]
        | None = None,
        /,
        **kwargs: Any,
    ) -> None:
        """Replace the values of every key present in the arguments by the values given there."""
        other = MultiDict(value, **kwargs)
        replaced = other._dict.keys()
        self._list = [item for item in self._list if item[0] not in replaced]
        self._list.extend(other._list)
        self._dict.update(other._dict)


class QueryParams(ImmutableMultiDict[str, str]):
    """The parameters of a query string; every key and value is a ``str``.

    Built from a query string (``str`` or ``bytes``), a mapping, a multi-dict or (key, value)
    pairs; ``str()`` gives the URL-encoded query string back.
    """

    __slots__ = ()

    def __init__(
        self,
        value: ImmutableMultiDict[Any, Any]
        | Mapping[Any, Any]
        | Iterable[tuple[Any, Any]]
        | str
        | bytes
        | None = None,
        /,
        **kwargs: Any,
    ) -> None:
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        items: list[tuple[str, str]]
        if isinstance(value, str):
            # PERF: most requests carry no query string; skip the parser then.
            items = parse_qsl(value, keep_blank_values=True) if value else []
        elif value is None:
            items = []
        else:
            items = [(str(key), str(item)) for key, item in _pairs(value)]
        if kwargs:
            items.extend((key, str(item)) for key, item in kwargs.items())
        self._list = items
        self._dict = dict(items)

    def __str__(self) -> str:
        return urlencode(self._list)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class UploadFile:
    """A file uploaded in a multipart form.

    The async methods call the blocking file directly while its data is in memory and move to
    the thread pool once a spooled file has rolled over to disk.
    """

    __slots__ = ("file", "filename", "headers", "size")

    def __init__(
        self,
        file: BinaryIO,
        *,
        size: int | None = None,
        filename: str | None = None,
        headers: Headers | None = None,
    ) -> None:
        self.file = file
        self.size = size
        self.filename = filename
        self.headers = Headers() if headers is None else headers

    @property
    def content_type(self) -> str | None:
        """The part's ``Content-Type`` header, if it has one."""
        return self.headers.get("content-type")

    def _in_memory(self, size_to_add: int = 0) -> bool:
        """Whether the file's data is (and, after writing ``size_to_add`` bytes, stays) in RAM."""
        file = self.file
        if isinstance(file, io.BytesIO):
            return True
        # NOTE: only a SpooledTemporaryFile that has not rolled over is known not to block;
        # ``_rolled`` and ``_max_size`` are its (undocumented but stable) attributes. Any other
        # file object is treated as blocking.
        if getattr(file, "_rolled", True):
            return False
        max_size: int = getattr(file, "_max_size", 0)
        return not max_size or file.tell() + size_to_add <= max_size

    async def write(self, data: bytes) -> None:
        """Append ``data`` to the file, adding its length to ``size`` when that is tracked."""
        if self.size is not None:
            self.size += len(data)
        if self._in_memory(len(data)):
            self.file.write(data)
        else:
            await run_in_threadpool(self.file.write, data)

    async def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes (all that is left by default)."""
        if self._in_memory():
            return self.file.read(size)
        return await run_in_threadpool(self.file.read, size)

    async def seek(self, offset: int) -> None:
        """Move to byte ``offset`` from the start."""
        if self._in_memory():
            self.file.seek(offset)
        else:
            await run_in_threadpool(self.file.seek, offset)

    async def close(self) -> None:
        """Close the underlying file; closing it again does nothing."""
        if self.file.closed:
            return
        if self._in_memory():
            self.file.close()
        else:
            await run_in_threadpool(self.file.close)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(filename={self.filename!r}, size={self.size!r}, "
            f"headers={self.headers!r})"
        )


class FormData(ImmutableMultiDict[str, str | UploadFile]):
    """Parsed form fields: each value is a ``str`` or an :class:`UploadFile`."""

    __slots__ = ()

    async def close(self) -> None:
        """Close every uploaded file."""
        for _, value in self._list:
            if isinstance(value, UploadFile):
                await value.close()


class Headers(Mapping[str, str]):
    """An immutable, case-insensitive multi-map of HTTP headers.

    Built from a ``headers`` mapping, a ``raw`` list of lower-case ``(name, value)`` byte pairs,
    or an ASGI ``scope``. Names and values are latin-1; indexing gives a name's first value.
    """

    __slots__ = ("_list",)

    _list: list[tuple[bytes, bytes]]
    _copies_scope_list: ClassVar[bool] = False

    def __init__(
        self,
        headers: Mapping[str, str] | None = None,
        raw: list[tuple[bytes, bytes]] | None = None,
        scope: Scope | None = None,
    ) -> None:
        if scope is not None:
            if headers is not None:
                raise TypeError('Cannot set both "headers" and "scope".')
            if raw is not None:
                raise TypeError('Cannot set both "raw" and "scope".')
            scope_raw = scope.get("headers", [])
            if self._copies_scope_list:
                self._list = scope["headers"] = list(scope_raw)
            else:
                # PERF: read-only headers share the scope's list: no copy, no decoding up front.
                self._list = scope_raw if isinstance(scope_raw, list) else list(scope_raw)
        elif headers is not None:
            if raw is not None:
                raise TypeError('Cannot set both "headers" and "raw".')
            self._list = [
                (key.lower().encode("latin-1"), value.encode("latin-1"))
                for key, value in headers.items()
            ]
        elif raw is not None:
            self._list = raw
        else:
            self._list = []

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        """A copy of the ``(name, value)`` byte pairs."""
        return list(self._list)

    # NOTE: unlike a Mapping's views, these are lists that keep repeated header names.
    def keys(self) -> list[str]:  # type: ignore[override]
        """Every header name, repeated ones included."""
        return [key.decode("latin-1") for key, _ in self._list]

    def values(self) -> list[str]:  # type: ignore[override]
        """Every header value."""
        return [value.decode("latin-1") for _, value in self._list]

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        """Every (name, value) pair, in order."""
        return [(key.decode("latin-1"), value.decode("latin-1")) for key, value in self._list]

    def getlist(self, key: str) -> list[str]:
        """Every value of header ``key``, in order."""
        try:
            lookup = key.lower().encode("latin-1")
        except UnicodeEncodeError:
            return []
        return [value.decode("latin-1") for name, value in self._list if name == lookup]

    def mutablecopy(self) -> MutableHeaders:
        """A :class:`MutableHeaders` holding a copy of these headers."""
        return MutableHeaders(raw=list(self._list))

    @overload
    def get(self, key: str, /) -> str | None: ...

    @overload
    def get(self, key: str, /, default: str | _T) -> str | _T: ...

    def get(self, key: str, /, default: object = None) -> object:
        """The first value of header ``key``, or ``default``."""
        # PERF: a direct scan; Mapping.get would raise and catch KeyError for absent headers.
        # The lookup key is built inline (not by a helper) as this runs several times per request.
        try:
            lookup = key.lower().encode("latin-1")
        except (AttributeError, UnicodeEncodeError):
            return default
        for name, value in self._list:
            if name == lookup:
                return value.decode("latin-1")
        return default

    def __getitem__(self, key: str) -> str:
        try:
            lookup = key.lower().encode("latin-1")
        except UnicodeEncodeError:
            raise KeyError(key) from None
        for name, value in self._list:
            if name == lookup:
                return value.decode("latin-1")
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        try:
            lookup = key.lower().encode("latin-1")
        except UnicodeEncodeError:
            return False
        # PERF: an explicit loop; any() over a generator costs twice as much here.
        for name, _ in self._list:  # noqa: SIM110
            if name == lookup:
                return True
        return False

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._list)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return False
        return sorted(self._list) == sorted(other._list)

    def __repr__(self) -> str:
        name = type(self).__name__
        as_dict = dict(self.items())
        if len(as_dict) == len(self):
            return f"{name}({as_dict!r})"
        return f"{name}(raw={self.raw!r})"


class MutableHeaders(Headers):
    """Headers that can be changed in place.

    Every change acts on the underlying raw list, so a response's ``raw_headers`` (or a
    message's ``headers``) that this object wraps stays in sync.
    """

    __slots__ = ()

    # NOTE: the scope (or message) gets its own list, so changes never reach a list that
    # something else, such as a response, still holds.
    _copies_scope_list = True

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        """The underlying ``(name, value)`` byte pairs; changes to it change the headers."""
        return self._list

    def __setitem__(self, key: str, value: str) -> None:
        """Set header ``key`` to a single ``value``, where its first occurrence was."""
        set_key = key.lower().encode("latin-1")
        set_value = value.encode("latin-1")
        raw = self._list
        found = [index for index, (name, _) in enumerate(raw) if name == set_key]
        if not found:
            raw.append((set_key, set_value))
            return
        for index in reversed(found[1:]):
            del raw[index]
        raw[found[0]] = (set_key, set_value)

    def __delitem__(self, key: str) -> None:
        """Remove every occurrence of header ``key``; an absent header is ignored."""
        del_key = key.lower().encode("latin-1")
        raw = self._list
        # NOTE: slice assignment keeps the list's identity, which others may share.
        raw[:] = [item for item in raw if item[0] != del_key]

    def __ior__(self, other: Mapping[str, str]) -> MutableHeaders:
        if not isinstance(other, Mapping):
            raise TypeError(f"Expected a mapping but got {type(other).__name__}")
        self.update(other)
        return self

    def __or__(self, other: Mapping[str, str]) -> MutableHeaders:
        if not isinstance(other, Mapping):
            raise TypeError(f"Expected a mapping but got {type(other).__name__}")
        new = self.mutablecopy()
        new.update(other)
        return new

    def setdefault(self, key: str, value: str) -> str:
        """The first value of ``key``, setting it to ``value`` first if it is absent."""
        set_key = key.lower().encode("latin-1")
        for name, existing in self._list:
            if name == set_key:
                return existing.decode("latin-1")
        self._list.append((set_key, value.encode("latin-1")))
        return value

    def update(self, other: Mapping[str, str]) -> None:
        """Set each header of ``other``, replacing existing values of the same name."""
        for key, value in other.items():
            self[key] = value

    def append(self, key: str, value: str) -> None:
        """Add a header, keeping any existing ones of the same name."""
        self._list.append((key.lower().encode("latin-1"), value.encode("latin-1")))

    def add_vary_header(self, vary: str) -> None:
        """Add ``vary`` to the ``Vary`` header, merging all existing ``Vary`` headers into one."""
        existing = self.getlist("vary")
        if existing:
            vary = ", ".join([*existing, vary])
        self["vary"] = vary


class State:
    """An attribute bag over a dict: ``state.x`` reads and writes ``state_dict["x"]``."""

    __slots__ = ("_state",)

    _state: dict[str, Any]

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        object.__setattr__(self, "_state", {} if state is None else state)

    def __setattr__(self, key: str, value: Any) -> None:
        self._state[key] = value

    def __getattr__(self, key: str) -> Any:
        try:
            return self._state[key]
        except KeyError:
            raise AttributeError(
                f"'{type(self).__name__}' object has no attribute '{key}'"
            ) from None

    def __delattr__(self, key: str) -> None:
        del self._state[key]

    # NOTE: copy and pickle would otherwise restore ``_state`` through ``__setattr__``, which
    # needs ``_state`` already, and recurse without end.
    def __getstate__(self) -> dict[str, Any]:
        return self._state

    def __setstate__(self, state: dict[str, Any]) -> None:
        object.__setattr__(self, "_state", state)

    def __getitem__(self, key: str) -> Any:
        return self._state[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._state[key] = value

    def __delitem__(self, key: str) -> None:
        del self._state[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._state)

    def __len__(self) -> int:
        return len(self._state)
