"""The declared rate limit settings (:class:`RateLimitSettings`)."""

from __future__ import annotations

import dataclasses
import typing as t

from ...settings import Settings, SettingsError, setting
from ..errors import ConfigurationError
from ._declare import STRATEGY_NAMES, parse_limits

#: ``RATELIMIT_ON_STORAGE_ERROR`` values.
FAIL_CLOSED = "closed"
FAIL_OPEN = "open"


def _default_limit(value: str | None) -> str | None:
    if value is not None:
        try:
            parse_limits(value)
        except ConfigurationError as e:
            raise SettingsError(
                f"RATELIMIT_DEFAULT is not a rate limit: {e} Fix: write '100/minute'"
                " (several: '10/second;100/minute'), or None for no default limit.",
                key="RATELIMIT_DEFAULT",
            ) from None
    return value


def _storage_uri(value: str | None) -> str | None:
    if value is not None and "://" not in value:
        raise SettingsError(
            f"RATELIMIT_STORAGE_URI must be a storage URI, got {value!r}. Fix: write"
            " 'memory://' or 'redis://localhost:6379/0', or remove it to use"
            " HERMETIC_REDIS_URL.",
            key="RATELIMIT_STORAGE_URI",
        )
    return value


@dataclasses.dataclass(frozen=True)
class RateLimitSettings(
    Settings, feature="ratelimit", title="Rate limits", prefixes=("RATELIMIT_",)
):
    """The ``RATELIMIT_*`` settings of :class:`RateLimitShield` and the app's limiter."""

    enabled: bool = setting(
        "RATELIMIT_ENABLED", default=True, doc="Count requests and refuse the excess (429)."
    )
    default: str | None = setting(
        "RATELIMIT_DEFAULT",
        default=None,
        parse=_default_limit,
        doc="The limit of routes without `@rate_limit`, per route and client IP"
        " (`'100/minute'`); `None`: no limit.",
    )
    strategy: str = setting(
        "RATELIMIT_STRATEGY",
        default="fixed-window",
        choices=STRATEGY_NAMES,
        doc="How hits are counted: `fixed-window`, `moving-window` or `sliding-window-counter`.",
    )
    storage_uri: str | None = setting(
        "RATELIMIT_STORAGE_URI",
        default=None,
        secret=True,
        parse=_storage_uri,
        doc="Where counters live, when not in `HERMETIC_REDIS_URL` (else `memory://`).",
    )
    storage_options: dict[str, t.Any] = setting(
        "RATELIMIT_STORAGE_OPTIONS",
        default={},
        parse=dict,
        doc="Options of the storage (`key_prefix`, timeouts: default `HERMETIC_STORE_TIMEOUT`).",
    )
    on_storage_error: str = setting(
        "RATELIMIT_ON_STORAGE_ERROR",
        default=FAIL_CLOSED,
        secure_default=FAIL_CLOSED,
        choices=(FAIL_CLOSED, FAIL_OPEN),
        doc="While the storage is down: `closed` refuses with 503, `open` allows"
        " (and so lifts every limit).",
    )
    headers: bool = setting(
        "RATELIMIT_HEADERS",
        default=True,
        doc="Send `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` on limited routes.",
    )
