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

The session holds a random 32-byte secret under ``"_csrf"``; each
:func:`csrf_token` call masks it with a fresh random pad (``pad || pad XOR
secret``) so the token in a page differs on every render and leaks nothing
to compression side channels (BREACH).
"""

from __future__ import annotations

import hmac
import re
import typing as t
from binascii import a2b_base64, b2a_base64
from os import urandom

from ..globals import _cv_request
from ._csrf_hints import csrf_hint
from .audit import audit
from .errors import ConfigurationError, CSRFError
from .shields import ORDER_CSRF, Shield

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask
    from ..sessions import SessionMixin
    from ..wrappers import Request, Response

#: ``Sec-Fetch-Site`` says same-site or cross-site, from an untrusted origin.
REASON_CROSS_SITE = "cross_site"
#: ``Origin`` is ``null``, or neither this site nor a trusted origin.
REASON_BAD_ORIGIN = "bad_origin"
#: A cookie-authenticated request without a token.
REASON_NO_TOKEN = "no_token"
#: A token that does not match the session's secret.
REASON_BAD_TOKEN = "bad_token"
#: A token sent, but the session has no secret (new or expired session).
REASON_NO_SESSION_TOKEN = "no_session_token"

#: Set by ``app.test_client()`` (``hermetic.testing``); only its own marker object counts.
CSRF_BYPASS_KEY = "hermetic.test_client.csrf_bypass"
#: The session key of the (unmasked) secret.
SESSION_KEY = "_csrf"
#: The methods that must not change state, never checked.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

_SECRET_SIZE = 32
# base64url without padding of pad (32 bytes) + masked secret (32 bytes).
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{86}")
_ORIGIN_RE = re.compile(r"https?://[^/?#@\s]+")
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
_DESCRIPTIONS = {
    REASON_CROSS_SITE: "Cross-site requests are not accepted here.",
    REASON_BAD_ORIGIN: "The request's Origin is not this site.",
    REASON_NO_TOKEN: "The CSRF token is missing. Reload the page and try again.",
    REASON_BAD_TOKEN: "The CSRF token is not valid. Reload the page and try again.",
    REASON_NO_SESSION_TOKEN: (
        "The session has no CSRF token; it may have expired. Reload the page and try again."
    ),
}


# base64url <-> base64, for binascii (what base64.urlsafe_b64* do, minus two calls).
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def _encode(data: bytes) -> str:
    """Return ``data`` as base64url without padding."""
    return b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=").decode("ascii")


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(_SECRET_SIZE, "big")


def _current_session() -> SessionMixin:
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "The CSRF token lives in the session: call this during a request"
            " (in a view or a template it renders)."
        )
    return ctx.session


def _session_secret(session: SessionMixin) -> bytes | None:
    value = session.get(SESSION_KEY)
    if not isinstance(value, str) or len(value) != 43:
        return None
    try:
        # Non-ASCII text raises UnicodeEncodeError, bad base64 binascii.Error:
        # both ValueErrors. Like base64.urlsafe_b64decode, without validation.
        secret = a2b_base64(value.encode("ascii").translate(_FROM_URLSAFE) + b"=")
    except ValueError:
        return None
    return secret if len(secret) == _SECRET_SIZE else None


def _new_secret(session: SessionMixin) -> bytes:
    """Store a fresh random secret in ``session`` and return it."""
    secret = urandom(_SECRET_SIZE)  # what secrets.token_bytes reads
    session[SESSION_KEY] = _encode(secret)
    return secret


def rotate_csrf_token() -> None:
    """Replace the session's CSRF secret; tokens handed out before stop working.

    The login manager calls this at login, so a token planted before the
    login (session fixation) is useless after it.
    """
    _new_secret(_current_session())


def csrf_token() -> str:
    """Return a fresh masked token for the session, making its secret if needed.

    Put it in forms as ``<input type=hidden name=csrf_token value="{{
    csrf_token() }}">`` or send it in the ``X-CSRF-Token`` header.
    """
    session = _current_session()
    secret = _session_secret(session)
    if secret is None:
        secret = _new_secret(session)
    # SECURITY: a fresh one-time pad per token (BREACH); pad || pad XOR secret.
    pad = urandom(_SECRET_SIZE)
    return _encode(pad + _xor(pad, secret))


def _token_matches(token: str, secret: bytes) -> bool:
    if not _TOKEN_RE.fullmatch(token):
        return False
    raw = a2b_base64(token.encode("ascii").translate(_FROM_URLSAFE) + b"==")
    # SECURITY: constant-time compare, so timing tells nothing of the secret.
    return hmac.compare_digest(_xor(raw[:_SECRET_SIZE], raw[_SECRET_SIZE:]), secret)


def validate_csrf_token(token: str | None) -> bool:
    """Tell whether ``token`` belongs to the current session (for manual checks)."""
    secret = _session_secret(_current_session())
    return bool(token) and secret is not None and _token_matches(t.cast(str, token), secret)


def _normalise_origin(value: t.Any) -> str:
    if not isinstance(value, str) or not _ORIGIN_RE.fullmatch(value.strip().rstrip("/")):
        raise ConfigurationError(
            f"CSRF_TRUSTED_ORIGINS holds {value!r}, which is not an origin;"
            ' write each as "https://host[:port]", for example "https://app.example.com".'
        )
    return value.strip().rstrip("/").lower()


def _reject(reason: str, **fields: t.Any) -> t.NoReturn:
    hint = csrf_hint(reason)
    audit("csrf", reason=reason, hint=hint, **fields)
    raise CSRFError(_DESCRIPTIONS[reason], reason=reason, hint=hint)


class CSRFShield(Shield):
    """Refuse forged unsafe requests: origin check, then the session's token.

    Options, read once (on the first request, or by :meth:`configure`):

    - ``CSRF_ENABLED`` -- default ``True``.
    - ``CSRF_TRUSTED_ORIGINS`` -- default ``()``; other origins
      (``"https://app.example.com"``) allowed to post here.
    - ``CSRF_FIELD_NAME`` -- default ``"csrf_token"``.
    - ``CSRF_HEADER_NAME`` -- default ``"X-CSRF-Token"``.
    - ``CSRF_ENFORCE_IN_TESTS`` -- default ``False``: requests made by
      ``app.test_client()`` pass the token check (the origin check still
      runs); ``app.test_client(enforce_csrf=True)`` overrides it per client.
    - ``REMEMBER_COOKIE_NAME`` -- default ``"remember_token"``; like the
      session cookie, it makes a request cookie-authenticated.

    .. warning::
        Each trusted origin can make this app's users do anything they can
        do here; list only origins you control.
    """

    name = "csrf"
    order = ORDER_CSRF

    def __init__(self) -> None:
        self._app: Flask | None = None
        self._configured = False
        self._enabled = True
        self._trusted: frozenset[str] = frozenset()
        self._field = "csrf_token"
        self._header_key = "HTTP_X_CSRF_TOKEN"
        self._cookie_names: tuple[str, ...] = ()

    def init_app(self, app: Flask) -> None:
        """Join ``app``'s pipeline, check the config, add ``csrf_token`` to templates."""
        if self._app is not None and self._app is not app:
            raise RuntimeError("This CSRFShield already serves another app; make one per app.")
        self._app = app
        self.configure(app)
        self._configured = False
        app.add_template_global(csrf_token, "csrf_token")
        super().init_app(app)

    def configure(self, app: Flask | None = None) -> None:
        """Read the configuration now (otherwise done on the first request)."""
        app = app or t.cast("Flask", self._app)
        config = app.config
        self._enabled = bool(config.get("CSRF_ENABLED", True))
        trusted = config.get("CSRF_TRUSTED_ORIGINS") or ()
        if isinstance(trusted, str):
            raise ConfigurationError(
                f"CSRF_TRUSTED_ORIGINS must be a list of origins, got the string {trusted!r}."
            )
        self._trusted = frozenset(_normalise_origin(o) for o in trusted)
        self._field = str(config.get("CSRF_FIELD_NAME", "csrf_token"))
        header = str(config.get("CSRF_HEADER_NAME", "X-CSRF-Token"))
        self._header_key = "HTTP_" + header.upper().replace("-", "_")
        session_cookie = app.session_interface.get_cookie_name(app)
        names = {
            session_cookie,
            session_cookie.removeprefix("__Host-"),
            "__Host-" + session_cookie.removeprefix("__Host-"),
            str(config.get("REMEMBER_COOKIE_NAME", "remember_token")),
        }
        self._cookie_names = tuple(sorted(names))
        self._configured = True

    def before(self, request: Request) -> Response | None:  # type: ignore[override]
        """Refuse an unsafe request that fails the origin or token check."""
        if request.method in SAFE_METHODS or request.routing_exception is not None:
            # No view runs for a 404 or 405; a 308 redirect is checked at its target.
            return None
        if not self._configured:
            self.configure()
        if not self._enabled:
            return None
        environ = request.environ
        with_cookie = "HTTP_COOKIE" in environ and not request.cookies.keys().isdisjoint(
            self._cookie_names
        )
        if not with_cookie and environ.get("HTTP_AUTHORIZATION", "")[:7].lower() == "bearer ":
            # SECURITY: a bearer token is never sent by the browser on its
            # own (unlike cookies or Basic credentials): nothing to forge.
            return None
        self._check_origin(request, environ)
        if with_cookie:
            self._check_token(request, environ)
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

    def _check_token(self, request: Request, environ: dict[str, t.Any]) -> None:
        if CSRF_BYPASS_KEY in environ:
            from ..testing import passes_csrf_token_check

            if passes_csrf_token_check(environ):
                return  # app.test_client() without enforce_csrf (hermetic.testing)
        token = environ.get(self._header_key)
        if token is None and request.mimetype in _FORM_TYPES:
            # Parsed under the app's body limits (the limits shield ran first).
            token = request.form.get(self._field)
        if not token:
            _reject(REASON_NO_TOKEN)
        secret = _session_secret(_current_session())
        if secret is None:
            _reject(REASON_NO_SESSION_TOKEN)
        if not _token_matches(token, secret):
            _reject(REASON_BAD_TOKEN)
