"""Authentication: the login manager, ``current_user``, passwords, providers."""

from __future__ import annotations

from ._deprecated import check_password_and_rehash as check_password_and_rehash
from ._deprecated import needs_rehash as needs_rehash
from ._deprecated import verify_and_upgrade as verify_and_upgrade
from ._deprecated import verify_password as verify_password
from ._login import login_user as login_user
from ._login import logout_user as logout_user
from ._login import privilege_changed as privilege_changed
from ._login import report_failed_login as report_failed_login
from ._login import revoke_remember_tokens as revoke_remember_tokens
from ._settings import LoginSettings as LoginSettings
from ._settings import PasswordSettings as PasswordSettings
from ._users import AnonymousUser as AnonymousUser
from ._users import UserMixin as UserMixin
from .manager import LoginManager as LoginManager
from .manager import current_user as current_user
from .manager import fresh_login_required as fresh_login_required
from .manager import is_fresh as is_fresh
from .manager import login_required as login_required
from .passwords import Verified as Verified
from .passwords import check_password as check_password
from .passwords import hash_password as hash_password
from .providers import ApiKeyProvider as ApiKeyProvider
from .providers import IdentityProvider as IdentityProvider
from .providers import SessionUserIdProvider as SessionUserIdProvider
from .providers import hash_api_key as hash_api_key

__all__ = [
    "AnonymousUser",
    "ApiKeyProvider",
    "IdentityProvider",
    "LoginManager",
    "LoginSettings",
    "PasswordSettings",
    "SessionUserIdProvider",
    "UserMixin",
    "Verified",
    "check_password",
    "current_user",
    "fresh_login_required",
    "hash_password",
    "hash_api_key",
    "is_fresh",
    "login_required",
    "login_user",
    "logout_user",
    "privilege_changed",
    "report_failed_login",
    "revoke_remember_tokens",
    # Deprecated: check_password replaces them.
    "check_password_and_rehash",
    "needs_rehash",
    "verify_and_upgrade",
    "verify_password",
]
