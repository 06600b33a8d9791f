"""``Secure`` cookies on plain HTTP: browsers drop them, so logins silently fail.

Said once when the development server starts on a non-loopback host without
TLS, and logged once the first time such a cookie is set on a plain-HTTP,
non-loopback request.
"""

from __future__ import annotations

import typing as t
from operator import itemgetter
from urllib.parse import urlsplit

from ..globals import _cv_request

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask
    from ..wrappers import Request
    from .profile import Hermetic

#: The schemes ``request.is_secure`` counts as secure.
_SECURE_SCHEMES = ("https", "wss")
_NAME = itemgetter(0)

_FIX = (
    "Fix: browse via http://127.0.0.1 (browsers keep Secure cookies on localhost),"
    " serve HTTPS (hermetic run --cert adhoc), or, for development only, set"
    " SESSION_COOKIE_SECURE = False (and REMEMBER_COOKIE_SECURE = False)."
)


def _is_loopback(host: str) -> bool:
    from .._debugger import is_loopback_host

    return is_loopback_host(host)


def insecure_cookie_notice(app: Flask, host: str, *, ssl: bool = False) -> str | None:
    """Return the start-up notice for serving ``Secure`` cookies over HTTP on ``host``."""
    if ssl or not app.config.get("SESSION_COOKIE_SECURE") or _is_loopback(host):
        return None
    return (
        f"The session cookie is Secure (SESSION_COOKIE_SECURE = True) but this server"
        f" speaks plain HTTP on {host!r}: a browser that opens http://<this machine's"
        " address>:<port> drops the cookie, so sessions and logins silently fail. " + _FIX
    )


def warn_secure_cookie_on_http(app: Flask, request: Request, set_cookies: list[str]) -> bool:
    """Log once if ``set_cookies`` (``Set-Cookie`` values) hold a ``Secure`` cookie on a plain-HTTP LAN request.

    Return ``True`` when it logged (the caller then stops watching).
    """
    if request.is_secure:
        return False
    host = urlsplit("//" + request.host).hostname or ""
    if _is_loopback(host):
        return False
    names = [
        value.partition("=")[0].strip() for value in set_cookies if "; secure" in value.lower()
    ]
    if not names:
        return False
    # Names and host only: never a cookie value. %r escapes control characters.
    app.logger.warning(
        "A Secure cookie (%s) was set on a plain-HTTP request to %r: the browser drops"
        " it, so the session or login will not stick. %s (Logged once.)",
        ", ".join(repr(n[:64]) for n in names),
        host[:100],
        _FIX,
    )
    return True


def watch_cookies(app: Hermetic, environ: dict[str, t.Any], start_response: t.Any) -> t.Any:
    """Wrap ``start_response`` to look at the cookies a plain-HTTP response sets.

    Called for a request the server received over plain HTTP; the scheme is
    read again when the response starts, as the proxy shield left it (a
    request forwarded from an HTTPS proxy is not plain HTTP). Only the
    ``Set-Cookie`` names of the final header list are read.
    """

    def start_watched(status: str, headers: list[tuple[str, str]], *exc_info: t.Any) -> t.Any:
        if (
            app._watch_insecure_cookies
            and environ.get("wsgi.url_scheme") not in _SECURE_SCHEMES
            # Most responses set no cookie: the names are looked at in C.
            and "set-cookie" in map(str.lower, map(_NAME, headers))
        ):
            set_cookies = [value for name, value in headers if name.lower() == "set-cookie"]
            ctx = _cv_request.get(None)
            if (
                set_cookies
                and ctx is not None
                and warn_secure_cookie_on_http(app, ctx.request, set_cookies)
            ):
                app._watch_insecure_cookies = False
        return start_response(status, headers, *exc_info)

    return start_watched
