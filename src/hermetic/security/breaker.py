"""A circuit breaker: fail fast while a store is down, probe once for its recovery.

A store that hangs (a paused Redis, a dead network path) costs every request
its full socket timeout; with a few workers, the whole site stalls. The
breaker opens on the first connection failure or timeout: for the
cool-down (``HERMETIC_STORE_COOLDOWN``, default 5 seconds) every call fails
at once, without touching the network. After it, one call -- the probe --
goes through: its success closes the breaker, its failure opens it for
another cool-down. The other calls keep failing fast while the probe runs.

One breaker serves one store connection (one URL), shared by every shield
that uses it in the process; :func:`breaker_for` keeps them per app.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import typing as t

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask

__all__ = [
    "CLOSED",
    "DEFAULT_COOLDOWN",
    "HALF_OPEN",
    "OPEN",
    "CircuitBreaker",
    "CircuitOpenError",
    "breaker_for",
]

logger = logging.getLogger("hermetic.security.store")

#: Seconds the breaker stays open after a failure (``HERMETIC_STORE_COOLDOWN``).
DEFAULT_COOLDOWN = 5.0
#: Where :func:`breaker_for` keeps an app's breakers, by store URL.
EXTENSION_KEY = "hermetic.breakers"

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half-open"


class CircuitOpenError(ConnectionError):
    """A call refused by an open breaker, without touching the store."""


class CircuitBreaker:
    """Let calls through while the store works; refuse them for a cool-down after a failure.

    :param cooldown: Seconds calls are refused after a failure, default ``5``.
    :param name: Names the store in the log lines, default ``"store"``.
    :param now: The clock, in seconds; default :func:`time.monotonic`.

    Callers ask :meth:`allow` before a call and report :meth:`success` or
    :meth:`failure` after it. Only failures that say "unreachable"
    (connection refused, timeout) are reported: a store that answers "no"
    (read-only, out of memory) is up, and fails fast on its own. While
    :attr:`state` is ``CLOSED``, :meth:`allow` answers ``True`` and
    :meth:`success` does nothing, so a hot path may read the state first
    and skip both calls (the rate limiter does).
    """

    __slots__ = ("_lock", "_opened_at", "_probe_at", "cooldown", "name", "now", "state")

    def __init__(
        self,
        cooldown: float = DEFAULT_COOLDOWN,
        *,
        name: str = "store",
        now: t.Callable[[], float] = time.monotonic,
    ) -> None:
        if not cooldown > 0:
            raise ValueError(f"cooldown must be a positive number of seconds, not {cooldown!r}.")
        self.cooldown = float(cooldown)
        self.name = name
        self.now = now
        #: ``"closed"`` (calls go through), ``"open"`` or ``"half-open"`` (one probe out).
        self.state = CLOSED
        self._opened_at = 0.0
        self._probe_at = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.state}>"

    def allow(self) -> bool:
        """Tell whether a call may go to the store now (a probe, once the cool-down is over)."""
        if self.state is CLOSED:
            return True
        with self._lock:
            now = self.now()
            if self.state is OPEN:
                if now < self._opened_at + self.cooldown:
                    return False
                self.state = HALF_OPEN
            elif self.state is HALF_OPEN:
                # A probe that never reported back (its caller died) does not
                # hold the breaker half-open for ever: one more after a cool-down.
                if now < self._probe_at + self.cooldown:
                    return False
            else:
                return True
            self._probe_at = now
            return True

    def success(self) -> None:
        """Report a call that the store answered: close the breaker."""
        if self.state is CLOSED:
            return
        with self._lock:
            if self.state is not CLOSED:
                self.state = CLOSED
                logger.warning("The %s answers again; the circuit breaker is closed.", self.name)

    def failure(self) -> None:
        """Report a call that could not reach the store: open the breaker for a cool-down."""
        with self._lock:
            was = self.state
            self.state = OPEN
            self._opened_at = self.now()
        if was is CLOSED:
            logger.warning(
                "The %s is unreachable; the circuit breaker is open: requests that need it"
                " get 503 for %g seconds, then one request probes it.",
                self.name,
                self.cooldown,
            )

    def retry_after(self) -> int:
        """Return whole seconds until the next probe, at least 1 (for ``Retry-After``)."""
        if self.state is CLOSED:
            return max(1, math.ceil(self.cooldown))
        left = self._opened_at + self.cooldown - self.now()
        return max(1, math.ceil(left))


def breaker_for(
    app: Flask, url: str, *, now: t.Callable[[], float] | None = None
) -> CircuitBreaker:
    """Return ``app``'s breaker for the store at ``url``, made on first use.

    The session store and the rate limiter use one breaker when they use one
    Redis: when it goes down, both fail fast from the first failure of either.
    The cool-down is ``HERMETIC_STORE_COOLDOWN`` (app config, then the
    environment; default ``5`` seconds).
    """
    breakers: dict[str, CircuitBreaker] = app.extensions.setdefault(EXTENSION_KEY, {})
    breaker = breakers.get(url)
    if breaker is None:
        from ._store_base import store_settings

        cooldown = store_settings(app.config).cooldown
        kwargs = {} if now is None else {"now": now}
        breaker = breakers[url] = CircuitBreaker(cooldown, name="Redis store", **kwargs)
    return breaker
