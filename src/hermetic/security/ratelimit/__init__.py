"""Rate limits on the ``limits`` library: per route, per client, shared by Redis.

Declare limits on views with :func:`rate_limit` (stackable), set an app
default with ``RATELIMIT_DEFAULT``, and install :class:`RateLimitShield`
(``RateLimitShield().init_app(app)``). Over a limit, a client gets a 429
problem with ``Retry-After``; every limited response carries
``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``
(IETF draft, seconds). The storage is ``memory://`` (one process) or Redis
(``HERMETIC_REDIS_URL``, or the override ``RATELIMIT_STORAGE_URI``): every process shares the
same counts. When the storage is down, limits fail closed (503) or open, as
``RATELIMIT_ON_STORAGE_ERROR`` says -- never a 500.

Views count their own events (failed logins per account) with :func:`hit`
or :func:`limiter_for`.

Time: ``limits`` reads :func:`time.time` itself. Tests pass a
``ManualClock`` to the shield (``now=``) and run inside ``limits_clock`` so
the library reads the same clock (both in :mod:`hermetic.testing`); nothing
sleeps.
"""

from __future__ import annotations

from ._declare import KEY_IP as KEY_IP
from ._declare import KEY_SUBJECT as KEY_SUBJECT
from ._declare import KEY_USER as KEY_USER
from ._declare import STRATEGY_NAMES as STRATEGY_NAMES
from ._declare import RateLimitSpec as RateLimitSpec
from ._declare import ip_key as ip_key
from ._declare import rate_limit as rate_limit
from ._declare import subject_key as subject_key
from ._declare import user_key as user_key
from ._limiter import REASON_EXCEEDED as REASON_EXCEEDED
from ._limiter import REASON_STORAGE_UNAVAILABLE as REASON_STORAGE_UNAVAILABLE
from ._limiter import Limiter as Limiter
from ._limiter import RateLimitExceeded as RateLimitExceeded
from ._limiter import RateLimitUnavailable as RateLimitUnavailable
from ._limiter import hit as hit
from ._limiter import limiter_for as limiter_for
from ._settings import FAIL_CLOSED as FAIL_CLOSED
from ._settings import FAIL_OPEN as FAIL_OPEN
from ._settings import RateLimitSettings as RateLimitSettings
from ._shield import RateLimitShield as RateLimitShield

__all__ = [
    "FAIL_CLOSED",
    "FAIL_OPEN",
    "KEY_IP",
    "KEY_SUBJECT",
    "KEY_USER",
    "REASON_EXCEEDED",
    "REASON_STORAGE_UNAVAILABLE",
    "STRATEGY_NAMES",
    "Limiter",
    "RateLimitExceeded",
    "RateLimitSettings",
    "RateLimitShield",
    "RateLimitSpec",
    "RateLimitUnavailable",
    "hit",
    "ip_key",
    "limiter_for",
    "rate_limit",
    "subject_key",
    "user_key",
]
