"""The limiter: one ``limits`` storage per app, its strategies, its outages."""

from __future__ import annotations

import logging
import math
import time
import typing as t
import warnings

from limits.errors import ConfigurationError as _LimitsConfigurationError
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage, Storage, storage_from_string
from limits.strategies import STRATEGIES, RateLimiter

from ...globals import current_app
from ...settings import SettingsError
from .._store_base import DEFAULT_TIMEOUT, StoreSettings, store_settings
from ..audit import audit
from ..breaker import CLOSED, CircuitBreaker, CircuitOpenError, breaker_for
from ..errors import ConfigurationError, SecurityError, StoreUnavailableError
from ._declare import bounded, check_strategy, parse_limits
from ._limits_compat import incr_expire_ttl_script, sweep_memory_less_often
from ._settings import FAIL_CLOSED, FAIL_OPEN, RateLimitSettings

if t.TYPE_CHECKING:  # pragma: no cover
    from ...app import Flask

logger = logging.getLogger("hermetic.security.ratelimit")

#: The ``app.extensions`` key of the app's :class:`Limiter`.
EXTENSION_KEY = "hermetic.ratelimit"
#: Audit reasons.
REASON_EXCEEDED = "exceeded"
REASON_STORAGE_UNAVAILABLE = "storage_unavailable"
#: Seconds a Redis call may take before the storage counts as down
#: (``HERMETIC_STORE_TIMEOUT``, like the app's store).
DEFAULT_STORAGE_TIMEOUT = DEFAULT_TIMEOUT

#: Count one hit under a storage key: ``(hits in the window, seconds until it resets)``.
Counter = t.Callable[[str], tuple[int, float]]


class RateLimitExceeded(SecurityError):
    """A client over one of the route's rate limits: 429 with ``Retry-After``."""

    code = 429
    kind = "ratelimit"
    reason = REASON_EXCEEDED
    description = "Too many requests. Wait before trying again."


class RateLimitUnavailable(StoreUnavailableError):
    """The rate limit storage is down and limits fail closed: 503 with ``Retry-After``."""

    kind = "ratelimit"
    reason = REASON_STORAGE_UNAVAILABLE
    description = "The service cannot take this request right now. Try again later."


def storage_uri(settings: RateLimitSettings, store: StoreSettings) -> str:
    """Return the counters' storage: ``RATELIMIT_STORAGE_URI``, else ``HERMETIC_REDIS_URL``, else memory."""
    # Scaling out: HERMETIC_REDIS_URL makes sessions, limits and caches
    # shared; REDIS_URL is the app's own Redis, never taken over.
    return settings.storage_uri or store.redis_url or "memory://"


def _deprecated_clock(clock: t.Callable[[], float], where: str) -> t.Callable[[], float]:
    """Warn that ``clock=`` is now ``now=`` (the name every hermetic clock has); return it."""
    warnings.warn(
        f"{where}(clock=...) is deprecated. Cause: hermetic's injectable clocks are all"
        f" named now=. Fix: pass now=... instead.",
        DeprecationWarning,
        stacklevel=3,
    )
    return clock


def _unreachable(cause: BaseException) -> bool:
    """Tell whether a storage error means "cannot reach it" (not "it said no")."""
    # redis-py's ConnectionError and TimeoutError are not the builtin ones.
    return isinstance(cause, OSError) or any(
        c.__name__ in ("ConnectionError", "TimeoutError") for c in type(cause).__mro__
    )


def check_config(config: t.Mapping[str, t.Any]) -> RateLimitSettings:
    """Return the checked ``RATELIMIT_*`` settings; raise :class:`ConfigurationError` for a bad one."""
    try:
        return RateLimitSettings.from_config(config)
    except SettingsError as e:
        raise ConfigurationError(str(e), key=e.key) from None


class Limiter:
    """Count hits in a ``limits`` storage and apply the outage policy.

    :param storage_uri: ``"memory://"`` (default; one process) or
        ``"redis://host:port/db"`` (shared by every process).
    :param strategy: the default strategy, default ``"fixed-window"``.
    :param on_storage_error: ``"closed"`` (default: refuse with 503) or
        ``"open"`` (allow) while the storage is down.
    :param storage_options: passed to the storage (``key_prefix``, timeouts;
        for Redis the defaults are a ``0.5`` second timeout and no retry).
    :param now: the clock, epoch seconds, default :func:`time.time`
        (``clock=`` is its deprecated name).
    :param breaker: the storage's
        :class:`~hermetic.security.breaker.CircuitBreaker` (shared with the
        app's store when both use one Redis), default a new one on ``now``:
        after a storage failure, requests get the outage policy at once for
        its cool-down, then one request probes the storage.

    .. warning::
        ``on_storage_error="open"`` turns every limit off while the storage
        is down: an attacker who can take Redis down also lifts the limits.
    """

    def __init__(
        self,
        storage_uri: str = "memory://",
        *,
        strategy: str = "fixed-window",
        on_storage_error: str = FAIL_CLOSED,
        storage_options: t.Mapping[str, t.Any] | None = None,
        now: t.Callable[[], float] = time.time,
        breaker: CircuitBreaker | None = None,
        clock: t.Callable[[], float] | None = None,
    ) -> None:
        if clock is not None:
            now = _deprecated_clock(clock, "Limiter")
        options = dict(storage_options or {})
        if storage_uri.startswith(("redis", "rediss", "valkey")):
            options.setdefault("key_prefix", "hermetic-ratelimit")
            # SECURITY: a storage that hangs would hang every limited request;
            # a short timeout turns "Redis is unreachable" into the policy.
            options.setdefault("socket_connect_timeout", DEFAULT_STORAGE_TIMEOUT)
            options.setdefault("socket_timeout", DEFAULT_STORAGE_TIMEOUT)
            if storage_uri.startswith("redis"):
                # A retried timeout multiplies the stall; the breaker retries.
                from redis.backoff import NoBackoff
                from redis.retry import Retry

                options.setdefault("retry", Retry(NoBackoff(), 0))
        try:
            self.storage: Storage = t.cast(
                Storage, storage_from_string(storage_uri, wrap_exceptions=True, **options)
            )
        except _LimitsConfigurationError as exc:
            raise ConfigurationError(
                f"RATELIMIT_STORAGE_URI cannot be used: {exc}. Use 'memory://' or"
                " 'redis://host:port/db' (the redis package must be installed)."
            ) from None
        if type(self.storage) is MemoryStorage:
            sweep_memory_less_often(self.storage)
        base = self.storage.base_exceptions
        #: The exceptions that mean "the storage is down".
        self.storage_errors: tuple[type[BaseException], ...] = (
            CircuitOpenError,
            StorageError,
            OSError,
            *(base if isinstance(base, tuple) else (base,)),
        )
        self.default_strategy = check_strategy(strategy, "RATELIMIT_STRATEGY") or "fixed-window"
        self.fail_open = on_storage_error == FAIL_OPEN
        self.now = now
        #: Fails fast while the storage is down (see :mod:`hermetic.security.breaker`).
        self.breaker = breaker if breaker is not None else CircuitBreaker(now=now)
        self._strategies: dict[str, RateLimiter] = {}
        self._outage_since: float | None = None

    @classmethod
    def from_config(
        cls,
        config: t.Mapping[str, t.Any],
        now: t.Callable[[], float] = time.time,
        breaker: CircuitBreaker | None = None,
    ) -> Limiter:
        """Build the limiter that the ``RATELIMIT_*`` settings describe (and ``HERMETIC_STORE_*``)."""
        return cls.from_settings(check_config(config), store_settings(config), now, breaker)

    @classmethod
    def from_settings(
        cls,
        settings: RateLimitSettings,
        store: StoreSettings,
        now: t.Callable[[], float] = time.time,
        breaker: CircuitBreaker | None = None,
    ) -> Limiter:
        """Build the limiter of checked settings."""
        options = dict(settings.storage_options)
        options.setdefault("socket_connect_timeout", store.timeout)
        options.setdefault("socket_timeout", store.timeout)
        return cls(
            storage_uri(settings, store),
            strategy=settings.strategy,
            on_storage_error=settings.on_storage_error,
            storage_options=options,
            now=now,
            breaker=breaker,
        )

    def strategy(self, name: str | None = None) -> RateLimiter:
        """Return the ``limits`` strategy ``name`` (default: the app's) on this storage."""
        name = name or self.default_strategy
        limiter = self._strategies.get(name)
        if limiter is None:
            limiter = self._strategies[name] = STRATEGIES[name](self.storage)
        return limiter

    def fixed_window_counter(self, expiry: int) -> Counter | None:
        """Return a one-call fixed-window counter for windows of ``expiry`` seconds.

        The ``limits`` strategy needs a second storage call
        (``get_window_stats``) for the remaining count and the reset; the
        count is what ``incr`` returns, and the reset is the window's end,
        which the memory storage keeps in a dict and Redis returns with the
        count. ``None`` for storages without such a path (the caller then
        uses the library's calls).
        """
        storage = self.storage
        clock = self.now
        if type(storage) is MemoryStorage and isinstance(
            getattr(storage, "expirations", None), dict
        ):
            memory = storage

            def count_in_memory(key: str) -> tuple[int, float]:
                hits = memory.incr(key, expiry)
                # The window's end, as ``get_expiry`` reads it (no expiry: now).
                end = memory.expirations.get(key)
                return hits, 0.0 if end is None else end - clock()

            return count_in_memory
        source = incr_expire_ttl_script() if type(storage) is RedisStorage else None
        if source is not None:
            redis = t.cast(RedisStorage, storage)
            script = redis.get_connection().register_script(source.encode("utf-8"))
            prefixed = redis.prefixed_key

            def count_in_redis(key: str) -> tuple[int, float]:
                hits, ttl = script([prefixed(key)], [expiry, 1])
                # A TTL below 0 (no key, no expiry) reads as "now", like the library.
                return int(hits), float(max(int(ttl), 0))

            return count_in_redis
        return None

    # -- outages ----------------------------------------------------------

    def check_breaker(self) -> None:
        """Raise :class:`~hermetic.security.breaker.CircuitOpenError` while the breaker is open.

        Call it inside the ``try`` that catches :attr:`storage_errors`, before
        the storage calls: an open breaker then gets the outage policy
        without a network round trip.
        """
        breaker = self.breaker
        # A closed breaker allows every call: asked only when it is not.
        if breaker.state is not CLOSED and not breaker.allow():
            raise CircuitOpenError("The rate limit storage's circuit breaker is open.")

    def storage_failed(self, exc: BaseException) -> None:
        """Apply the outage policy: return to allow, raise 503 to refuse."""
        cause = getattr(exc, "storage_error", exc)
        if not isinstance(exc, CircuitOpenError) and _unreachable(cause):
            # Only "unreachable" opens the breaker: a Redis that answers "no"
            # (read-only, out of memory) is up, and fast.
            self.breaker.failure()
        first = self._outage_since is None
        if first:
            self._outage_since = self.now()
            # Only the exception's type: its text may hold a host or a URL.
            logger.warning(
                "Rate limit storage unavailable (%s); limits now fail %s.",
                type(cause).__name__,
                "open (requests allowed)" if self.fail_open else "closed (503)",
            )
        if self.fail_open:
            if first:
                audit("ratelimit", reason=REASON_STORAGE_UNAVAILABLE, action="allow")
            return
        audit("ratelimit", reason=REASON_STORAGE_UNAVAILABLE, action="refuse")
        # SECURITY: fail closed by default; a limit that cannot count
        # does not let requests through.
        raise RateLimitUnavailable(retry_after=self.breaker.retry_after())

    def storage_ok(self) -> None:
        """Note that the storage answered (ends an outage)."""
        breaker = self.breaker
        if breaker.state is not CLOSED:  # a closed breaker has nothing to note
            breaker.success()
        if self._outage_since is not None:
            self._outage_since = None
            logger.warning("Rate limit storage available again; limits apply.")

    @property
    def in_outage(self) -> bool:
        """Tell whether the last storage call failed."""
        return self._outage_since is not None

    # -- for views --------------------------------------------------------

    def hit(self, limit: str, key: str, *, scope: str = "hit", strategy: str | None = None) -> bool:
        """Count one hit of ``key`` against ``limit``; tell whether it is allowed.

        A refusal is audited (``ratelimit``, reason ``exceeded``). While the
        storage is down, returns ``True`` when limits fail open and raises
        :class:`RateLimitUnavailable` (503) when they fail closed.
        """
        items = parse_limits(limit)
        limiter = self.strategy(check_strategy(strategy))
        try:
            self.check_breaker()
            for item in items:
                if not limiter.hit(item, scope, "*", "k:" + bounded(key)):
                    self.storage_ok()
                    audit("ratelimit", reason=REASON_EXCEEDED, limit=str(item), key=key)
                    return False
        except self.storage_errors as exc:
            self.storage_failed(exc)
            return True
        self.storage_ok()
        return True

    def test(
        self, limit: str, key: str, *, scope: str = "hit", strategy: str | None = None
    ) -> bool:
        """Tell whether one more hit of ``key`` would be allowed, without counting it."""
        limiter = self.strategy(check_strategy(strategy))
        try:
            self.check_breaker()
            allowed = all(
                limiter.test(item, scope, "*", "k:" + bounded(key)) for item in parse_limits(limit)
            )
        except self.storage_errors as exc:
            self.storage_failed(exc)
            return True
        self.storage_ok()
        return allowed

    def reset(
        self, limit: str, key: str, *, scope: str = "hit", strategy: str | None = None
    ) -> None:
        """Forget the hits of ``key`` against ``limit`` (after a successful login)."""
        limiter = self.strategy(check_strategy(strategy))
        try:
            self.check_breaker()
            for item in parse_limits(limit):
                limiter.clear(item, scope, "*", "k:" + bounded(key))
        except self.storage_errors as exc:
            self.storage_failed(exc)

    def retry_after(self, reset_time: float) -> int:
        """Return whole seconds until ``reset_time``, at least 1."""
        return max(1, math.ceil(reset_time - self.now()))


def limiter_for(
    app: Flask,
    *,
    now: t.Callable[[], float] | None = None,
    clock: t.Callable[[], float] | None = None,
) -> Limiter:
    """Return ``app``'s :class:`Limiter`, building it from the config on first use.

    ``clock=`` is the deprecated name of ``now=``.
    """
    if clock is not None:
        now = _deprecated_clock(clock, "limiter_for")
    limiter = app.extensions.get(EXTENSION_KEY)
    if limiter is None:
        settings = check_config(app.config)
        store = store_settings(app.config)
        uri = storage_uri(settings, store)
        # One breaker per Redis: shared with the app's store when the URLs match.
        breaker = None if uri.startswith("memory") else breaker_for(app, uri, now=now)
        limiter = Limiter.from_settings(settings, store, now or time.time, breaker)
        app.extensions[EXTENSION_KEY] = limiter
    return t.cast(Limiter, limiter)


def hit(limit: str, key: str, *, scope: str = "hit", strategy: str | None = None) -> bool:
    """Count one hit of ``key`` against ``limit`` on the current app's limiter.

    For limits a view decides itself, such as failed logins per account::

        if not hit("5/minute;20/hour", f"login:{username}", scope="login"):
            raise RateLimitExceeded()
    """
    return limiter_for(current_app).hit(limit, key, scope=scope, strategy=strategy)
