"""The security layer: ``Hermetic`` and the protections it switches on.

Everything here works on a plain :class:`hermetic.Flask` app too, opt-in
per feature (``CSRFShield().init_app(app)``, ``LoginManager(app)``, ...).
The names that need an optional extra (rate limits: ``hermetic[ratelimit]``,
JWT: ``hermetic[jwt]``, validation: ``hermetic[validation]``, metrics:
``hermetic[metrics]``) are imported on first use.
"""

from __future__ import annotations

import importlib
import typing as t

from .auth import AnonymousUser as AnonymousUser
from .auth import ApiKeyProvider as ApiKeyProvider
from .auth import IdentityProvider as IdentityProvider
from .auth import LoginManager as LoginManager
from .auth import UserMixin as UserMixin
from .auth import Verified as Verified
from .auth import check_password as check_password
from .auth import current_user as current_user
from .auth import fresh_login_required as fresh_login_required
from .auth import hash_password as hash_password
from .auth import login_required as login_required
from .auth import login_user as login_user
from .auth import logout_user as logout_user
from .auth import privilege_changed as privilege_changed
from .auth import report_failed_login as report_failed_login
from .auth import revoke_remember_tokens as revoke_remember_tokens
from .auth import verify_and_upgrade as verify_and_upgrade
from .auth import verify_password as verify_password
from .cors import CORSShield as CORSShield
from .csrf import CSRFShield as CSRFShield
from .csrf import csrf_token as csrf_token
from .csrf import rotate_csrf_token as rotate_csrf_token
from .errors import AuthenticationRequired as AuthenticationRequired
from .errors import BadInput as BadInput
from .errors import ConfigurationError as ConfigurationError
from .errors import CSRFError as CSRFError
from .errors import HostNotAllowed as HostNotAllowed
from .errors import PayloadTooLarge as PayloadTooLarge
from .errors import PermissionDenied as PermissionDenied
from .errors import SecurityError as SecurityError
from .headers import HeadersShield as HeadersShield
from .headers import csp_nonce as csp_nonce
from .input_limits import InputLimitsShield as InputLimitsShield
from .policy import AuthorizationShield as AuthorizationShield
from .policy import authorize as authorize
from .policy import can as can
from .policy import permissions_of as permissions_of
from .policy import public as public
from .policy import requires as requires
from .policy import requires_any as requires_any
from .profile import Hermetic as Hermetic
from .proxies import HostShield as HostShield
from .proxies import ProxyShield as ProxyShield
from .redirects import is_safe_redirect_target as is_safe_redirect_target
from .redirects import next_url as next_url
from .redirects import safe_redirect as safe_redirect
from .sessions import EncryptedSessionInterface as EncryptedSessionInterface
from .sessions import revoke_session as revoke_session
from .sessions import revoke_user_sessions as revoke_user_sessions
from .shields import Shield as Shield
from .shields import exempt as exempt

#: The names imported here; those of :data:`_LAZY` (optional extras) are public
#: too, left out so that ``import *`` never needs an extra.
__all__ = [
    "AnonymousUser",
    "ApiKeyProvider",
    "AuthenticationRequired",
    "AuthorizationShield",
    "BadInput",
    "CORSShield",
    "CSRFError",
    "CSRFShield",
    "ConfigurationError",
    "EncryptedSessionInterface",
    "HeadersShield",
    "Hermetic",
    "HostNotAllowed",
    "HostShield",
    "IdentityProvider",
    "InputLimitsShield",
    "LoginManager",
    "PayloadTooLarge",
    "PermissionDenied",
    "ProxyShield",
    "SecurityError",
    "Shield",
    "UserMixin",
    "Verified",
    "authorize",
    "can",
    "check_password",
    "csp_nonce",
    "csrf_token",
    "current_user",
    "exempt",
    "fresh_login_required",
    "hash_password",
    "is_safe_redirect_target",
    "login_required",
    "login_user",
    "logout_user",
    "next_url",
    "permissions_of",
    "privilege_changed",
    "public",
    "report_failed_login",
    "requires",
    "requires_any",
    "revoke_remember_tokens",
    "revoke_session",
    "revoke_user_sessions",
    "rotate_csrf_token",
    "safe_redirect",
    "verify_and_upgrade",
    "verify_password",
]

#: Names whose modules need an optional extra, imported on first use.
_LAZY: dict[str, str] = {
    "rate_limit": ".ratelimit",
    "RateLimitShield": ".ratelimit",
    "RateLimitExceeded": ".ratelimit",
    "hit": ".ratelimit",
    "limiter_for": ".ratelimit",
    "JWTAuth": ".jwt",
    "jwt_required": ".jwt",
    "current_principal": ".jwt",
    "TokenIssuer": ".jwt",
    "TokenVerifier": ".jwt",
    "JWKSClient": ".jwt",
    "generate_signing_key": ".jwt",
    "revoke_jti": ".jwt",
    "revoke_subject": ".jwt",
    "validate": ".validation",
    "Observability": ".observability",
}


def __getattr__(name: str) -> t.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hermetic.security' has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)
