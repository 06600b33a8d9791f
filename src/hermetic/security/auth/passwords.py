"""Password hashing with argon2id (argon2-cffi), and rehash on login.

The parameters come from the app config when an app context is active, else
from the defaults below (RFC 9106's second recommended option, "low memory",
which is also argon2-cffi's default and above OWASP's minimum):

- ``PASSWORD_HASH_TIME_COST``: iterations, default ``3``;
- ``PASSWORD_HASH_MEMORY_COST``: memory in KiB, default ``65536`` (64 MiB);
- ``PASSWORD_HASH_PARALLELISM``: lanes, default ``4``;
- ``PASSWORD_HASH_SALT_LEN`` / ``PASSWORD_HASH_HASH_LEN``: bytes, default
  ``16`` / ``32``.

.. warning::
    Lowering the costs makes stolen hashes cheaper to crack. Lower them only
    in tests. Raising them later is safe: :func:`verify_and_upgrade` returns
    a new hash the next time each user logs in.

A stored hash keeps its own parameters, so changing the config never locks
anyone out.
"""

from __future__ import annotations

import functools
import typing as t

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ...globals import _cv_app

#: The defaults (RFC 9106, section 4, second recommended option).
DEFAULT_TIME_COST = 3
DEFAULT_MEMORY_COST = 64 * 1024
DEFAULT_PARALLELISM = 4
DEFAULT_SALT_LEN = 16
DEFAULT_HASH_LEN = 32

_CONFIG_KEYS = (
    ("PASSWORD_HASH_TIME_COST", DEFAULT_TIME_COST),
    ("PASSWORD_HASH_MEMORY_COST", DEFAULT_MEMORY_COST),
    ("PASSWORD_HASH_PARALLELISM", DEFAULT_PARALLELISM),
    ("PASSWORD_HASH_HASH_LEN", DEFAULT_HASH_LEN),
    ("PASSWORD_HASH_SALT_LEN", DEFAULT_SALT_LEN),
)


@functools.lru_cache(maxsize=16)
def _hasher_for(params: tuple[int, int, int, int, int]) -> PasswordHasher:
    time_cost, memory_cost, parallelism, hash_len, salt_len = params
    return PasswordHasher(
        time_cost=time_cost,
        memory_cost=memory_cost,
        parallelism=parallelism,
        hash_len=hash_len,
        salt_len=salt_len,
    )


def hasher(config: t.Mapping[str, t.Any] | None = None) -> PasswordHasher:
    """Return the argon2id hasher for ``config`` (default: the current app's)."""
    if config is None:
        ctx = _cv_app.get(None)
        config = ctx.app.config if ctx is not None else {}
    params = tuple(int(config.get(key, default)) for key, default in _CONFIG_KEYS)
    return _hasher_for(params)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=16)
def _dummy_hash(ph: PasswordHasher) -> str:
    return ph.hash("hermetic: no such user")


def hash_password(password: str | bytes, *, config: t.Mapping[str, t.Any] | None = None) -> str:
    """Hash ``password`` with argon2id and a random salt; return the PHC string."""
    if not isinstance(password, (str, bytes)):
        raise TypeError("The password must be a str or bytes.")
    return hasher(config).hash(password)


def verify_password(
    stored_hash: str | None,
    password: str | bytes,
    *,
    config: t.Mapping[str, t.Any] | None = None,
) -> bool:
    """Tell whether ``password`` matches ``stored_hash``; never raise on bad input.

    A malformed hash, a wrong type or a mismatch is ``False``. Pass
    ``stored_hash=None`` when the user does not exist: a dummy hash is checked
    so the answer takes as long as for a real user.
    """
    ph = hasher(config)
    if not isinstance(password, (str, bytes)):
        return False
    if stored_hash is None:
        # SECURITY: spend the same time for unknown users (no user enumeration
        # by timing).
        try:
            ph.verify(_dummy_hash(ph), password)
        except VerificationError:
            pass
        return False
    if not isinstance(stored_hash, str):
        return False
    try:
        return ph.verify(stored_hash, password)
    except (VerificationError, InvalidHashError, ValueError):
        return False


def needs_rehash(stored_hash: str, *, config: t.Mapping[str, t.Any] | None = None) -> bool:
    """Tell whether ``stored_hash`` was made with other parameters than today's."""
    if not isinstance(stored_hash, str):
        return True
    try:
        return hasher(config).check_needs_rehash(stored_hash)
    except (InvalidHashError, ValueError):
        return True


def verify_and_upgrade(
    stored_hash: str | None,
    password: str | bytes,
    *,
    config: t.Mapping[str, t.Any] | None = None,
) -> tuple[bool, str | None]:
    """Verify ``password``; return ``(ok, new_hash)``.

    ``new_hash`` is a fresh hash with today's parameters when the password
    matched and the stored hash used other ones (rehash on login), else
    ``None``. Save it in place of the old hash.
    """
    if not verify_password(stored_hash, password, config=config):
        return False, None
    if needs_rehash(t.cast(str, stored_hash), config=config):
        return True, hash_password(password, config=config)
    return True, None


def check_password_and_rehash(
    user_or_hash: t.Any,
    password: str | bytes,
    save: t.Callable[[str], t.Any] | None = None,
    *,
    attribute: str = "password_hash",
    config: t.Mapping[str, t.Any] | None = None,
) -> bool:
    """Verify ``password`` against a user (its ``attribute``) or a hash string.

    When the hash needs upgrading, ``save(new_hash)`` is called; without
    ``save``, a user object gets the new hash set on ``attribute``.
    """
    if user_or_hash is None or isinstance(user_or_hash, str):
        stored = user_or_hash
    else:
        stored = getattr(user_or_hash, attribute, None)
    ok, new_hash = verify_and_upgrade(stored, password, config=config)
    if new_hash is not None:
        if save is not None:
            save(new_hash)
        elif user_or_hash is not None and not isinstance(user_or_hash, str):
            setattr(user_or_hash, attribute, new_hash)
    return ok
