"""Security response headers, with a per-request CSP nonce for templates.

:class:`HeadersShield` adds, with ``setdefault`` semantics (a header the
view set wins): ``Content-Security-Policy``, ``Strict-Transport-Security``
(HTTPS requests only), ``X-Content-Type-Options``, ``X-Frame-Options``,
``Referrer-Policy``, ``Permissions-Policy``, ``Cross-Origin-Opener-Policy``
and ``Cross-Origin-Resource-Policy``. Every value is computed and checked
once; a request pays for a set of header names and a few appends.

A template asks for a nonce with ``{{ csp_nonce() }}``::

    <script nonce="{{ csp_nonce() }}">...</script>

The first call in a request makes a random nonce and the CSP of that
response allows it; a response that asked for none gets the precomputed
policy without any nonce.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import re
import secrets
import typing as t

from werkzeug.datastructures import Headers

from ..globals import _cv_request
from ..settings import Settings, SettingsError, setting
from .shields import ORDER_HEADERS, Shield

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask
    from ..wrappers import Request, Response

#: The environ key holding the request's CSP nonce once one was asked for.
NONCE_KEY = "hermetic.csp_nonce"
#: The placeholder a CSP source uses for the request's nonce.
NONCE_PLACEHOLDER = "{nonce}"

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
#: The schemes ``request.is_secure`` counts as secure (read without the property).
_SECURE_SCHEMES = ("https", "wss")
_OWN_KEYS = {
    "content-security-policy": "SECURITY_CSP",
    "content-security-policy-report-only": "SECURITY_CSP",
    "strict-transport-security": "SECURITY_HSTS",
}


def csp_nonce() -> str:
    """Return the current request's CSP nonce, making it on first use."""
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "csp_nonce() needs a request: call it from a view or a template"
            " rendered during a request."
        )
    environ = ctx.request.environ
    nonce = environ.get(NONCE_KEY)
    if nonce is None:
        # 128 bits from the OS generator, base64url (valid in a CSP nonce).
        nonce = environ[NONCE_KEY] = secrets.token_urlsafe(16)
    return t.cast(str, nonce)


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


def _render_csp(directives: Directives, *, with_nonce: bool) -> str:
    parts = []
    for name, sources in directives:
        kept = sources if with_nonce else [s for s in sources if NONCE_PLACEHOLDER not in s]
        if sources and not kept:
            # Only a nonce was allowed and no nonce was handed out.
            kept = ["'none'"]
        parts.append(" ".join([name, *kept]))
    return "; ".join(parts)


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


class HeadersPlan(t.NamedTuple):
    """The precomputed headers of one app."""

    #: ``(name, lower-case name, value)`` added to every response.
    static: tuple[tuple[str, str, str], ...]
    #: The CSP header name, or ``None`` when CSP is off.
    csp_name: str | None
    #: The CSP header name in lower case.
    csp_lower: str
    #: The CSP split around the nonce placeholder (one part: no nonce).
    csp_parts: tuple[str, ...]
    #: The CSP sent when the response asked for no nonce.
    csp_plain: str
    #: The ``Strict-Transport-Security`` value, or ``None``.
    hsts: str | None
    #: ``(name, value)`` of :attr:`static`, in order, ready to extend a header list.
    pairs: tuple[tuple[str, str], ...] = ()
    #: The lower-case names of :attr:`static`.
    names: frozenset[str] = frozenset()


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
    def frame_ancestors(self) -> tuple[str, ...] | None:
        """The CSP's ``frame-ancestors`` sources, ``None`` without that directive."""
        for name, sources in self.csp or ():
            if name == "frame-ancestors":
                return sources
        return None


def plan_headers(config: t.Mapping[str, t.Any] | HeadersSettings) -> HeadersPlan:
    """Compute the security headers from ``config`` (or checked settings)."""
    settings = (
        config if isinstance(config, HeadersSettings) else HeadersSettings.from_config(config)
    )
    directives = settings.csp
    csp_name = csp_parts = csp_plain = None
    if directives:
        csp_name = (
            "Content-Security-Policy-Report-Only"
            if settings.csp_report_only
            else "Content-Security-Policy"
        )
        csp_parts = tuple(_render_csp(directives, with_nonce=True).split(NONCE_PLACEHOLDER))
        csp_plain = _render_csp(directives, with_nonce=False)
    defaults: dict[str, tuple[str, str | None]] = {
        "x-content-type-options": ("X-Content-Type-Options", "nosniff"),
        "x-frame-options": (
            "X-Frame-Options",
            _frame_options(settings.frame_options, settings.frame_ancestors),
        ),
        "referrer-policy": ("Referrer-Policy", settings.referrer_policy),
        "permissions-policy": ("Permissions-Policy", settings.permissions_policy),
        "cross-origin-opener-policy": ("Cross-Origin-Opener-Policy", settings.coop),
        "cross-origin-resource-policy": ("Cross-Origin-Resource-Policy", settings.corp),
    }
    for name, value in settings.headers_extra:
        # A None value removes one of the defaults.
        defaults[name.lower()] = (name, value)
    static = tuple(
        (name, lower, value) for lower, (name, value) in defaults.items() if value is not None
    )
    return HeadersPlan(
        static,
        csp_name,
        (csp_name or "").lower(),
        csp_parts or ("",),
        csp_plain or "",
        settings.hsts,
        tuple((name, value) for name, _, value in static),
        frozenset(lower for _, lower, _ in static),
    )


class HeadersShield(Shield):
    """Add the security headers to every response (a view's own headers win).

    Settings (:class:`HeadersSettings`, read once per app by the pipeline):

    - ``SECURITY_CSP`` -- default :data:`DEFAULT_CSP`; a dict of directive to
      sources, a policy string, or ``None`` for no CSP. A source
      ``'nonce-{nonce}'`` becomes the request's nonce when :func:`csp_nonce`
      was called, and is dropped otherwise.
    - ``SECURITY_CSP_REPORT_ONLY`` -- default ``False``.
    - ``SECURITY_HSTS`` -- default ``"max-age=63072000; includeSubDomains"``,
      sent on HTTPS requests only; ``None`` disables.
    - ``SECURITY_FRAME_OPTIONS`` -- default ``"auto"``: derived from the CSP's
      ``frame-ancestors`` (``DENY`` for ``'none'`` or no CSP).
    - ``SECURITY_REFERRER_POLICY`` -- default ``"strict-origin-when-cross-origin"``.
    - ``SECURITY_PERMISSIONS_POLICY`` -- default: camera, microphone,
      geolocation, payment, USB and other powerful features off.
    - ``SECURITY_COOP`` and ``SECURITY_CORP`` -- default ``"same-origin"``.
    - ``SECURITY_HEADERS_EXTRA`` -- default ``{}``; more headers, or
      ``None`` values to drop one of the above.

    .. warning::
        HSTS makes browsers refuse plain HTTP for the whole domain (and its
        subdomains) for two years; serve every subdomain over HTTPS first.
    """

    name = "headers"
    order = ORDER_HEADERS
    settings_class = HeadersSettings
    settings: HeadersSettings

    def __init__(self) -> None:
        #: The precomputed headers (set when the pipeline configures the shield).
        self.plan: HeadersPlan | None = None

    def init_app(self, app: Flask) -> None:
        """Join ``app``'s pipeline and add ``csp_nonce`` to its templates."""
        super().init_app(app)
        app.add_template_global(csp_nonce, "csp_nonce")

    def setup(self, app: Flask, settings: HeadersSettings) -> None:
        """Compute and check the headers once."""
        self.plan = plan_headers(settings)

    def after(self, request: Request, response: Response) -> Response:
        """Add the headers the response does not set itself."""
        plan = t.cast(HeadersPlan, self.plan)
        headers = response.headers
        if type(headers) is not Headers:
            return self._add_one_by_one(plan, request, response)
        items = headers._list
        # One pass over the response's header names; usually none is ours and
        # the precomputed list is appended whole. Every value was checked
        # when the plan was made (no CR or LF) and a nonce is base64url, so
        # appending skips nothing Werkzeug's ``add`` would check.
        present = {name.lower() for name, _ in items}
        if present.isdisjoint(plan.names):
            items.extend(plan.pairs)
        else:
            items.extend(
                (name, value) for name, lower, value in plan.static if lower not in present
            )
        environ = request.environ
        csp_name = plan.csp_name
        if csp_name is not None and plan.csp_lower not in present:
            nonce = environ.get(NONCE_KEY)
            items.append((csp_name, nonce.join(plan.csp_parts) if nonce else plan.csp_plain))
        hsts = plan.hsts
        if (
            hsts is not None
            and request.scheme in _SECURE_SCHEMES
            and "strict-transport-security" not in present
        ):
            items.append(("Strict-Transport-Security", hsts))
        return response

    @staticmethod
    def _add_one_by_one(plan: HeadersPlan, request: Request, response: Response) -> Response:
        """Add the headers through ``add`` (for a ``Headers`` subclass that checks them)."""
        headers = response.headers
        present = {key.lower() for key in headers.keys()}
        for name, lower, value in plan.static:
            if lower not in present:
                headers.add(name, value)
        csp_name = plan.csp_name
        if csp_name is not None and plan.csp_lower not in present:
            nonce = request.environ.get(NONCE_KEY)
            headers.add(csp_name, nonce.join(plan.csp_parts) if nonce else plan.csp_plain)
        if (
            plan.hsts is not None
            and request.is_secure
            and "strict-transport-security" not in present
        ):
            headers.add("Strict-Transport-Security", plan.hsts)
        return response
