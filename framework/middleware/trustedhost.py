"""Reject requests whose ``Host`` header names a host the application does not serve."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import NamedTuple

from framework.datastructures import URL
from framework.responses import PlainTextResponse, RedirectResponse, Response
from framework.types import ASGIApp, Receive, Scope, Send

__all__ = ["ENFORCE_DOMAIN_WILDCARD", "ParsedHost", "TrustedHostMiddleware", "parse_host_header"]

ENFORCE_DOMAIN_WILDCARD = "Domain wildcard patterns must be like '*.example.com'."

# PERF: a bounded cache of Host header values already found allowed; real traffic uses a
# handful of hosts, and a flood of distinct ones only makes it start over.
_ALLOWED_CACHE_SIZE = 256

_ALLOW = "allow"
_REDIRECT = "redirect"
_REFUSE = "refuse"

# RFC 3986 ``host [":" port]``: a registered name (unreserved characters, sub-delims and "%"),
# a bracketed IPv6 address (checked further by ``ipaddress``) or a bracketed IPvFuture literal.
_HOST_RE = re.compile(
    r"""
    (?P<host>
        [A-Za-z0-9\-._~!$&'()*+,;=%]+
      | \[(?P<ipv6>[0-9A-Fa-f:.]+)\]
      | \[v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+\]
    )
    (?::(?P<port>[0-9]+))?
    """,
    re.VERBOSE | re.ASCII,
)


class ParsedHost(NamedTuple):
    """A ``Host`` header split into its host (IPv6 brackets kept) and its port, if any."""

    host: str
    port: str | None


def parse_host_header(host_header: str | None) -> ParsedHost | None:
    """Split a ``Host`` header value into host and port; ``None`` if it is not a valid one."""
    if not host_header:
        return None
    match = _HOST_RE.fullmatch(host_header)
    if match is None:
        return None
    port = match.group("port")
    if port is not None and int(port) > 65535:
        return None
    ipv6 = match.group("ipv6")
    if ipv6 is not None:
        try:
            ipaddress.IPv6Address(ipv6)
        except ValueError:
            return None
    return ParsedHost(match.group("host"), port)


class TrustedHostMiddleware:
    """Answer 400 "Invalid host header" unless the ``Host`` header matches ``allowed_hosts``.

    A pattern is an exact host (compared case-insensitively, without the port), ``"*"`` (allow
    everything) or ``"*.example.com"`` (any subdomain of ``example.com``, not the bare domain).
    With ``www_redirect``, a request for ``example.com`` is redirected to ``www.example.com``
    when only the latter is allowed.
    """

    __slots__ = (
        "_allow_any",
        "_allowed_cache",
        "_exact",
        "_suffixes",
        "allowed_hosts",
        "app",
        "www_redirect",
    )

    def __init__(
        self,
        app: ASGIApp,
        allowed_hosts: Sequence[str] | None = None,
        www_redirect: bool = True,
    ) -> None:
        if allowed_hosts is None:
            allowed_hosts = ["*"]
        elif isinstance(allowed_hosts, str):
            # NOTE: a lone string would otherwise be taken character by character.
            allowed_hosts = [allowed_hosts]
        for pattern in allowed_hosts:
            if "*" in pattern[1:]:
                raise AssertionError(ENFORCE_DOMAIN_WILDCARD)
            if pattern.startswith("*") and pattern != "*" and not pattern.startswith("*."):
                raise AssertionError(ENFORCE_DOMAIN_WILDCARD)
        self.app = app
        self.allowed_hosts = list(allowed_hosts)
        self.www_redirect = www_redirect
        # PERF: the patterns are split once into a set of exact hosts and a tuple of suffixes
        # that ``str.endswith`` checks in one call.
        self._allow_any = "*" in self.allowed_hosts
        self._exact = frozenset(
            pattern.lower() for pattern in self.allowed_hosts if not pattern.startswith("*")
        )
        self._suffixes = tuple(
            pattern[1:].lower() for pattern in self.allowed_hosts if pattern.startswith("*.")
        )
        self._allowed_cache: set[bytes] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._allow_any or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return

        verdict = _REFUSE
        for name, value in scope["headers"]:
            if name == b"host":
                verdict = _ALLOW if value in self._allowed_cache else self._judge(value)
                break
        if verdict is _ALLOW:
            await self.app(scope, receive, send)
            return
        response: Response
        if verdict is _REDIRECT:
            url = URL(scope=scope)
            response = RedirectResponse(url.replace(netloc="www." + url.netloc), 307)
        else:
            response = PlainTextResponse("Invalid host header", status_code=400)
        await response(scope, receive, send)

    def _judge(self, raw_host: bytes) -> str:
        """Whether a Host header value is allowed, redirected to ``www.`` or refused."""
        parsed = parse_host_header(raw_host.decode("latin-1"))
        if parsed is None:
            return _REFUSE
        host = parsed.host.lower()
        if host in self._exact or (self._suffixes and host.endswith(self._suffixes)):
            cache = self._allowed_cache
            if len(cache) >= _ALLOWED_CACHE_SIZE:
                cache.clear()
            cache.add(raw_host)
            return _ALLOW
        if self.www_redirect and "www." + host in self._exact:
            return _REDIRECT
        return _REFUSE
