"""Logging in and out, and the session changes that go with them."""

from __future__ import annotations

import typing as t
from datetime import timedelta

from ...globals import _cv_request
from ..audit import audit
from ..errors import ConfigurationError
from ._current_user import _FRESH_KEY, _USER_KEY, EXTENSION_KEY
from ._state import COOKIE_KEY as _COOKIE_KEY
from .manager import (
    REASON_INACTIVE,
    REASON_INVALID_CREDENTIALS,
    SESSION_AUTH_AT,
    SESSION_FRESH,
    SESSION_USER_ID,
    USER_ID_KEY,
    LoginManager,
)

if t.TYPE_CHECKING:  # pragma: no cover
    from ...ctx import RequestContext


def _seconds(value: timedelta | float | None) -> float | None:
    if value is None:
        return None
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _rotate_csrf() -> None:
    try:
        from ..csrf import rotate_csrf_token
    except ModuleNotFoundError as e:  # pragma: no cover - the module ships with hermetic
        if e.name != "hermetic.security.csrf":
            raise
        return
    rotate_csrf_token()


def _new_session_id(ctx: RequestContext, *, keep_data: bool) -> None:
    session = ctx.session
    regenerate = getattr(session, "regenerate", None)
    if regenerate is not None:
        # SECURITY: session fixation: an id planted before login dies here.
        regenerate()
        return
    # A session interface of an extension (Flask-Session) may renew the id
    # itself: ``interface.regenerate(session)``.
    renew = getattr(ctx.app.session_interface, "regenerate", None)
    if callable(renew):
        renew(session)
    elif not keep_data:
        # A signed cookie session has no id: drop what was planted before login.
        session.clear()
    else:
        session.modified = True


def renew_session(ctx: RequestContext, *, keep_data: bool) -> None:
    """Give the session of ``ctx`` a new id and a new CSRF token (login, privilege change).

    The one path for Hermetic's :func:`login_user`, :func:`privilege_changed`
    and the Flask-Login adapter (``coexistence``).
    """
    _new_session_id(ctx, keep_data=keep_data)
    _rotate_csrf()


def end_session(ctx: RequestContext, *, keep: t.Iterable[str] = ()) -> None:
    """Revoke the session of ``ctx`` on the server, clear it and rotate the CSRF token.

    The one logout path for Hermetic's :func:`logout_user` and the
    Flask-Login adapter. The keys in ``keep`` (an extension's own logout
    markers) are written back into the new, empty session.
    """
    session = ctx.session
    kept = {key: session[key] for key in keep if key in session}
    end = getattr(session, "end", None)
    if end is not None:
        # SECURITY: a copy of the cookie taken before logout is refused after it.
        end()
    else:
        session.clear()
    session.update(kept)
    _rotate_csrf()


def establish(ctx: RequestContext, user: t.Any, *, fresh: bool, now: float) -> None:
    """Put ``user`` in a session with a new id and a new CSRF token."""
    session = ctx.session
    _new_session_id(ctx, keep_data=False)
    user_id = user.get_id()
    session[SESSION_USER_ID] = user_id
    session[SESSION_FRESH] = fresh
    session[SESSION_AUTH_AT] = int(now)
    _rotate_csrf()
    environ = ctx.request.environ
    environ[USER_ID_KEY] = user_id
    environ[_USER_KEY] = user
    environ[_FRESH_KEY] = fresh


def _manager(ctx: RequestContext) -> LoginManager:
    manager = ctx.app.extensions.get(EXTENSION_KEY)
    if manager is None:
        raise ConfigurationError(
            "No LoginManager on this app. Create one with LoginManager(app)"
            " (hermetic.Hermetic installs one)."
        )
    return t.cast(LoginManager, manager)


def login_user(
    user: t.Any,
    remember: bool = False,
    fresh: bool = True,
    duration: timedelta | float | None = None,
) -> bool:
    """Log ``user`` in for this session; return ``False`` for an inactive user.

    The session gets a new id (fixation defence) and a new CSRF token; with
    ``remember``, a remember-me cookie lasting ``duration`` (default
    ``REMEMBER_COOKIE_DURATION``) is set.
    """
    ctx = _cv_request.get()
    manager = _manager(ctx)
    if not user.is_active:
        audit("failed_login", reason=REASON_INACTIVE, user=user.get_id())
        return False
    now = manager.now()
    establish(ctx, user, fresh=fresh, now=now)
    state = manager._state(ctx.app)
    old = ctx.request.cookies.get(state.settings.remember_cookie_name)
    tokens = state.remember_tokens(ctx.app, manager.now) if remember or old else None
    if old and tokens is not None:
        tokens.revoke(old)
        ctx.request.environ[_COOKIE_KEY] = (None, 0)
    if remember and tokens is not None:
        ctx.request.environ[_COOKIE_KEY] = tokens.issue(user.get_id(), _seconds(duration), now=now)
    audit("login", user=user.get_id(), remember=remember)
    return True


def logout_user() -> None:
    """Log the user out: end the session on the server, revoke the cookie token."""
    ctx = _cv_request.get()
    manager = _manager(ctx)
    environ = ctx.request.environ
    session = ctx.session
    user_id = environ.get(USER_ID_KEY) or session.get(SESSION_USER_ID)
    audit("logout", user=user_id)
    state = manager._state(ctx.app)
    cookie = ctx.request.cookies.get(state.settings.remember_cookie_name)
    if cookie:
        state.remember_tokens(ctx.app, manager.now).revoke(cookie)
        environ[_COOKIE_KEY] = (None, 0)
    end_session(ctx)
    environ.pop(USER_ID_KEY, None)
    environ[_USER_KEY] = manager.anonymous_user()
    environ[_FRESH_KEY] = False


def privilege_changed() -> None:
    """Give the session a new id and a new CSRF token after a role change."""
    ctx = _cv_request.get()
    renew_session(ctx, keep_data=True)
    # Permissions computed earlier in this request may be stale now.
    ctx.request.environ.pop("hermetic.permissions", None)
    audit("privilege_changed")


def report_failed_login(
    username: str | None = None, *, reason: str = REASON_INVALID_CREDENTIALS
) -> None:
    """Audit a failed login attempt for ``username`` (the password is never taken)."""
    audit("failed_login", reason=reason, username=username)


def revoke_remember_tokens(user_id: str) -> int:
    """Revoke every remember-me token of ``user_id`` (e.g. on password change)."""
    from ...globals import current_app

    app = current_app._get_current_object()  # type: ignore[attr-defined]  # current_app is typed as the app; it is a LocalProxy
    manager = app.extensions.get(EXTENSION_KEY)
    if manager is None:
        return 0
    return t.cast(LoginManager, manager).revoke_remember_tokens(app, str(user_id))
