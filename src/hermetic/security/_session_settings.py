"""The declared session settings (:class:`SessionSettings`): timeouts, server side, cache."""

from __future__ import annotations

import dataclasses
import math
import typing as t
from datetime import timedelta

from ..settings import Settings, SettingsError, setting

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask

#: Defaults of ``SESSION_IDLE_TIMEOUT`` and ``SESSION_ABSOLUTE_TIMEOUT``.
DEFAULT_IDLE_TIMEOUT = timedelta(hours=1)
DEFAULT_ABSOLUTE_TIMEOUT = timedelta(hours=12)


def seconds(value: t.Any) -> float | None:
    """Return a duration (seconds or ``timedelta``) in seconds; ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def _timeout(key: str) -> t.Callable[[t.Any], float | None]:
    def parse(value: t.Any) -> float | None:
        duration = seconds(value)
        if duration is not None and not (math.isfinite(duration) and duration > 0):
            raise SettingsError(
                f"{key} must be a positive duration or None, got {value!r}. Fix: set"
                f" {key} to a timedelta or seconds > 0 (None turns it off, not advised).",
                key=key,
            )
        return duration

    return parse


def _cache_size(value: int) -> int:
    if value < 0:
        raise SettingsError(
            f"SESSION_OPENED_CACHE_SIZE must be a whole number >= 0, got {value!r}."
            " Fix: set it to 0 (off) or more.",
            key="SESSION_OPENED_CACHE_SIZE",
        )
    return value


_DURATION = timedelta | int | float | None


@dataclasses.dataclass(frozen=True)
class SessionSettings(
    Settings,
    feature="sessions",
    title="Encrypted sessions",
    prefixes=("SESSION_IDLE_", "SESSION_ABSOLUTE_", "SESSION_SERVER_", "SESSION_OPENED_"),
):
    """The settings of :class:`~hermetic.security.sessions.EncryptedSessionInterface`.

    Flask's ``SESSION_COOKIE_*`` keys are declared by the core settings.
    Durations are held in seconds (``None``: off).
    """

    idle_timeout: float | None = setting(
        "SESSION_IDLE_TIMEOUT",
        default=DEFAULT_IDLE_TIMEOUT,
        secure_default=DEFAULT_IDLE_TIMEOUT,
        accepts=_DURATION,
        parse=_timeout("SESSION_IDLE_TIMEOUT"),
        doc="A session unused this long (timedelta or seconds) is over; `None`: never.",
    )
    absolute_timeout: float | None = setting(
        "SESSION_ABSOLUTE_TIMEOUT",
        default=DEFAULT_ABSOLUTE_TIMEOUT,
        secure_default=DEFAULT_ABSOLUTE_TIMEOUT,
        accepts=_DURATION,
        parse=_timeout("SESSION_ABSOLUTE_TIMEOUT"),
        doc="A session this old (timedelta or seconds) is over, used or not; `None`: never.",
    )
    server_side: bool = setting(
        "SESSION_SERVER_SIDE",
        default=False,
        secure_default=False,
        doc="Keep the session's data in the app's store (`HERMETIC_REDIS_URL`),"
        " the cookie holding only its id.",
    )
    opened_cache_size: int = setting(
        "SESSION_OPENED_CACHE_SIZE",
        default=1024,
        parse=_cache_size,
        doc="Cookies remembered per name once opened, so one sent again is not"
        " decrypted again (expiry and revocation are still checked); `0`: off.",
    )


def session_settings(app: Flask) -> SessionSettings:
    """Return ``app``'s checked :class:`SessionSettings` (raise ``ConfigurationError``)."""
    from .errors import ConfigurationError

    try:
        return SessionSettings.from_config(app.config)
    except SettingsError as e:
        raise ConfigurationError(str(e), key=e.key) from None
