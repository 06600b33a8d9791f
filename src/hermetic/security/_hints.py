"""What the developer can do about each refusal reason (shown in debug mode).

Keyed by the ``reason`` constant of the shield that refuses; CSRF hints,
which name the route and the configured field, live in ``_csrf_hints.py``.
"""

from __future__ import annotations

HINTS: dict[str, str] = {
    # proxies.py
    "untrusted_host": (
        "The Host header is not in TRUSTED_HOSTS. Fix: add the host name this app is"
        " served under to TRUSTED_HOSTS; behind a proxy, set TRUSTED_PROXY_HOPS so"
        " X-Forwarded-Host is read."
    ),
    # auth/_current_user.py, auth/manager.py, policy.py
    "login_required": (
        "This route needs a logged-in user and none was found. Fix: log in first"
        " (login_user(user) in your login view, with a user loader registered on the"
        " LoginManager), or mark the route @public. Set LOGIN_VIEW so browsers are"
        " redirected to the login page."
    ),
    "fresh_login_required": (
        "This route needs a fresh login (not from a remember-me cookie). Fix: ask the"
        " user to log in again, or use @login_required instead."
    ),
    "forbidden": (
        "The user lacks a permission the route's policy requires (see `hermetic routes`"
        " for the policy). Fix: grant the role or permission (AUTHZ_ROLES), or change"
        " the route's @requires(...)."
    ),
    # limits.py
    "body_too_large": "The body is larger than MAX_CONTENT_LENGTH. Fix: raise it for the app.",
    "too_large": "A body, field or file is over its limit. Fix: raise MAX_CONTENT_LENGTH"
    " or the LIMITS_* setting named in the audit line.",
    "too_many_fields": "More form fields than MAX_FORM_PARTS. Fix: raise MAX_FORM_PARTS.",
    "field_too_large": "A form field is over MAX_FORM_MEMORY_SIZE. Fix: raise it.",
    "too_many_files": "More files than LIMITS_MAX_FILES. Fix: raise LIMITS_MAX_FILES.",
    "json_too_deep": "The JSON nests deeper than LIMITS_JSON_MAX_DEPTH. Fix: raise it.",
    # ratelimit/
    "exceeded": (
        "A rate limit of this route was reached (see `hermetic routes`). Fix: raise the"
        " limit in @rate_limit(...) or RATELIMIT_DEFAULT; in tests, set"
        " RATELIMIT_ENABLED = False."
    ),
    "storage_unavailable": (
        "The rate-limit storage cannot be reached and limits fail closed. Fix: start"
        " the storage (RATELIMIT_STORAGE_URI / REDIS_URL), or set"
        " RATELIMIT_ON_STORAGE_ERROR = 'open'."
    ),
    # cors.py
    "origin_not_allowed": "The Origin is not in CORS_ORIGINS. Fix: add it if it is yours.",
}


def hint_for(reason: str | None) -> str | None:
    """Return the hint for ``reason``, or ``None``."""
    return HINTS.get(reason) if reason else None
