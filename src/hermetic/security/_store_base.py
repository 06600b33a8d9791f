"""The store interface and its errors (re-exported by :mod:`hermetic.security.stores`)."""

from __future__ import annotations

import os
import typing as t

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask


def setting(app: Flask, name: str) -> t.Any:
    """Return the store setting ``name``: the app's config first, then the environment."""
    value = app.config.get(name)
    return value if value else os.environ.get(name)


class StoreError(RuntimeError):
    """The root of the store errors (also a wrong-type operation on a key)."""


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

    def smembers(self, key: str) -> set[str]:
        """Return the members of the set ``key`` (empty when missing)."""
        raise NotImplementedError

    def srem(self, key: str, member: str) -> None:
        """Remove ``member`` from the set ``key``."""
        raise NotImplementedError
