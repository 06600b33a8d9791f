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

import re
import secrets
import typing as t

from werkzeug.datastructures import Headers

from ..globals import _cv_request
from .errors import ConfigurationError
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
_FRAME_OPTIONS = {"DENY", "SAMEORIGIN"}
_UNSET = object()
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
        raise ConfigurationError(f"{key} must be a string, got {value!r}.")
    # SECURITY: a CR or LF in a header value would let configuration (or
    # whoever controls it) inject headers; refuse every control character.
    if any(ch < " " or ch == "\x7f" for ch in value):
        raise ConfigurationError(f"{key} contains a control character (CR, LF, ...): {value!r}.")
    return value


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
        raise ConfigurationError(
            f"SECURITY_CSP must be a dict, a string or None, got {type(value).__name__}."
        )
    directives = []
    for name, sources in items:
        name = _check_value("SECURITY_CSP", name).lower()
        if not _TOKEN_RE.fullmatch(name):
            raise ConfigurationError(f"SECURITY_CSP has an invalid directive name {name!r}.")
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
                raise ConfigurationError(
                    f"SECURITY_CSP[{name!r}] has an invalid source {source!r};"
                    " give each source as its own list item."
                )
            checked.append(source)
        directives.append((name, checked))
    return directives


def _render_csp(directives: list[tuple[str, list[str]]], *, with_nonce: bool) -> str:
    parts = []
    for name, sources in directives:
        kept = sources if with_nonce else [s for s in sources if NONCE_PLACEHOLDER not in s]
        if sources and not kept:
            # Only a nonce was allowed and no nonce was handed out.
            kept = ["'none'"]
        parts.append(" ".join([name, *kept]))
    return "; ".join(parts)


def _frame_options(config: t.Mapping[str, t.Any], ancestors: list[str] | None) -> str | None:
    derived = None
    if ancestors is None or ancestors == ["'none'"]:
        derived = "DENY"
    elif ancestors == ["'self'"]:
        derived = "SAMEORIGIN"
    value = config.get("SECURITY_FRAME_OPTIONS", _UNSET)
    if value is _UNSET:
        return derived
    if value is None:
        return None
    value = _check_value("SECURITY_FRAME_OPTIONS", value).upper()
    if value not in _FRAME_OPTIONS:
        raise ConfigurationError(
            f"SECURITY_FRAME_OPTIONS must be 'DENY', 'SAMEORIGIN' or None, got {value!r}."
        )
    if ancestors is not None and derived is not None and value != derived:
        raise ConfigurationError(
            f"SECURITY_FRAME_OPTIONS is {value!r} but the CSP says frame-ancestors"
            f" {' '.join(ancestors)}; make them agree (frame-ancestors 'none' is DENY,"
            " 'self' is SAMEORIGIN), or leave SECURITY_FRAME_OPTIONS unset."
        )
    return value


def _permissions_policy(value: t.Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, t.Mapping):
        raise ConfigurationError("SECURITY_PERMISSIONS_POLICY must be a dict, a string or None.")
    parts = []
    for feature, allow in value.items():
        if not isinstance(feature, str) or not _TOKEN_RE.fullmatch(feature):
            raise ConfigurationError(f"SECURITY_PERMISSIONS_POLICY: bad feature {feature!r}.")
        members = []
        for origin in [allow] if isinstance(allow, str) else allow or ():
            origin = _check_value(f"SECURITY_PERMISSIONS_POLICY[{feature!r}]", origin)
            if origin in ("self", "*", "src"):
                members.append(origin)
            elif '"' in origin or " " in origin or "," in origin:
                raise ConfigurationError(f"SECURITY_PERMISSIONS_POLICY: bad origin {origin!r}.")
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


def plan_headers(config: t.Mapping[str, t.Any]) -> HeadersPlan:
    """Compute and check the security headers from ``config``."""
    csp = config.get("SECURITY_CSP", DEFAULT_CSP)
    csp_name = csp_parts = csp_plain = None
    ancestors = None
    if csp:
        directives = _csp_directives(csp)
        csp_name = (
            "Content-Security-Policy-Report-Only"
            if config.get("SECURITY_CSP_REPORT_ONLY", False)
            else "Content-Security-Policy"
        )
        csp_parts = tuple(_render_csp(directives, with_nonce=True).split(NONCE_PLACEHOLDER))
        csp_plain = _render_csp(directives, with_nonce=False)
        for name, sources in directives:
            if name == "frame-ancestors":
                ancestors = sources
    hsts = config.get("SECURITY_HSTS", DEFAULT_HSTS)
    if hsts is not None:
        _check_value("SECURITY_HSTS", hsts)
    defaults: dict[str, tuple[str, t.Any]] = {
        "x-content-type-options": ("X-Content-Type-Options", "nosniff"),
        "x-frame-options": ("X-Frame-Options", _frame_options(config, ancestors)),
        "referrer-policy": (
            "Referrer-Policy",
            config.get("SECURITY_REFERRER_POLICY", DEFAULT_REFERRER_POLICY),
        ),
        "permissions-policy": (
            "Permissions-Policy",
            _permissions_policy(
                config.get("SECURITY_PERMISSIONS_POLICY", DEFAULT_PERMISSIONS_POLICY)
            ),
        ),
        "cross-origin-opener-policy": (
            "Cross-Origin-Opener-Policy",
            config.get("SECURITY_COOP", "same-origin"),
        ),
        "cross-origin-resource-policy": (
            "Cross-Origin-Resource-Policy",
            config.get("SECURITY_CORP", "same-origin"),
        ),
    }
    extra = config.get("SECURITY_HEADERS_EXTRA") or {}
    if not isinstance(extra, t.Mapping):
        raise ConfigurationError("SECURITY_HEADERS_EXTRA must be a dict of header -> value.")
    for name, value in extra.items():
        if not isinstance(name, str) or not _HEADER_NAME_RE.fullmatch(name):
            raise ConfigurationError(f"SECURITY_HEADERS_EXTRA: invalid header name {name!r}.")
        lower = name.lower()
        if lower in _OWN_KEYS:
            raise ConfigurationError(
                f"Set {name} with {_OWN_KEYS[lower]}, not SECURITY_HEADERS_EXTRA."
            )
        # A None value removes one of the defaults.
        defaults[lower] = (name, value)
    static = tuple(
        (name, lower, _check_value(f"the {name} header", value))
        for lower, (name, value) in defaults.items()
        if value is not None
    )
    return HeadersPlan(
        static,
        csp_name,
        (csp_name or "").lower(),
        csp_parts or ("",),
        csp_plain or "",
        hsts,
        tuple((name, value) for name, _, value in static),
        frozenset(lower for _, lower, _ in static),
    )


class HeadersShield(Shield):
    """Add the security headers to every response (a view's own headers win).

    Options, read from the config once (on the first request, or by
    :meth:`configure`):

    - ``SECURITY_CSP`` -- default :data:`DEFAULT_CSP`; a dict of directive to
      sources, a policy string, or ``None`` for no CSP. A source
      ``'nonce-{nonce}'`` becomes the request's nonce when :func:`csp_nonce`
      was called, and is dropped otherwise.
    - ``SECURITY_CSP_REPORT_ONLY`` -- default ``False``.
    - ``SECURITY_HSTS`` -- default ``"max-age=63072000; includeSubDomains"``,
      sent on HTTPS requests only; ``None`` disables.
    - ``SECURITY_FRAME_OPTIONS`` -- default derived from the CSP's
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

    def __init__(self) -> None:
        self._app: Flask | None = None
        self._plan: HeadersPlan | None = None
        self._configured = False

    def init_app(self, app: Flask) -> None:
        """Join ``app``'s pipeline, check the config and add ``csp_nonce`` to templates."""
        if self._app is not None and self._app is not app:
            raise RuntimeError("This HeadersShield already serves another app; make one per app.")
        self._app = app
        self.configure(app)
        self._configured = False
        app.add_template_global(csp_nonce, "csp_nonce")
        super().init_app(app)

    def configure(self, app: Flask | None = None) -> None:
        """Compute the headers now (otherwise done on the first request)."""
        self._plan = plan_headers((app or t.cast("Flask", self._app)).config)
        self._configured = True

    def after(self, request: Request, response: Response) -> Response:  # type: ignore[override]
        """Add the headers the response does not set itself."""
        if not self._configured:
            self.configure()
        plan = t.cast(HeadersPlan, self._plan)
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
