"""The general way of saving an encrypted session: the methods ``_save``,
``_adopt`` and ``_store_data`` of
:class:`~hermetic.security.sessions.EncryptedSessionInterface`, whose
``save_session`` sends nothing for the usual session and hands anything
else (emptied, changed, server side, settings changed, refresh due) here.

They are bound in the interface's class body rather than inherited from a
mixin: a base class would lengthen the MRO that each attribute lookup on the
interface walks when it misses the type cache (about 0.5k instructions more
per CSRF form POST, callgrind).
"""

from __future__ import annotations

import typing as t
from datetime import datetime, timezone

from ..globals import _cv_request
from ..sessions import SecureCookieSession
from ._hermetic_session import HermeticSession, _new_sid
from ._session_cookie import COOKIE_ONLY_KEYS, COOKIE_PURPOSE, DATA_PURPOSE, SETTINGS_KEY
from ._session_revoke import DATA_PREFIX, revoke_session, store_call
from ._vary_cookie import vary_cookie
from .crypto import keyring_for
from .stores import store_for

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask
    from ..wrappers import Response
    from .sessions import EncryptedSessionInterface

_SESSION_LEN = SecureCookieSession.__len__


def adopt_session(self: EncryptedSessionInterface, session: t.Any) -> HermeticSession:
    adopted = self.session_class(dict(session), now=self.now)
    adopted.modified = True
    return adopted


def general_save(
    self: EncryptedSessionInterface, app: Flask, session: t.Any, response: Response, accessed: bool
) -> None:
    if not isinstance(session, HermeticSession):
        session = self._adopt(session)
    # The settings open_session read, when they are still this app's
    # current ones for this interface (another app, or a config change
    # seen since, recomputes them).
    settings = session.__dict__.get("_settings_state")
    if (
        settings is None
        or settings.owner is not self
        or app.extensions.get(SETTINGS_KEY) is not settings
    ):
        settings = self._settings(app)
    name = session._cookie_name
    if name is None:
        ctx = _cv_request.get(None)
        name = self._name(app, settings, ctx.request if ctx is not None else None)[0]
    if accessed:
        # A response built from the session depends on the cookie.
        vary_cookie(response)

    if type(session).__len__ is _SESSION_LEN:
        # SecureCookieSession's __len__, without its frames: the read it
        # marks is undone by save_session.
        empty = not dict.__len__(session)
    else:
        empty = not session
    if empty:
        if session.modified or session._drop_cookie:
            if session._issued and session._in_store is not False:
                # An emptied session is over: a copy of its cookie must not work.
                revoke_session(app, session.sid)
            response.delete_cookie(
                name,
                domain=settings.domain,
                path=settings.path,
                secure=settings.secure,
                partitioned=settings.partitioned,
                samesite=settings.samesite,
                httponly=settings.httponly,
            )
            vary_cookie(response)
        return

    now = self.now()
    absolute = settings.absolute
    refresh = settings.refresh is not None and now - session.last_seen >= settings.refresh
    server_side = settings.server_side
    cookie_only = False
    if server_side:
        cookie_only = session._in_store is not True and COOKIE_ONLY_KEYS.issuperset(session)
        if cookie_only:
            session._in_store = False
        elif session.modified:
            if session._in_store is False and session._issued:
                # SECURITY: an id handed out in a cookie-only cookie never
                # names stored data: a copy of that cookie stays anonymous.
                session.sid = _new_sid()
                session._issued = False
            self._store_data(app, session, now, absolute)
            session._in_store = True
        send = (
            refresh
            or session._reissue
            or not session._issued
            or session._drop_cookie
            or (cookie_only and session.modified)
        )
    else:
        send = refresh or session.modified
    if not send:
        return

    session.last_seen = round(now, 3)
    payload: dict[str, t.Any] = {"i": session.sid, "c": session.created, "l": session.last_seen}
    if cookie_only or not server_side:
        payload["d"] = dict(session)
    plaintext = self.serializer.dumps(payload).encode("utf-8")
    value = keyring_for(app).encrypt(COOKIE_PURPOSE, plaintext, aad=name.encode())
    expires = None
    if session.permanent:
        # The earlier of the permanent lifetime and the absolute timeout.
        lifetime = app.permanent_session_lifetime
        ends = [] if absolute is None else [session.created + absolute]
        if lifetime is not None:
            ends.append(now + lifetime.total_seconds())
        if ends:
            expires = datetime.fromtimestamp(min(ends), timezone.utc)
    response.set_cookie(
        name,
        value,
        expires=expires,
        httponly=settings.httponly,
        domain=settings.domain,
        path=settings.path,
        secure=settings.secure,
        partitioned=settings.partitioned,
        samesite=settings.samesite,
    )
    vary_cookie(response)
    session._issued = True
    session._reissue = session._drop_cookie = False


def store_session_data(
    self: EncryptedSessionInterface,
    app: Flask,
    session: HermeticSession,
    now: float,
    absolute: float | None,
) -> None:
    # SECURITY: the data is encrypted at rest and bound to its sid: a
    # reader of the store learns nothing, a writer cannot forge or swap it.
    plaintext = self.serializer.dumps(dict(session)).encode("utf-8")
    sealed = keyring_for(app).encrypt(DATA_PURPOSE, plaintext, aad=session.sid.encode())
    ttl = None if absolute is None else max(1.0, session.created + absolute - now)
    store_call(store_for(app).set, DATA_PREFIX + session.sid, sealed.encode("ascii"), ttl)
