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

import functools
import importlib
import logging
import sys
import typing as t

from ..globals import _cv_request
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

#: Documented configuration keys of Flask extensions that start with a
#: prefix Hermetic declares (``LOGIN_``, ``REMEMBER_``, ``JWT_``,
#: ``RATELIMIT_``, ``CORS_``): ``hermetic check`` does not report them as
#: unknown. Keys Hermetic declares too are read by both.
EXTENSION_KEYS: dict[str, frozenset[str]] = {
    "Flask-Login": frozenset(
        {
            "LOGIN_DISABLED",
            "REMEMBER_COOKIE_NAME",
            "REMEMBER_COOKIE_DURATION",
            "REMEMBER_COOKIE_DOMAIN",
            "REMEMBER_COOKIE_PATH",
            "REMEMBER_COOKIE_SECURE",
            "REMEMBER_COOKIE_HTTPONLY",
            "REMEMBER_COOKIE_SAMESITE",
            "REMEMBER_COOKIE_REFRESH_EACH_REQUEST",
        }
    ),
    "Flask-JWT-Extended": frozenset(
        {
            "JWT_ACCESS_COOKIE_NAME",
            "JWT_ACCESS_COOKIE_PATH",
            "JWT_ACCESS_CSRF_COOKIE_NAME",
            "JWT_ACCESS_CSRF_COOKIE_PATH",
            "JWT_ACCESS_CSRF_FIELD_NAME",
            "JWT_ACCESS_CSRF_HEADER_NAME",
            "JWT_ACCESS_TOKEN_EXPIRES",
            "JWT_ALGORITHM",
            "JWT_COOKIE_CSRF_PROTECT",
            "JWT_COOKIE_DOMAIN",
            "JWT_COOKIE_SAMESITE",
            "JWT_COOKIE_SECURE",
            "JWT_CSRF_CHECK_FORM",
            "JWT_CSRF_IN_COOKIES",
            "JWT_CSRF_METHODS",
            "JWT_DECODE_ALGORITHMS",
            "JWT_DECODE_AUDIENCE",
            "JWT_DECODE_ISSUER",
            "JWT_DECODE_LEEWAY",
            "JWT_ENCODE_AUDIENCE",
            "JWT_ENCODE_ISSUER",
            "JWT_ENCODE_NBF",
            "JWT_ERROR_MESSAGE_KEY",
            "JWT_HEADER_NAME",
            "JWT_HEADER_TYPE",
            "JWT_IDENTITY_CLAIM",
            "JWT_JSON_KEY",
            "JWT_PRIVATE_KEY",
            "JWT_PUBLIC_KEY",
            "JWT_QUERY_STRING_NAME",
            "JWT_QUERY_STRING_VALUE_PREFIX",
            "JWT_REFRESH_COOKIE_NAME",
            "JWT_REFRESH_COOKIE_PATH",
            "JWT_REFRESH_CSRF_COOKIE_NAME",
            "JWT_REFRESH_CSRF_COOKIE_PATH",
            "JWT_REFRESH_CSRF_FIELD_NAME",
            "JWT_REFRESH_CSRF_HEADER_NAME",
            "JWT_REFRESH_JSON_KEY",
            "JWT_REFRESH_TOKEN_EXPIRES",
            "JWT_SECRET_KEY",
            "JWT_SESSION_COOKIE",
            "JWT_TOKEN_LOCATION",
            "JWT_VERIFY_SUB",
        }
    ),
    "Flask-Limiter": frozenset(
        {
            "RATELIMIT_APPLICATION",
            "RATELIMIT_APPLICATION_COST",
            "RATELIMIT_DEFAULT",
            "RATELIMIT_DEFAULTS_COST",
            "RATELIMIT_DEFAULTS_DEDUCT_WHEN",
            "RATELIMIT_DEFAULTS_EXEMPT_WHEN",
            "RATELIMIT_DEFAULTS_PER_METHOD",
            "RATELIMIT_ENABLED",
            "RATELIMIT_FAIL_ON_FIRST_BREACH",
            "RATELIMIT_HEADERS_ENABLED",
            "RATELIMIT_HEADER_LIMIT",
            "RATELIMIT_HEADER_REMAINING",
            "RATELIMIT_HEADER_RESET",
            "RATELIMIT_HEADER_RETRY_AFTER",
            "RATELIMIT_HEADER_RETRY_AFTER_VALUE",
            "RATELIMIT_IN_MEMORY_FALLBACK",
            "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED",
            "RATELIMIT_KEY_PREFIX",
            "RATELIMIT_META",
            "RATELIMIT_ON_BREACH_CALLBACK",
            "RATELIMIT_ON_META_BREACH_CALLBACK",
            "RATELIMIT_REQUEST_IDENTIFIER",
            "RATELIMIT_STORAGE_OPTIONS",
            "RATELIMIT_STORAGE_URI",
            "RATELIMIT_STRATEGY",
            "RATELIMIT_SWALLOW_ERRORS",
        }
    ),
    "Flask-CORS": frozenset(
        {
            "CORS_ALLOW_HEADERS",
            "CORS_ALLOW_PRIVATE_NETWORK",
            "CORS_ALWAYS_SEND",
            "CORS_AUTOMATIC_OPTIONS",
            "CORS_EXPOSE_HEADERS",
            "CORS_INTERCEPT_EXCEPTIONS",
            "CORS_MAX_AGE",
            "CORS_METHODS",
            "CORS_ORIGINS",
            "CORS_RESOURCES",
            "CORS_SEND_WILDCARD",
            "CORS_SUPPORTS_CREDENTIALS",
            "CORS_VARY_HEADER",
        }
    ),
}

#: Every key of :data:`EXTENSION_KEYS`.
ALL_EXTENSION_KEYS = frozenset().union(*EXTENSION_KEYS.values())

#: Exceptions of store clients that mean "the store cannot be reached"
#: (module and class name; subclasses count).
STORE_FAILURES = frozenset(
    {
        "redis.exceptions.ConnectionError",
        "redis.exceptions.TimeoutError",
        "limits.errors.StorageError",
        "pymongo.errors.ConnectionFailure",
        "sqlalchemy.exc.OperationalError",
        "pymemcache.exceptions.MemcacheError",
        "builtins.OSError",
    }
)


def is_store_failure(error: BaseException) -> bool:
    """Return whether ``error`` says a store (Redis, a database...) cannot be reached."""
    return any(
        f"{cls.__module__}.{cls.__qualname__}" in STORE_FAILURES for cls in type(error).__mro__
    )


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
    if isinstance(interface, _StoreErrorsAre503):
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


class _StoreErrorsAre503:
    """Wrap an extension's session interface: its store failures are a 503, not a 500.

    Opened lazily (when the session is first used), so the failure happens
    inside the app's error handling.
    """

    open_lazily = True

    def __init__(self, wrapped: SessionInterface) -> None:
        self.wrapped = wrapped

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self.wrapped, name)

    def _call(self, method: str, *args: t.Any) -> t.Any:
        try:
            return getattr(self.wrapped, method)(*args)
        except Exception as e:
            if not is_store_failure(e):
                raise
            from ._session_revoke import REASON_STORE, SessionStoreUnavailable

            # SECURITY: fail closed, with the configured 503; the error is
            # named in the log (never the session's content).
            audit("session", reason=REASON_STORE, error=type(e).__name__)
            raise SessionStoreUnavailable() from None

    def open_session(self, app: Flask, request: t.Any) -> t.Any:
        return self._call("open_session", app, request)

    def save_session(self, app: Flask, session: t.Any, response: t.Any) -> None:
        self._call("save_session", app, session, response)

    def regenerate(self, session: t.Any) -> None:
        self._call("regenerate", session)


def _adapt_flask_session(app: Flask, interface: SessionInterface) -> Companion:
    if not isinstance(app.session_interface, _StoreErrorsAre503):
        app.session_interface = t.cast("SessionInterface", _StoreErrorsAre503(interface))
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


def _limiter_storage_errors_are_503(app: Flask, limiter: t.Any) -> int:
    # Wrap Flask-Limiter's request hooks: a failure of its storage is the
    # rate limiter's 503, not a 500 (RATELIMIT_SWALLOW_ERRORS: it fails open).
    wrapped = 0
    for funcs in (app.before_request_funcs, app.after_request_funcs):
        for hooks in funcs.values():
            for index, func in enumerate(hooks):
                if getattr(func, "__self__", None) is limiter:
                    hooks[index] = _storage_guard(func)
                    wrapped += 1
    return wrapped


def _storage_guard(func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    @functools.wraps(func)
    def guard(*args: t.Any, **kwargs: t.Any) -> t.Any:
        try:
            return func(*args, **kwargs)
        except Exception as e:
            if not is_store_failure(e):
                raise
            from .ratelimit._limiter import REASON_STORAGE_UNAVAILABLE, RateLimitUnavailable

            audit("ratelimit", reason=REASON_STORAGE_UNAVAILABLE, error=type(e).__name__)
            raise RateLimitUnavailable() from None

    guard.__self__ = getattr(func, "__self__", None)  # type: ignore[attr-defined]  # detection reads the owner
    return guard


#: The store clients' errors that a view may let through (Flask-Limiter checks
#: a decorated route's limits inside the view): answered with the 503.
VIEW_STORE_FAILURES = (
    ("redis.exceptions", "ConnectionError"),
    ("redis.exceptions", "TimeoutError"),
    ("limits.errors", "StorageError"),
)


def _store_failure_is_503(error: Exception) -> t.Any:
    from ..globals import current_app
    from .errors import StoreUnavailableError

    # SECURITY: fail closed, fast, with the configured 503 (no traceback to the client).
    audit("store", reason="store_unavailable", error=type(error).__name__)
    # Rendered as any 503: the app's handler for 503, else Hermetic's page.
    return current_app.handle_http_exception(StoreUnavailableError())


def _view_store_failures_are_503(app: Flask) -> None:
    # An app's own handler for one of these classes is kept.
    own = app.error_handler_spec.get(None, {}).get(None, {})
    for module, name in VIEW_STORE_FAILURES:
        cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type) and issubclass(cls, Exception) and cls not in own:
            app.register_error_handler(cls, _store_failure_is_503)


def _adapt_limiter(app: Flask, limiter: t.Any) -> Companion:
    _limiter_storage_errors_are_503(app, limiter)
    _view_store_failures_are_503(app)
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
