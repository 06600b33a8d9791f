"""Prometheus metrics in an app's own registry, and who may read them."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import typing as t

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from ..audit import audit
from ..audit import listeners as audit_listeners
from ..errors import AuthenticationRequired, PermissionDenied
from ._settings import DEFAULT_ALLOWED_NETWORKS as DEFAULT_ALLOWED_NETWORKS
from ._settings import Network
from ._settings import parse_networks as parse_networks

if t.TYPE_CHECKING:  # pragma: no cover
    from ...wrappers import Request

#: The ``app.extensions`` key of an app's :class:`Metrics`.
EXTENSION_KEY = "hermetic.metrics"
#: The route label of a request that matched no rule.
UNMATCHED = "<unmatched>"
#: Histogram buckets of ``hermetic_request_duration_seconds``, in seconds.
DEFAULT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Most distinct ``(kind, reason)`` pairs counted; later pairs go to ``other``.
MAX_EVENT_LABELS = 200

#: Refusal reasons of the metrics endpoint.
# bandit B105 (the next two): refusal reason names, not passwords.
REASON_TOKEN_REQUIRED = "metrics_token_required"  # nosec B105
REASON_BAD_TOKEN = "metrics_bad_token"  # nosec B105
REASON_NOT_ALLOWED = "metrics_not_allowed"

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Metrics:
    """The request, security-event and validation metrics of one app.

    Each app gets its own :class:`~prometheus_client.CollectorRegistry`, so
    two apps (or two tests) never share or collide on a metric. Label
    children are cached per label tuple: a request costs two dict lookups,
    an increment and an observation.
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        buckets: t.Sequence[float] = DEFAULT_BUCKETS,
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.requests = Counter(
            "hermetic_requests",
            "HTTP requests handled, by method, route rule and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.duration = Histogram(
            "hermetic_request_duration_seconds",
            "Time from the start of the request to its response, by method and route rule.",
            ("method", "route"),
            buckets=tuple(buckets),
            registry=self.registry,
        )
        self.security_events = Counter(
            "hermetic_security_events",
            "Security audit events, by kind and reason.",
            ("kind", "reason"),
            registry=self.registry,
        )
        self.validation_failures = Counter(
            "hermetic_validation_failures",
            "Requests refused by @validate (422, 415, 400), by route rule and reason.",
            ("route", "reason"),
            registry=self.registry,
        )
        self._request_children: dict[tuple[str, str, int], t.Any] = {}
        self._duration_children: dict[tuple[str, str], t.Any] = {}
        self._event_children: dict[tuple[str, str], t.Any] = {}

    def observe(self, method: str, route: str | None, status: int, seconds: float) -> None:
        """Count one request and record its duration."""
        # SECURITY: labels come from the route rule, never the raw path, and
        # unknown methods collapse into OTHER: bounded cardinality.
        if method not in _METHODS:
            method = "OTHER"
        route = route if route is not None else UNMATCHED
        key = (method, route, status)
        child = self._request_children.get(key)
        if child is None:
            child = self._request_children[key] = self.requests.labels(method, route, str(status))
        child.inc()
        timer = self._duration_children.get((method, route))
        if timer is None:
            timer = self._duration_children[(method, route)] = self.duration.labels(method, route)
        timer.observe(seconds)

    def count_security_event(self, kind: str, reason: str | None) -> None:
        """Count one audit event."""
        key = (str(kind)[:64], str(reason or "")[:64])
        child = self._event_children.get(key)
        if child is None:
            if len(self._event_children) >= MAX_EVENT_LABELS:
                key = ("other", "other")
            child = self._event_children.get(key)
            if child is None:
                child = self._event_children[key] = self.security_events.labels(*key)
        child.inc()

    def count_validation_failure(self, route: str | None, reason: str) -> None:
        """Count one request refused by ``@validate``."""
        self.validation_failures.labels(route if route is not None else UNMATCHED, reason).inc()

    def render(self) -> tuple[bytes, str]:
        """Return the exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def _count_audit_event(record: dict[str, t.Any]) -> None:
    """Count one audit record on the metrics of the app that emitted it."""
    from ...globals import _cv_app

    ctx = _cv_app.get(None)
    metrics = ctx.app.extensions.get(EXTENSION_KEY) if ctx is not None else None
    if metrics is not None:
        metrics.count_security_event(record.get("event", "unknown"), record.get("reason"))


def count_audit_events() -> None:
    """Feed audit events into the current app's metrics (installed once)."""
    if _count_audit_event not in audit_listeners:
        audit_listeners.append(_count_audit_event)


# -- who may read /metrics ------------------------------------------------------

_Network = Network


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).digest()


class MetricsGuard:
    """Allow a bearer token (``METRICS_TOKEN``) or a client in an allowed network."""

    __slots__ = ("token_digest", "networks")

    def __init__(self, token: str | None, networks: t.Iterable[_Network]) -> None:
        self.token_digest = _digest(token) if token else None
        self.networks = tuple(networks)

    def _client_allowed(self, request: Request) -> bool:
        environ = request.environ
        # SECURITY: a request carrying forwarding headers that no trusted
        # proxy resolved comes through a proxy (often on loopback): its peer
        # address says nothing about the client, so it gets no IP pass.
        forwarded = "HTTP_X_FORWARDED_FOR" in environ or "HTTP_FORWARDED" in environ
        if forwarded and "werkzeug.proxy_fix.orig" not in environ:
            return False
        try:
            address = ipaddress.ip_address(request.remote_addr or "")
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def check(self, request: Request) -> None:
        """Return when the request may read the metrics; raise otherwise (audited)."""
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        has_bearer = scheme.lower() == "bearer" and bool(credentials.strip())
        if self.token_digest is not None and has_bearer:
            # SECURITY: constant-time compare of fixed-length digests.
            if hmac.compare_digest(_digest(credentials.strip()), self.token_digest):
                return
            audit("metrics", reason=REASON_BAD_TOKEN)
            raise AuthenticationRequired(
                "The metrics token is not valid.",
                reason=REASON_BAD_TOKEN,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if self.networks and self._client_allowed(request):
            return
        if self.token_digest is not None:
            audit("metrics", reason=REASON_TOKEN_REQUIRED)
            raise AuthenticationRequired(
                "Reading the metrics needs a bearer token.",
                reason=REASON_TOKEN_REQUIRED,
                headers={"WWW-Authenticate": "Bearer"},
            )
        audit("metrics", reason=REASON_NOT_ALLOWED)
        raise PermissionDenied(
            "The metrics are not served to this address.", reason=REASON_NOT_ALLOWED
        )
