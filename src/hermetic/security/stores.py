"""Small shared state with expiry: revocation lists, server-side sessions, counters.

:class:`MemoryStore` keeps everything in the process (the default: right for
one process, wrong for several workers, since each has its own copy).
:class:`RedisStore` shares it between processes and machines. The app's
store comes from :func:`store_for`; put your own :class:`Store` in
``app.extensions["hermetic.store"]`` to replace it.

Errors from the backend are raised, never swallowed: a caller that guards
something with the store decides how to fail (closed, usually).
"""

from __future__ import annotations

import math
import os
import threading
import time
import typing as t

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask

#: Where :func:`store_for` keeps the app's store.
EXTENSION_KEY = "hermetic.store"


class StoreError(RuntimeError):
    """The root of the store errors (also a wrong-type operation on a key)."""


class StoreUnavailable(StoreError):
    """The store cannot be reached (connection refused, timeout)."""


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

    def smembers(self, key: str) -> set[str]:
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


# INCR, and set the expiry only when the key was just created: atomic in Redis.
_INCR_LUA = """
local n = redis.call('INCR', KEYS[1])
if n == 1 and tonumber(ARGV[1]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n
"""


def _ms(ttl: float) -> int:
    return max(1, math.ceil(ttl * 1000))


class RedisStore(Store):
    """A store on Redis (redis-py), shared by every process that uses the same server.

    :param url_or_client: A ``redis://`` URL, or a ``redis.Redis`` client.
    :param prefix: Put before every key, default ``"hermetic:"``; give each
        application its own.

    Connection failures raise :class:`StoreUnavailable`; other Redis errors
    raise :class:`StoreError`.
    """

    def __init__(self, url_or_client: t.Any, prefix: str = "hermetic:") -> None:
        import redis  # the hermetic[redis] extra

        self._errors = redis.exceptions
        if isinstance(url_or_client, str):
            url_or_client = redis.Redis.from_url(
                url_or_client, socket_timeout=5, socket_connect_timeout=5
            )
        self.client = url_or_client
        self.prefix = prefix
        self._incr = self.client.register_script(_INCR_LUA)

    def __repr__(self) -> str:
        # The URL may hold a password: never show it.
        return f"<{type(self).__name__} prefix={self.prefix!r}>"

    def _call(self, fn: t.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any) -> t.Any:
        errors = self._errors
        try:
            return fn(*args, **kwargs)
        except (errors.ConnectionError, errors.TimeoutError) as e:
            raise StoreUnavailable(f"Redis is unreachable ({type(e).__name__}).") from e
        except errors.RedisError as e:
            raise StoreError(f"Redis refused the operation ({type(e).__name__}).") from e

    def get(self, key: str) -> bytes | None:
        """Return the value of ``key``, or ``None`` when it is missing or expired."""
        return t.cast("bytes | None", self._call(self.client.get, self.prefix + key))

    def get_many(self, keys: t.Sequence[str]) -> list[bytes | None]:
        """Return the values of ``keys``, in order, with one ``MGET``."""
        if not keys:
            return []
        prefix = self.prefix
        return t.cast(
            "list[bytes | None]", self._call(self.client.mget, [prefix + k for k in keys])
        )

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Set ``key`` to ``value``, expiring after ``ttl`` seconds."""
        _check_ttl(ttl)
        px = None if ttl is None else _ms(ttl)
        self._call(self.client.set, self.prefix + key, value, px=px)

    def delete(self, key: str) -> None:
        """Remove ``key`` (nothing happens when it is missing)."""
        self._call(self.client.delete, self.prefix + key)

    def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        """Set ``key`` only if it is missing (``SET NX``); tell whether it was set."""
        _check_ttl(ttl)
        px = None if ttl is None else _ms(ttl)
        return bool(self._call(self.client.set, self.prefix + key, value, nx=True, px=px))

    def incr(self, key: str, ttl: float | None = None) -> int:
        """Add one to the counter ``key`` atomically (a Lua script) and return it."""
        _check_ttl(ttl)
        px = 0 if ttl is None else _ms(ttl)
        return int(self._call(self._incr, keys=[self.prefix + key], args=[px]))

    def sadd(self, key: str, member: str, ttl: float | None = None) -> None:
        """Add ``member`` to the set ``key`` and refresh its expiry, in one transaction."""
        _check_ttl(ttl)
        name = self.prefix + key

        def run() -> None:
            pipe = self.client.pipeline(transaction=True)
            pipe.sadd(name, member)
            if ttl is None:
                pipe.persist(name)
            else:
                pipe.pexpire(name, _ms(ttl))
            pipe.execute()

        self._call(run)

    def smembers(self, key: str) -> set[str]:
        """Return the members of the set ``key`` (empty when missing)."""
        raw = self._call(self.client.smembers, self.prefix + key)
        return {m.decode() if isinstance(m, bytes) else m for m in raw}

    def srem(self, key: str, member: str) -> None:
        """Remove ``member`` from the set ``key``."""
        self._call(self.client.srem, self.prefix + key, member)


def _setting(app: Flask, name: str) -> t.Any:
    value = app.config.get(name)
    return value if value else os.environ.get(name)


def store_for(app: Flask) -> Store:
    """Return ``app``'s store, made on first use and kept in ``app.extensions``.

    A :class:`RedisStore` when ``HERMETIC_REDIS_URL`` or ``REDIS_URL`` is
    set (app config first, then the environment), with the key prefix
    ``HERMETIC_STORE_PREFIX`` (default ``"hermetic:"``); otherwise a
    :class:`MemoryStore`.
    """
    store = app.extensions.get(EXTENSION_KEY)
    if store is None:
        url = _setting(app, "HERMETIC_REDIS_URL") or _setting(app, "REDIS_URL")
        if url:
            prefix = _setting(app, "HERMETIC_STORE_PREFIX") or "hermetic:"
            store = RedisStore(url, prefix=prefix)
        else:
            store = MemoryStore()
        app.extensions[EXTENSION_KEY] = store
    return t.cast(Store, store)
