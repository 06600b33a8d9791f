"""The current request's user: :data:`current_user`, :func:`get_user`,
:func:`is_fresh`, :func:`unauthorized` and the login decorators
(re-exported by :mod:`.manager`, whose :class:`~.manager.LoginManager`
finds the user on first access).
"""

from __future__ import annotations

import typing as t

from werkzeug.local import LocalProxy

from ...globals import _cv_request
from .. import policy as _policy
from ..audit import audit
from ..errors import AuthenticationRequired
from ._users import AnonymousUser

if t.TYPE_CHECKING:  # pragma: no cover
    from ...wrappers import Response
    from .manager import LoginManager

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

#: Where ``init_app`` puts the manager.
EXTENSION_KEY = "hermetic.login"
#: The environ keys of the request's user and of whether its login is fresh.
_USER_KEY = "hermetic.user"
_FRESH_KEY = "hermetic.user_fresh"
#: Refusal and audit reasons of a request that needs a (fresh) login.
REASON_LOGIN_REQUIRED = "login_required"
REASON_FRESH_LOGIN_REQUIRED = "fresh_login_required"


def _refusal(reason: str) -> AuthenticationRequired:
    if reason == REASON_FRESH_LOGIN_REQUIRED:
        return AuthenticationRequired("Log in again to do this.", reason=reason)
    return AuthenticationRequired(reason=reason)


def get_user() -> t.Any:
    """Return the user of the current request (the anonymous user outside one)."""
    ctx = _cv_request.get(None)
    if ctx is None:
        return AnonymousUser()
    user = ctx.request.environ.get(_USER_KEY)
    if user is None:
        manager = ctx.app.extensions.get(EXTENSION_KEY)
        if manager is None:
            return AnonymousUser()
        user = manager.load(ctx)
    return user


def is_fresh() -> bool:
    """Tell whether the current user logged in with a credential recently."""
    ctx = _cv_request.get(None)
    if ctx is None or not get_user().is_authenticated:
        return False
    environ = ctx.request.environ
    fresh = environ.get(_FRESH_KEY)
    if fresh is None:
        # A user from the session: fresh while its password login is recent.
        manager = ctx.app.extensions.get(EXTENSION_KEY)
        fresh = environ[_FRESH_KEY] = manager is not None and manager._is_fresh_session(
            ctx, ctx.session
        )
    return bool(fresh)


def unauthorized(reason: str = REASON_LOGIN_REQUIRED) -> Response:
    """Refuse the current request for want of a (fresh) login; audited."""
    ctx = _cv_request.get()
    manager = ctx.app.extensions.get(EXTENSION_KEY)
    if manager is None:
        audit("authn", reason=reason)
        raise _refusal(reason)
    return t.cast("LoginManager", manager).unauthorized(reason)


def login_required(view: F) -> F:
    """Let only logged-in users call ``view`` (others: login page or 401)."""
    return _policy.protect(_policy.LOGIN)(view)


def fresh_login_required(view: F) -> F:
    """Let only users who logged in with a password this session call ``view``."""
    return _policy.protect(_policy.FRESH_LOGIN)(view)


class _CurrentUserProxy(LocalProxy):  # type: ignore[type-arg]  # stands for any user class
    """``LocalProxy(get_user)``; an attribute read calls :func:`get_user` once and reads
    it there (Werkzeug's: a descriptor, two closures and a bound ``getattr`` per read)."""

    __slots__ = ()

    def __getattr__(self, name: str) -> t.Any:
        return getattr(get_user(), name)


#: The user of the current request, resolved on first access.
current_user: t.Any = _CurrentUserProxy(get_user)
