"""Trusted proxies and trusted hosts.

:class:`ProxyShield` believes ``X-Forwarded-*`` headers only from the number
of proxies the deployment declares (``TRUSTED_PROXY_HOPS``, default ``0``:
never), by running Werkzeug's :class:`~werkzeug.middleware.proxy_fix.ProxyFix`
on the environ before the request object exists. :class:`HostShield` refuses
a ``Host`` that is not in ``TRUSTED_HOSTS`` (Flask's key; default ``None``:
any host).

Both read their configuration once, on the first request (or when
:meth:`configure` is called), so settings made after ``init_app`` count.
"""

from __future__ import annotations

import typing as t

from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.sansio.utils import get_host, host_is_trusted

from .audit import audit
from .errors import ConfigurationError, HostNotAllowed
from .shields import ORDER_HOST, ORDER_PROXY, Shield

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask
    from ..wrappers import Request, Response

#: The audit reason for a ``Host`` outside ``TRUSTED_HOSTS``.
REASON_UNTRUSTED_HOST = "untrusted_host"

_HOP_KEYS = ("for", "proto", "host", "port", "prefix")


def _no_app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    return []


def _no_start_response(status: str, headers: t.Any, exc_info: t.Any = None) -> None:
    return None


def _hop_count(value: t.Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(
            f"TRUSTED_PROXY_HOPS{key} must be a whole number >= 0, got {value!r}."
            " Set it to the number of reverse proxies in front of the app (0 for none)."
        )
    return value


def parse_proxy_hops(value: t.Any) -> dict[str, int]:
    """Return the trusted hop count per ``X-Forwarded-*`` header.

    ``value`` is an int (the same count for every header) or a dict with
    the keys ``for``, ``proto``, ``host``, ``port``, ``prefix`` (missing
    keys count ``0``). ``None`` counts as ``0``.
    """
    if value is None:
        return dict.fromkeys(_HOP_KEYS, 0)
    if isinstance(value, t.Mapping):
        unknown = set(value) - set(_HOP_KEYS)
        if unknown:
            raise ConfigurationError(
                f"TRUSTED_PROXY_HOPS has unknown keys {sorted(map(str, unknown))};"
                f" use {list(_HOP_KEYS)}."
            )
        return {key: _hop_count(value.get(key, 0), f"[{key!r}]") for key in _HOP_KEYS}
    count = _hop_count(value, "")
    return dict.fromkeys(_HOP_KEYS, count)


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

    def __init__(self) -> None:
        self._app: Flask | None = None
        self._configured = False
        self._fix: ProxyFix | None = None

    def init_app(self, app: Flask) -> None:
        """Join ``app``'s pipeline and check the current configuration."""
        _bind(self, app)
        self._configure(app)
        self._configured = False
        super().init_app(app)

    def configure(self, app: Flask | None = None) -> None:
        """Read the configuration now (otherwise done on the first request)."""
        self._configure(app or t.cast("Flask", self._app))

    def _configure(self, app: Flask) -> None:
        hops = parse_proxy_hops(app.config.get("TRUSTED_PROXY_HOPS", 0))
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
        self._configured = True

    def prepare(self, environ: dict[str, t.Any]) -> None:  # type: ignore[override]
        """Apply the trusted ``X-Forwarded-*`` values to ``environ``."""
        if not self._configured:
            self.configure()
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

    def __init__(self) -> None:
        self._app: Flask | None = None
        self._configured = False
        self._trusted: tuple[str, ...] | None = None

    def init_app(self, app: Flask) -> None:
        """Join ``app``'s pipeline and check the current configuration."""
        _bind(self, app)
        self._configure(app)
        self._configured = False
        super().init_app(app)

    def configure(self, app: Flask | None = None) -> None:
        """Read the configuration now (otherwise done on the first request)."""
        self._configure(app or t.cast("Flask", self._app))

    def _configure(self, app: Flask) -> None:
        trusted = app.config.get("TRUSTED_HOSTS")
        if trusted is None:
            self._trusted = None
        elif isinstance(trusted, (str, bytes)) or not all(
            isinstance(h, str) and h for h in trusted
        ):
            raise ConfigurationError(
                f"TRUSTED_HOSTS must be a list of host names, got {trusted!r}."
                ' Write TRUSTED_HOSTS = ["example.com", ".example.com"].'
            )
        elif not trusted:
            # SECURITY: Werkzeug reads an empty list as "trust every host";
            # an empty list is more likely a mistake than that wish.
            raise ConfigurationError(
                "TRUSTED_HOSTS is an empty list, which would trust every host."
                " List the hosts this app serves, or set it to None to accept any."
            )
        else:
            self._trusted = tuple(trusted)
        self._configured = True

    def before(self, request: Request) -> Response | None:  # type: ignore[override]
        """Refuse the request when its host is not trusted."""
        if not self._configured:
            self.configure()
        trusted = self._trusted
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


def _bind(shield: ProxyShield | HostShield, app: Flask) -> None:
    if shield._app is not None and shield._app is not app:
        raise RuntimeError(
            f"This {type(shield).__name__} already serves another app;"
            f" make one {type(shield).__name__}() per app."
        )
    shield._app = app
