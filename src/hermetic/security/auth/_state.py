"""One app's login settings and remember-me tokens, and the shield that checks them at start-up."""

from __future__ import annotations

import typing as t

from .._quiet_after import QuietAfter
from ..shields import ORDER_IDENTITY, Shield
from ._remember import RememberTokens
from ._settings import LoginSettings, PasswordSettings

if t.TYPE_CHECKING:  # pragma: no cover
    from ...app import Flask
    from ...wrappers import Request, Response
    from ..stores import Store
    from .manager import LoginManager

#: The ``app.extensions`` key of the app's :class:`LoginState`.
STATE_KEY = "hermetic.login.state"
#: The environ key of the remember-me cookie to send: ``(value, max_age)``,
#: a ``None`` value deleting it.
COOKIE_KEY = "hermetic.remember_cookie"
#: The environ key set once the response's cookies are written: a user
#: resolved later (teardown) does not read the remember-me cookie, since a
#: rotated cookie could no longer be sent.
AFTER_KEY = "hermetic.login.after_done"


class LoginState:
    """One app's checked login settings and its remember-me tokens (made on first use)."""

    __slots__ = ("manager", "settings", "store", "tokens")

    def __init__(self, manager: LoginManager, settings: LoginSettings) -> None:
        self.manager = manager
        self.settings = settings
        self.store: Store | None = manager._store
        self.tokens: RememberTokens | None = None

    @property
    def login_view(self) -> str | None:
        """Return the login page's endpoint: the manager's, else ``LOGIN_VIEW``."""
        return self.manager.login_view or self.settings.login_view

    @property
    def refresh_view(self) -> str | None:
        """Return the re-login page's endpoint: the manager's, else ``LOGIN_REFRESH_VIEW``."""
        return self.manager.refresh_view or self.settings.refresh_view

    def remember_tokens(self, app: Flask, now: t.Callable[[], float]) -> RememberTokens:
        """Return the app's remember-me tokens, on its store."""
        if self.tokens is None:
            store = self.store
            if store is None:
                from ..stores import store_for

                store = store_for(app)
            settings = self.settings
            self.tokens = RememberTokens(
                store, settings.remember_duration, grace=settings.rotation_grace, now=now
            )
        return self.tokens


def state_for(manager: LoginManager, app: Flask) -> LoginState:
    """Return ``app``'s login state, reading its settings if the pipeline has not yet."""
    state = app.extensions.get(STATE_KEY)
    if state is None:
        state = app.extensions[STATE_KEY] = LoginState(
            manager, LoginSettings.from_config(app.config)
        )
    return t.cast(LoginState, state)


class LoginShield(Shield):
    """Check the login settings at start-up; send the remember-me cookie a request decided.

    It has one step, ``after``: the user of a request is resolved on first
    access to ``current_user``, not by the pipeline. It checks the
    ``LOGIN_*``, ``REMEMBER_*`` and ``PASSWORD_HASH_*`` values once per app
    (``Hermetic.security_check``, the first request), so a wrong one stops
    the app naming the key. As a pipeline step rather than an
    ``after_request`` hook it runs after every hook of the app, costs one
    call when there is no cookie to send, and cannot be exempted.
    """

    name = "login"
    order = ORDER_IDENTITY
    exemptable = False
    #: Not named by ``hermetic routes``: it refuses nothing.
    listed = False
    settings_class = LoginSettings
    settings: LoginSettings

    def __init__(self, manager: LoginManager) -> None:
        self.manager = manager

    def setup(self, app: Flask, settings: LoginSettings) -> None:
        """Check the password settings too; give the app a login state with these settings."""
        PasswordSettings.from_config(app.config)
        state = app.extensions.get(STATE_KEY)
        if state is None or state.settings != settings:
            app.extensions[STATE_KEY] = LoginState(self.manager, settings)

    def quiet_after(
        self, endpoint: str | None, view: t.Callable[..., t.Any] | None
    ) -> QuietAfter | None:
        """With no cookie decided on, :meth:`after` only marks the environ."""
        if type(self).after is not LoginShield.after:
            return None
        # The remember-me cookie is all it looks at: a redirect is no different.
        return QuietAfter(marks=((AFTER_KEY, True),), guards=(COOKIE_KEY,), redirects=True)

    def after(self, request: Request, response: Response) -> Response:
        """Write (or delete) the remember-me cookie the request decided on, if any."""
        environ = request.environ
        environ[AFTER_KEY] = True
        pending = environ.pop(COOKIE_KEY, None)
        if pending is None:
            return response
        settings = self.settings
        name, options = settings.remember_cookie_name, settings.cookie_options
        value, max_age = pending
        if value is None:
            response.delete_cookie(name, **options)
        else:
            response.set_cookie(name, value, max_age=max_age, **options)
        response.vary.add("Cookie")
        return response
