"""Flask 3.1's own configuration keys, declared for the reference and for ``Hermetic``.

The core app reads these keys from ``app.config`` exactly as Flask does
(the config stays a dict); this declaration documents them, lists their
Flask defaults (``App.default_config``) and the safer values ``Hermetic``
starts with. ``TRUSTED_HOSTS`` is declared by the host check
(:mod:`hermetic.security.proxies`), which reads it too.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from ._declare import Settings, setting

__all__ = ["CoreSettings"]


@dataclasses.dataclass(frozen=True)
class CoreSettings(
    Settings,
    feature="core",
    title="Flask core",
    prefixes=("SESSION_COOKIE_",),
):
    """The keys of Flask's ``default_config``."""

    debug: bool | None = setting(
        "DEBUG",
        default=None,
        doc="Debug mode (reloader, debugger); set by `--debug` or `FLASK_DEBUG`.",
    )
    testing: bool = setting(
        "TESTING", default=False, doc="Testing mode: exceptions propagate to the test client."
    )
    propagate_exceptions: bool | None = setting(
        "PROPAGATE_EXCEPTIONS",
        default=None,
        doc="Re-raise unhandled exceptions instead of answering 500 (`None`: when testing or debugging).",
    )
    secret_key: str | bytes | None = setting(
        "SECRET_KEY",
        default=None,
        secret=True,
        doc="The key that signs (Flask) or encrypts (Hermetic) the session cookie and tokens.",
    )
    secret_key_fallbacks: list[str | bytes] | None = setting(
        "SECRET_KEY_FALLBACKS",
        default=None,
        secret=True,
        doc="Older secret keys still accepted for reading, newest first (key rotation).",
    )
    permanent_session_lifetime: timedelta | int = setting(
        "PERMANENT_SESSION_LIFETIME",
        default=timedelta(days=31),
        secure_default=timedelta(hours=12),
        doc="Lifetime of a permanent session (a `timedelta` or seconds).",
    )
    use_x_sendfile: bool = setting(
        "USE_X_SENDFILE", default=False, doc="Let the server send files (`X-Sendfile` header)."
    )
    server_name: str | None = setting(
        "SERVER_NAME",
        default=None,
        doc="The host (and port) the app serves; used for URL building.",
    )
    application_root: str = setting(
        "APPLICATION_ROOT", default="/", doc="The path the app is mounted at (session cookie path)."
    )
    session_cookie_name: str = setting(
        "SESSION_COOKIE_NAME", default="session", doc="The session cookie's name."
    )
    session_cookie_domain: str | None = setting(
        "SESSION_COOKIE_DOMAIN",
        default=None,
        doc="The session cookie's `Domain` (`None`: this host only).",
    )
    session_cookie_path: str | None = setting(
        "SESSION_COOKIE_PATH",
        default=None,
        doc="The session cookie's `Path` (`None`: `APPLICATION_ROOT`).",
    )
    session_cookie_httponly: bool = setting(
        "SESSION_COOKIE_HTTPONLY",
        default=True,
        secure_default=True,
        doc="Keep the session cookie from scripts (`HttpOnly`).",
    )
    session_cookie_secure: bool = setting(
        "SESSION_COOKIE_SECURE",
        default=False,
        secure_default=True,
        doc="Send the session cookie over HTTPS only (`Secure`).",
    )
    session_cookie_partitioned: bool = setting(
        "SESSION_COOKIE_PARTITIONED",
        default=False,
        doc="Set `Partitioned` (CHIPS) on the session cookie.",
    )
    session_cookie_samesite: str | None = setting(
        "SESSION_COOKIE_SAMESITE",
        default=None,
        secure_default="Lax",
        doc="The session cookie's `SameSite` (`'Lax'`, `'Strict'` or `None`).",
    )
    session_refresh_each_request: bool = setting(
        "SESSION_REFRESH_EACH_REQUEST",
        default=True,
        doc="Send a permanent session's cookie again on every request.",
    )
    max_content_length: int | None = setting(
        "MAX_CONTENT_LENGTH",
        default=None,
        secure_default=1024 * 1024,
        doc="Largest request body read, in bytes (`None`: no limit); larger is a 413.",
    )
    max_form_memory_size: int | None = setting(
        "MAX_FORM_MEMORY_SIZE",
        default=500_000,
        secure_default=128 * 1024,
        doc="Largest non-file form field, in bytes; larger is a 413.",
    )
    max_form_parts: int | None = setting(
        "MAX_FORM_PARTS",
        default=1_000,
        secure_default=100,
        doc="Most fields and files in a multipart form; more is a 413.",
    )
    send_file_max_age_default: timedelta | int | None = setting(
        "SEND_FILE_MAX_AGE_DEFAULT",
        default=None,
        doc="`Cache-Control` max age of `send_file` and static files (`None`: conditional requests only).",
    )
    trap_bad_request_errors: bool | None = setting(
        "TRAP_BAD_REQUEST_ERRORS",
        default=None,
        doc="Raise bad-request errors (a missing form key) instead of answering 400 (`None`: in debug).",
    )
    trap_http_exceptions: bool = setting(
        "TRAP_HTTP_EXCEPTIONS",
        default=False,
        doc="Raise HTTP exceptions instead of answering them.",
    )
    explain_template_loading: bool = setting(
        "EXPLAIN_TEMPLATE_LOADING", default=False, doc="Log how each template was found."
    )
    preferred_url_scheme: str = setting(
        "PREFERRED_URL_SCHEME",
        default="http",
        doc="The scheme of external URLs built outside a request.",
    )
    templates_auto_reload: bool | None = setting(
        "TEMPLATES_AUTO_RELOAD",
        default=None,
        doc="Reload changed templates (`None`: in debug).",
    )
    max_cookie_size: int = setting(
        "MAX_COOKIE_SIZE", default=4093, doc="Warn when a cookie is larger than this (0: never)."
    )
    provide_automatic_options: bool = setting(
        "PROVIDE_AUTOMATIC_OPTIONS",
        default=True,
        doc="Answer `OPTIONS` on every route automatically.",
    )
