"""Session revocation and the store calls of sessions (re-exported by :mod:`hermetic.security.sessions`).

Recording a revocation (:func:`revoke_session`, :func:`revoke_user_sessions`)
and checking an opened cookie against the store
(:func:`checked_session_data`, the interface's ``_checked``).
"""

from __future__ import annotations

import time
import typing as t

from . import audit
from ._session_cookie import COOKIE_ONLY_KEYS, DATA_PURPOSE, loads_payload
from ._session_settings import DEFAULT_ABSOLUTE_TIMEOUT, session_settings
from .crypto import InvalidToken
from .errors import StoreUnavailableError
from .stores import StoreError, store_for

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask
    from ._session_cookie import SessionState
    from .sessions import EncryptedSessionInterface

#: Store key prefixes.
REVOKED_PREFIX = "session:revoked:"
DATA_PREFIX = "session:data:"
USER_PREFIX = "session:user-not-before:"
#: Audit reasons (event ``"session"``).
REASON_INVALID = "invalid_cookie"
REASON_EXPIRED = "expired"
REASON_REVOKED = "revoked"
REASON_STORE = "store_unavailable"
#: The session data key naming the logged-in user (Flask-Login's convention).
USER_ID_KEY = "_user_id"


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


def checked_session_data(
    self: EncryptedSessionInterface,
    app: Flask,
    settings: SessionState,
    ring: t.Any,
    sid: str,
    created: float,
    data: t.Any,
) -> tuple[dict[str, t.Any], bool | None] | str:
    # The general checks of an opened cookie's data: the data and where
    # it lives (``_in_store``), once the store says the session is not
    # revoked; or the reason to refuse it. open_session takes the
    # anonymous cookie-only sessions without it (the same answer,
    # tests/security/test_session_open_fast.py).
    not_before: t.Any = None
    in_store: bool | None = None
    if settings.server_side and data is not None:
        # SECURITY: a cookie-only session (nothing in the store) may hold
        # an anonymous visitor's CSRF secret and nothing else: no user,
        # so no revocation to check. Anything more is refused.
        if not isinstance(data, dict) or not COOKIE_ONLY_KEYS.issuperset(data):
            return REASON_INVALID
        in_store = False
    elif settings.server_side:
        store = store_for(app)
        in_store = True
        sealed = store_call(store.get, DATA_PREFIX + sid)
        if sealed is None:
            return REASON_REVOKED
        try:
            plain = ring.decrypt(DATA_PURPOSE, sealed.decode("ascii"), aad=sid.encode())
            data = loads_payload(app, self.serializer, plain.decode("utf-8"))
        except (InvalidToken, ValueError, TypeError):
            return REASON_INVALID
        user_id = data.get(USER_ID_KEY) if isinstance(data, dict) else None
        if user_id is not None:
            not_before = store_call(store.get, USER_PREFIX + str(user_id))
    elif isinstance(data, dict) and COOKIE_ONLY_KEYS.issuperset(data):
        in_store = False  # an anonymous visitor's CSRF secret (open_session)
    else:
        store = store_for(app)
        user_id = data.get(USER_ID_KEY) if isinstance(data, dict) else None
        if user_id is None:
            revoked = store_call(store.get, REVOKED_PREFIX + sid)
        else:
            revoked, not_before = store_call(
                store.get_many, (REVOKED_PREFIX + sid, USER_PREFIX + str(user_id))
            )
        if revoked is not None:
            return REASON_REVOKED
    if not isinstance(data, dict):
        return REASON_INVALID
    if not_before is not None and created < float(not_before):
        return REASON_REVOKED
    return data, in_store
