"""Fail early, naming the extra to install, when prometheus_client is missing."""

from __future__ import annotations

from .._extras import require

require("prometheus_client", "metrics", "Observability")
