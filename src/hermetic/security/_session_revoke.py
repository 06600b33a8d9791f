"""Session revocation and the store calls of sessions (re-exported by :mod:`hermetic.security.sessions`)."""

from __future__ import annotations

import time
import typing as t

from . import audit
from ._session_settings import DEFAULT_ABSOLUTE_TIMEOUT, session_settings
from .errors import StoreUnavailableError
from .stores import StoreError, store_for

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask

#: Store key prefixes.
REVOKED_PREFIX = "session:revoked:"
DATA_PREFIX = "session:data:"
USER_PREFIX = "session:user-not-before:"
#: Audit reasons (event ``"session"``).
REASON_INVALID = "invalid_cookie"
REASON_EXPIRED = "expired"
REASON_REVOKED = "revoked"
REASON_STORE = "store_unavailable"


class SessionStoreUnavailable(StoreUnavailableError):
    """The store behind sessions is down: fail closed with 503 and ``Retry-After``."""

    kind = "session"
    reason = REASON_STORE
    description = "Sessions are unavailable for a moment. Please try again shortly."


def revocation_ttl(app: Flask) -> float:
    """Return how long a revocation is kept, in seconds."""
    # A cookie older than the absolute timeout is dead anyway.
    settings = session_settings(app)
    timeout = settings.absolute_timeout or settings.idle_timeout
    return timeout or DEFAULT_ABSOLUTE_TIMEOUT.total_seconds()


def store_call(fn: t.Callable[..., t.Any], *args: t.Any) -> t.Any:
    """Call the store; a store failure is a 503 (:class:`SessionStoreUnavailable`)."""
    try:
        return fn(*args)
    except StoreError as e:
        # SECURITY: fail closed; a revocation we cannot check or record is
        # not silently skipped.
        audit.audit("session", reason=REASON_STORE)
        raise SessionStoreUnavailable(retry_after=getattr(e, "retry_after", None)) from None


def _clock(app: Flask) -> t.Callable[[], float]:
    # The session interface's clock (``EncryptedSessionInterface(now=)``).
    clock: t.Callable[[], float] = getattr(app.session_interface, "now", time.time)
    return clock


def revoke_session(app: Flask, sid: str) -> None:
    """Revoke the session ``sid``: its cookie is refused from now on."""
    store = store_for(app)
    if session_settings(app).server_side:
        store_call(store.delete, DATA_PREFIX + sid)
    else:
        store_call(store.set, REVOKED_PREFIX + sid, b"1", revocation_ttl(app))


def revoke_user_sessions(app: Flask, user_id: t.Any, now: float | None = None) -> None:
    """Revoke every session of ``user_id`` started before ``now`` (default: the clock).

    Call it when a password changes or an account is locked. A session
    regenerated afterwards (``session.regenerate()``, e.g. on the device
    that changed the password) stays valid.
    """
    if now is None:
        now = _clock(app)()
    stamp = repr(round(now, 3)).encode("ascii")
    store_call(store_for(app).set, USER_PREFIX + str(user_id), stamp, revocation_ttl(app))
