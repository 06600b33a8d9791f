"""Password hashing with argon2id (argon2-cffi), and rehash on login.

One call checks a password: :func:`check_password` returns a
:class:`Verified` -- whether it matched, and the new hash to store when the
stored one was made with other parameters than today's::

    result = check_password(user.password_hash, form["password"])
    if not result:
        abort(401)
    if result.new_hash is not None:
        user.password_hash = result.new_hash  # save it

The parameters are the ``PASSWORD_HASH_*`` settings
(:class:`~hermetic.security.auth.PasswordSettings`) of the app config
passed, else of the current app, else the defaults: RFC 9106's second
recommended option, "low memory", which is also argon2-cffi's default and
above OWASP's minimum.

.. warning::
    Lowering the costs makes stolen hashes cheaper to crack. Lower them only
    in tests. Raising them later is safe: :func:`check_password` returns a
    new hash the next time each user logs in.

A stored hash keeps its own parameters, so changing the config never locks
anyone out.
"""

from __future__ import annotations

import functools
import typing as t

from ...globals import _cv_app
from ._settings import DEFAULT_HASH_LEN as DEFAULT_HASH_LEN
from ._settings import DEFAULT_MEMORY_COST as DEFAULT_MEMORY_COST
from ._settings import DEFAULT_PARALLELISM as DEFAULT_PARALLELISM
from ._settings import DEFAULT_SALT_LEN as DEFAULT_SALT_LEN
from ._settings import DEFAULT_TIME_COST as DEFAULT_TIME_COST
from ._settings import PasswordSettings

if t.TYPE_CHECKING:  # pragma: no cover
    # argon2 is imported on first use: an app that checks no password (and
    # every request before the first login) never loads it.
    from argon2 import PasswordHasher

__all__ = ["PasswordSettings", "Verified", "check_password", "hash_password", "hasher"]


class Verified(t.NamedTuple):
    """The answer of :func:`check_password`: ``(ok, new_hash)``.

    It is true only when the password matched, so ``if check_password(...)``
    reads as expected.
    """

    #: Whether the password matched the stored hash.
    ok: bool
    #: A fresh hash with today's parameters, when the password matched and the
    #: stored hash used other ones: store it in place of the old one. Else ``None``.
    new_hash: str | None = None

    def __bool__(self) -> bool:
        # SECURITY: a two-item tuple is always true; a failed check must be false.
        return self.ok


@functools.lru_cache(maxsize=16)
def _hasher_for(params: tuple[int, int, int, int, int]) -> PasswordHasher:
    from argon2 import PasswordHasher

    time_cost, memory_cost, parallelism, hash_len, salt_len = params
    return PasswordHasher(
        time_cost=time_cost,
        memory_cost=memory_cost,
        parallelism=parallelism,
        hash_len=hash_len,
        salt_len=salt_len,
    )


@functools.lru_cache(maxsize=16)
def _settings_of(items: frozenset[tuple[str, type, t.Any]]) -> PasswordSettings:
    return PasswordSettings.from_config({key: value for key, _, value in items})


def settings_for(config: t.Mapping[str, t.Any] | None = None) -> PasswordSettings:
    """Return the checked ``PASSWORD_HASH_*`` settings of ``config`` (default: the current app's).

    Raise :class:`~hermetic.settings.SettingsError` naming a bad key.
    """
    if config is None:
        ctx = _cv_app.get(None)
        config = ctx.app.config if ctx is not None else {}
    keys = PasswordSettings.keys()
    # The type is part of the cache key: ``True == 1``, but only 1 is valid.
    items = frozenset((k, type(config[k]), config[k]) for k in keys if k in config)
    try:
        return _settings_of(items)
    except TypeError:  # an unhashable (so wrong) value: check it uncached
        return PasswordSettings.from_config({key: value for key, _, value in items})


def hasher(config: t.Mapping[str, t.Any] | None = None) -> PasswordHasher:
    """Return the argon2id hasher for ``config`` (default: the current app's)."""
    return _hasher_for(settings_for(config).params)


@functools.lru_cache(maxsize=16)
def _dummy_hash(ph: PasswordHasher) -> str:
    return ph.hash("hermetic: no such user")


def hash_password(password: str | bytes, *, config: t.Mapping[str, t.Any] | None = None) -> str:
    """Hash ``password`` with argon2id and a random salt; return the PHC string."""
    if not isinstance(password, (str, bytes)):
        raise TypeError("The password must be a str or bytes.")
    return hasher(config).hash(password)


def _matches(ph: PasswordHasher, stored_hash: t.Any, password: t.Any) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

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


def _needs_rehash(ph: PasswordHasher, stored_hash: t.Any) -> bool:
    from argon2.exceptions import InvalidHashError

    if not isinstance(stored_hash, str):
        return True
    try:
        return ph.check_needs_rehash(stored_hash)
    except (InvalidHashError, ValueError):
        return True


def check_password(
    stored_hash: str | None,
    password: str | bytes,
    *,
    config: t.Mapping[str, t.Any] | None = None,
) -> Verified:
    """Check ``password`` against ``stored_hash``; return :class:`Verified` ``(ok, new_hash)``.

    Never raises on bad input: a malformed hash, a wrong type or a mismatch
    is ``Verified(False)``. Pass ``stored_hash=None`` when the user does not
    exist: a dummy hash is checked so the answer takes as long as for a real
    user. ``new_hash`` is set when the password matched and the stored hash
    was made with other parameters than today's (rehash on login): save it.
    """
    ph = hasher(config)
    if not _matches(ph, stored_hash, password):
        return Verified(False)
    if _needs_rehash(ph, stored_hash):
        return Verified(True, ph.hash(password))
    return Verified(True)
