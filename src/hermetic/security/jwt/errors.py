"""The JWT errors: one narrow hierarchy inside, one opaque 401 outside.

They join the security layer's one error tree: :class:`JWTError` (a
:class:`~hermetic.security.errors.SecurityError`) is their root, and each is
also the security error of its HTTP answer::

    SecurityError
    +-- JWTError
        +-- TokenError (AuthenticationRequired, 401)
        |   +-- TokenExpired, TokenNotYetValid, TokenInvalid,
        |       TokenReplayed, TokenRevoked, UnknownKey
        +-- BearerTokenRequired (AuthenticationRequired, 401)
        +-- InsufficientScope (PermissionDenied, 403)
        +-- TokenCheckUnavailable (StoreUnavailableError, 503)
        +-- OAuthError (the token endpoint's RFC 6749 errors, 400/401)

A :class:`TokenError` raised during a request becomes a 401 with
``WWW-Authenticate: Bearer error="invalid_token"``. The client sees only a coarse ``reason``
(``token_expired`` or ``invalid_token``); the precise failed check is in
``check``, for the audit log only.
"""

from __future__ import annotations

import typing as t

from ..errors import AuthenticationRequired, PermissionDenied, SecurityError, StoreUnavailableError

__all__ = [
    "BearerTokenRequired",
    "InsufficientScope",
    "JWTError",
    "TokenCheckUnavailable",
    "TokenError",
    "TokenExpired",
    "TokenInvalid",
    "TokenNotYetValid",
    "TokenReplayed",
    "TokenRevoked",
    "UnknownKey",
]

# bandit B105: a WWW-Authenticate challenge, not a password.
#: The challenge sent with every refused token (RFC 6750, section 3).
INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"'  # nosec B105


class JWTError(SecurityError):
    """A request refused by the JWT layer (the root of its errors)."""

    kind = "jwt"


class TokenError(AuthenticationRequired, JWTError):
    """A bearer token that was refused (the root of the JWT errors)."""

    kind = "jwt"
    reason = "invalid_token"
    description = "The access token is not valid."
    #: The default detailed check, overridden per raise.
    check = "invalid"

    def __init__(self, check: str | None = None, **context: t.Any) -> None:
        # SECURITY: the description and reason are fixed per class; the detail
        # of what failed stays in ``check`` (audited, never sent).
        super().__init__(headers={"WWW-Authenticate": INVALID_TOKEN_CHALLENGE}, **context)
        if check is not None:
            self.check = check

    def __repr__(self) -> str:
        return f"<{type(self).__name__} check={self.check!r}>"


class TokenExpired(TokenError):
    """A token past its ``exp`` (beyond the allowed clock skew)."""

    reason = "token_expired"
    description = "The access token has expired."
    check = "expired"


class TokenNotYetValid(TokenError):
    """A token before its ``nbf``, or issued in the future."""

    check = "not_yet_valid"


class TokenInvalid(TokenError):
    """A malformed, tampered, misaddressed or otherwise unacceptable token."""


class TokenReplayed(TokenError):
    """A token whose ``jti`` was already presented here."""

    check = "replayed"


class TokenRevoked(TokenError):
    """A token revoked by its ``jti`` or its subject."""

    check = "revoked"


class UnknownKey(TokenError):
    """A token signed with a key (``kid``) none of the trusted issuers publish."""

    check = "unknown_kid"


class BearerTokenRequired(AuthenticationRequired, JWTError):
    """No bearer token on a route that needs one: 401 with a bare challenge."""

    kind = "jwt"
    reason = "token_required"
    description = "This endpoint needs a bearer access token."

    def __init__(self) -> None:
        # RFC 6750, section 3.1: no error code when no credentials were sent.
        super().__init__(headers={"WWW-Authenticate": "Bearer"})


class InsufficientScope(PermissionDenied, JWTError):
    """A valid token without the scopes a route needs: 403."""

    kind = "jwt"
    reason = "insufficient_scope"
    description = "The access token does not grant the scope this endpoint needs."

    def __init__(self, scopes: t.Iterable[str]) -> None:
        needed = " ".join(sorted(scopes))
        super().__init__(
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{needed}"'}
        )


class TokenCheckUnavailable(StoreUnavailableError, JWTError):
    """The replay or revocation store is down: fail closed with 503 and ``Retry-After``."""

    kind = "jwt"
    reason = "temporarily_unavailable"
    description = "The access token cannot be checked right now. Try again later."
