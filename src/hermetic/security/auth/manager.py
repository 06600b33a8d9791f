"""The login manager: who the current user is; logging in and out.

``current_user`` is resolved on first access in a request, then cached in
the WSGI environ: from the session's ``"_user_id"`` (through the
``user_loader``), else from the remember-me cookie, else from the identity
providers, else the anonymous user. A request that never looks at
``current_user`` pays nothing. ``current_user``, :func:`get_user`,
:func:`is_fresh`, :func:`unauthorized` and the decorators live in
:mod:`._current_user` (re-exported here).

Settings (:class:`~hermetic.security.auth.LoginSettings`: ``LOGIN_VIEW``,
``LOGIN_REFRESH_VIEW``, ``LOGIN_FRESH_MAX_AGE``, ``REMEMBER_COOKIE_*``,
``REMEMBER_ROTATION_GRACE``; see ``docs/configuration.md``) are read and
checked once per app, with the shields (the first request or
``Hermetic.security_check``): a wrong value stops the app naming the key.

.. warning::
    ``REMEMBER_COOKIE_SECURE = False`` sends a long-lived login over plain
    HTTP, where anyone on the network can copy it.
"""

from __future__ import annotations

import time
import typing as t
import warnings
from urllib.parse import quote

from ...globals import _cv_request
from ...helpers import redirect, url_for
from .._session_cookie import cookie_value
from ..audit import audit
from ..errors import ConfigurationError, StoreUnavailableError, prefers_json
from ._current_user import _FRESH_KEY, _USER_KEY, _refusal
from ._current_user import EXTENSION_KEY as EXTENSION_KEY
from ._current_user import REASON_FRESH_LOGIN_REQUIRED as REASON_FRESH_LOGIN_REQUIRED
from ._current_user import REASON_LOGIN_REQUIRED as REASON_LOGIN_REQUIRED
from ._current_user import current_user as current_user
from ._current_user import fresh_login_required as fresh_login_required
from ._current_user import get_user as get_user
from ._current_user import is_fresh as is_fresh
from ._current_user import login_required as login_required
from ._current_user import unauthorized as unauthorized
from ._remember import OK, THEFT
from ._state import AFTER_KEY as _AFTER_KEY
from ._state import COOKIE_KEY as _COOKIE_KEY
from ._state import STATE_KEY, LoginShield, LoginState, state_for
from ._users import AnonymousUser

if t.TYPE_CHECKING:  # pragma: no cover
    from ...app import Flask
    from ...ctx import RequestContext
    from ...wrappers import Request, Response
    from ..stores import Store
    from .providers import IdentityProvider

__all__ = [
    "EXTENSION_KEY",
    "REASON_FRESH_LOGIN_REQUIRED",
    "REASON_INACTIVE",
    "REASON_INVALID_CREDENTIALS",
    "REASON_LOGIN_REQUIRED",
    "SESSION_AUTH_AT",
    "SESSION_FRESH",
    "SESSION_USER_ID",
    "USER_ID_KEY",
    "LoginManager",
    "current_user",
    "fresh_login_required",
    "get_user",
    "is_fresh",
    "login_required",
    "unauthorized",
]

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

#: The environ key naming the known user (read by audit records).
USER_ID_KEY = "hermetic.user_id"
_REMEMBER_DOWN_KEY = "hermetic.remember_unchecked"
#: Session keys.
SESSION_USER_ID = "_user_id"
SESSION_FRESH = "_fresh"
SESSION_AUTH_AT = "_auth_at"

#: Refusal and audit reasons (with _current_user.py's REASON_LOGIN_REQUIRED
#: and REASON_FRESH_LOGIN_REQUIRED).
REASON_INACTIVE = "inactive"
REASON_INVALID_CREDENTIALS = "invalid_credentials"

_ALWAYS_SAFE = "/:@!$&'()*+,;=-._~"


class LoginManager:
    """Keep track of the logged-in user of each request.

    :param app: the app to install on now (or call :meth:`init_app` later).
    :param store: where remember-me tokens live, default the app's store
        (:func:`hermetic.security.stores.store_for`).
    :param anonymous_user: the class of the user of a request nobody is
        logged in to, default :class:`AnonymousUser`.
    :param now: the clock (epoch seconds), default :func:`time.time` (tests
        pass their own). ``clock=`` is its deprecated former name.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        store: Store | None = None,
        anonymous_user: t.Callable[[], t.Any] = AnonymousUser,
        now: t.Callable[[], float] = time.time,
        clock: t.Callable[[], float] | None = None,
    ) -> None:
        if clock is not None:
            warnings.warn(
                "Cause: LoginManager(clock=) is deprecated; hermetic's clocks are called"
                " now=. Fix: pass LoginManager(now=...).",
                DeprecationWarning,
                stacklevel=2,
            )
            now = clock
        #: The endpoint of the login page (overrides ``LOGIN_VIEW``).
        self.login_view: str | None = None
        #: The endpoint asking for the password again (``LOGIN_REFRESH_VIEW``).
        self.refresh_view: str | None = None
        self.anonymous_user = anonymous_user
        self.now = now
        self.providers: list[IdentityProvider] = []
        self._store = store
        self._load_user: t.Callable[[str], t.Any] | None = None
        #: The extension that owns the remember-me cookie and loads users
        #: (``"Flask-Login"``, set at start-up by ``coexistence``): this
        #: manager then never reads, rotates or deletes that cookie.
        self.external: str | None = None
        self._unauthorized: t.Callable[[str], t.Any] | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Install on ``app``: ``current_user`` in templates, the cookie step."""
        app.extensions[EXTENSION_KEY] = self
        app.extensions.pop(STATE_KEY, None)
        app.jinja_env.globals["current_user"] = current_user
        # The pipeline reads and checks the settings with the other shields',
        # and its login step sends the remember-me cookie.
        LoginShield(self).init_app(app)

    def user_loader(self, fn: F) -> F:
        """Register ``fn(user_id) -> user | None`` to load users from their id."""
        self._load_user = fn
        return fn

    def unauthorized_handler(self, fn: F) -> F:
        """Register ``fn(reason) -> response`` to answer unauthenticated requests."""
        self._unauthorized = fn
        return fn

    def add_provider(self, provider: IdentityProvider) -> None:
        """Ask ``provider`` who a request is when no session or cookie says it."""
        self.providers.append(provider)

    @property
    def clock(self) -> t.Callable[[], float]:
        """Return :attr:`now` (deprecated name)."""
        warnings.warn(
            "Cause: LoginManager.clock is deprecated. Fix: use LoginManager.now.",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.now

    def verify_and_upgrade(self, stored_hash: str | None, password: str) -> tuple[bool, str | None]:
        """Check a password; return ``(ok, new_hash)`` (deprecated: ``check_password``)."""
        warnings.warn(
            "Cause: LoginManager.verify_and_upgrade is deprecated; hermetic has one password"
            " check. Fix: use hermetic.security.auth.check_password(stored, password), which"
            " returns (ok, new_hash).",
            DeprecationWarning,
            stacklevel=2,
        )
        from .passwords import check_password

        ok, new_hash = check_password(stored_hash, password)
        return ok, new_hash

    def _state(self, app: Flask) -> LoginState:
        return state_for(self, app)

    def revoke_remember_tokens(self, app: Flask, user_id: str) -> int:
        """Revoke every remember-me token of ``user_id``; return how many."""
        return self._state(app).remember_tokens(app, self.now).revoke_user(str(user_id))

    # -- resolving the user ----------------------------------------------

    def _user_by_id(self, user_id: str) -> t.Any:
        if self._load_user is None:
            raise ConfigurationError(
                "The LoginManager has no user loader. Register one with"
                " @login_manager.user_loader (a function from a user id to a user or None)."
            )
        user = self._load_user(user_id)
        if user is None or not user.is_active:
            return None
        return user

    def load(self, ctx: RequestContext) -> t.Any:
        """Find the user of the request of ``ctx``; cache it in the environ."""
        environ = ctx.request.environ
        session = ctx.session
        fresh: bool | None = False
        user = None
        user_id = session.get(SESSION_USER_ID)
        if user_id is not None:
            user = self._user_by_id(user_id)
            if user is not None:
                # None: read from the session when is_fresh() asks (most
                # requests never do).
                fresh = None
        if user is None and not environ.get(_AFTER_KEY) and self.external is None:
            user = self._from_cookie(ctx)
        if user is None:
            for provider in self.providers:
                user = provider.identify(ctx.request)
                if user is not None and user.is_active:
                    # The credential came with this very request (unless the
                    # provider reads the session, like SessionUserIdProvider).
                    fresh = getattr(provider, "fresh", True)
                    break
                user = None
        if user is None:
            user = self.anonymous_user()
        else:
            environ[USER_ID_KEY] = user.get_id()
        environ[_USER_KEY] = user
        environ[_FRESH_KEY] = fresh
        return user

    def _is_fresh_session(self, ctx: RequestContext, session: t.Any) -> bool:
        if not session.get(SESSION_FRESH):
            return False
        max_age = self._state(ctx.app).settings.fresh_max_age
        if max_age is None:
            return True
        return self.now() - float(session.get(SESSION_AUTH_AT, 0)) <= max_age

    def _from_cookie(self, ctx: RequestContext) -> t.Any:
        state = self._state(ctx.app)
        cookie = cookie_value(ctx.request, state.settings.remember_cookie_name)
        if not cookie:
            return None
        from ..stores import StoreError

        environ = ctx.request.environ
        try:
            result = state.remember_tokens(ctx.app, self.now).check(cookie)
        except StoreError as e:
            # SECURITY: fail closed; keep the cookie, the outage may be brief.
            # A page that needs a user answers 503, not "log in" (unauthorized).
            audit("remember_refused", reason="store_unavailable")
            environ[_REMEMBER_DOWN_KEY] = getattr(e, "retry_after", None)
            return None
        if result.status != OK:
            environ[_COOKIE_KEY] = (None, 0)
            if result.status == THEFT:
                audit("remember_theft", user=result.user_id)
            else:
                audit("remember_refused", reason=result.status)
            return None
        user = self._user_by_id(t.cast(str, result.user_id))
        if user is None:
            environ[_COOKIE_KEY] = (None, 0)
            audit("remember_refused", reason=REASON_INACTIVE, user=result.user_id)
            return None
        if result.cookie is not None:
            environ[_COOKIE_KEY] = (result.cookie, result.max_age)
        from ._login import establish

        establish(ctx, user, fresh=False, now=self.now())
        audit("login", user=result.user_id, method="remember")
        return user

    # -- refusing --------------------------------------------------------

    def unauthorized(self, reason: str = REASON_LOGIN_REQUIRED) -> Response:
        """Answer a request that needs a (fresh) login; audited.

        The registered handler answers if there is one; an HTML request is
        redirected to the login view with ``next``; anything else (or no
        login view) raises :class:`AuthenticationRequired` (401).
        """
        ctx = _cv_request.get()
        if _REMEMBER_DOWN_KEY in ctx.request.environ:
            # The visitor may be logged in (a remember-me cookie the store
            # could not check): still refused, with "try again", not "log in".
            retry_after = ctx.request.environ[_REMEMBER_DOWN_KEY]
            raise StoreUnavailableError(retry_after=retry_after)
        audit("authn", reason=reason)
        if self._unauthorized is not None:
            return ctx.app.make_response(self._unauthorized(reason))
        state = self._state(ctx.app)
        view = state.login_view
        if reason == REASON_FRESH_LOGIN_REQUIRED:
            view = state.refresh_view or view
        environ = ctx.request.environ
        if view is None or prefers_json(environ) or "HTTP_AUTHORIZATION" in environ:
            error = _refusal(reason)
            # RFC 9110: a 401 names the schemes that would work (RFC 6750: Bearer).
            challenges = [c for c in (getattr(p, "challenge", None) for p in self.providers) if c]
            if challenges:
                error.extra_headers["WWW-Authenticate"] = ", ".join(dict.fromkeys(challenges))
            raise error
        target = _next_target(ctx.request)
        url = url_for(view, next=target) if target is not None else url_for(view)
        return t.cast("Response", redirect(url))


def _next_target(request: Request) -> str | None:
    """Return this request's path and query as a relative URL for ``next``."""
    # Collapse leading slashes: "//evil.example" must not become a target.
    path = "/" + (request.script_root + request.path).lstrip("/")
    target = quote(path, safe=_ALWAYS_SAFE)
    query = request.query_string
    if query:
        target += "?" + query.decode("latin-1")
    try:
        from ..redirects import is_safe_redirect_target
    except ModuleNotFoundError:  # pragma: no cover - the module ships with hermetic
        return target
    return target if is_safe_redirect_target(target) else None
