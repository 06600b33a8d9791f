"""The store interface, its settings and errors (re-exported by :mod:`hermetic.security.stores`)."""

from __future__ import annotations

import builtins
import dataclasses
import math
import os
import typing as t

from ..settings import Settings, SettingsError, setting
from .breaker import DEFAULT_COOLDOWN

#: Seconds a Redis call may take before the store counts as down
#: (``HERMETIC_STORE_TIMEOUT``); a healthy Redis answers in well under 1 ms.
DEFAULT_TIMEOUT = 0.5


def _seconds(key: str) -> t.Callable[[t.Any], float]:
    def parse(value: t.Any) -> float:
        # The environment gives strings: "0.5" is as good as 0.5.
        try:
            seconds = float(value)
        except ValueError:
            seconds = math.nan
        if not (math.isfinite(seconds) and seconds > 0):
            raise SettingsError(
                f"{key} must be a number of seconds > 0, got {value!r}. Fix: set {key}"
                " to a positive number (in the config or the environment), or remove it.",
                key=key,
            )
        return seconds

    return parse


@dataclasses.dataclass(frozen=True)
class StoreSettings(
    Settings,
    feature="store",
    title="Shared state (Redis)",
    prefixes=("HERMETIC_STORE_", "HERMETIC_REDIS_"),
):
    """Where Hermetic keeps its shared state; each key falls back to the environment."""

    redis_url: str | None = setting(
        "HERMETIC_REDIS_URL",
        default=None,
        secret=True,
        doc="The Redis of Hermetic's state (revocations, rate limits, replay caches),"
        " shared by every worker; `None`: each process's memory. `REDIS_URL` is never read.",
    )
    prefix: str = setting(
        "HERMETIC_STORE_PREFIX", default="hermetic:", doc="The key prefix in that Redis."
    )
    timeout: float = setting(
        "HERMETIC_STORE_TIMEOUT",
        default=DEFAULT_TIMEOUT,
        accepts=float | str,
        parse=_seconds("HERMETIC_STORE_TIMEOUT"),
        doc="Seconds a Redis call may take before the store counts as down.",
    )
    cooldown: float = setting(
        "HERMETIC_STORE_COOLDOWN",
        default=DEFAULT_COOLDOWN,
        accepts=float | str,
        parse=_seconds("HERMETIC_STORE_COOLDOWN"),
        doc="Seconds the circuit breaker fails fast after a store failure (`Retry-After`).",
    )


def store_settings(
    config: t.Mapping[str, t.Any], environ: t.Mapping[str, str] | None = None
) -> StoreSettings:
    """Return the :class:`StoreSettings` of an app's ``config``, else of the environment.

    An empty value (``None``, ``""``) counts as absent, so a deployment's
    environment fills what the config leaves empty.
    """
    environ = os.environ if environ is None else environ
    source: dict[str, t.Any] = {}
    for key in StoreSettings.keys():
        value = config.get(key)
        if value is None or value == "":
            value = environ.get(key) or None
        if value is not None:
            source[key] = value
    return StoreSettings.from_config(source)


class StoreError(RuntimeError):
    """The root of the store errors (also a wrong-type operation on a key).

    Internal to the stores: a shield turns a store failure into
    :class:`~hermetic.security.errors.StoreUnavailableError` (a 503) at its
    boundary, so no ``StoreError`` reaches a client.
    """


class StoreUnavailable(StoreError):
    """The store cannot be reached (connection refused, timeout) or refuses writes.

    :param retry_after: Seconds until the store is worth trying again, when
        known (the circuit breaker's cool-down); ``None`` otherwise.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _check_ttl(ttl: float | None) -> None:
    if ttl is not None and not ttl > 0:
        raise ValueError(f"ttl must be a positive number of seconds or None, not {ttl!r}.")


class Store:
    """The interface of a key-value store with expiry (seconds, ``None`` = never)."""

    def get(self, key: str) -> bytes | None:
        """Return the value of ``key``, or ``None`` when it is missing or expired."""
        raise NotImplementedError

    def get_many(self, keys: t.Sequence[str]) -> list[bytes | None]:
        """Return the values of ``keys``, in order (one round trip when possible)."""
        return [self.get(key) for key in keys]

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Set ``key`` to ``value``, expiring after ``ttl`` seconds."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        """Remove ``key`` (nothing happens when it is missing)."""
        raise NotImplementedError

    def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        """Set ``key`` only if it is missing, atomically; tell whether it was set."""
        raise NotImplementedError

    def incr(self, key: str, ttl: float | None = None) -> int:
        """Add one to the counter ``key`` atomically and return it.

        A new counter starts at 1 and expires after ``ttl`` seconds; later
        increments keep that expiry (a fixed window).
        """
        raise NotImplementedError

    def sadd(self, key: str, member: str, ttl: float | None = None) -> None:
        """Add ``member`` to the set ``key``; the set expires ``ttl`` seconds after the last add."""
        raise NotImplementedError

    def smembers(self, key: str) -> builtins.set[str]:
        """Return the members of the set ``key`` (empty when missing)."""
        raise NotImplementedError

    def srem(self, key: str, member: str) -> None:
        """Remove ``member`` from the set ``key``."""
        raise NotImplementedError
