"""Observability: request ids, a JSON access log and Prometheus metrics.

``Observability(app)`` installs one shield that runs first and finishes
last, so its timing covers every other shield:

- **request ids**: the id :func:`hermetic.security.audit.request_id`
  returns (audit events and the access log share it), echoed in
  ``X-Request-ID``; a client's id is taken only through a trusted proxy and
  only when it is short and made of safe characters;
- **access log**: one JSON line per request on ``hermetic.access``
  (``ts``, ``request_id``, ``method``, ``path``, ``route``, ``status``,
  ``duration_ms``, ``ip``, ``user``, ``bytes``);
- **metrics** in an app-specific registry: ``hermetic_requests_total``,
  ``hermetic_request_duration_seconds``, ``hermetic_security_events_total``
  (fed by audit events), ``hermetic_validation_failures_total``, served at
  ``/metrics`` to a bearer token or an allowed network (loopback).
"""

from __future__ import annotations

from . import _requirement as _requirement  # says which extra is missing
from ._metrics import DEFAULT_ALLOWED_NETWORKS as DEFAULT_ALLOWED_NETWORKS
from ._metrics import DEFAULT_BUCKETS as DEFAULT_BUCKETS
from ._metrics import EXTENSION_KEY as EXTENSION_KEY
from ._metrics import REASON_BAD_TOKEN as REASON_BAD_TOKEN
from ._metrics import REASON_NOT_ALLOWED as REASON_NOT_ALLOWED
from ._metrics import REASON_TOKEN_REQUIRED as REASON_TOKEN_REQUIRED
from ._metrics import UNMATCHED as UNMATCHED
from ._metrics import Metrics as Metrics
from ._metrics import MetricsGuard as MetricsGuard
from ._shield import ORDER_OBSERVABILITY as ORDER_OBSERVABILITY
from ._shield import REQUEST_ID_PATTERN as REQUEST_ID_PATTERN
from ._shield import Observability as Observability
from ._shield import ObservabilityShield as ObservabilityShield
from ._shield import access_logger as access_logger

__all__ = [
    "DEFAULT_ALLOWED_NETWORKS",
    "DEFAULT_BUCKETS",
    "EXTENSION_KEY",
    "ORDER_OBSERVABILITY",
    "REASON_BAD_TOKEN",
    "REASON_NOT_ALLOWED",
    "REASON_TOKEN_REQUIRED",
    "REQUEST_ID_PATTERN",
    "UNMATCHED",
    "Metrics",
    "MetricsGuard",
    "Observability",
    "ObservabilityShield",
    "access_logger",
]
