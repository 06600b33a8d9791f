"""The declared settings of request ids, the access log and the metrics endpoint."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import typing as t

from ...settings import Settings, SettingsError, setting

#: Networks allowed to read ``/metrics`` without a token (loopback only).
DEFAULT_ALLOWED_NETWORKS = ("127.0.0.0/8", "::1/128")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_HEADER_NAME_RE = re.compile(r"[A-Za-z0-9-]+")


def parse_networks(value: t.Any) -> tuple[Network, ...]:
    """Parse ``METRICS_ALLOWED_NETWORKS`` (CIDR strings), or raise ``SettingsError``."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split() if v]
    networks = []
    for item in value:
        try:
            networks.append(ipaddress.ip_network(str(item), strict=False))
        except ValueError:
            raise SettingsError(
                f"METRICS_ALLOWED_NETWORKS holds {item!r}, which is not a network."
                " Fix: use CIDR notation, e.g. ['127.0.0.0/8', '10.0.0.0/8'].",
                key="METRICS_ALLOWED_NETWORKS",
            ) from None
    return tuple(networks)


def _header_name(value: str) -> str:
    if not _HEADER_NAME_RE.fullmatch(value):
        raise SettingsError(
            f"REQUEST_ID_HEADER {value!r} is not a header name."
            " Fix: use letters, digits and '-', e.g. 'X-Request-ID'.",
            key="REQUEST_ID_HEADER",
        )
    return value


def _path(value: str) -> str:
    if not value.startswith("/"):
        raise SettingsError(
            f"METRICS_PATH must be a URL path starting with '/', got {value!r}.",
            key="METRICS_PATH",
        )
    return value


@dataclasses.dataclass(frozen=True)
class ObservabilitySettings(
    Settings,
    feature="observability",
    title="Observability (request ids, access log, metrics)",
    prefixes=("REQUEST_ID_", "ACCESS_LOG_", "METRICS_"),
):
    """The settings of :class:`~hermetic.security.observability.Observability`."""

    request_id_header: str = setting(
        "REQUEST_ID_HEADER",
        default="X-Request-ID",
        parse=_header_name,
        doc="The header that carries the request id: echoed on every response,"
        " accepted from a trusted proxy.",
    )
    request_id_trusted: bool = setting(
        "REQUEST_ID_TRUSTED",
        default=False,
        doc="Accept the client's request id without `TRUSTED_PROXY_HOPS` (only behind a"
        " proxy that sets or strips the header); only 1-128 of `[A-Za-z0-9._-]` are taken.",
    )
    access_log_enabled: bool = setting(
        "ACCESS_LOG_ENABLED",
        default=True,
        doc="One JSON line per request on the `hermetic.access` logger.",
    )
    metrics_enabled: bool = setting(
        "METRICS_ENABLED",
        default=True,
        doc="Serve the Prometheus metrics at `METRICS_PATH` (read at `init_app`).",
    )
    metrics_path: str = setting(
        "METRICS_PATH",
        default="/metrics",
        parse=_path,
        doc="The path of the metrics endpoint (read at `init_app`).",
    )
    metrics_token: str | None = setting(
        "METRICS_TOKEN",
        default=None,
        secret=True,
        parse=lambda value: value or None,
        doc="A bearer token that may read the metrics from anywhere.",
    )
    metrics_allowed_networks: tuple[Network, ...] = setting(
        "METRICS_ALLOWED_NETWORKS",
        default=DEFAULT_ALLOWED_NETWORKS,
        accepts=str | tuple[str, ...] | None,
        parse=parse_networks,
        doc="Networks (CIDR) that may read the metrics without a token; default loopback.",
    )
