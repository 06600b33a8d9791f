"""Fail early, naming the extra to install, when jwt is missing."""

from __future__ import annotations

from .._extras import require

require("jwt", "jwt", "JWT service auth")
