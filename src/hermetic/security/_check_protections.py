"""``hermetic check``: the findings about the protections (which shields
run; authorization policies, user loading, CSRF, JWT; the Flask extensions
that take over part of Hermetic); see :mod:`.checks`."""

from __future__ import annotations

import typing as t

from ._check_findings import ERROR, INFO, WARNING, Finding, declared
from ._csrf_settings import CSRFSettings

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask

#: The shields of :class:`~hermetic.Hermetic`, by class name, and what each protects.
PROTECTIONS = {
    "ProxyShield": "trusted proxies",
    "HostShield": "trusted hosts",
    "InputLimitsShield": "input limits",
    "CSRFShield": "CSRF protection",
    "AuthorizationShield": "authorization policies",
    "HeadersShield": "security headers",
}


def check_policies(app: Flask, shields: set[str]) -> t.Iterator[Finding]:
    if "AuthorizationShield" not in shields:
        return
    try:
        from .policy import routes_without_policy
    except ImportError:  # pragma: no cover - policy is part of the package
        return
    missing = routes_without_policy(app)
    if missing:
        yield Finding(
            WARNING,
            "routes_without_policy",
            "These routes declare no authorization policy: "
            + ", ".join(missing)
            + ". Fix: decorate each view with @public, @login_required or @requires(...),"
            " then set AUTHZ_DEFAULT = 'deny'.",
        )


def check_user_source(app: Flask, shields: set[str]) -> t.Iterator[Finding]:
    if "AuthorizationShield" not in shields:
        return
    from .auth._startup import user_source_problem

    try:
        problem = user_source_problem(app)
    except ImportError:  # pragma: no cover - policy is part of the package
        return
    if problem:
        yield Finding(ERROR, "no_user_loader", problem)


def check_csrf(app: Flask, shields: set[str]) -> t.Iterator[Finding]:
    if "CSRFShield" not in shields:
        return
    settings = declared(CSRFSettings, app.config)
    if settings is not None and not settings.enabled:
        yield Finding(
            WARNING,
            "csrf",
            "CSRF_ENABLED is False: other sites can submit forms as your logged-in users."
            " Fix: remove CSRF_ENABLED (and exempt only token-authenticated API routes).",
        )
    yield from check_flask_wtf(app, settings)


def check_flask_wtf(app: Flask, settings: CSRFSettings | None) -> t.Iterator[Finding]:
    """Name how the CSRF shield and Flask-WTF share the work (one notice)."""
    from ._wtf_bridge import detect

    wtf = detect(app)
    if wtf is None or settings is None or not settings.enabled:
        return
    text = wtf.describe(hermetic_field=settings.field_name, hermetic_header=settings.header_name)
    # A warning, as at start-up, when views exempt from Flask-WTF now need a token.
    yield Finding(WARNING if wtf.wtf_exempt else INFO, "csrf_flask_wtf", text)


def check_jwt(app: Flask) -> t.Iterator[Finding]:
    auth = app.extensions.get("hermetic.jwt")
    problem = getattr(auth, "problem", None)
    if problem:
        yield Finding(ERROR, "jwt_accepts_no_tokens", problem)


def check_companions(app: Flask) -> t.Iterator[Finding]:
    """Name each Flask extension that takes over part of Hermetic, and what changes."""
    from .coexistence import companions

    if not hasattr(app, "security_check"):
        return  # a plain Flask app: Hermetic's guarantees are not on to keep
    for companion in companions(app):
        yield Finding(companion.level, companion.id, companion.message)


def check_profile(app: Flask, shields: set[str]) -> t.Iterator[Finding]:
    off = [name for cls, name in PROTECTIONS.items() if cls not in shields]
    if off:
        kind = type(app).__name__
        yield Finding(
            INFO,
            "protections_off",
            f"This {kind} app runs without: {', '.join(off)}."
            " Fix: use hermetic.Hermetic, or add each shield with shield.init_app(app).",
        )
