"""``hermetic check``: the findings about the app's configuration values
(secret key, debug, cookies, headers, hosts and proxies, CORS, input
limits, invalid and unknown settings); see :mod:`.checks`."""

from __future__ import annotations

import typing as t

from ._check_findings import ERROR, WARNING, Finding, declared
from ._header_settings import HeadersSettings
from .proxies import HostSettings, ProxySettings
from .secrets import check_secret_keys, settle_secret_key

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask

#: More reverse proxies than this in ``TRUSTED_PROXY_HOPS`` is reported.
MAX_PLAUSIBLE_PROXY_HOPS = 2


def check_secrets(app: Flask) -> t.Iterator[Finding]:
    origins = getattr(app, "secret_origins", None)
    if origins is not None:
        origins = app.secret_origins = settle_secret_key(app.config, origins)  # type: ignore[attr-defined]  # attribute hermetic sets on the app
    for problem in check_secret_keys(app.config, origins):
        yield Finding(ERROR, "secret_key", problem)


def check_debug(app: Flask) -> t.Iterator[Finding]:
    if app.debug:
        yield Finding(
            ERROR,
            "debug",
            "Debug mode is on: the interactive debugger runs code for whoever can reach it."
            " Fix: unset FLASK_DEBUG / HERMETIC_DEBUG and set DEBUG = False in production.",
        )


def check_cookies(app: Flask) -> t.Iterator[Finding]:
    if not app.config.get("SESSION_COOKIE_SECURE"):
        yield Finding(
            WARNING,
            "session_cookie_secure",
            "SESSION_COOKIE_SECURE is off: the session cookie is also sent over plain HTTP."
            " Fix: serve the app over HTTPS and set SESSION_COOKIE_SECURE = True.",
        )


def check_headers(app: Flask, shields: set[str]) -> t.Iterator[Finding]:
    if "HeadersShield" not in shields:
        return
    settings = declared(HeadersSettings, app.config)
    if settings is None:
        return
    if not settings.hsts:
        yield Finding(
            WARNING,
            "hsts",
            "SECURITY_HSTS is off: browsers may reach the site over plain HTTP."
            " Fix: remove SECURITY_HSTS from the config to use the default"
            " (max-age=63072000; includeSubDomains).",
        )
    if settings.csp is None:
        yield Finding(
            WARNING,
            "csp",
            "SECURITY_CSP is None: no Content-Security-Policy limits injected scripts."
            " Fix: remove SECURITY_CSP to use the default policy, or set one.",
        )


def check_hosts_and_proxies(app: Flask) -> t.Iterator[Finding]:
    hosts = declared(HostSettings, app.config)
    if hosts is not None and not hosts.trusted_hosts:
        yield Finding(
            WARNING,
            "trusted_hosts",
            "TRUSTED_HOSTS is not set: any Host header is accepted (password-reset links"
            " and absolute URLs can be poisoned). Fix: TRUSTED_HOSTS = ['example.com'].",
        )
    proxies = declared(ProxySettings, app.config)
    hops = list(proxies.proxy_hops.values()) if proxies is not None else []
    if hops and max(hops) > MAX_PLAUSIBLE_PROXY_HOPS:
        yield Finding(
            WARNING,
            "proxy_hops",
            f"TRUSTED_PROXY_HOPS trusts {max(hops)} proxies: clients can forge"
            " X-Forwarded-* values when fewer proxies are really in front of the app."
            " Fix: set it to the number of reverse proxies you run (usually 1).",
        )


def check_cors(app: Flask) -> t.Iterator[Finding]:
    origins = app.config.get("CORS_ORIGINS")
    wildcard = origins == "*" or (
        isinstance(origins, (list, tuple, set, frozenset)) and "*" in origins
    )
    credentials = app.config.get("CORS_ALLOW_CREDENTIALS") or app.config.get(
        "CORS_SUPPORTS_CREDENTIALS"
    )
    if wildcard and credentials:
        yield Finding(
            ERROR,
            "cors_wildcard_credentials",
            "CORS allows any origin with credentials: every site can make logged-in"
            " requests and read the answers. Fix: list the allowed origins in CORS_ORIGINS.",
        )


def check_limits(app: Flask) -> t.Iterator[Finding]:
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        yield Finding(
            WARNING,
            "max_content_length",
            "MAX_CONTENT_LENGTH is None: request bodies of any size are read."
            " Fix: MAX_CONTENT_LENGTH = 1024 * 1024 (or what your largest upload needs).",
        )


def check_settings(app: Flask) -> t.Iterator[Finding]:
    """Report invalid settings of the installed shields, and keys nothing reads."""
    from ..settings import unknown_keys

    shields = getattr(app, "shields", None)
    for problem in shields.configure(app) if shields is not None else ():
        yield Finding(ERROR, "invalid_setting", problem)
    from .coexistence import ALL_EXTENSION_KEYS

    for unknown in unknown_keys(app.config):
        if unknown.key in ALL_EXTENSION_KEYS:
            continue  # an extension's documented key (Flask-Login, Flask-JWT-Extended, ...)
        yield Finding(
            WARNING,
            "unknown_setting",
            unknown.message + " Fix: correct or remove the key (docs/configuration.md lists"
            " every setting); ignore this if a Flask extension reads it.",
        )
