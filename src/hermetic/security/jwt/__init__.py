"""Service-to-service JWT: keys bound to one algorithm, verify, issue, JWKS, replay."""

from __future__ import annotations

from . import _requirement as _requirement  # says which extra is missing
from .errors import BearerTokenRequired as BearerTokenRequired
from .errors import InsufficientScope as InsufficientScope
from .errors import JWTError as JWTError
from .errors import TokenCheckUnavailable as TokenCheckUnavailable
from .errors import TokenError as TokenError
from .errors import TokenExpired as TokenExpired
from .errors import TokenInvalid as TokenInvalid
from .errors import TokenNotYetValid as TokenNotYetValid
from .errors import TokenReplayed as TokenReplayed
from .errors import TokenRevoked as TokenRevoked
from .errors import UnknownKey as UnknownKey
from .extension import JWTAuth as JWTAuth
from .extension import JWTSettings as JWTSettings
from .issue import TokenIssuer as TokenIssuer
from .jwks import JWKSClient as JWKSClient
from .jwks import jwks_document as jwks_document
from .jwks import parse_jwks as parse_jwks
from .keys import SigningKey as SigningKey
from .keys import VerificationKey as VerificationKey
from .keys import generate_signing_key as generate_signing_key
from .keys import jwk_thumbprint as jwk_thumbprint
from .keys import load_key as load_key
from .keys import load_key_specs as load_key_specs
from .keys import private_pem as private_pem
from .provider import JWTProvider as JWTProvider
from .provider import ServicePrincipal as ServicePrincipal
from .provider import current_principal as current_principal
from .provider import jwt_required as jwt_required
from .replay import TokenLedger as TokenLedger
from .replay import revoke_jti as revoke_jti
from .replay import revoke_subject as revoke_subject
from .verify import KeySet as KeySet
from .verify import TokenVerifier as TokenVerifier

__all__ = [
    "BearerTokenRequired",
    "InsufficientScope",
    "JWKSClient",
    "JWTAuth",
    "JWTError",
    "JWTProvider",
    "JWTSettings",
    "KeySet",
    "ServicePrincipal",
    "SigningKey",
    "TokenCheckUnavailable",
    "TokenError",
    "TokenExpired",
    "TokenInvalid",
    "TokenIssuer",
    "TokenLedger",
    "TokenNotYetValid",
    "TokenReplayed",
    "TokenRevoked",
    "TokenVerifier",
    "UnknownKey",
    "VerificationKey",
    "current_principal",
    "generate_signing_key",
    "jwk_thumbprint",
    "jwks_document",
    "jwt_required",
    "load_key",
    "load_key_specs",
    "parse_jwks",
    "private_pem",
    "revoke_jti",
    "revoke_subject",
]
