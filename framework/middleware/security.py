"""Add the common security headers (nosniff, framing, referrer, HSTS, CSP, COOP) to responses."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence, Set
from typing import TypeAlias

from framework.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ContentSecurityPolicy", "SecurityHeadersMiddleware"]

# A policy as written (``"default-src 'self'"``) or as directives mapped to their sources.
ContentSecurityPolicy: TypeAlias = str | Mapping[str, str | Sequence[str]]

_RawHeaders = list[tuple[bytes, bytes]]

_FRAME_OPTIONS = frozenset({"deny", "sameorigin"})
_REFERRER_POLICIES = frozenset(
    {
        "no-referrer",
        "no-referrer-when-downgrade",
        "origin",
        "origin-when-cross-origin",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
        "unsafe-url",
    }
)
_OPENER_POLICIES = frozenset(
    {"unsafe-none", "same-origin-allow-popups", "same-origin", "noopener-allow-popups"}
)
_HSTS_PRELOAD_MIN_AGE = 31_536_000  # one year, the minimum the browsers' preload lists accept
_DIRECTIVE_RE = re.compile(r"[A-Za-z0-9-]+")
_FORBIDDEN_IN_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _check_value(parameter: str, value: str) -> bytes:
    """Encode a header value, refusing control characters (header injection) and non-latin-1."""
    if _FORBIDDEN_IN_VALUE.search(value):
        raise ValueError(
            f"SecurityHeadersMiddleware({parameter}={value!r}): control characters such as "
            "CR and LF are not allowed in a header value"
        )
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(
            f"SecurityHeadersMiddleware({parameter}={value!r}): a header value must be "
            "latin-1 text; percent-encode other characters"
        ) from None


def _check_choice(parameter: str, value: str, choices: Set[str]) -> bytes:
    """Encode a header value that must be one of ``choices`` (case-insensitively)."""
    if value.lower() not in choices:
        raise ValueError(
            f"SecurityHeadersMiddleware({parameter}={value!r}): expected one of "
            + ", ".join(sorted(choices))
        )
    return value.encode("latin-1")


def _csp_value(policy: ContentSecurityPolicy) -> bytes:
    """Render a policy mapping as ``"directive source source; directive"``."""
    parameter = "content_security_policy"
    if isinstance(policy, str):
        return _check_value(parameter, policy)
    parts: list[str] = []
    for directive, sources in policy.items():
        if not _DIRECTIVE_RE.fullmatch(directive):
            raise ValueError(
                f"SecurityHeadersMiddleware({parameter}=...): {directive!r} is not a directive "
                "name (letters, digits and '-')"
            )
        values = [sources] if isinstance(sources, str) else list(sources)
        for source in values:
            if ";" in source or "," in source:
                raise ValueError(
                    f"SecurityHeadersMiddleware({parameter}=...): the source {source!r} of "
                    f"{directive!r} contains ';' or ',', which would start another directive"
                )
        parts.append(" ".join([directive, *(source for source in values if source)]))
    return _check_value(parameter, "; ".join(parts))


def _hsts_value(max_age: int, include_subdomains: bool, preload: bool) -> bytes:
    """The ``Strict-Transport-Security`` value, checked against the preload list's rules."""
    if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0:
        raise ValueError(
            f"SecurityHeadersMiddleware(hsts_max_age={max_age!r}): expected a number of "
            "seconds, 0 or more"
        )
    if preload and (not include_subdomains or max_age < _HSTS_PRELOAD_MIN_AGE):
        raise ValueError(
            "SecurityHeadersMiddleware(hsts_preload=True): the HSTS preload list requires "
            f"hsts_include_subdomains=True and hsts_max_age >= {_HSTS_PRELOAD_MIN_AGE}"
        )
    value = f"max-age={max_age}"
    if include_subdomains:
        value += "; includeSubDomains"
    if preload:
        value += "; preload"
    return value.encode("latin-1")


class SecurityHeadersMiddleware:
    """Add security headers to every HTTP response that does not already set them.

    Defaults: ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` and
    ``Referrer-Policy: strict-origin-when-cross-origin``. Opt in to
    ``Strict-Transport-Security`` with ``hsts_max_age`` (sent on https requests only, unless
    ``force_hsts`` because TLS ends at a proxy), to ``Content-Security-Policy`` (a string or a
    mapping of directives; ``csp_report_only`` sends it as ``...-Report-Only``) and to
    ``Cross-Origin-Opener-Policy``. Pass ``None`` to leave a header out. A header the app
    already set is never overridden, so an endpoint can relax the policy for itself.
    """

    __slots__ = ("_plain_headers", "_secure_headers", "app")

    def __init__(
        self,
        app: ASGIApp,
        *,
        content_type_options: str | None = "nosniff",
        frame_options: str | None = "DENY",
        referrer_policy: str | None = "strict-origin-when-cross-origin",
        hsts_max_age: int | None = None,
        hsts_include_subdomains: bool = False,
        hsts_preload: bool = False,
        force_hsts: bool = False,
        content_security_policy: ContentSecurityPolicy | None = None,
        csp_report_only: bool = False,
        cross_origin_opener_policy: str | None = None,
    ) -> None:
        self.app = app
        headers: _RawHeaders = []
        if content_type_options is not None:
            value = _check_choice("content_type_options", content_type_options, {"nosniff"})
            headers.append((b"x-content-type-options", value))
        if frame_options is not None:
            value = _check_choice("frame_options", frame_options, _FRAME_OPTIONS)
            headers.append((b"x-frame-options", value))
        if referrer_policy is not None:
            # NOTE: a comma-separated list is allowed; browsers use the last one they know.
            for token in referrer_policy.split(","):
                _check_choice("referrer_policy", token.strip(), _REFERRER_POLICIES)
            headers.append((b"referrer-policy", _check_value("referrer_policy", referrer_policy)))
        if content_security_policy is not None:
            name = b"content-security-policy"
            if csp_report_only:
                name += b"-report-only"
            headers.append((name, _csp_value(content_security_policy)))
        if cross_origin_opener_policy is not None:
            value = _check_choice(
                "cross_origin_opener_policy", cross_origin_opener_policy, _OPENER_POLICIES
            )
            headers.append((b"cross-origin-opener-policy", value))

        secure_headers = list(headers)
        if hsts_max_age is not None:
            secure_headers.append(
                (
                    b"strict-transport-security",
                    _hsts_value(hsts_max_age, hsts_include_subdomains, hsts_preload),
                )
            )
        elif hsts_include_subdomains or hsts_preload or force_hsts:
            raise ValueError(
                "SecurityHeadersMiddleware: hsts_include_subdomains, hsts_preload and "
                "force_hsts need hsts_max_age (for example hsts_max_age=31536000)"
            )
        # PERF: the raw header lists are built once; a request only picks one of the two.
        self._secure_headers = secure_headers
        self._plain_headers = secure_headers if force_hsts else headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = self._secure_headers if scope.get("scheme") == "https" else self._plain_headers
        if not headers:
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _SecurityHeadersSend(headers, send))


class _SecurityHeadersSend:
    """``send`` that adds the headers a response start lacks."""

    __slots__ = ("headers", "send")

    def __init__(self, headers: _RawHeaders, send: Send) -> None:
        self.headers = headers
        self.send = send

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            existing: _RawHeaders = list(message.get("headers", ()))
            present = {name.lower() for name, _ in existing}
            existing.extend(item for item in self.headers if item[0] not in present)
            message["headers"] = existing
        await self.send(message)
