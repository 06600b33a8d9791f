"""The password calls replaced by :func:`~hermetic.security.auth.check_password` (deprecated).

Each still works as before and warns (``DeprecationWarning``) with the
call to use instead.
"""

from __future__ import annotations

import typing as t
import warnings

from .passwords import _needs_rehash, check_password, hasher

__all__ = ["check_password_and_rehash", "needs_rehash", "verify_and_upgrade", "verify_password"]


def _warn(old: str, new: str) -> None:
    warnings.warn(
        f"Cause: {old} is deprecated; hermetic has one password check."
        f" Fix: use {new} (hermetic.security.auth.check_password returns"
        " (ok, new_hash) and is false when the password does not match).",
        DeprecationWarning,
        stacklevel=3,
    )


def verify_password(
    stored_hash: str | None,
    password: str | bytes,
    *,
    config: t.Mapping[str, t.Any] | None = None,
) -> bool:
    """Tell whether ``password`` matches (deprecated: use ``check_password(...).ok``)."""
    _warn("verify_password(stored, password)", "check_password(stored, password).ok")
    return check_password(stored_hash, password, config=config).ok


def needs_rehash(stored_hash: str, *, config: t.Mapping[str, t.Any] | None = None) -> bool:
    """Tell whether ``stored_hash`` uses other parameters (deprecated: see ``new_hash``)."""
    _warn("needs_rehash(stored)", "check_password(stored, password).new_hash")
    return _needs_rehash(hasher(config), stored_hash)


def verify_and_upgrade(
    stored_hash: str | None,
    password: str | bytes,
    *,
    config: t.Mapping[str, t.Any] | None = None,
) -> tuple[bool, str | None]:
    """Return ``(ok, new_hash)`` (deprecated: use ``check_password``)."""
    _warn("verify_and_upgrade(stored, password)", "check_password(stored, password)")
    ok, new_hash = check_password(stored_hash, password, config=config)
    return ok, new_hash


def check_password_and_rehash(
    user_or_hash: t.Any,
    password: str | bytes,
    save: t.Callable[[str], t.Any] | None = None,
    *,
    attribute: str = "password_hash",
    config: t.Mapping[str, t.Any] | None = None,
) -> bool:
    """Verify against a user or a hash, saving an upgraded hash (deprecated: ``check_password``)."""
    _warn(
        "check_password_and_rehash(user, password)", "check_password(user.password_hash, password)"
    )
    if user_or_hash is None or isinstance(user_or_hash, str):
        stored = user_or_hash
    else:
        stored = getattr(user_or_hash, attribute, None)
    ok, new_hash = check_password(stored, password, config=config)
    if new_hash is not None:
        if save is not None:
            save(new_hash)
        elif user_or_hash is not None and not isinstance(user_or_hash, str):
            setattr(user_or_hash, attribute, new_hash)
    return ok
