"""Small shared state with expiry: revocation lists, server-side sessions, counters.

:class:`MemoryStore` keeps everything in the process (the default: right for
one process, wrong for several workers, since each has its own copy).
:class:`RedisStore` shares it between processes and machines. The app's
store comes from :func:`store_for`; put your own :class:`Store` in
``app.extensions["hermetic.store"]`` to replace it.

Errors from the backend are raised, never swallowed: a caller that guards
something with the store decides how to fail (closed, usually; the shields
answer 503 with ``Retry-After``). A :class:`RedisStore` gives up on a call
after ``HERMETIC_STORE_TIMEOUT`` seconds (default ``0.5``) and, through its
circuit breaker (:mod:`hermetic.security.breaker`), fails fast for
``HERMETIC_STORE_COOLDOWN`` seconds (default ``5``) after Redis could not be
reached.
"""

from __future__ import annotations

import builtins
import logging
import os
import threading
import time
import typing as t

from ._redis_store import RedisStore as RedisStore
from ._store_base import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT
from ._store_base import Store as Store
from ._store_base import StoreError as StoreError
from ._store_base import StoreSettings as StoreSettings
from ._store_base import StoreUnavailable as StoreUnavailable
from ._store_base import _check_ttl, store_settings
from .breaker import breaker_for

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask

__all__ = [
    "DEFAULT_TIMEOUT",
    "EXTENSION_KEY",
    "IGNORED_REDIS_URL",
    "MemoryStore",
    "RedisStore",
    "Store",
    "StoreError",
    "StoreSettings",
    "StoreUnavailable",
    "ignored_redis_url",
    "redis_url",
    "store_for",
    "store_settings",
    "warn_ignored_redis_url",
]

logger = logging.getLogger("hermetic.security.store")

#: Where :func:`store_for` keeps the app's store.
EXTENSION_KEY = "hermetic.store"


class MemoryStore(Store):
    """A thread-safe store in this process's memory.

    :param now: The clock, in epoch seconds; default :func:`time.time`.
    :param max_entries: The most keys kept, default ``100_000``. When full,
        expired keys are dropped first, then the oldest-written ones.
    :param sweep_interval: Seconds between sweeps of expired keys, default
        ``60``; expired keys are also dropped when read.

    .. warning:: Each process has its own copy. With several workers or
       machines, a session revoked in one is still valid in the others:
       use :class:`RedisStore` (set ``HERMETIC_REDIS_URL``).
    """

    def __init__(
        self,
        now: t.Callable[[], float] = time.time,
        *,
        max_entries: int = 100_000,
        sweep_interval: float = 60.0,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1.")
        self.now = now
        self.max_entries = max_entries
        self.sweep_interval = sweep_interval
        # key -> (value, expires at or None); insertion order = write order.
        self._data: dict[str, tuple[t.Any, float | None]] = {}
        self._lock = threading.Lock()
        self._next_sweep = now() + sweep_interval

    def __len__(self) -> int:
        return len(self._data)

    # All helpers below run with the lock held.

    def _live(self, key: str, now: float) -> t.Any:
        entry = self._data.get(key)
        if entry is None:
            return None
        if entry[1] is not None and entry[1] <= now:
            del self._data[key]
            return None
        return entry[0]

    def _sweep(self, now: float) -> None:
        expired = [k for k, (_, exp) in self._data.items() if exp is not None and exp <= now]
        for key in expired:
            del self._data[key]
        self._next_sweep = now + self.sweep_interval

    def _put(self, key: str, value: t.Any, expires: float | None, now: float) -> None:
        data = self._data
        if key in data:
            del data[key]  # re-insert: the write order is the eviction order
        elif len(data) >= self.max_entries:
            self._sweep(now)
            if len(data) >= self.max_entries:
                # Evict a tenth at once so a full store does not sweep on every write.
                drop = max(1, self.max_entries // 10)
                for old in list(data)[:drop]:
                    del data[old]
        elif now >= self._next_sweep:
            self._sweep(now)
        data[key] = (value, expires)

    def _wrong_type(self, key: str) -> t.NoReturn:
        raise StoreError(f"The key {key!r} holds a value of another type.")

    def get(self, key: str) -> bytes | None:
        """Return the value of ``key``, or ``None`` when it is missing or expired."""
        with self._lock:
            value = self._live(key, self.now())
        if value is not None and not isinstance(value, bytes):
            self._wrong_type(key)
        return value

    def get_many(self, keys: t.Sequence[str]) -> list[bytes | None]:
        """Return the values of ``keys``, in order: one lock, one clock reading."""
        data = self._data
        values: list[bytes | None] = []
        with self._lock:
            now = self.now()
            for key in keys:
                entry = data.get(key)
                if entry is not None:
                    expires = entry[1]
                    if expires is not None and expires <= now:
                        del data[key]
                        entry = None
                    elif not isinstance(entry[0], bytes):
                        self._wrong_type(key)
                values.append(None if entry is None else entry[0])
        return values

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Set ``key`` to ``value``, expiring after ``ttl`` seconds."""
        _check_ttl(ttl)
        with self._lock:
            now = self.now()
            self._put(key, bytes(value), None if ttl is None else now + ttl, now)

    def delete(self, key: str) -> None:
        """Remove ``key`` (nothing happens when it is missing)."""
        with self._lock:
            self._data.pop(key, None)

    def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        """Set ``key`` only if it is missing, atomically; tell whether it was set."""
        _check_ttl(ttl)
        with self._lock:
            now = self.now()
            if self._live(key, now) is not None:
                return False
            self._put(key, bytes(value), None if ttl is None else now + ttl, now)
            return True

    def incr(self, key: str, ttl: float | None = None) -> int:
        """Add one to the counter ``key`` atomically and return it."""
        _check_ttl(ttl)
        with self._lock:
            now = self.now()
            current = self._live(key, now)
            if current is None:
                self._put(key, b"1", None if ttl is None else now + ttl, now)
                return 1
            try:
                count = int(current) + 1
            except (TypeError, ValueError):
                self._wrong_type(key)
            # Same place in the write order, same expiry.
            self._data[key] = (str(count).encode(), self._data[key][1])
            return count

    def sadd(self, key: str, member: str, ttl: float | None = None) -> None:
        """Add ``member`` to the set ``key``; the set expires ``ttl`` seconds after the last add."""
        _check_ttl(ttl)
        with self._lock:
            now = self.now()
            members = self._live(key, now)
            if members is None:
                members = set()
            elif not isinstance(members, set):
                self._wrong_type(key)
            members.add(member)
            self._put(key, members, None if ttl is None else now + ttl, now)

    def smembers(self, key: str) -> builtins.set[str]:
        """Return the members of the set ``key`` (empty when missing)."""
        with self._lock:
            members = self._live(key, self.now())
            if members is None:
                return set()
            if not isinstance(members, set):
                self._wrong_type(key)
            return set(members)

    def srem(self, key: str, member: str) -> None:
        """Remove ``member`` from the set ``key``."""
        with self._lock:
            members = self._live(key, self.now())
            if members is None:
                return
            if not isinstance(members, set):
                self._wrong_type(key)
            members.discard(member)
            if not members:
                del self._data[key]


def redis_url(app: Flask) -> str | None:
    """Return the Redis URL of Hermetic's state: ``HERMETIC_REDIS_URL`` (config, then environment).

    ``REDIS_URL`` is never used: it usually names the app's own Redis (a job
    queue, a cache), whose outages and memory policy are not Hermetic's.
    """
    return store_settings(app.config).redis_url


def ignored_redis_url(app: Flask) -> bool:
    """Tell whether the app sets ``REDIS_URL`` but not ``HERMETIC_REDIS_URL``."""
    own = app.config.get("REDIS_URL") or os.environ.get("REDIS_URL")
    return redis_url(app) is None and bool(own)


#: The message of :func:`ignored_redis_url`, for the log and ``hermetic check``.
IGNORED_REDIS_URL = (
    "REDIS_URL is set, but Hermetic keeps its state (session revocations, rate limits,"
    " replay caches) in process memory: each worker has its own copy. Fix: to share it"
    " between workers, set HERMETIC_REDIS_URL (it may be the same URL, best with its own"
    " database number, e.g. redis://host:6379/1)."
)


def warn_ignored_redis_url(app: Flask) -> None:
    """Log :data:`IGNORED_REDIS_URL` once per app when it applies (at start-up)."""
    if ignored_redis_url(app) and not app.extensions.get(_WARNED_KEY):
        app.extensions[_WARNED_KEY] = True
        logger.warning(IGNORED_REDIS_URL)


_WARNED_KEY = "hermetic.store.redis_url_warned"


def store_for(app: Flask) -> Store:
    """Return ``app``'s store, made on first use and kept in ``app.extensions``.

    A :class:`RedisStore` when ``HERMETIC_REDIS_URL`` is set (app config
    first, then the environment), with the key prefix
    ``HERMETIC_STORE_PREFIX`` (default ``"hermetic:"``), the timeout
    ``HERMETIC_STORE_TIMEOUT`` (default ``0.5`` seconds) and the breaker
    cool-down ``HERMETIC_STORE_COOLDOWN`` (default ``5`` seconds);
    otherwise a :class:`MemoryStore`. ``REDIS_URL`` is not read: when only
    it is set, a warning says so once.
    """
    store = app.extensions.get(EXTENSION_KEY)
    if store is None:
        settings = store_settings(app.config)
        url = settings.redis_url
        if url:
            store = RedisStore(
                url,
                prefix=settings.prefix,
                timeout=settings.timeout,
                breaker=breaker_for(app, url),
            )
        else:
            warn_ignored_redis_url(app)
            store = MemoryStore()
        app.extensions[EXTENSION_KEY] = store
    return t.cast(Store, store)
