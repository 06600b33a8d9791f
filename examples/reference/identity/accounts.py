"""Accounts: create, authenticate (rehash on login), change a password and end everything."""

from __future__ import annotations

import time
import typing as t

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hermetic import current_app, session
from hermetic.security import (
    hash_password,
    report_failed_login,
    revoke_remember_tokens,
    revoke_user_sessions,
)
from hermetic.security.auth import check_password
from hermetic.security.jwt import revoke_subject

from ..common.db import session as db_session
from .models import ADMIN, MEMBER, User, normalise_email, role

#: The shortest password accepted (NIST SP 800-63B asks for at least 8; we ask 12).
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


class AccountError(ValueError):
    """A request about an account that cannot be done; the message is for the user."""


def check_new_password(password: str, email: str = "") -> None:
    """Refuse a password that is too short, too long, or the e-mail address."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"A password has at most {MAX_PASSWORD_LENGTH} characters.")
    if email and password.strip().lower() == normalise_email(email):
        raise AccountError("Your password cannot be your e-mail address.")


def create_user(email: str, name: str, password: str, *, admin: bool = False) -> User:
    """Create and return an account (``member``, plus ``admin`` when asked)."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise AccountError("Enter a valid e-mail address.")
    name = name.strip() or email
    if len(name) > 100:
        raise AccountError("A name has at most 100 characters.")
    check_new_password(password, email)
    db = db_session()
    user = User(email=email, name=name, password_hash=hash_password(password))
    user.roles = [role(db, MEMBER)] + ([role(db, ADMIN)] if admin else [])
    db.add(user)
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        raise AccountError("An account with this e-mail address exists already.") from None
    return user


# --8<-- [start:authenticate]
def authenticate(email: str, password: str) -> User | None:
    """Return the active user with these credentials, upgrading an old hash; audit failures."""
    email = normalise_email(email)
    db = db_session()
    user = db.scalar(select(User).where(User.email == email)) if email else None
    # An unknown address still costs one hash check (no timing oracle).
    checked = check_password(user.password_hash if user else None, password)
    if not checked or user is None or not user.active:
        # The address as typed, bounded: an audit line is not a place for 100 KiB.
        report_failed_login(email[:254] or None)
        return None
    if checked.new_hash is not None:
        user.password_hash = checked.new_hash  # rehash on login: the costs were raised
        db.commit()
    return user


# --8<-- [end:authenticate]


def load_user(user_id: str) -> User | None:
    """Return the user with id ``user_id`` (the login manager's loader)."""
    try:
        return db_session().get(User, int(user_id))
    except (TypeError, ValueError):
        return None


def change_password(
    user: User, current: str, new: str, *, now: t.Callable[[], float] = time.time
) -> None:
    """Set a new password and end every other session, remember-me token, grant and token."""
    if not check_password(user.password_hash, current):
        report_failed_login(user.email, reason="wrong_current_password")
        raise AccountError("Your current password is not right.")
    check_new_password(new, user.email)
    # --8<-- [start:change-password]
    at = now()
    user.password_hash = hash_password(new)
    user.tokens_valid_after = at
    db_session().commit()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    user_id = user.get_id()
    revoke_user_sessions(app, user_id, now=at)
    revoke_remember_tokens(user_id)
    # Access tokens already issued: refused wherever the store is shared (Redis).
    revoke_subject(app, user_id, now=at)
    # This device stays signed in, on a new session id made after the revocation.
    session.regenerate()
    # --8<-- [end:change-password]
