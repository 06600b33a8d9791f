"""Verify bearer JWTs: keys chosen by ``kid``, never by the token.

The checks, in order (the first failure refuses the token):

1. size and shape; the header must not name or carry a key (``jku``,
   ``x5u``, ``jwk``, ``x5c``) nor ask for extensions (``crit``, ``b64``);
2. ``alg`` present and not ``none``; ``kid`` present and known to one of
   the trusted issuers; ``alg`` equal to the algorithm bound to that key;
3. the signature (PyJWT's algorithm object for the key's one algorithm);
4. the claims: ``exp``, ``iat``, ``iss``, ``aud`` and ``sub`` present with
   the right types (times finite numbers); ``iss`` the issuer that publishes the key; ``aud`` one
   of ours; ``exp - iat`` at most ``max_ttl``; ``iat`` and ``nbf`` not in the
   future, ``exp`` not in the past (each with ``leeway``);
5. revocation (by ``jti`` and by subject) and the ``jti`` replay cache.

The token is parsed once (:mod:`._token`). A token that passed every check
is remembered by its digest (:mod:`._cache`): presented again, it skips
steps 1 to 3 only if its key is still the trusted one; steps 4 and 5 run on
every call.
"""

from __future__ import annotations

import json
import math
import time
import typing as t

from ..audit import audit
from ..errors import ConfigurationError
from ._cache import DEFAULT_SIZE, Entry, VerifiedTokens, digest
from ._settings import DEFAULT_LEEWAY, DEFAULT_MAX_TTL, MAX_LEEWAY
from ._token import b64url_decode, loads_claims, parse
from .errors import (
    TokenCheckUnavailable,
    TokenError,
    TokenExpired,
    TokenInvalid,
    TokenNotYetValid,
    UnknownKey,
)
from .keys import SigningKey, VerificationKey

if t.TYPE_CHECKING:  # pragma: no cover
    from .replay import TokenLedger

#: Header parameters that name or carry a key: always refused.
KEY_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c"})
#: Header parameters asking for processing we do not do: always refused.
UNSUPPORTED_HEADERS = frozenset({"crit", "b64", "zip", "enc"})
#: Accepted ``typ`` values (RFC 7519, RFC 9068), lower-cased; absent is fine too.
TOKEN_TYPES = frozenset({"jwt", "at+jwt", "application/at+jwt"})
#: The claims every token must carry.
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")


class KeySource(t.Protocol):
    """Where the verification keys of one issuer come from."""

    def get_key(self, kid: str, now: float, *, refresh: bool) -> VerificationKey | None:
        """Return the key ``kid``; ``refresh`` allows a (rate-limited) fetch."""
        ...


class KeySet:
    """A fixed set of verification keys (this app's own, or configured ones)."""

    __slots__ = ("keys",)

    def __init__(self, keys: t.Iterable[VerificationKey | SigningKey]) -> None:
        self.keys: dict[str, VerificationKey] = {}
        for key in keys:
            vk = key.verification_key if isinstance(key, SigningKey) else key
            self.keys[vk.kid] = vk

    def get_key(self, kid: str, now: float, *, refresh: bool) -> VerificationKey | None:
        """Return the key ``kid`` or ``None``."""
        return self.keys.get(kid)


def check_leeway(leeway: float) -> float:
    """Return ``leeway`` if it is between 0 and :data:`MAX_LEEWAY`, else raise."""
    if (
        isinstance(leeway, bool)
        or not isinstance(leeway, (int, float))
        or not (0 <= leeway <= MAX_LEEWAY)
    ):
        raise ConfigurationError(
            f"JWT_LEEWAY must be between 0 and {MAX_LEEWAY} seconds, not {leeway!r}:"
            " a larger clock skew keeps expired tokens alive. Fix the servers' clocks (NTP)."
        )
    return float(leeway)


def _number(claims: t.Mapping[str, t.Any], name: str) -> float:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TokenInvalid("bad_claim_type", claim=name)
    try:
        number = float(value)
    except OverflowError:  # an integer with hundreds of digits
        raise TokenInvalid("bad_claim_type", claim=name) from None
    if not math.isfinite(number):
        # SECURITY: 1e400 is valid JSON for infinity; NaN fails every comparison.
        raise TokenInvalid("bad_claim_type", claim=name)
    return number


__all__ = ["KeySet", "KeySource", "TokenVerifier"]


class TokenVerifier:
    """Check bearer tokens against trusted issuers, one audience and a clock.

    :param issuers: ``{issuer: keys}``; the keys are a :class:`KeySource`
        (a :class:`~hermetic.security.jwt.jwks.JWKSClient`, a
        :class:`KeySet`) or an iterable of keys. A key is trusted only for
        tokens its issuer signed. Key ids must be unique across issuers.
    :param audience: Our audience (or several); a token's ``aud`` must name one.
    :param leeway: Clock skew tolerated, in seconds, default ``30`` (at most
        ``300``).
    :param max_ttl: The longest ``exp - iat`` accepted, default ``3600``.
    :param ledger: The replay cache and revocation lists, default none.
    :param replay: Refuse a ``jti`` seen before (needs ``ledger``), default
        ``False``: tokens are reusable until they expire; turn it on for
        one-time tokens.
    :param now: The clock, default :func:`time.time`.
    :param max_token_bytes: Longer tokens are refused unparsed, default ``8192``.
    :param cache_size: How many verified tokens to remember, so that a token
        presented again skips its signature check (every other check still
        runs), default ``4096``; ``0`` turns the cache off.
    """

    def __init__(
        self,
        issuers: t.Mapping[str, KeySource | t.Iterable[VerificationKey | SigningKey]],
        audience: str | t.Iterable[str],
        *,
        leeway: float = DEFAULT_LEEWAY,
        max_ttl: float = DEFAULT_MAX_TTL,
        ledger: TokenLedger | None = None,
        replay: bool = False,
        now: t.Callable[[], float] = time.time,
        max_token_bytes: int = 8192,
        cache_size: int = DEFAULT_SIZE,
    ) -> None:
        if not issuers:
            raise ConfigurationError("Name at least one trusted issuer (JWT_TRUSTED_ISSUERS).")
        self.issuers: list[tuple[str, KeySource]] = [
            (
                iss,
                t.cast(KeySource, src)
                if hasattr(src, "get_key")
                else KeySet(t.cast(t.Iterable[t.Any], src)),
            )
            for iss, src in issuers.items()
        ]
        auds = {audience} if isinstance(audience, str) else set(audience)
        if not auds or not all(isinstance(a, str) and a for a in auds):
            raise ConfigurationError("Set JWT_AUDIENCE to the name this service is called by.")
        self.audience = frozenset(auds)
        self.leeway = check_leeway(leeway)
        if max_ttl <= 0:
            raise ConfigurationError("JWT_MAX_TTL must be a positive number of seconds.")
        self.max_ttl = float(max_ttl)
        self.ledger = ledger
        self.replay = replay
        self.now = now
        self.max_token_bytes = max_token_bytes
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 0:
            raise ConfigurationError(
                f"JWT_VERIFIED_CACHE_SIZE must be a whole number >= 0, not {cache_size!r}."
            )
        #: The verified-token cache, ``None`` when turned off.
        self.cache = VerifiedTokens(cache_size) if cache_size else None

    def _find_key(self, kid: str, now: float) -> tuple[str, VerificationKey]:
        # Cached keys first (no network), then sources that may refresh.
        for refresh in (False, True):
            for issuer, source in self.issuers:
                key = source.get_key(kid, now, refresh=refresh)
                if key is not None:
                    return issuer, key
        raise UnknownKey()

    def _check_header(self, header: dict[str, t.Any]) -> None:
        if KEY_HEADERS.intersection(header):
            # SECURITY: never take a key, or where to fetch one, from the token.
            raise TokenInvalid("key_in_header")
        if UNSUPPORTED_HEADERS.intersection(header):
            raise TokenInvalid("unsupported_header")
        typ = header.get("typ")
        if typ is not None and (not isinstance(typ, str) or typ.lower() not in TOKEN_TYPES):
            raise TokenInvalid("bad_typ")

    def verify(
        self, token: t.Any, *, now: float | None = None, replay: bool | None = None
    ) -> dict[str, t.Any]:
        """Return the claims of ``token``, or raise a :class:`TokenError` (audited).

        The one way to verify a bearer token: the request path
        (:class:`~hermetic.security.jwt.JWTProvider`, ``@jwt_required``) runs
        the same checks. ``now`` overrides the clock (epoch seconds);
        ``replay`` overrides the verifier's ``jti`` replay check for this call.
        """
        return self._authenticate(token, now=now, replay=replay)[0]

    def _authenticate(
        self, token: t.Any, *, now: float | None = None, replay: bool | None = None
    ) -> tuple[dict[str, t.Any], bool]:
        # The claims of ``token`` and whether it was verified in full just now
        # (``False``: its signature was checked on an earlier call, the
        # verified-token cache; every other check ran again). The provider
        # audits a token as accepted only when verified in full.
        try:
            return self._verify(token, self.now() if now is None else now, replay)
        except TokenError as e:
            audit("jwt", reason=e.check, **_safe_context(e))
            raise
        except TokenCheckUnavailable:
            audit("jwt", reason="store_unavailable")
            raise

    def _verify(
        self, token: t.Any, now: float, replay: bool | None
    ) -> tuple[dict[str, t.Any], bool]:
        if not isinstance(token, str) or not token or len(token) > self.max_token_bytes:
            raise TokenInvalid("bad_size")
        if not token.isascii():
            raise TokenInvalid("malformed")
        raw = token.encode("ascii")
        cache = self.cache
        if cache is None:
            return self._verify_full(raw, now, replay, None, None), True
        key = digest(raw)
        entry = cache.get(key)
        if entry is not None:
            claims = self._verify_cached(cache, key, entry, now, replay)
            if claims is not None:
                return claims, False
        return self._verify_full(raw, now, replay, cache, key), True

    def _verify_cached(
        self,
        cache: VerifiedTokens,
        key: bytes,
        entry: Entry,
        now: float,
        replay: bool | None,
    ) -> dict[str, t.Any] | None:
        # See the SECURITY comment in _cache.py: the key must still be the
        # trusted one, and every check that is not a function of the token's
        # bytes alone runs again.
        try:
            issuer, vk = self._find_key(entry.kid, now)
        except UnknownKey:
            cache.discard(key)
            raise
        if vk is not entry.key or issuer != entry.issuer:
            cache.discard(key)
            return None  # the key changed: verify the signature again
        claims = json.loads(entry.payload)
        try:
            self._check_claims(claims, issuer, now)
        except TokenExpired:
            cache.discard(key)
            raise
        self._check_ledger(claims, now, replay)
        return t.cast("dict[str, t.Any]", claims)

    def _verify_full(
        self,
        token: bytes,
        now: float,
        replay: bool | None,
        cache: VerifiedTokens | None,
        key: bytes | None,
    ) -> dict[str, t.Any]:
        header, signing_input, payload_segment, signature = parse(token)
        if "kid" in header and not isinstance(header["kid"], str):
            raise TokenInvalid("malformed")
        self._check_header(header)
        alg = header.get("alg")
        if not isinstance(alg, str) or not alg or alg.lower() == "none":
            raise TokenInvalid("alg_none")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenInvalid("missing_kid")
        if len(kid) > 256:
            raise TokenInvalid("malformed")
        issuer, vk = self._find_key(kid, now)
        if alg != vk.alg:
            # SECURITY: the key decides the algorithm, never the token.
            raise TokenInvalid("alg_mismatch", kid=kid, alg=alg)
        # The key's own PyJWT algorithm object, its key prepared (and its
        # length checked) once when the key was loaded.
        if not vk.verify_signature(signing_input, signature):
            raise TokenInvalid("bad_signature", kid=kid)
        loaded = loads_claims(b64url_decode(payload_segment))
        if loaded is None:
            raise TokenInvalid("malformed_payload", kid=kid)
        claims, text = loaded
        self._check_claims(claims, issuer, now)
        self._check_ledger(claims, now, replay)
        if cache is not None:
            cache.put(t.cast(bytes, key), Entry(kid, issuer, vk, text))
        return claims

    def _check_ledger(self, claims: dict[str, t.Any], now: float, replay: bool | None) -> None:
        if self.ledger is not None:
            self.ledger.check(claims, now, replay=self.replay if replay is None else replay)

    def _check_claims(self, claims: dict[str, t.Any], issuer: str, now: float) -> None:
        for name in REQUIRED_CLAIMS:
            if name not in claims:
                raise TokenInvalid("missing_claim", claim=name)
        exp, iat = _number(claims, "exp"), _number(claims, "iat")
        nbf = _number(claims, "nbf") if "nbf" in claims else None
        sub, jti = claims["sub"], claims.get("jti")
        if not isinstance(sub, str) or not sub:
            raise TokenInvalid("bad_claim_type", claim="sub")
        if jti is not None and (not isinstance(jti, str) or not jti or len(jti) > 256):
            raise TokenInvalid("bad_claim_type", claim="jti")
        if claims["iss"] != issuer:
            raise TokenInvalid("wrong_issuer", issuer=claims["iss"], expected=issuer)
        aud = claims["aud"]
        auds = [aud] if isinstance(aud, str) else aud
        if not isinstance(auds, list) or not all(isinstance(a, str) for a in auds):
            raise TokenInvalid("bad_claim_type", claim="aud")
        if self.audience.isdisjoint(auds):
            raise TokenInvalid("wrong_audience", audience=auds)
        if exp <= iat:
            raise TokenInvalid("bad_lifetime")
        if exp - iat > self.max_ttl:
            raise TokenInvalid("lifetime_too_long", lifetime=exp - iat)
        leeway = self.leeway
        if iat > now + leeway:
            raise TokenNotYetValid("issued_in_future")
        if nbf is not None and nbf > now + leeway:
            raise TokenNotYetValid("not_yet_valid")
        if exp <= now - leeway:
            raise TokenExpired()


def _safe_context(error: TokenError) -> dict[str, t.Any]:
    # The context holds values taken from a token that failed: audit() escapes
    # and truncates them; "check" is the field name for the class default.
    return {k: v for k, v in error.context.items() if k not in ("reason", "event")}
