"""Redirects that stay on this site: no open redirect through ``?next=``.

:func:`is_safe_redirect_target` judges a target taken from a request:
relative paths starting with a single ``/`` pass; absolute ``http(s)`` URLs
pass only for the request's own host or a host listed in
``REDIRECT_ALLOWED_HOSTS`` (default ``()``; a leading dot matches
subdomains). Everything a browser might read as another site -- ``//evil``,
``/\\evil``, ``/\\t/evil``, ``javascript:``, ``user@host`` -- fails, and so
do percent-encoded forms of these tricks.
"""

from __future__ import annotations

import dataclasses
import typing as t
from urllib.parse import unquote, urlsplit

from werkzeug.sansio.utils import host_is_trusted

from ..globals import _cv_app, _cv_request
from ..settings import Settings, SettingsError, setting
from .audit import audit

if t.TYPE_CHECKING:  # pragma: no cover
    from werkzeug.wrappers import Response as BaseResponse

__all__ = [
    "RedirectSettings",
    "is_safe_redirect_target",
    "next_url",
    "safe_redirect",
]

#: The audit reason when a target is refused.
REASON_UNSAFE_TARGET = "unsafe_target"

_ALLOWED_SCHEMES = frozenset({"http", "https"})
# How many rounds of percent-decoding are undone before judging.
_MAX_DECODE_ROUNDS = 3


def _has_control_or_space(value: str) -> bool:
    # SECURITY: browsers drop tabs and newlines inside URLs and strip
    # leading C0 controls and spaces, so "/\t/evil" becomes "//evil".
    # Nothing from that range belongs in a redirect target: refuse it all.
    return any(ch <= " " or "\x7f" <= ch <= "\x9f" or ch.isspace() for ch in value)


def _is_safe_path(target: str) -> bool:
    """Judge a relative path and each of its percent-decoded forms."""
    current = target
    for _ in range(_MAX_DECODE_ROUNDS + 1):
        path = current.partition("?")[0].partition("#")[0]
        # SECURITY: "//evil" and "/\evil" are other hosts to a browser; a
        # later hop that decodes "/%2F%2Fevil" or "/%5Cevil" makes them so.
        if (
            path.startswith("//")
            or "\\" in path
            or any(ch < " " or "\x7f" <= ch <= "\x9f" for ch in path)
        ):
            return False
        decoded = unquote(current)
        if decoded == current:
            return True
        current = decoded
    # SECURITY: still changing after several rounds of decoding: nobody
    # encodes a legitimate target that deep, so fail closed.
    return False


def _is_absolute_ok(value: str, host: str | None, allowed_hosts: t.Collection[str]) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    if parts.scheme.lower() not in _ALLOWED_SCHEMES:
        # javascript:, data:, vbscript:, and relative paths without a "/".
        return False
    netloc = parts.netloc
    if not netloc or "@" in netloc or "%" in netloc:
        # "https:evil", "https:/evil" (read as https://evil by browsers),
        # "https://good@evil" (userinfo), encoded hosts.
        return False
    if isinstance(allowed_hosts, str):
        allowed_hosts = (allowed_hosts,)
    trusted = [h for h in (host, *allowed_hosts) if h]
    # SECURITY: with no host to compare against, no absolute URL is safe.
    return bool(trusted) and host_is_trusted(netloc.lower(), trusted)


def is_safe_redirect_target(
    target: str | None,
    *,
    host: str | None = None,
    allowed_hosts: t.Collection[str] = (),
) -> bool:
    """Tell whether redirecting to ``target`` keeps the user on this site.

    :param target: The URL, usually from a query string or form field.
    :param host: The request's host (``host[:port]``); absolute URLs to it
        pass. Default ``None``: only relative paths pass.
    :param allowed_hosts: Other hosts absolute URLs may point to; a leading
        dot matches subdomains, ports are ignored. Default ``()``.
    """
    if not isinstance(target, str) or not target:
        return False
    if _has_control_or_space(target) or "\\" in target:
        # SECURITY: browsers read a backslash as "/" in http(s) URLs.
        return False
    if target[0] == "/":
        return _is_safe_path(target)
    return _is_absolute_ok(target, host, allowed_hosts)


def _hosts(value: tuple[str, ...]) -> tuple[str, ...]:
    for host in value:
        if not host or "/" in host or "@" in host or any(c.isspace() for c in host):
            raise SettingsError(
                f"REDIRECT_ALLOWED_HOSTS holds {host!r}, which is not a host name."
                ' Fix: write ["example.com", ".example.org"].',
                key="REDIRECT_ALLOWED_HOSTS",
            )
    return value


@dataclasses.dataclass(frozen=True)
class RedirectSettings(
    Settings, feature="redirects", title="Safe redirects", prefixes=("REDIRECT_",)
):
    """The settings of :func:`safe_redirect` and :func:`next_url`."""

    allowed_hosts: tuple[str, ...] = setting(
        "REDIRECT_ALLOWED_HOSTS",
        default=(),
        parse=_hosts,
        doc="Other hosts an absolute redirect target may name (a leading dot"
        " matches subdomains); the request's own host always passes.",
    )


#: Where an app keeps its :class:`RedirectSettings`.
_EXTENSION_KEY = "hermetic.redirects"


def redirect_settings(app: t.Any) -> RedirectSettings:
    """Return ``app``'s checked :class:`RedirectSettings`, read from its config once."""
    settings = app.extensions.get(_EXTENSION_KEY)
    if settings is None:
        from .errors import ConfigurationError

        try:
            settings = RedirectSettings.from_config(app.config)
        except SettingsError as e:
            raise ConfigurationError(str(e), key=e.key) from None
        app.extensions[_EXTENSION_KEY] = settings
    return t.cast(RedirectSettings, settings)


def _context() -> tuple[str | None, t.Collection[str]]:
    ctx = _cv_request.get(None)
    host = ctx.request.host if ctx is not None else None
    app_ctx = _cv_app.get(None)
    allowed = redirect_settings(app_ctx.app).allowed_hosts if app_ctx else ()
    return host, allowed


def _judge(target: str | None) -> bool:
    host, allowed = _context()
    if is_safe_redirect_target(target, host=host, allowed_hosts=allowed):
        return True
    if target:
        audit("redirect", reason=REASON_UNSAFE_TARGET, target=target)
    return False


def safe_redirect(target: str | None, fallback: str = "/", code: int = 302) -> BaseResponse:
    """Redirect to ``target`` if it is on this site, else to ``fallback``.

    ``fallback`` is trusted: pass a URL the app built, such as
    ``url_for("index")``. A refused target is an audit event ``redirect``.
    """
    from ..helpers import redirect

    location = target if target is not None and _judge(target) else fallback
    return redirect(location, code=code)


def next_url(param: str = "next", fallback: str | None = None) -> str | None:
    """Return the request's ``param`` (query, then form) if safe, else ``fallback``.

    Default parameter ``"next"``, default fallback ``None``. A present but
    unsafe value is an audit event ``redirect``.
    """
    request = _cv_request.get().request
    target = request.args.get(param)
    if target is None and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        target = request.form.get(param)
    if target is None:
        return fallback
    return target if _judge(target) else fallback
