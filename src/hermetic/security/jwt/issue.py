"""Issue signed access tokens with the current signing key."""

from __future__ import annotations

import secrets
import time
import typing as t

import jwt as pyjwt

from ..errors import ConfigurationError
from ._settings import DEFAULT_ACCESS_TOKEN_TTL, DEFAULT_MAX_TTL
from .keys import SigningKey

__all__ = ["RESERVED_CLAIMS", "TokenIssuer"]

#: Claims the issuer sets itself; ``extra_claims`` cannot override them.
RESERVED_CLAIMS = frozenset({"iss", "aud", "sub", "iat", "nbf", "exp", "jti"})


class TokenIssuer:
    """Sign access tokens as ``issuer`` with ``key``.

    :param key: The current signing key (its ``kid`` goes in the header).
    :param issuer: Our ``iss``, the name verifiers trust us by.
    :param ttl: Seconds a token lives, default ``300``.
    :param max_ttl: The longest ``ttl`` allowed, default ``3600`` (keep it
        equal to the verifiers' ``JWT_MAX_TTL``).
    :param now: The clock, default :func:`time.time`.
    """

    def __init__(
        self,
        key: SigningKey,
        issuer: str,
        *,
        ttl: int = DEFAULT_ACCESS_TOKEN_TTL,
        max_ttl: int = DEFAULT_MAX_TTL,
        now: t.Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(key, SigningKey):
            raise ConfigurationError(
                "The current JWT key (the first of JWT_SIGNING_KEYS) must be a private key."
            )
        if not issuer or not isinstance(issuer, str):
            raise ConfigurationError("Set JWT_ISSUER to the name this service issues tokens as.")
        self.key = key
        self.issuer = issuer
        self.max_ttl = int(max_ttl)
        self.ttl = self._check_ttl(ttl)
        self.now = now
        self._headers = {"kid": key.kid, "typ": "at+jwt"}

    def _check_ttl(self, ttl: int) -> int:
        if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 < ttl <= self.max_ttl:
            raise ConfigurationError(
                f"A token lifetime must be 1 to {self.max_ttl} seconds (JWT_MAX_TTL), not {ttl!r}."
            )
        return ttl

    def issue(
        self,
        sub: str,
        audience: str | t.Sequence[str],
        scope: str | t.Iterable[str] | None = None,
        *,
        ttl: int | None = None,
        now: float | None = None,
        extra_claims: t.Mapping[str, t.Any] | None = None,
    ) -> str:
        """Return a signed token for ``sub`` and ``audience`` with ``scope``."""
        if not isinstance(sub, str) or not sub:
            raise ValueError("A token needs a non-empty 'sub'.")
        if not audience:
            raise ValueError("A token needs an audience.")
        ttl = self.ttl if ttl is None else self._check_ttl(ttl)
        iat = int(self.now() if now is None else now)
        claims: dict[str, t.Any] = {}
        if extra_claims:
            clash = RESERVED_CLAIMS.intersection(extra_claims)
            if clash:
                raise ValueError(f"extra_claims cannot set {sorted(clash)}.")
            claims.update(extra_claims)
        claims.update(
            iss=self.issuer,
            aud=audience if isinstance(audience, str) else list(audience),
            sub=sub,
            iat=iat,
            nbf=iat,
            exp=iat + ttl,
            jti=secrets.token_urlsafe(16),
        )
        if scope is not None:
            claims["scope"] = scope if isinstance(scope, str) else " ".join(scope)
        return pyjwt.encode(claims, self.key.key, algorithm=self.key.alg, headers=self._headers)
