"""The ``jti`` replay cache and the revocation lists, on the app's Store.

Keys (under the store's own prefix):

- ``jwt:seen:<h>`` -- a token id already presented here; expires with the
  token, so the set stays as small as the number of live tokens;
- ``jwt:rj:<h>`` -- a revoked token id, until the token expires;
- ``jwt:rs:<h>`` -- a revoked subject: its tokens issued before the stored
  time are refused, until the last of them expires.

``<h>`` is a hash of the value, so keys stay short whatever the token holds.
With :class:`~hermetic.security.stores.RedisStore` every worker and machine
shares the lists; with the default memory store each process has its own.
"""

from __future__ import annotations

import hashlib
import math
import time
import typing as t

from ..stores import Store, StoreError
from ._settings import DEFAULT_LEEWAY, DEFAULT_MAX_TTL
from .errors import TokenCheckUnavailable, TokenInvalid, TokenReplayed, TokenRevoked

if t.TYPE_CHECKING:  # pragma: no cover
    from ...app import Flask

__all__ = ["TokenLedger", "revoke_jti", "revoke_subject"]

_SEEN = "jwt:seen:"
_REVOKED_JTI = "jwt:rj:"
_REVOKED_SUB = "jwt:rs:"


def _h(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:40]


class TokenLedger:
    """Remember presented token ids and revocations in a :class:`Store`.

    :param store: The store shared by the processes that must agree.
    :param leeway: Seconds of clock skew tolerated on ``exp``, default ``30``.
    :param max_ttl: The longest token lifetime accepted, default ``3600``.
    """

    __slots__ = ("leeway", "max_ttl", "store")

    def __init__(
        self, store: Store, *, leeway: float = DEFAULT_LEEWAY, max_ttl: float = DEFAULT_MAX_TTL
    ) -> None:
        self.store = store
        self.leeway = leeway
        self.max_ttl = max_ttl

    def check(self, claims: t.Mapping[str, t.Any], now: float, *, replay: bool) -> None:
        """Refuse a revoked token and, when ``replay``, a token id seen before.

        Call this only for a token that passed every other check: the token id
        is recorded as seen here.
        """
        jti = claims.get("jti")
        if jti is None:
            if replay:
                raise TokenInvalid("missing_claim", claim="jti")
            keys = [_REVOKED_SUB + _h(claims["sub"])]
        else:
            keys = [_REVOKED_SUB + _h(claims["sub"]), _REVOKED_JTI + _h(jti)]
        try:
            # One round trip for both revocation lists.
            values = self.store.get_many(keys)
            if values[0] is not None and claims["iat"] < float(values[0]):
                raise TokenRevoked("subject_revoked")
            if len(values) > 1 and values[1] is not None:
                raise TokenRevoked("jti_revoked")
            if replay:
                # SECURITY: the seen-mark lives as long as the token could still
                # be accepted (exp + leeway), so a replay is caught until then.
                ttl = max(1.0, claims["exp"] + self.leeway - now)
                if not self.store.add(_SEEN + _h(claims["iss"], t.cast(str, jti)), b"1", ttl):
                    raise TokenReplayed()
        except (StoreError, ValueError) as e:
            # SECURITY: fail closed when the lists cannot be read.
            raise TokenCheckUnavailable(
                store_error=type(e).__name__, retry_after=getattr(e, "retry_after", None)
            ) from None

    def revoke_jti(self, jti: str, until: float | None = None, *, now: float | None = None) -> None:
        """Refuse the token ``jti`` until ``until`` (its ``exp``; default the longest lifetime)."""
        now = time.time() if now is None else now
        if until is None:
            until = now + self.max_ttl
        ttl = until + self.leeway - now
        if ttl > 0:
            self.store.set(_REVOKED_JTI + _h(jti), b"1", ttl)

    def revoke_subject(
        self, sub: str, not_before: float | None = None, *, now: float | None = None
    ) -> None:
        """Refuse the tokens of ``sub`` issued before ``not_before`` (default: the next second)."""
        now = time.time() if now is None else now
        if not_before is None:
            not_before = math.floor(now) + 1
        # Once every token issued before not_before has expired, forget it.
        ttl = not_before + self.max_ttl + self.leeway - now
        if ttl > 0:
            self.store.set(_REVOKED_SUB + _h(sub), repr(float(not_before)).encode(), ttl)


def _ledger_for(app: Flask) -> TokenLedger:
    auth = app.extensions.get("hermetic.jwt")
    if auth is not None:
        return t.cast(TokenLedger, auth.ledger)
    from ..stores import store_for

    return TokenLedger(store_for(app))


def revoke_jti(
    app: Flask, jti: str, until: float | None = None, *, now: float | None = None
) -> None:
    """Refuse the token ``jti`` in ``app`` until ``until`` (the token's ``exp``)."""
    _ledger_for(app).revoke_jti(jti, until, now=now)


def revoke_subject(
    app: Flask, sub: str, not_before: float | None = None, *, now: float | None = None
) -> None:
    """Refuse ``sub``'s tokens issued before ``not_before`` in ``app`` (default: now)."""
    _ledger_for(app).revoke_subject(sub, not_before, now=now)
