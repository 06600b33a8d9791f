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

import typing as t
from binascii import b2a_base64
from os import urandom

from .._app_responses import vet_header_tail
from ..globals import _cv_request
from ._header_settings import CSP_REPORT_GROUP, Directives, _frame_options
from ._header_settings import CSP_REPORT_PATH as CSP_REPORT_PATH
from ._header_settings import DEFAULT_CSP as DEFAULT_CSP
from ._header_settings import DEFAULT_HSTS as DEFAULT_HSTS
from ._header_settings import DEFAULT_PERMISSIONS_POLICY as DEFAULT_PERMISSIONS_POLICY
from ._header_settings import DEFAULT_REFERRER_POLICY as DEFAULT_REFERRER_POLICY
from ._header_settings import HeadersSettings as HeadersSettings
from ._headers_step import _SECURE_SCHEMES, headers_step
from ._headers_step import NONCE_KEY as NONCE_KEY
from ._quiet_after import QuietAfter
from .shields import ORDER_HEADERS, Shield

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask
    from ..wrappers import Request, Response

#: The placeholder a CSP source uses for the request's nonce.
NONCE_PLACEHOLDER = "{nonce}"

#: The schemes ``request.is_secure`` counts as secure (read without the property).
#: The header names of a response the text, bytes and JSON makers built.
_BARE_NAMES = frozenset({"content-type", "content-length"})
_REDIRECT_NAMES = _BARE_NAMES | {"location"}
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _new_nonce() -> str:
    """Return 128 random bits from the OS generator, base64url without padding.

    What ``secrets.token_urlsafe(16)`` returns, without its four Python calls.
    """
    return b2a_base64(urandom(16), newline=False).translate(_TO_URLSAFE).rstrip(b"=").decode()


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
        nonce = environ[NONCE_KEY] = _new_nonce()
    elif not nonce:
        # "": the CSP already left without a nonce (a streamed template). A
        # fresh nonce that no header allows: the page's scripts are blocked.
        nonce = environ.get(_LATE_NONCE_KEY)
        if nonce is None:
            nonce = environ[_LATE_NONCE_KEY] = _new_nonce()
            ctx.app.logger.warning(
                "csp_nonce() was called after the Content-Security-Policy header"
                " was sent (a streamed template?), so no script or style can use"
                " this nonce. Call csp_nonce() in the view before returning the"
                " stream."
            )
    return t.cast(str, nonce)


# The nonce handed out after the CSP was sent (never in a header).
_LATE_NONCE_KEY = "hermetic.csp_nonce_late"


def _render_csp(directives: Directives, *, with_nonce: bool) -> str:
    parts = []
    for name, sources in directives:
        kept = sources if with_nonce else [s for s in sources if NONCE_PLACEHOLDER not in s]
        if sources and not kept:
            # Only a nonce was allowed and no nonce was handed out.
            kept = ["'none'"]
        parts.append(" ".join([name, *kept]))
    return "; ".join(parts)


def _with_reports(directives: Directives, target: str, report_to: bool) -> Directives:
    """Add ``report-uri``, and ``report-to`` (the Reporting API) when asked."""
    # Chromium ignores report-uri when report-to is present, then batches
    # its reports (up to a minute); report-uri alone is sent at once by
    # Chromium, Firefox and Safari, so report-to is opt-in.
    reports = [("report-uri", (target,))]
    if report_to:
        reports.append(("report-to", (CSP_REPORT_GROUP,)))
    return (*directives, *reports)


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
    #: :attr:`names` and the CSP's and HSTS's: a response setting none of
    #: them gets one of :attr:`blocks` whole.
    every_name: frozenset[str] = frozenset()
    #: Everything a response asking for no nonce gets, over plain HTTP and
    #: over HTTPS (index: the request is secure): :attr:`pairs`, then the
    #: CSP without nonce, then (HTTPS) HSTS.
    blocks: tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]] = ((), ())
    #: Whether a response holding only ``Content-Type`` and ``Content-Length``
    #: (what the text, bytes and JSON makers build) sets none of
    #: :attr:`every_name` (``SECURITY_HEADERS_EXTRA`` could name one of them).
    bare_takes_block: bool = False
    #: The same for those two and a ``Location`` (what ``redirect`` builds).
    redirect_takes_block: bool = False


def plan_headers(config: t.Mapping[str, t.Any] | HeadersSettings) -> HeadersPlan:
    """Compute the security headers from ``config`` (or checked settings)."""
    settings = (
        config if isinstance(config, HeadersSettings) else HeadersSettings.from_config(config)
    )
    directives = settings.csp
    report_target = settings.report_target
    if directives and any(name in ("report-uri", "report-to") for name, _ in directives):
        report_target = None  # the policy names its own collector
    report_to = report_target is not None and settings.csp_report_to
    if directives and report_target is not None:
        directives = _with_reports(directives, report_target, report_to)
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
    if report_to:
        defaults["reporting-endpoints"] = (
            "Reporting-Endpoints",
            f'{CSP_REPORT_GROUP}="{report_target}"',
        )
    for name, value in settings.headers_extra:
        # A None value removes one of the defaults.
        defaults[name.lower()] = (name, value)
    static = tuple(
        (name, lower, value) for lower, (name, value) in defaults.items() if value is not None
    )
    pairs = tuple((name, value) for name, _, value in static)
    names = frozenset(lower for _, lower, _ in static)
    plain = pairs if csp_name is None else (*pairs, (csp_name, t.cast(str, csp_plain)))
    hsts = () if settings.hsts is None else (("Strict-Transport-Security", settings.hsts),)
    every_name = names | {(csp_name or "").lower(), "strict-transport-security"} - {""}
    return HeadersPlan(
        static,
        csp_name,
        (csp_name or "").lower(),
        csp_parts or ("",),
        csp_plain or "",
        settings.hsts,
        pairs,
        names,
        every_name,
        (plain, (*plain, *hsts)),
        every_name.isdisjoint(_BARE_NAMES),
        every_name.isdisjoint(_REDIRECT_NAMES),
    )


class HeadersShield(Shield):
    """Add the security headers to every response (a view's own headers win).

    Settings (:class:`HeadersSettings`, read once per app by the pipeline):

    - ``SECURITY_CSP`` -- default :data:`DEFAULT_CSP`; a dict of directive to
      sources, a policy string, or ``None`` for no CSP. A source
      ``'nonce-{nonce}'`` becomes the request's nonce when :func:`csp_nonce`
      was called, and is dropped otherwise.
    - ``SECURITY_CSP_REPORT_ONLY`` -- default ``False``: send
      ``Content-Security-Policy-Report-Only`` (a rollout: report, block nothing).
    - ``SECURITY_CSP_REPORTS`` -- default ``False`` (``True`` on ``Hermetic``):
      add ``report-uri`` naming ``SECURITY_CSP_REPORT_URI`` (default: the
      built-in endpoint, :mod:`hermetic.security.csp_reports`);
      ``SECURITY_CSP_REPORT_TO = True`` adds ``report-to`` and a
      ``Reporting-Endpoints`` header.
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
        #: :meth:`after` specialised for :attr:`plan` (``_headers_step.py``).
        self._step: t.Callable[[Request, Response], Response] | None = None

    def init_app(self, app: Flask) -> None:
        """Join ``app``'s pipeline, add ``csp_nonce`` and the CSP report endpoint."""
        from .csp_reports import add_report_route
        from .profile import Hermetic

        super().init_app(app)
        app.add_template_global(csp_nonce, "csp_nonce")
        if isinstance(app, Hermetic):
            # The secure default of HeadersSettings, until profile.py lists the
            # class in DECLARED (then Hermetic.default_config holds it).
            app.config.setdefault("SECURITY_CSP_REPORTS", True)
        add_report_route(app, self)

    def setup(self, app: Flask, settings: HeadersSettings) -> None:
        """Compute and check the headers once."""
        self.plan = plan_headers(settings)
        self._step = headers_step(self.plan, self._merge, self._add_one_by_one)
        for block in self.plan.blocks:
            # A bare response with a block: sent without a look at each name.
            vet_header_tail(block)

    def steps_for(
        self, endpoint: str | None, view: t.Callable[..., t.Any] | None
    ) -> tuple[None, t.Callable[[Request, Response], Response] | None]:
        """Return the step made for the plan (a subclass's own ``after`` if it has one)."""
        if type(self).after is not HeadersShield.after or self._step is None:
            return None, self.after
        return None, self._step

    def quiet_after(
        self, endpoint: str | None, view: t.Callable[..., t.Any] | None
    ) -> QuietAfter | None:
        """On the usual response, with no nonce asked for: the plan's block (and no nonce later)."""
        plan = self.plan
        if plan is None or not plan.bare_takes_block or type(self).after is not HeadersShield.after:
            return None
        marks = ((NONCE_KEY, ""),) if plan.csp_name is not None else ()
        return QuietAfter(marks, plan.blocks, (NONCE_KEY,), plan.redirect_takes_block)

    def after(self, request: Request, response: Response) -> Response:
        """Add the headers the response does not set itself."""
        plan: HeadersPlan = self.plan  # type: ignore[assignment]  # set by setup
        step = self._step
        if step is None or step.plan is not plan:  # type: ignore[attr-defined]  # set by headers_step
            step = self._step = headers_step(plan, self._merge, self._add_one_by_one)
        return step(request, response)

    @staticmethod
    def _merge(
        plan: HeadersPlan,
        request: Request,
        items: list[tuple[str, str]],
        present: set[str],
        response: Response,
    ) -> Response:
        """Add the headers the response lacks, or the CSP with the request's nonce."""
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
            if nonce:
                items.append((csp_name, nonce.join(plan.csp_parts)))
            else:
                # Sent without a nonce: one asked for later is not allowed.
                environ[NONCE_KEY] = ""
                items.append((csp_name, plan.csp_plain))
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
            if not nonce:
                request.environ[NONCE_KEY] = ""  # as in ``after``
            headers.add(csp_name, nonce.join(plan.csp_parts) if nonce else plan.csp_plain)
        if (
            plan.hsts is not None
            and request.is_secure
            and "strict-transport-security" not in present
        ):
            headers.add("Strict-Transport-Security", plan.hsts)
        return response
