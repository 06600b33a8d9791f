"""The two places hermetic leans on ``limits`` beyond its public API, in one module.

1. :func:`sweep_memory_less_often` replaces the memory storage's private
   (name-mangled) expiry scheduler, so expired counters are swept once a
   second rather than by a new thread 10 ms after every hit.
2. :func:`incr_expire_ttl_script` derives, from the library's own public
   ``RedisStorage.SCRIPT_INCR_EXPIRE``, a script that also returns the TTL:
   one round trip gives the count and the reset.

Both check the layout they need and change nothing when it differs (the
library's own behaviour then applies: correct, a little slower).
``tests/security/ratelimit/test_limits_compat.py`` fails loudly when an upgrade of
``limits`` changes either layout; ``pyproject.toml`` bounds ``limits``
below its next major version.
"""

from __future__ import annotations

import threading
import time

from limits.storage import MemoryStorage, RedisStorage

__all__ = ["MEMORY_SWEEP_INTERVAL", "incr_expire_ttl_script", "sweep_memory_less_often"]

#: Seconds between two sweeps of expired counters in the memory storage.
MEMORY_SWEEP_INTERVAL = 1.0

#: The mangled names of the memory storage's sweep and its scheduler.
_EXPIRE = "_MemoryStorage__expire_events"
_SCHEDULE = "_MemoryStorage__schedule_expiry"
#: The last line of the library's script, and what ours returns instead.
_RETURN = "return current"
_RETURN_WITH_TTL = 'return {current, redis.call("ttl", KEYS[1])}'


def memory_layout_known(storage: MemoryStorage) -> bool:
    """Tell whether ``storage`` has the private parts :func:`sweep_memory_less_often` replaces."""
    return (
        callable(getattr(storage, _EXPIRE, None))
        and callable(getattr(type(storage), _SCHEDULE, None))
        and isinstance(getattr(storage, "timer", None), threading.Timer)
        and isinstance(getattr(storage, "expirations", None), dict)
    )


def sweep_memory_less_often(storage: MemoryStorage) -> bool:
    """Make the memory storage sweep expired counters every second, not every 10 ms.

    ``limits`` starts a new timer thread 10 ms after any hit to drop expired
    counters; its wake-ups take the GIL from the requests being served (a
    few microseconds per request on a busy server). Counting does not depend
    on the sweep (every read checks the expiry itself); the sweep only
    bounds memory, and a one-second delay keeps it bounded. The library's
    own sweep still does the work, on a daemon thread. Tell whether it did.
    """
    # SECURITY: memory stays bounded (the library's sweep, once a second);
    # with another ``limits`` layout nothing is changed.
    if not memory_layout_known(storage):
        return False
    expire = getattr(storage, _EXPIRE)
    next_sweep = [0.0]
    monotonic = time.monotonic

    def schedule_sweep() -> None:
        now = monotonic()
        if now < next_sweep[0]:
            return  # A sweep is already on its way.
        next_sweep[0] = now + MEMORY_SWEEP_INTERVAL
        timer = threading.Timer(MEMORY_SWEEP_INTERVAL, expire)
        timer.daemon = True
        storage.timer = timer
        timer.start()

    # The storage calls ``self.__schedule_expiry()`` on every hit: an
    # instance attribute of that (mangled) name takes its place.
    setattr(storage, _SCHEDULE, schedule_sweep)
    return True


def incr_expire_ttl_script() -> str | None:
    """Return the library's fixed-window script returning ``{count, ttl}``, or ``None``.

    ``None`` when the library's script no longer ends with ``return
    current`` or the storage has no public ``prefixed_key`` (the caller then
    uses the library's two calls). Keys stay the library's.
    """
    source = getattr(RedisStorage, "SCRIPT_INCR_EXPIRE", None)
    if isinstance(source, bytes):
        source = source.decode("utf-8")  # package data, as ``limits`` 5 reads it
    if not isinstance(source, str) or not callable(getattr(RedisStorage, "prefixed_key", None)):
        return None
    body = source.rstrip()
    if not body.endswith(_RETURN) or body.count(_RETURN) != 1:
        return None
    return body[: -len(_RETURN)] + _RETURN_WITH_TTL + "\n"
