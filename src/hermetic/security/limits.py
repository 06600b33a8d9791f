"""Deprecated alias of :mod:`hermetic.security.input_limits` (renamed: ``limits`` is the rate-limit library).

Import from ``hermetic.security.input_limits`` instead; this module holds
aliases only and goes away in a later release.
"""

from __future__ import annotations

from .input_limits import InputLimitsSettings as InputLimitsSettings
from .input_limits import InputLimitsShield as InputLimitsShield
from .input_limits import JSONTooDeep as JSONTooDeep
from .input_limits import URLTooLong as URLTooLong

__all__ = ["InputLimitsSettings", "InputLimitsShield", "JSONTooDeep", "URLTooLong"]
