"""Remember-me tokens: revocable, rotated on use, with theft detection.

The cookie holds ``selector:validator``. The store keeps, under the
selector, the user id and the SHA-256 of the validator -- never the
validator itself, so a leaked store holds no usable cookie. Each use
replaces the validator. A known selector presented with a wrong validator
means two parties held the same cookie (one of them a thief who already
used it): the token is revoked and the event audited.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
import typing as t

if t.TYPE_CHECKING:  # pragma: no cover
    from ..stores import Store

_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{43}")
# bandit B105: a store key prefix, not a password.
_TOKEN_KEY = "remember:t:"  # nosec B105
_USER_KEY = "remember:u:"

#: Results of :meth:`RememberTokens.check`.
OK = "ok"
MALFORMED = "malformed"
UNKNOWN = "unknown"
THEFT = "theft"


class RememberResult(t.NamedTuple):
    """What a remember-me cookie proved."""

    status: str
    user_id: str | None = None
    #: The rotated cookie value to send, when there is one.
    cookie: str | None = None
    #: Seconds the rotated cookie has left.
    max_age: int = 0


def _digest(validator: str) -> str:
    return hashlib.sha256(validator.encode("ascii")).hexdigest()


def _selector(cookie: str) -> str | None:
    if not isinstance(cookie, str) or _TOKEN_RE.fullmatch(cookie) is None:
        return None
    return cookie[:16]


class RememberTokens:
    """Issue, check, rotate and revoke remember-me tokens held in ``store``.

    :param duration: seconds a token lives after it is issued (rotation does
        not extend it).
    :param grace: seconds the previous validator stays good after a rotation,
        default ``30``, so parallel requests sent with the old cookie are not
        taken for theft; ``0`` turns the grace off.
    :param now: the clock (epoch seconds), default :func:`time.time`.
    """

    __slots__ = ("duration", "grace", "now", "store")

    def __init__(
        self,
        store: Store,
        duration: float,
        *,
        grace: float = 30.0,
        now: t.Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.duration = duration
        self.grace = grace
        self.now = now

    def issue(
        self, user_id: str, duration: float | None = None, *, now: float | None = None
    ) -> tuple[str, int]:
        """Make a token for ``user_id``; return the cookie value and its max age."""
        now = self.now() if now is None else now
        ttl = self.duration if duration is None else duration
        if not ttl > 0:
            raise ValueError("The remember-me duration must be positive.")
        selector = secrets.token_urlsafe(12)
        validator = secrets.token_urlsafe(32)
        record = {"u": user_id, "h": _digest(validator), "e": now + ttl, "p": None, "r": now}
        self._save(selector, record, ttl)
        self.store.sadd(_USER_KEY + user_id, selector, ttl=ttl)
        return f"{selector}:{validator}", int(ttl)

    def _save(self, selector: str, record: dict[str, t.Any], ttl: float) -> None:
        self.store.set(_TOKEN_KEY + selector, json.dumps(record).encode(), ttl=ttl)

    def _load(self, selector: str) -> dict[str, t.Any] | None:
        raw = self.store.get(_TOKEN_KEY + selector)
        if raw is None:
            return None
        try:
            record = json.loads(raw)
        except ValueError:
            return None
        return record if isinstance(record, dict) else None

    def check(self, cookie: str, *, now: float | None = None) -> RememberResult:
        """Tell whom ``cookie`` remembers, rotating its validator on success."""
        selector = _selector(cookie)
        if selector is None:
            return RememberResult(MALFORMED)
        record = self._load(selector)
        now = self.now() if now is None else now
        if record is None or record["e"] <= now:
            return RememberResult(UNKNOWN)
        user_id = record["u"]
        presented = _digest(cookie[17:])
        # SECURITY: constant-time comparisons; the digests are not secret, but
        # the timing of a compare must not guide a guess either.
        if hmac.compare_digest(presented, record["h"]):
            validator = secrets.token_urlsafe(32)
            record.update(p=record["h"], h=_digest(validator), r=now)
            left = record["e"] - now
            self._save(selector, record, left)
            return RememberResult(OK, user_id, f"{selector}:{validator}", int(left))
        previous = record.get("p")
        if (
            previous is not None
            and now - record["r"] <= self.grace
            and hmac.compare_digest(presented, previous)
        ):
            # A request sent with the cookie from just before the last rotation
            # (parallel requests): accept it, do not rotate again.
            return RememberResult(OK, user_id)
        # SECURITY: a known selector with a wrong validator: the cookie was
        # copied and used by someone else. Revoke it for both parties.
        self._revoke_selector(selector, user_id)
        return RememberResult(THEFT, user_id)

    def _revoke_selector(self, selector: str, user_id: str | None) -> None:
        self.store.delete(_TOKEN_KEY + selector)
        if user_id is not None:
            self.store.srem(_USER_KEY + user_id, selector)

    def revoke(self, cookie: str) -> str | None:
        """Revoke the token of ``cookie``; return its user id when it was known."""
        selector = _selector(cookie)
        if selector is None:
            return None
        record = self._load(selector)
        user_id = record["u"] if record is not None else None
        self._revoke_selector(selector, user_id)
        return user_id

    def revoke_user(self, user_id: str) -> int:
        """Revoke every token of ``user_id``; return how many there were."""
        key = _USER_KEY + user_id
        selectors = self.store.smembers(key)
        for selector in selectors:
            self.store.delete(_TOKEN_KEY + selector)
        self.store.delete(key)
        return len(selectors)
