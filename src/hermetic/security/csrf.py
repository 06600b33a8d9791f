"""Cross-site request forgery: the origin first, then a masked token.

On every unsafe method (anything but ``GET``, ``HEAD``, ``OPTIONS``,
``TRACE``) :class:`CSRFShield`:

1. checks where the request comes from: ``Sec-Fetch-Site`` when the browser
   sends it (``same-origin`` and ``none`` pass; ``same-site`` and
   ``cross-site`` only from ``CSRF_TRUSTED_ORIGINS``), else ``Origin``
   (this site or a trusted origin; ``null`` is refused); a request with
   neither comes from a non-browser client and goes on;
2. when the request carries the session or remember-me cookie, requires the
   token from the form field ``CSRF_FIELD_NAME`` or the header
   ``CSRF_HEADER_NAME``.

A request authenticated by ``Authorization: Bearer`` alone, without those
cookies, carries no ambient credential and is left alone.

Next to Flask-WTF (``CSRFProtect`` or ``FlaskForm``), the shield also accepts
Flask-WTF's valid token as proof (``_wtf_bridge.py`` says which token in
which mode).

The session holds a random 32-byte secret under ``"_csrf"``; each
:func:`csrf_token` call masks it with a fresh random pad (``pad || pad XOR
secret``) so the token in a page differs on every render and leaks nothing
to compression side channels (BREACH).
"""

from __future__ import annotations

import typing as t
from os import urandom

from werkzeug.datastructures import ImmutableMultiDict, MultiDict

from ..globals import _cv_request
from ._cookie_scan import cookie_value, known_scan, scannable
from ._csrf_hints import csrf_hint
from ._csrf_settings import CSRFSettings as CSRFSettings
from ._csrf_settings import csrf_settings
from ._csrf_tokens import SECRET_SIZE as _SECRET_SIZE
from ._csrf_tokens import SESSION_KEY as SESSION_KEY
from ._csrf_tokens import dict_get as _dict_get
from ._csrf_tokens import encode as _encode
from ._csrf_tokens import new_secret as _new_secret
from ._csrf_tokens import session_secret as _session_secret
from ._csrf_tokens import token_matches as _token_matches
from ._csrf_tokens import xor as _xor
from ._input_parsers import FORM_AS_WERKZEUG as _FORM_AS_WERKZEUG
from ._input_parsers import FORM_TYPES as _FORM_TYPES
from ._input_parsers import sends_form
from ._wtf_bridge import WTFBridge, bridge_of_current_app, detect
from .audit import audit
from .errors import CSRFError
from .shields import ORDER_CSRF, Shield

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask
    from ..sessions import SessionMixin
    from ..wrappers import Request, Response

__all__ = [
    "REASON_BAD_ORIGIN",
    "REASON_BAD_TOKEN",
    "REASON_BAD_WTF_TOKEN",
    "REASON_CROSS_SITE",
    "REASON_NO_SESSION_TOKEN",
    "REASON_NO_TOKEN",
    "CSRFSettings",
    "CSRFShield",
    "csrf_token",
    "enforce_in_tests",
    "rotate_csrf_token",
    "validate_csrf_token",
]

#: ``Sec-Fetch-Site`` says same-site or cross-site, from an untrusted origin.
REASON_CROSS_SITE = "cross_site"
#: ``Origin`` is ``null``, or neither this site nor a trusted origin.
REASON_BAD_ORIGIN = "bad_origin"
# bandit B105 (the three REASON_*_TOKEN below): refusal reason names, not passwords.
#: A cookie-authenticated request without a token.
REASON_NO_TOKEN = "no_token"  # nosec B105
#: A token that does not match the session's secret.
REASON_BAD_TOKEN = "bad_token"  # nosec B105
#: A token sent, but the session has no secret (new or expired session).
REASON_NO_SESSION_TOKEN = "no_session_token"  # nosec B105
#: A Flask-WTF token that Flask-WTF's ``validate_csrf`` refuses (expired, other session...).
REASON_BAD_WTF_TOKEN = "bad_wtf_token"  # nosec B105

#: Set by ``app.test_client()`` (``hermetic.testing``); only its own marker object counts.
CSRF_BYPASS_KEY = "hermetic.test_client.csrf_bypass"
#: The methods that must not change state, never checked.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

#: Werkzeug's form storage classes, whose ``get`` reads the first of a key's list.
_PLAIN_MULTIDICTS = frozenset({MultiDict, ImmutableMultiDict})
_DESCRIPTIONS = {
    REASON_CROSS_SITE: "Cross-site requests are not accepted here.",
    REASON_BAD_ORIGIN: "The request's Origin is not this site.",
    REASON_NO_TOKEN: "The CSRF token is missing. Reload the page and try again.",
    REASON_BAD_TOKEN: "The CSRF token is not valid. Reload the page and try again.",
    REASON_NO_SESSION_TOKEN: (
        "The session has no CSRF token; it may have expired. Reload the page and try again."
    ),
    REASON_BAD_WTF_TOKEN: (
        "The CSRF token is not valid or has expired. Reload the page and try again."
    ),
}


def _current_session() -> SessionMixin:
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "The CSRF token lives in the session: call this during a request"
            " (in a view or a template it renders)."
        )
    return ctx.session


def rotate_csrf_token() -> None:
    """Replace the session's CSRF secret; tokens handed out before stop working.

    The login manager calls this at login, so a token planted before the
    login (session fixation) is useless after it. Next to Flask-WTF, its
    session value goes too, so Flask-WTF's tokens handed out before stop
    working as well.
    """
    session = _current_session()
    _new_secret(session)
    bridge = bridge_of_current_app()
    if bridge is not None:
        bridge.forget(session)


def csrf_token() -> str:
    """Return a fresh masked token for the session, making its secret if needed.

    Put it in forms as ``<input type=hidden name=csrf_token value="{{
    csrf_token() }}">`` or send it in the ``X-CSRF-Token`` header. On an app
    with Flask-WTF's ``CSRFProtect`` it returns Flask-WTF's token, which
    both checks accept.
    """
    session = _current_session()
    bridge = bridge_of_current_app()
    if bridge is not None and not bridge.accepts_hermetic_token:
        return bridge.generate()
    secret = _session_secret(session)
    if secret is None:
        secret = _new_secret(session)
    # SECURITY: a fresh one-time pad per token (BREACH); pad || pad XOR secret.
    pad = urandom(_SECRET_SIZE)
    return _encode(pad + _xor(pad, secret))


def validate_csrf_token(token: str | None) -> bool:
    """Tell whether ``token`` belongs to the current session (for manual checks)."""
    secret = _session_secret(_current_session())
    return bool(token) and secret is not None and _token_matches(t.cast(str, token), secret)


def enforce_in_tests(app: Flask) -> bool:
    """Tell whether ``app.test_client()`` requests must pass the token check too.

    ``CSRF_ENFORCE_IN_TESTS``, read through the app's CSRF shield (its checked
    settings), or through :class:`CSRFSettings` when the app has none.
    """
    return csrf_settings(app).enforce_in_tests


def _reject(reason: str, **fields: t.Any) -> t.NoReturn:
    hint = csrf_hint(reason, fields.get("wtf_problem"))
    audit("csrf", reason=reason, hint=hint, **fields)
    raise CSRFError(_DESCRIPTIONS[reason], reason=reason, hint=hint)


class CSRFShield(Shield):
    """Refuse forged unsafe requests: origin check, then the session's token.

    Settings (:class:`CSRFSettings`, read and checked once per app by the
    pipeline; see ``docs/configuration.md``):

    - ``CSRF_ENABLED`` -- default ``True``.
    - ``CSRF_TRUSTED_ORIGINS`` -- default ``()``; other origins
      (``"https://app.example.com"``) allowed to post here.
    - ``CSRF_FIELD_NAME`` -- default ``"csrf_token"``.
    - ``CSRF_HEADER_NAME`` -- default ``"X-CSRF-Token"``.
    - ``CSRF_ENFORCE_IN_TESTS`` -- default ``False``: requests made by
      ``app.test_client()`` pass the token check (the origin check still
      runs); ``app.test_client(enforce_csrf=True)`` overrides it per client.
    - ``REMEMBER_COOKIE_NAME`` (the login's setting) -- like the session
      cookie, it makes a request cookie-authenticated.

    .. warning::
        Each trusted origin can make this app's users do anything they can
        do here; list only origins you control.
    """

    name = "csrf"
    order = ORDER_CSRF
    settings_class = CSRFSettings
    settings: CSRFSettings

    def __init__(self) -> None:
        # Set from the checked settings by setup(), before any request.
        self._enabled = True
        self._trusted: frozenset[str] = frozenset()
        self._field = ""
        self._header_key = ""
        self._cookie_names: tuple[str, ...] = ()
        self._cookie_name_set: frozenset[str] = frozenset()
        #: Whether cookie_value reads every name from its scan of the header.
        self._names_scannable = False
        #: How Flask-WTF is used on the app (``None``: not at all), from setup().
        self.wtf: WTFBridge | None = None

    def init_app(self, app: Flask) -> None:
        """Join ``app``'s pipeline; add ``csrf_token`` to its templates."""
        super().init_app(app)
        app.add_template_global(csrf_token, "csrf_token")

    def setup(self, app: Flask, settings: CSRFSettings) -> None:
        """Precompute the names the check looks for."""
        from .auth._settings import LoginSettings

        self._enabled = settings.enabled
        self._trusted = settings.trusted_origins
        self._field = settings.field_name
        self._header_key = settings.header_key
        session_cookie = app.session_interface.get_cookie_name(app)
        names = {
            session_cookie,
            session_cookie.removeprefix("__Host-"),
            "__Host-" + session_cookie.removeprefix("__Host-"),
            # One declaration of the remember-me cookie: the login's.
            LoginSettings.from_config(app.config).remember_cookie_name,
        }
        self._cookie_names = tuple(sorted(names))
        self._cookie_name_set = frozenset(names)
        self._names_scannable = all(map(scannable, names))
        wtf, before = detect(app), self.wtf
        self.wtf = wtf
        if wtf is not None and self._enabled and wtf != before:
            # Once per app (configured again only by hermetic check / security_check).
            wtf.announce(app, hermetic_field=self._field, hermetic_header=settings.header_name)

    #: ``before`` lets a safe method pass: the pipeline skips it for them.
    before_skips_methods = SAFE_METHODS

    def steps_for(
        self, endpoint: str | None, view: t.Callable[..., t.Any] | None
    ) -> tuple[t.Callable[[Request], Response | None] | None, None]:
        """Run the check on every route, unless ``CSRF_ENABLED`` is ``False``."""
        return (self.before if self._enabled else None), None

    def before(self, request: Request) -> Response | None:
        """Refuse an unsafe request that fails the origin or token check."""
        if request.method in SAFE_METHODS or request.routing_exception is not None:
            # No view runs for a 404 or 405; a 308 redirect is checked at its target.
            return None
        environ = request.environ
        # Werkzeug's answer without parsing every cookie (_cookie_scan.cookie_value).
        with_cookie = False
        if "HTTP_COOKIE" in environ:
            # What cookie_value reads, without its call per name: the header's
            # scan, this request's or the one kept for the same header.
            scanned = known_scan(request) if self._names_scannable else None
            if scanned is not None:
                # SECURITY: cookie_value answers "not None" for a name exactly
                # when the scan has it (empty values too): any name counts.
                with_cookie = not self._cookie_name_set.isdisjoint(scanned)
            else:
                for name in self._cookie_names:  # a loop: no generator made per request
                    if cookie_value(request, name) is not None:
                        with_cookie = True
                        break
        if not with_cookie and environ.get("HTTP_AUTHORIZATION", "")[:7].lower() == "bearer ":
            # SECURITY: a bearer token is never sent by the browser on its
            # own (unlike cookies or Basic credentials): nothing to forge.
            return None
        if environ.get("HTTP_SEC_FETCH_SITE") != "same-origin":
            # (What every browser sends for a form of this site, as spelt, passes.)
            self._check_origin(request, environ)
        if not with_cookie:
            return None
        # The token check of a cookie-authenticated request: here, not in a
        # method of its own, as every form POST of a logged-in user runs it.
        if CSRF_BYPASS_KEY in environ:
            from ..testing import passes_csrf_token_check

            if passes_csrf_token_check(environ):
                return None  # app.test_client() without enforce_csrf (hermetic.testing)
        if self.wtf is not None:
            self._check_either_token(request, environ, self.wtf)
            return None
        token = environ.get(self._header_key)
        if token is None and sends_form(request, environ):
            # Parsed under the app's body limits (the limits shield ran first).
            attrs = request.__dict__
            form = attrs.get("form")
            if form is None:
                if _FORM_AS_WERKZEUG[type(request)]:
                    # What Werkzeug's cached property does: load, then read the dict.
                    request._load_form_data()
                    form = attrs["form"]
                else:
                    form = request.form
            if type(form) in _PLAIN_MULTIDICTS:
                # What MultiDict.get answers, without its two calls: a field's
                # values are a list in the dict.
                values = _dict_get(form, self._field)
                token = values[0] if values else None
            else:
                token = form.get(self._field)
        if not token:
            _reject(REASON_NO_TOKEN)
        ctx = _cv_request.get(None)  # _current_session's lookup, inline
        secret = _session_secret(ctx.session if ctx is not None else _current_session())
        if secret is None:
            _reject(REASON_NO_SESSION_TOKEN)
        if not _token_matches(token, secret):
            _reject(REASON_BAD_TOKEN)
        return None

    def _check_origin(self, request: Request, environ: dict[str, t.Any]) -> None:
        origin = environ.get("HTTP_ORIGIN")
        site = environ.get("HTTP_SEC_FETCH_SITE")
        if site is not None:
            site = site.strip().lower()
            if site in ("same-origin", "none"):
                return
            # SECURITY: unknown values fail closed, like cross-site.
            if origin is None or origin.strip().rstrip("/").lower() not in self._trusted:
                _reject(REASON_CROSS_SITE, sec_fetch_site=site, origin=origin)
            return
        if origin is None:
            return  # Not a browser: the token check decides.
        normalised = origin.strip().rstrip("/").lower()
        # SECURITY: "null" comes from sandboxed frames, data: URLs and some
        # redirects -- any site can produce it, so it never passes.
        if normalised != "null" and (
            normalised in self._trusted or normalised == request.host_url.rstrip("/").lower()
        ):
            return
        _reject(REASON_BAD_ORIGIN, origin=origin)

    def _check_either_token(
        self,
        request: Request,
        environ: dict[str, t.Any],
        wtf: WTFBridge,
    ) -> None:
        """Accept Hermetic's token or Flask-WTF's; under CSRFProtect, only Flask-WTF's.

        Under ``CSRFProtect`` the shield looks only where Flask-WTF looks, for
        the token Flask-WTF accepts, so a request that passes here passes
        Flask-WTF's check too and every refusal is this one.
        """
        form = request.mimetype in _FORM_TYPES
        # (value, found where Hermetic's token goes): Hermetic's token counts only there.
        candidates: list[tuple[str, bool]] = []
        if wtf.accepts_hermetic_token:
            token = environ.get(self._header_key)
            if token is None and form:
                token = request.form.get(self._field)
            if token:
                candidates.append((token, True))
        wtf_token = wtf.find_token(request, environ, form)
        if wtf_token and all(wtf_token != value for value, _ in candidates):
            candidates.append((wtf_token, False))
        if not candidates:
            _reject(REASON_NO_TOKEN, flask_wtf=wtf.mode)
        refusal: tuple[str, str | None] | None = None
        for value, hermetic_place in candidates:
            if hermetic_place:
                secret = _session_secret(_current_session())
                if secret is not None and _token_matches(value, secret):
                    return
            # The field names may be the same: a Flask-WTF token can be there too.
            problem = wtf.problem(value)
            if problem is None:
                return
            if refusal is None:
                # Flask-WTF's tokens are signed "payload.time.signature": a value
                # without a dot in Hermetic's place was meant as Hermetic's.
                if hermetic_place and "." not in value:
                    secret = _session_secret(_current_session())
                    refusal = (
                        REASON_NO_SESSION_TOKEN if secret is None else REASON_BAD_TOKEN,
                        None,
                    )
                else:
                    refusal = (REASON_BAD_WTF_TOKEN, problem)
        reason, problem = t.cast(tuple[str, "str | None"], refusal)
        if problem is None:
            _reject(reason, flask_wtf=wtf.mode)
        _reject(reason, flask_wtf=wtf.mode, wtf_problem=problem)
