"""The declared settings of the security headers (:class:`HeadersSettings`) and their checks."""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import re
import typing as t

from ..settings import Settings, SettingsError, setting

#: The default ``SECURITY_CSP``: same-origin everything, inline script and
#: style only with the request's nonce, no plugins, no framing.
DEFAULT_CSP: dict[str, list[str]] = {
    "default-src": ["'self'"],
    "script-src": ["'self'", "'nonce-{nonce}'"],
    "style-src": ["'self'", "'nonce-{nonce}'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}
#: Where the built-in endpoint receives CSP violation reports.
CSP_REPORT_PATH = "/_hermetic/csp-report"
#: The name of the ``Reporting-Endpoints`` entry the CSP's ``report-to`` names.
CSP_REPORT_GROUP = "hermetic-csp"
#: The default ``SECURITY_CSP_REPORT_MAX_BYTES``.
DEFAULT_CSP_REPORT_MAX_BYTES = 8 * 1024
#: The default ``SECURITY_CSP_REPORT_RATE`` (per client address).
DEFAULT_CSP_REPORT_RATE = "30 per minute"
#: The default ``SECURITY_HSTS``: two years, subdomains included.
DEFAULT_HSTS = "max-age=63072000; includeSubDomains"
#: The default ``SECURITY_REFERRER_POLICY``.
DEFAULT_REFERRER_POLICY = "strict-origin-when-cross-origin"
#: The default ``SECURITY_PERMISSIONS_POLICY``: powerful features off.
DEFAULT_PERMISSIONS_POLICY: dict[str, list[str]] = dict.fromkeys(
    (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "serial",
        "usb",
        "xr-spatial-tracking",
    ),
    [],
)

_TOKEN_RE = re.compile(r"[a-z][a-z0-9-]*")
_HEADER_NAME_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_FRAME_OPTIONS = {"DENY", "SAMEORIGIN", "AUTO"}
_OWN_KEYS = {
    "content-security-policy": "SECURITY_CSP",
    "content-security-policy-report-only": "SECURITY_CSP",
    "strict-transport-security": "SECURITY_HSTS",
}


def _check_value(key: str, value: t.Any) -> str:
    if not isinstance(value, str):
        raise SettingsError(f"{key} must be a string, got {value!r}.")
    # SECURITY: a CR or LF in a header value would let configuration (or
    # whoever controls it) inject headers; refuse every control character.
    if any(ch < " " or ch == "\x7f" for ch in value):
        raise SettingsError(f"{key} contains a control character (CR, LF, ...): {value!r}.")
    return value


def _header_value(key: str) -> t.Callable[[str | None], str | None]:
    """Return the parser of a header-value setting (``None`` leaves the header out)."""

    def parse(value: str | None) -> str | None:
        return None if value is None else _check_value(key, value)

    return parse


#: Checked CSP directives: ``(name, (source, ...))`` in order.
Directives = tuple[tuple[str, tuple[str, ...]], ...]


def _parse_csp(value: t.Any) -> Directives | None:
    """Parse ``SECURITY_CSP`` into checked directives (``None`` or empty: no CSP)."""
    if not value:
        return None
    return tuple((name, tuple(sources)) for name, sources in _csp_directives(value))


def _csp_directives(value: t.Any) -> list[tuple[str, list[str]]]:
    """Parse ``SECURITY_CSP`` (a dict or a string) into checked directives."""
    if isinstance(value, str):
        _check_value("SECURITY_CSP", value)
        items: t.Iterable[tuple[t.Any, t.Any]] = [
            (part.split()[0], part.split()[1:]) for part in value.split(";") if part.strip()
        ]
    elif isinstance(value, t.Mapping):
        items = value.items()
    else:
        raise SettingsError(
            f"SECURITY_CSP must be a dict, a string or None, got {type(value).__name__}."
        )
    directives = []
    for name, sources in items:
        name = _check_value("SECURITY_CSP", name).lower()
        if not _TOKEN_RE.fullmatch(name):
            raise SettingsError(f"SECURITY_CSP has an invalid directive name {name!r}.")
        if sources is None:
            sources = []
        elif isinstance(sources, str):
            sources = sources.split()
        checked = []
        for source in sources:
            source = _check_value(f"SECURITY_CSP[{name!r}]", source)
            # SECURITY: ";" or "," inside a source would add a directive or
            # a second policy; whitespace would add sources.
            if not source or any(ch in source for ch in ";, \t"):
                raise SettingsError(
                    f"SECURITY_CSP[{name!r}] has an invalid source {source!r};"
                    " give each source as its own list item."
                )
            checked.append(source)
        directives.append((name, checked))
    return directives


def _report_uri(value: str | None) -> str | None:
    """Check ``SECURITY_CSP_REPORT_URI`` (``None``: the built-in endpoint)."""
    if value is None:
        return None
    value = _check_value("SECURITY_CSP_REPORT_URI", value)
    # SECURITY: the URI goes into the CSP and Reporting-Endpoints headers;
    # a separator or a quote would end the directive or the entry.
    if not value or any(ch in value for ch in ';, \t"'):
        raise SettingsError(
            f"SECURITY_CSP_REPORT_URI {value!r} is not a URL. Fix: give the collector's URL"
            " (https://reports.example/csp), or None for the built-in endpoint.",
            key="SECURITY_CSP_REPORT_URI",
        )
    return value


def _positive_int(key: str) -> t.Callable[[int], int]:
    def parse(value: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise SettingsError(f"{key} must be a positive int, got {value!r}.", key=key)
        return value

    return parse


def _report_rate(value: str) -> str:
    """Check ``SECURITY_CSP_REPORT_RATE`` with the rate limiter's own parser."""
    from .errors import ConfigurationError
    from .ratelimit._declare import parse_limits

    try:
        parse_limits(value)
    except ConfigurationError as e:
        raise SettingsError(
            f"SECURITY_CSP_REPORT_RATE: {e} Fix: write it like '30 per minute'.",
            key="SECURITY_CSP_REPORT_RATE",
        ) from None
    return value


def _frame_options_value(value: str | None) -> str | None:
    if value is None:
        return None
    value = _check_value("SECURITY_FRAME_OPTIONS", value).upper()
    if value not in _FRAME_OPTIONS:
        raise SettingsError(
            f"SECURITY_FRAME_OPTIONS must be 'DENY', 'SAMEORIGIN', 'auto' or None, got {value!r}.",
            key="SECURITY_FRAME_OPTIONS",
        )
    return value


def _frame_options(value: str | None, ancestors: tuple[str, ...] | None) -> str | None:
    """Return the ``X-Frame-Options`` value, checked against ``frame-ancestors``."""
    derived = None
    if ancestors is None or ancestors == ("'none'",):
        derived = "DENY"
    elif ancestors == ("'self'",):
        derived = "SAMEORIGIN"
    if value == "AUTO":
        return derived
    if value is not None and ancestors is not None and derived is not None and value != derived:
        raise SettingsError(
            f"SECURITY_FRAME_OPTIONS is {value!r} but the CSP says frame-ancestors"
            f" {' '.join(ancestors)}. Fix: make them agree (frame-ancestors 'none' is DENY,"
            " 'self' is SAMEORIGIN), or leave SECURITY_FRAME_OPTIONS unset.",
            key="SECURITY_FRAME_OPTIONS",
        )
    return value


def _permissions_policy(value: t.Any) -> str | None:
    if value is None or isinstance(value, str):
        return None if value is None else _check_value("SECURITY_PERMISSIONS_POLICY", value)
    if not isinstance(value, t.Mapping):
        raise SettingsError("SECURITY_PERMISSIONS_POLICY must be a dict, a string or None.")
    parts = []
    for feature, allow in value.items():
        if not isinstance(feature, str) or not _TOKEN_RE.fullmatch(feature):
            raise SettingsError(f"SECURITY_PERMISSIONS_POLICY: bad feature {feature!r}.")
        members = []
        for origin in [allow] if isinstance(allow, str) else allow or ():
            origin = _check_value(f"SECURITY_PERMISSIONS_POLICY[{feature!r}]", origin)
            if origin in ("self", "*", "src"):
                members.append(origin)
            elif '"' in origin or " " in origin or "," in origin:
                raise SettingsError(f"SECURITY_PERMISSIONS_POLICY: bad origin {origin!r}.")
            else:
                members.append(f'"{origin}"')
        parts.append(f"{feature}=({' '.join(members)})")
    return ", ".join(parts)


def _extra_headers(value: t.Mapping[str, str | None] | None) -> tuple[tuple[str, str | None], ...]:
    """Check ``SECURITY_HEADERS_EXTRA``: header names, values, none of the own keys."""
    checked = []
    for name, item in (value or {}).items():
        if not _HEADER_NAME_RE.fullmatch(name):
            raise SettingsError(f"SECURITY_HEADERS_EXTRA: invalid header name {name!r}.")
        lower = name.lower()
        if lower in _OWN_KEYS:
            raise SettingsError(
                f"Set {name} with {_OWN_KEYS[lower]}, not SECURITY_HEADERS_EXTRA.",
                key="SECURITY_HEADERS_EXTRA",
            )
        if item is not None:
            _check_value(f"SECURITY_HEADERS_EXTRA[{name!r}]", item)
        checked.append((name, item))
    return tuple(checked)


@dataclasses.dataclass(frozen=True)
class HeadersSettings(
    Settings, feature="headers", title="Security headers", prefixes=("SECURITY_",)
):
    """The settings of :class:`HeadersShield`."""

    csp: Directives | None = setting(
        "SECURITY_CSP",
        default=DEFAULT_CSP,
        accepts=cabc.Mapping[str, t.Any] | str | None,
        parse=_parse_csp,
        default_doc="same-origin sources; inline script and style only with the"
        " request's nonce; no plugins, no framing (`DEFAULT_CSP`)",
        doc="The Content-Security-Policy: a dict of directive to sources, a policy string,"
        " or `None` for none. A source `'nonce-{nonce}'` becomes the request's `csp_nonce()`.",
    )
    csp_report_only: bool = setting(
        "SECURITY_CSP_REPORT_ONLY",
        default=False,
        doc="Send the CSP as `Content-Security-Policy-Report-Only` (reports, no blocking).",
    )
    csp_reports: bool = setting(
        "SECURITY_CSP_REPORTS",
        default=False,
        secure_default=True,
        doc="Ask browsers to report CSP violations (`report-uri`) to `SECURITY_CSP_REPORT_URI`;"
        " they are logged as `csp` audit events.",
    )
    csp_report_to: bool = setting(
        "SECURITY_CSP_REPORT_TO",
        default=False,
        doc="Also name the report URI in `report-to`, with a `Reporting-Endpoints` header"
        " (the Reporting API). Chromium then ignores `report-uri` and sends its reports"
        " in batches, up to a minute later.",
    )
    csp_report_uri: str | None = setting(
        "SECURITY_CSP_REPORT_URI",
        default=None,
        parse=_report_uri,
        doc=f"Where browsers send CSP reports; `None`: the built-in endpoint `{CSP_REPORT_PATH}`"
        " (same origin, CSRF-exempt, size- and rate-limited). Another URL turns the built-in"
        " endpoint off.",
    )
    csp_report_max_bytes: int = setting(
        "SECURITY_CSP_REPORT_MAX_BYTES",
        default=DEFAULT_CSP_REPORT_MAX_BYTES,
        parse=_positive_int("SECURITY_CSP_REPORT_MAX_BYTES"),
        doc="The largest CSP report body the built-in endpoint reads (larger: 413).",
    )
    csp_report_rate: str = setting(
        "SECURITY_CSP_REPORT_RATE",
        default=DEFAULT_CSP_REPORT_RATE,
        parse=_report_rate,
        doc="How many CSP reports one client address may send (a `limits` rate; over it: 429).",
    )
    hsts: str | None = setting(
        "SECURITY_HSTS",
        default=DEFAULT_HSTS,
        parse=_header_value("SECURITY_HSTS"),
        doc="The `Strict-Transport-Security` value, sent on HTTPS requests only; `None`: none."
        " Browsers then refuse plain HTTP for the domain for that long.",
    )
    frame_options: str | None = setting(
        "SECURITY_FRAME_OPTIONS",
        default="auto",
        parse=_frame_options_value,
        doc="`X-Frame-Options`: `'DENY'`, `'SAMEORIGIN'`, `None`, or `'auto'`: derived from the"
        " CSP's `frame-ancestors` (`DENY` for `'none'` or no CSP).",
    )
    referrer_policy: str | None = setting(
        "SECURITY_REFERRER_POLICY",
        default=DEFAULT_REFERRER_POLICY,
        parse=_header_value("SECURITY_REFERRER_POLICY"),
        doc="The `Referrer-Policy` value; `None`: none.",
    )
    permissions_policy: str | None = setting(
        "SECURITY_PERMISSIONS_POLICY",
        default=DEFAULT_PERMISSIONS_POLICY,
        accepts=cabc.Mapping[str, t.Any] | str | None,
        parse=_permissions_policy,
        default_doc="camera, microphone, geolocation, payment, USB and other powerful"
        " features off (`DEFAULT_PERMISSIONS_POLICY`)",
        doc="The `Permissions-Policy`: a dict of feature to allowed origins (`self`, `*` or"
        " origins; empty: off), a header string, or `None`.",
    )
    coop: str | None = setting(
        "SECURITY_COOP",
        default="same-origin",
        parse=_header_value("SECURITY_COOP"),
        doc="The `Cross-Origin-Opener-Policy` value; `None`: none.",
    )
    corp: str | None = setting(
        "SECURITY_CORP",
        default="same-origin",
        parse=_header_value("SECURITY_CORP"),
        doc="The `Cross-Origin-Resource-Policy` value; `None`: none.",
    )
    headers_extra: tuple[tuple[str, str | None], ...] = setting(
        "SECURITY_HEADERS_EXTRA",
        default=None,
        accepts=cabc.Mapping[str, str | None] | None,
        parse=_extra_headers,
        doc="More headers (name to value), or `None` values to leave out one of the above.",
    )

    def check(self) -> None:
        """Check ``SECURITY_FRAME_OPTIONS`` against the CSP's ``frame-ancestors``."""
        _frame_options(self.frame_options, self.frame_ancestors)

    @property
    def report_target(self) -> str | None:
        """Where the CSP asks browsers to send reports (``None``: no reports)."""
        if not self.csp_reports or not self.csp:
            return None
        return self.csp_report_uri or CSP_REPORT_PATH

    @property
    def frame_ancestors(self) -> tuple[str, ...] | None:
        """The CSP's ``frame-ancestors`` sources, ``None`` without that directive."""
        for name, sources in self.csp or ():
            if name == "frame-ancestors":
                return sources
        return None
