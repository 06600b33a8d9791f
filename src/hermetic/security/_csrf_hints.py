"""What a developer changes when the CSRF shield refuses a request (one hint per reason)."""

from __future__ import annotations

import typing as t

from ..globals import _cv_request
from ._csrf_settings import csrf_settings

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask

# bandit B105 (the keys below): refusal reasons mapped to hint texts, not passwords.
_HINTS = {
    "no_token": (  # nosec B105
        "{route} got a cookie-authenticated {method} without a CSRF token. Fix: put"
        ' <input type="hidden" name="{field}" value="{{{{ csrf_token() }}}}"> in the form,'
        " or send the {header} header from fetch() with a token from csrf_token() (e.g."
        ' rendered in <meta name="csrf-token">). Tests: app.test_client() passes this'
        " check unless enforce_csrf=True."
    ),
    "bad_token": (  # nosec B105
        "{route}: the CSRF token does not belong to this session (rendered for another"
        " session, altered, or from before a login, which rotates it). Fix: render the"
        " form after login and send the token from csrf_token() of the same session."
    ),
    "no_session_token": (  # nosec B105
        "{route}: a CSRF token was sent but the session holds no CSRF secret: the session"
        " cookie was not sent back or has expired (browsers drop a Secure cookie on plain"
        " HTTP; for local HTTP development set SESSION_COOKIE_SECURE = False)."
    ),
    "bad_wtf_token": (  # nosec B105
        "{route}: the Flask-WTF CSRF token was refused by Flask-WTF's validate_csrf (its"
        " reason is in the audit line's wtf_problem: expired after WTF_CSRF_TIME_LIMIT,"
        " rendered for another session, or from before a login, which drops it). Fix:"
        " render the form (form.hidden_tag() or csrf_token()) in the same session, after"
        " login."
    ),
    "cross_site": (
        "{route}: Sec-Fetch-Site says the request came from another site. Fix: if that"
        " origin is yours, add it to CSRF_TRUSTED_ORIGINS."
    ),
    "bad_origin": (
        "{route}: the Origin header is neither this site nor in CSRF_TRUSTED_ORIGINS."
        " Fix: add the origin if it is yours; behind a proxy set TRUSTED_PROXY_HOPS so"
        " the host this app sees is the one the browser used."
    ),
}


def csrf_hint(reason: str) -> str | None:
    """Return what to change for a refusal of ``reason`` on the current request."""
    template = _HINTS.get(reason)
    ctx = _cv_request.get(None)
    if template is None or ctx is None:
        return None
    request = ctx.request
    settings = csrf_settings(ctx.app)
    hint = template.format(
        route=f"Route {request.endpoint!r} ({request.method} {request.path[:100]})",
        method=request.method,
        field=settings.field_name,
        header=settings.header_name,
    )
    return hint + _flask_wtf_note(ctx.app, reason)


def _flask_wtf_note(app: Flask, reason: str) -> str:
    """Say which token Hermetic looked for when the app uses Flask-WTF."""
    shields = app.shields
    shield = shields.get("csrf") if shields is not None else None
    wtf = getattr(shield, "wtf", None)
    if wtf is None or reason not in ("no_token", "bad_token", "no_session_token"):
        return ""
    headers = " or ".join(wtf.headers) or "no header (WTF_CSRF_HEADERS is empty)"
    if wtf.mode == "protect":
        return (
            f" This app uses Flask-WTF's CSRFProtect: Hermetic looked for Flask-WTF's token in"
            f" the form field {wtf.field_name!r} (form.hidden_tag() renders it) or the header"
            f" {headers}. A view exempt from Flask-WTF (@csrf.exempt) is still checked by"
            ' Hermetic: add @exempt("csrf") from hermetic.security if it must take requests'
            " without a token."
        )
    return (
        f" Flask-WTF is in use: Hermetic accepts its own token or Flask-WTF's (form field"
        f" {wtf.field_name!r}, header {headers})."
    )
