"""The verified-token cache: each token's signature is checked once, not per request."""

from __future__ import annotations

import hashlib
import threading
import typing as t

if t.TYPE_CHECKING:  # pragma: no cover
    from .keys import VerificationKey

# SECURITY: what a hit skips, and why that is safe.
#
# The entry is found by the SHA-256 of the *whole* token string, so a hit
# means the very bytes presented were verified before: a token that differs
# in any character (a tampered header, payload or signature, another
# padding) has another digest and goes through the full verification. A hit
# skips only what is a pure function of those bytes: the parsing, the header
# checks (alg, kid, forbidden and unsupported headers, typ) and the
# signature. Everything that depends on the time, the configuration or the
# stores runs again on every hit (see ``TokenVerifier._verify_cached``):
#
# - the key: ``kid`` is looked up again among the trusted issuers and must
#   give the very same key object, from the same issuer -- a key removed
#   from ``JWT_SIGNING_KEYS`` / a :class:`KeySet`, or dropped or replaced by
#   a JWKS refresh (each refresh builds new key objects), sends the token
#   back to the full check, which refuses it if the key is gone;
# - every claim check (issuer, audience, lifetime, ``iat``, ``nbf`` and
#   ``exp`` against ``now`` with the leeway), on claims decoded afresh from
#   the cached payload (so a caller mutating the claims it got cannot touch
#   the cache); an expired entry is dropped;
# - the revocation lists (``jti`` and subject) and the replay ledger: with
#   the replay check on, the ledger sees every use, so a cached token is
#   accepted at most once, exactly as without the cache.
#
# Only tokens that passed every check are stored. The cache is bounded
# (oldest entry evicted first) and belongs to one verifier: a new
# configuration (``init_app``) builds a new, empty one.

#: The default number of verified tokens remembered (``JWT_VERIFIED_CACHE_SIZE``).
DEFAULT_SIZE = 4096

_sha256 = hashlib.sha256


class Entry(t.NamedTuple):
    """What a full verification established about one token."""

    kid: str
    issuer: str
    key: VerificationKey
    #: The verified payload (JSON text), parsed again on every hit.
    payload: str


def digest(token: bytes) -> bytes:
    """Return the cache key of ``token`` (the whole token, encoded)."""
    return _sha256(token).digest()


class VerifiedTokens:
    """A bounded map from token digests to :class:`Entry` (oldest evicted first).

    :param maxsize: The most entries kept; must be positive.
    """

    __slots__ = ("_entries", "_lock", "maxsize")

    def __init__(self, maxsize: int = DEFAULT_SIZE) -> None:
        if maxsize <= 0:
            raise ValueError("maxsize must be positive (use no cache to disable it)")
        self.maxsize = maxsize
        self._entries: dict[bytes, Entry] = {}
        # Reads are plain dict lookups; writes (rare: one per new token) lock,
        # so eviction never iterates a dict another thread is changing.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: bytes) -> bool:
        return key in self._entries

    def get(self, key: bytes) -> Entry | None:
        """Return the entry for ``key``, or ``None``."""
        return self._entries.get(key)

    def put(self, key: bytes, entry: Entry) -> None:
        """Remember ``entry``, evicting the oldest entries beyond ``maxsize``."""
        entries = self._entries
        with self._lock:
            entries.pop(key, None)
            while len(entries) >= self.maxsize:
                del entries[next(iter(entries))]
            entries[key] = entry

    def discard(self, key: bytes) -> None:
        """Forget ``key`` (no error when absent)."""
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
