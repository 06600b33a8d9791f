"""One app's login settings and remember-me tokens, and the shield that checks them at start-up."""

from __future__ import annotations

import typing as t

from ..shields import ORDER_IDENTITY, Shield
from ._remember import RememberTokens
from ._settings import LoginSettings, PasswordSettings

if t.TYPE_CHECKING:  # pragma: no cover
    from ...app import Flask
    from ..stores import Store
    from .manager import LoginManager

#: The ``app.extensions`` key of the app's :class:`LoginState`.
STATE_KEY = "hermetic.login.state"


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
    """Read and check the login and password settings once per app, with the other shields.

    It has no step: the user of a request is resolved on first access to
    ``current_user``, not by the pipeline. It exists so that a wrong
    ``LOGIN_*``, ``REMEMBER_*`` or ``PASSWORD_HASH_*`` value stops the app at
    start-up (``Hermetic.security_check``, the first request), naming the key.
    """

    name = "login"
    order = ORDER_IDENTITY
    exemptable = False
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

    def applies_to(self, endpoint: str | None, view: t.Callable[..., t.Any] | None) -> bool:
        """Run on no route (no step): ``hermetic routes`` does not list it."""
        return False
