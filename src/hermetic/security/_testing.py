"""Test helpers of the security layer: a manual clock, and the switch that makes ``limits`` read it.

Not public API here: ``hermetic.testing`` re-exports :class:`ManualClock`
and :func:`limits_clock`.

``limits`` reads :func:`time.time` inside its memory storage and its
strategies; it takes no clock argument. Rather than re-implement its
storages, :func:`limits_clock` points the ``time`` name of those two modules
at a stand-in whose ``time()`` is the given clock, for the duration of a
``with`` block. The shield reads the same clock (``RateLimitShield(now=)``)
to compute ``RateLimit-Reset`` and ``Retry-After``, so windows open, fill and
reset without a test ever sleeping.

Redis keeps its own time (key TTLs), so tests against Redis do not move the
clock; they check sharing and outages instead.
"""

from __future__ import annotations

import contextlib
import types
import typing as t

__all__ = ["ManualClock", "limits_clock"]


class ManualClock:
    """A clock that moves only when told: ``clock()`` returns epoch seconds."""

    __slots__ = ("now",)

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = float(now)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        """Move the clock ``seconds`` forward; return the new time."""
        self.now += seconds
        return self.now


@contextlib.contextmanager
def limits_clock(clock: t.Callable[[], float]) -> t.Iterator[t.Callable[[], float]]:
    """Make ``limits``' memory storage and strategies read ``clock`` inside the block.

    For tests: the change is process-wide while the block runs. Needs the
    ``ratelimit`` extra.
    """
    import limits.storage.memory
    import limits.strategies

    # The modules of ``limits`` that call ``time.time()``.
    clocked = (limits.storage.memory, limits.strategies)
    stand_in = types.SimpleNamespace(time=clock)
    saved = [getattr(module, "time") for module in clocked]  # noqa: B009
    for module in clocked:
        setattr(module, "time", stand_in)  # noqa: B010
    try:
        yield clock
    finally:
        for module, original in zip(clocked, saved, strict=True):
            setattr(module, "time", original)  # noqa: B010
