"""Trusted proxies and trusted hosts.

:class:`ProxyShield` believes ``X-Forwarded-*`` headers only from the number
of proxies the deployment declares (``TRUSTED_PROXY_HOPS``, default ``0``:
never), by running Werkzeug's :class:`~werkzeug.middleware.proxy_fix.ProxyFix`
on the environ before the request object exists. :class:`HostShield` refuses
a ``Host`` that is not in ``TRUSTED_HOSTS`` (Flask's key; default ``None``:
any host).

Their settings are declared by :class:`ProxySettings` and
:class:`HostSettings` and read once per app by the shields pipeline (at the
first request or ``security_check``), so settings made after ``init_app``
count.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import typing as t

from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.sansio.utils import get_host, host_is_trusted

from ..settings import Settings, SettingsError, setting
from .audit import audit
from .errors import HostNotAllowed
from .shields import ORDER_HOST, ORDER_PROXY, Shield

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask
    from ..wrappers import Request, Response

#: The audit reason for a ``Host`` outside ``TRUSTED_HOSTS``.
REASON_UNTRUSTED_HOST = "untrusted_host"

_HOP_KEYS = ("for", "proto", "host", "port", "prefix")


def _no_app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    return []


def _no_start_response(status: str, headers: t.Any, exc_info: t.Any = None) -> t.Any:
    return None


def _hop_count(value: t.Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SettingsError(
            f"TRUSTED_PROXY_HOPS{key} must be a whole number >= 0, got {value!r}."
            " Fix: set it to the number of reverse proxies in front of the app (0 for none).",
            key="TRUSTED_PROXY_HOPS",
        )
    return value


def parse_proxy_hops(value: t.Any) -> dict[str, int]:
    """Return the trusted hop count per ``X-Forwarded-*`` header.

    ``value`` is an int (the same count for every header) or a dict with
    the keys ``for``, ``proto``, ``host``, ``port``, ``prefix`` (missing
    keys count ``0``). ``None`` counts as ``0``. Raise
    :class:`~hermetic.settings.SettingsError` for anything else.
    """
    if value is None:
        return dict.fromkeys(_HOP_KEYS, 0)
    if isinstance(value, t.Mapping):
        unknown = set(value) - set(_HOP_KEYS)
        if unknown:
            raise SettingsError(
                f"TRUSTED_PROXY_HOPS has unknown keys {sorted(map(str, unknown))};"
                f" Fix: use {list(_HOP_KEYS)}.",
                key="TRUSTED_PROXY_HOPS",
            )
        return {key: _hop_count(value.get(key, 0), f"[{key!r}]") for key in _HOP_KEYS}
    count = _hop_count(value, "")
    return dict.fromkeys(_HOP_KEYS, count)


def _trusted_hosts(value: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not value:
        # SECURITY: Werkzeug reads an empty list as "trust every host";
        # an empty list is more likely a mistake than that wish.
        raise SettingsError(
            "TRUSTED_HOSTS is an empty list, which would trust every host."
            " Fix: list the hosts this app serves, or set it to None to accept any.",
            key="TRUSTED_HOSTS",
        )
    if not all(value):
        raise SettingsError(
            f"TRUSTED_HOSTS holds an empty host name: {list(value)!r}."
            ' Fix: write TRUSTED_HOSTS = ["example.com", ".example.com"].',
            key="TRUSTED_HOSTS",
        )
    return value


@dataclasses.dataclass(frozen=True)
class ProxySettings(Settings, feature="proxies", title="Trusted proxies", prefixes=("TRUSTED_",)):
    """The settings of :class:`ProxyShield`."""

    #: The trusted hop count per header (``for``, ``proto``, ``host``, ``port``, ``prefix``).
    proxy_hops: dict[str, int] = setting(
        "TRUSTED_PROXY_HOPS",
        default=0,
        secure_default=0,
        accepts=int | cabc.Mapping[str, t.Any] | None,
        parse=parse_proxy_hops,
        doc="How many reverse proxies' `X-Forwarded-*` values to believe: an int, or a dict"
        " per header (`for`, `proto`, `host`, `port`, `prefix`); 0: none.",
    )


@dataclasses.dataclass(frozen=True)
class HostSettings(Settings, feature="hosts", title="Trusted hosts", prefixes=("TRUSTED_",)):
    """The settings of :class:`HostShield` (Flask's ``TRUSTED_HOSTS``, checked)."""

    trusted_hosts: tuple[str, ...] | None = setting(
        "TRUSTED_HOSTS",
        default=None,
        parse=_trusted_hosts,
        doc="The host names served (`.example.com` includes subdomains); another `Host`"
        " is a 400. `None`: any host. Flask's URL adapter checks it too.",
    )


class ProxyShield(Shield):
    """Rewrite the environ from ``X-Forwarded-*`` set by trusted proxies only.

    ``TRUSTED_PROXY_HOPS`` -- default ``0``: the headers are ignored. An int
    ``N`` trusts the ``N`` rightmost values of ``X-Forwarded-For``,
    ``-Proto``, ``-Host``, ``-Port`` and ``-Prefix``; a dict such as
    ``{"for": 1, "proto": 1}`` sets each header's count. A header with fewer
    values than its count is ignored. The original values stay in
    ``environ["werkzeug.proxy_fix.orig"]``.

    .. warning::
        Trust exactly the proxies you run. A count higher than the real
        number of proxies lets any client choose its IP address, scheme and
        host.
    """

    name = "proxy"
    order = ORDER_PROXY
    exemptable = False
    settings_class = ProxySettings
    settings: ProxySettings

    def __init__(self) -> None:
        self._fix: ProxyFix | None = None

    def setup(self, app: Flask, settings: ProxySettings) -> None:
        """Build the ``ProxyFix`` for the trusted hop counts (none when all are 0)."""
        hops = settings.proxy_hops
        if any(hops.values()):
            self._fix = ProxyFix(
                _no_app,
                x_for=hops["for"],
                x_proto=hops["proto"],
                x_host=hops["host"],
                x_port=hops["port"],
                x_prefix=hops["prefix"],
            )
        else:
            self._fix = None

    def prepare_step(self) -> t.Callable[[dict[str, t.Any]], None] | None:
        """Rewrite nothing, and cost nothing, when no proxy is trusted (the default)."""
        return self.prepare if self._fix is not None else None

    def prepare(self, environ: dict[str, t.Any]) -> None:
        """Apply the trusted ``X-Forwarded-*`` values to ``environ``."""
        fix = self._fix
        if fix is not None:
            # ProxyFix rewrites the environ in place, then calls the no-op app.
            fix(environ, _no_start_response)
            # SECURITY: only a real scheme may come from a forwarded header; it
            # ends up in redirects and external URLs.
            if environ.get("wsgi.url_scheme") not in ("http", "https"):
                original = environ.get("werkzeug.proxy_fix.orig", {})
                environ["wsgi.url_scheme"] = original.get("wsgi.url_scheme", "http")


class HostShield(Shield):
    """Refuse requests whose ``Host`` is not in ``TRUSTED_HOSTS``.

    ``TRUSTED_HOSTS`` -- default ``None``: every host is served. A list of
    host names; ``".example.com"`` also matches its subdomains; ports are
    ignored. The check uses Werkzeug's ``host_is_trusted``, as Flask's URL
    adapter does, so both agree; this shield refuses first, with a
    :class:`~hermetic.security.errors.HostNotAllowed` (400) and one audit
    event ``host``.
    """

    name = "host"
    order = ORDER_HOST
    exemptable = False
    settings_class = HostSettings
    settings: HostSettings

    def steps_for(
        self, endpoint: str | None, view: t.Callable[..., t.Any] | None
    ) -> tuple[t.Callable[[Request], Response | None] | None, None]:
        """Run no step at all while every host is trusted (``TRUSTED_HOSTS = None``)."""
        return (self.before if self.settings.trusted_hosts is not None else None), None

    def before(self, request: Request) -> Response | None:
        """Refuse the request when its host is not trusted."""
        trusted = self.settings.trusted_hosts
        if trusted is None:
            return None
        # Recompute the host without ``trusted_hosts`` so Werkzeug does not
        # raise its own error first; invalid characters give "".
        host = get_host(request.scheme, request.headers.get("host"), request.server)
        if host_is_trusted(host, trusted):
            return None
        raw = request.headers.get("host", "")
        audit("host", reason=REASON_UNTRUSTED_HOST, host=raw)
        raise HostNotAllowed(reason=REASON_UNTRUSTED_HOST)
