"""The start-up check: routes that need a user, and no way to find one."""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:  # pragma: no cover
    from ...app import Flask

_FIX = (
    " Fix: register a user loader (@app.login_manager.user_loader, a function from a"
    " user id to a user or None) and call login_user(user) in the login view; an app"
    " that keeps session['user_id'] itself can instead add"
    " app.login_manager.add_provider(SessionUserIdProvider(load_user))"
    " (hermetic.security.auth.providers; see docs/moving-from-flask.md)."
)


def routes_without_user_source(app: Flask) -> list[str]:
    """Return the endpoints that need a login while the app cannot load any user."""
    from ..policy import policy_of
    from .manager import EXTENSION_KEY

    manager = app.extensions.get(EXTENSION_KEY)
    if manager is not None and (manager._load_user is not None or manager.providers):
        return []
    return sorted(
        endpoint
        for endpoint, view in app.view_functions.items()
        if (policy := policy_of(view)) is not None and policy.login and not policy.public
    )


def user_source_problem(app: Flask) -> str | None:
    """Return the start-up problem for :func:`routes_without_user_source`, or ``None``."""
    missing = routes_without_user_source(app)
    if not missing:
        return None
    return (
        "These routes need a logged-in user, but the LoginManager has no user loader and"
        " no identity provider, so every request to them is refused (401) even after the"
        " app's own login: " + ", ".join(missing) + "." + _FIX
    )
