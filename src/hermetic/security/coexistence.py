"""Flask extensions that take over part of what Hermetic does: found, adapted, named.

An app moving to :class:`~hermetic.Hermetic` often keeps Flask-Login,
Flask-Session, Flask-Talisman or Flask-Limiter. Each replaces or doubles a
piece of Hermetic's security layer; :func:`settle` (run once per app by
``Hermetic.security_check``, i.e. at start-up) finds them and:

- **Flask-Login** keeps loading users; Hermetic listens to its public
  signals: at ``user_logged_in`` the session gets a new id and a new CSRF
  token, at ``user_logged_out`` the session is revoked on the server (a copy
  of the cookie taken before logout is refused after it). Both go through
  the same code as Hermetic's own ``login_user``/``logout_user``
  (:func:`~hermetic.security.auth._login.renew_session`,
  :func:`~hermetic.security.auth._login.end_session`). Hermetic's login
  manager stops reading the ``remember_token`` cookie (Flask-Login's) and
  asks Flask-Login for the user.
- **Flask-Session** replaces the encrypted session interface: the id is
  still renewed at login (its ``regenerate``), logout empties the stored
  session; encryption at rest, the idle and absolute timeouts and
  ``revoke_user_sessions`` are lost, and a warning says so. A failure of its
  store is the 503 of a session store outage, never a 500.
- **Flask-Talisman** sets its headers first; Hermetic's header shield only
  adds the ones Talisman does not set (no duplicates), and says which.
- **Flask-Limiter** counts on its own storage, next to Hermetic's limiter; a
  failure of its storage is Hermetic's 503 (unless ``RATELIMIT_SWALLOW_ERRORS``
  lets it fail open), and its 429 stays a 429.

Each finding is logged once at start-up and reported by ``hermetic check``
(:func:`companions`).
"""

from __future__ import annotations

import importlib
import logging
import typing as t

from ..globals import _cv_request
from ._coexist_stores import (
    StoreErrorsAre503,
    limiter_storage_errors_are_503,
    view_store_failures_are_503,
)
from ._coexist_stores import is_store_failure as is_store_failure
from ._extension_keys import ALL_EXTENSION_KEYS as ALL_EXTENSION_KEYS
from ._extension_keys import EXTENSION_KEYS as EXTENSION_KEYS
from .audit import audit

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask
    from ..sessions import SessionInterface

__all__ = ["EXTENSION_KEYS", "Companion", "companions", "settle"]

logger = logging.getLogger("hermetic.security.coexistence")

#: The ``app.extensions`` key marking an app whose companions were settled.
SETTLED_KEY = "hermetic.coexistence"
#: The ``app.extensions`` key marking an app whose start-up lines were logged.
LOGGED_KEY = "hermetic.coexistence.logged"


class Companion(t.NamedTuple):
    """One extension found next to Hermetic, and what it changes."""

    extension: str
    #: The ``hermetic check`` finding id.
    id: str
    #: ``"info"`` (Hermetic's guarantees hold) or ``"warning"`` (some are lost).
    level: str
    message: str


def _package(obj: object) -> str:
    owner = getattr(obj, "__self__", obj)
    return type(owner).__module__.partition(".")[0]


def _hook_owner(funcs: t.Mapping[t.Any, list[t.Any]], package: str) -> t.Any | None:
    for hooks in funcs.values():
        for func in hooks:
            if _package(func) == package:
                return getattr(func, "__self__", func)
    return None


def flask_login_manager(app: Flask) -> t.Any | None:
    """Return Flask-Login's ``LoginManager`` of ``app``, or ``None``."""
    manager = app.__dict__.get("login_manager")
    return manager if manager is not None and _package(manager) == "flask_login" else None


def _flask_session(app: Flask) -> SessionInterface | None:
    interface = app.session_interface
    if isinstance(interface, StoreErrorsAre503):
        return interface.wrapped
    return interface if _package(interface) == "flask_session" else None


def _talisman(app: Flask) -> t.Any | None:
    return _hook_owner(app.after_request_funcs, "flask_talisman")


def _limiter(app: Flask) -> t.Any | None:
    found = app.extensions.get("limiter")
    if isinstance(found, (set, list, tuple)):
        found = next(iter(found), None)
    return found if found is not None and _package(found) == "flask_limiter" else None


# -- Flask-Login -------------------------------------------------------------


def _flask_login() -> t.Any:
    # Imported by name: Flask-Login is the app's, and typed for no checker.
    return importlib.import_module("flask_login")


_FLASK_LOGIN_KEEP = ("_remember",)  # Flask-Login's "delete the remember cookie" marker


def _on_flask_login_login(sender: t.Any, user: t.Any = None, **extra: t.Any) -> None:
    from .auth._login import renew_session
    from .auth.manager import USER_ID_KEY

    ctx = _cv_request.get(None)
    if ctx is None or ctx.app is not sender:
        return
    # SECURITY: session fixation: the id the visitor had before login dies.
    renew_session(ctx, keep_data=True)
    user_id = user.get_id() if user is not None else None
    if user_id is not None:
        ctx.request.environ[USER_ID_KEY] = user_id
    audit("login", user=user_id, via="flask_login")


def _on_flask_login_logout(sender: t.Any, user: t.Any = None, **extra: t.Any) -> None:
    from .auth._login import end_session
    from .auth.manager import USER_ID_KEY

    ctx = _cv_request.get(None)
    if ctx is None or ctx.app is not sender:
        return
    user_id = user.get_id() if user is not None and hasattr(user, "get_id") else None
    audit("logout", user=user_id, via="flask_login")
    # SECURITY: revoked on the server: a copy of the cookie stops working.
    end_session(ctx, keep=_FLASK_LOGIN_KEEP)
    ctx.request.environ.pop(USER_ID_KEY, None)


def _flask_login_user(user_id: str) -> t.Any:
    # Hermetic's manager asks Flask-Login, which loaded the user of this request.
    user = _flask_login().current_user._get_current_object()
    if getattr(user, "is_authenticated", False) and str(user.get_id()) == str(user_id):
        return user
    return None


class FlaskLoginProvider:
    """An identity provider for Hermetic's login manager: Flask-Login's user of the request.

    Flask-Login restores a user from its own ``remember_token`` cookie; this
    hands that user to ``hermetic.security.auth.current_user`` (and the
    authorization policies) too.
    """

    @property
    def fresh(self) -> bool:
        """Return Flask-Login's freshness of the login."""
        return bool(_flask_login().login_fresh())

    def identify(self, request: t.Any) -> t.Any | None:
        """Return Flask-Login's authenticated user, or ``None``."""
        user = _flask_login().current_user._get_current_object()
        return user if getattr(user, "is_authenticated", False) else None


def _adapt_flask_login(app: Flask, manager: t.Any) -> Companion:
    flask_login = _flask_login()
    flask_login.user_logged_in.connect(_on_flask_login_login, sender=app, weak=False)
    flask_login.user_logged_out.connect(_on_flask_login_logout, sender=app, weak=False)
    from .auth.manager import EXTENSION_KEY

    ours = app.extensions.get(EXTENSION_KEY)
    if ours is not None:
        # Flask-Login owns the remember_token cookie and loads the users.
        ours.external = "Flask-Login"
        if ours._load_user is None:
            ours._load_user = _flask_login_user
        ours.add_provider(FlaskLoginProvider())
    return Companion(
        "Flask-Login",
        "flask_login",
        "info",
        "Flask-Login loads the users (app.login_manager is its LoginManager, current_user"
        " is its user); Hermetic keeps the session protections: a new session id and CSRF"
        " token at login (user_logged_in), the session revoked on the server at logout"
        " (user_logged_out). Flask-Login's remember_token cookie is not revocable on the"
        " server: a copy stays valid until REMEMBER_COOKIE_DURATION ends; make get_id()"
        " return a per-login token (see 'Extensions alongside Hermetic') or do not use"
        " remember=True.",
    )


# -- Flask-Session -------------------------------------------------------------


def _adapt_flask_session(app: Flask, interface: SessionInterface) -> Companion:
    if not isinstance(app.session_interface, StoreErrorsAre503):
        app.session_interface = t.cast("SessionInterface", StoreErrorsAre503(interface))
    return Companion(
        "Flask-Session",
        "flask_session",
        "warning",
        f"Flask-Session ({type(interface).__name__}) replaces Hermetic's encrypted session"
        " interface. Kept: a new session id at login (its regenerate()), the session"
        " emptied on the server at logout, the 503 when its store is down. Lost: encryption"
        " of the session data at rest (its store holds it readable), SESSION_IDLE_TIMEOUT"
        " and SESSION_ABSOLUTE_TIMEOUT (only PERMANENT_SESSION_LIFETIME applies),"
        " revoke_user_sessions() (a password change does not end other sessions), the"
        " __Host- cookie prefix. Fix: drop Flask-Session and set SESSION_SERVER_SIDE = True"
        " with HERMETIC_REDIS_URL, or accept these losses.",
    )


# -- Flask-Talisman ------------------------------------------------------------


def _talisman_headers(talisman: object) -> list[str]:
    # What Talisman sets, as its public options say.
    names = ["X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"]
    if getattr(talisman, "content_security_policy", None):
        report_only = getattr(talisman, "content_security_policy_report_only", False)
        names.append(
            "Content-Security-Policy-Report-Only" if report_only else "Content-Security-Policy"
        )
    if getattr(talisman, "strict_transport_security", False):
        names.append("Strict-Transport-Security")
    if getattr(talisman, "permissions_policy", None) or getattr(talisman, "feature_policy", None):
        names.append("Permissions-Policy")
    return names


def _adapt_talisman(app: Flask, talisman: object) -> Companion:
    names = ", ".join(_talisman_headers(talisman))
    force_https = bool(getattr(talisman, "force_https", False))
    redirect = (
        " Its force_https redirect trusts any client's X-Forwarded-Proto: let the proxy"
        " redirect to HTTPS (TRUSTED_PROXY_HOPS) and pass force_https=False."
        if force_https
        else ""
    )
    return Companion(
        "Flask-Talisman",
        "flask_talisman",
        "warning",
        f"Flask-Talisman sets {names} in its after_request hook; Hermetic's header shield"
        " adds only the headers Talisman did not set (never a second copy), so Talisman's"
        " values win. Its Content-Security-Policy does not carry Hermetic's csp_nonce():"
        " inline scripts marked with it are blocked; use Talisman's own nonce"
        " (content_security_policy_nonce_in) or drop Talisman and configure SECURITY_CSP."
        + redirect,
    )


# -- Flask-Limiter -------------------------------------------------------------


def _adapt_limiter(app: Flask, limiter: t.Any) -> Companion:
    limiter_storage_errors_are_503(app, limiter)
    view_store_failures_are_503(app)
    shared = sorted(
        key
        for key in (
            "RATELIMIT_DEFAULT",
            "RATELIMIT_ENABLED",
            "RATELIMIT_STRATEGY",
            "RATELIMIT_STORAGE_URI",
            "RATELIMIT_STORAGE_OPTIONS",
        )
        if key in app.config and app.config[key] not in (None, "")
    )
    both = (
        f" Both read {', '.join(shared)}: each limiter applies it on its own storage."
        if shared
        else ""
    )
    swallow = app.config.get("RATELIMIT_SWALLOW_ERRORS")
    outage = (
        "when its storage is down it lets requests through (RATELIMIT_SWALLOW_ERRORS)"
        if swallow
        else "when its storage is down the request gets Hermetic's 503 (RateLimitUnavailable)"
    )
    return Companion(
        "Flask-Limiter",
        "flask_limiter",
        "info",
        "Flask-Limiter counts too: its limits (default_limits, @limiter.limit) and"
        " Hermetic's (RATELIMIT_DEFAULT, @rate_limit) both apply, each on its own storage"
        " (Flask-Limiter's storage_uri is separate from HERMETIC_REDIS_URL); a request"
        " over either is a 429; " + outage + "." + both,
    )


# -- the entry points ----------------------------------------------------------


def companions(app: Flask) -> list[Companion]:
    """Return the extensions found next to Hermetic on ``app`` and what each changes.

    Adapts each the first time (see :func:`settle`).
    """
    found = app.extensions.get(SETTLED_KEY)
    if found is None:
        found = []
        manager = flask_login_manager(app)
        if manager is not None:
            found.append(_adapt_flask_login(app, manager))
        interface = _flask_session(app)
        if interface is not None:
            found.append(_adapt_flask_session(app, interface))
        talisman = _talisman(app)
        if talisman is not None:
            found.append(_adapt_talisman(app, talisman))
        limiter = _limiter(app)
        if limiter is not None:
            found.append(_adapt_limiter(app, limiter))
        app.extensions[SETTLED_KEY] = found
    return t.cast("list[Companion]", found)


def settle(app: Flask) -> list[Companion]:
    """Adapt the extensions found on ``app`` once, and log one line for each (start-up)."""
    found = companions(app)
    if not app.extensions.get(LOGGED_KEY):
        app.extensions[LOGGED_KEY] = True
        for companion in found:
            level = logging.WARNING if companion.level == "warning" else logging.INFO
            logger.log(level, "%s", companion.message)
    return found
