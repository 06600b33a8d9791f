"""Fail early, naming the extra to install, when pydantic is missing."""

from __future__ import annotations

from .._extras import require

require("pydantic", "validation", "Request validation")
