"""The Redis store (re-exported by :mod:`hermetic.security.stores`)."""

from __future__ import annotations

import builtins
import math
import typing as t

from ._store_base import DEFAULT_TIMEOUT, Store, StoreError, StoreUnavailable, _check_ttl
from .breaker import DEFAULT_COOLDOWN, CircuitBreaker

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
    :param timeout: Seconds a connection or a call may take, default
        ``0.5`` (used when a URL is given; a client keeps its own), with no
        retry: a hung Redis costs a request half a second, not five.
    :param breaker: The :class:`~hermetic.security.breaker.CircuitBreaker`
        of this connection, default a new one with a ``5`` second cool-down.

    Connection failures, timeouts and an open breaker raise
    :class:`StoreUnavailable`, as do writes refused by a read-only replica or
    a full server (``maxmemory`` with ``noeviction``); other Redis errors
    raise :class:`StoreError`.
    """

    def __init__(
        self,
        url_or_client: t.Any,
        prefix: str = "hermetic:",
        *,
        timeout: float = DEFAULT_TIMEOUT,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        import redis  # the hermetic[redis] extra
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self._errors = redis.exceptions
        if isinstance(url_or_client, str):
            url_or_client = redis.Redis.from_url(
                url_or_client,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                # SECURITY: no retries: a retried timeout multiplies the stall;
                # the breaker decides when to try again.
                retry=Retry(NoBackoff(), 0),
            )
        self.client = url_or_client
        self.prefix = prefix
        self.breaker = breaker if breaker is not None else CircuitBreaker(DEFAULT_COOLDOWN)
        self._incr = self.client.register_script(_INCR_LUA)
        e = self._errors
        self._down = (e.ConnectionError, e.TimeoutError)
        self._refused = (e.ReadOnlyError, e.OutOfMemoryError)

    def __repr__(self) -> str:
        # The URL may hold a password: never show it.
        return f"<{type(self).__name__} prefix={self.prefix!r}>"

    def _call(self, fn: t.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any) -> t.Any:
        breaker = self.breaker
        if not breaker.allow():
            # SECURITY: fail fast while Redis is down; the caller fails closed.
            raise StoreUnavailable(
                "Redis is unavailable (circuit breaker open).", retry_after=breaker.retry_after()
            )
        try:
            result = fn(*args, **kwargs)
        except self._down as e:
            breaker.failure()
            raise StoreUnavailable(
                f"Redis is unreachable ({type(e).__name__}).", retry_after=breaker.retry_after()
            ) from e
        except self._refused as e:
            breaker.success()  # Redis answered: it is up, and says no at once.
            raise StoreUnavailable(f"Redis refuses writes ({type(e).__name__}).") from e
        except self._errors.RedisError as e:
            breaker.success()
            if str(e).startswith(("OOM ", "READONLY ", "MISCONF ")):
                raise StoreUnavailable(f"Redis refuses writes ({type(e).__name__}).") from e
            raise StoreError(f"Redis refused the operation ({type(e).__name__}).") from e
        breaker.success()
        return result

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

    def smembers(self, key: str) -> builtins.set[str]:
        """Return the members of the set ``key`` (empty when missing)."""
        raw = self._call(self.client.smembers, self.prefix + key)
        return {m.decode() if isinstance(m, bytes) else m for m in raw}

    def srem(self, key: str, member: str) -> None:
        """Remove ``member`` from the set ``key``."""
        self._call(self.client.srem, self.prefix + key, member)
