"""The memo of recently opened session cookies (re-exported by :mod:`._session_cookie`)."""

from __future__ import annotations

import threading
import typing as t

#: The values an opened cookie's data may hold for it to be remembered:
#: immutable, so that no request can change what the next one gets.
_SCALARS = frozenset((str, int, float, bool, type(None)))
#: What OpenedCookies keeps of an opened cookie: session id, creation time,
#: last seen, data, and whether the data is an anonymous visitor's alone
#: (:func:`._session_cookie.is_cookie_only_data`).
Remembered = tuple[str, float, float, t.Any, bool]


class OpenedCookies:
    """Remember what recently opened cookies held, for one cookie name.

    A cookie is a pure function of the key ring, its name and its value:
    opening the same value again gives the same result. The expiry and
    revocation checks still run on every request. Entries are kept for one
    key ring only (a new ring, after a key change, starts afresh), at most
    ``size`` of them, the oldest dropped first; ``0`` turns this off. Only a
    cookie whose data holds nothing but strings, numbers, booleans and
    ``None`` is remembered, since the session copies only the top level.
    """

    __slots__ = ("_lock", "current", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        #: (key ring, {cookie value: remembered}), replaced as a whole:
        #: open_session reads it as :meth:`get` does, without the call.
        self.current: tuple[t.Any, dict[str, Remembered]] = (None, {})

    def get(self, ring: t.Any, value: str) -> Remembered | None:
        """Return what ``value`` opened to under ``ring``, if it is remembered."""
        current = self.current
        return current[1].get(value) if current[0] is ring else None

    def put(self, ring: t.Any, value: str, opened: Remembered) -> None:
        """Remember that ``value`` opened to ``opened`` under ``ring``, when that is safe."""
        data = opened[3]
        if self.size <= 0 or not (
            data is None or (type(data) is dict and _SCALARS.issuperset(map(type, data.values())))
        ):
            return
        # SECURITY: only immutable data is shared between requests; a key
        # change (a new ring) forgets every cookie opened before it.
        with self._lock:
            if self.current[0] is not ring:
                self.current = (ring, {})
            entries = self.current[1]
            while len(entries) >= self.size:
                del entries[next(iter(entries))]
            entries[value] = opened
