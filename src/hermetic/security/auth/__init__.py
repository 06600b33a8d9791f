"""Authentication: the login manager, ``current_user``, passwords, providers."""

from __future__ import annotations

from ._login import login_user as login_user
from ._login import logout_user as logout_user
from ._login import privilege_changed as privilege_changed
from ._login import report_failed_login as report_failed_login
from ._login import revoke_remember_tokens as revoke_remember_tokens
from ._users import AnonymousUser as AnonymousUser
from ._users import UserMixin as UserMixin
from .manager import LoginManager as LoginManager
from .manager import current_user as current_user
from .manager import fresh_login_required as fresh_login_required
from .manager import is_fresh as is_fresh
from .manager import login_required as login_required
from .passwords import check_password_and_rehash as check_password_and_rehash
from .passwords import hash_password as hash_password
from .passwords import needs_rehash as needs_rehash
from .passwords import verify_and_upgrade as verify_and_upgrade
from .passwords import verify_password as verify_password
from .providers import ApiKeyProvider as ApiKeyProvider
from .providers import IdentityProvider as IdentityProvider
from .providers import hash_api_key as hash_api_key
