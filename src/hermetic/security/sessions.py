"""Encrypted cookie sessions with timeouts, revocation and an optional server-side store.

The cookie is sealed with the app's key ring (AES-GCM, the cookie name as
associated data): the client can neither read nor change it, and a cookie
made under an old key still opens while that key is in
``SECRET_KEY_FALLBACKS``. Each session has an id (``sid``), a creation time
and a last-seen time, which give:

- an idle timeout (``SESSION_IDLE_TIMEOUT``, default 1 hour) and an absolute
  one (``SESSION_ABSOLUTE_TIMEOUT``, default 12 hours; counted from the last
  :meth:`HermeticSession.regenerate`, i.e. the login);
- revocation of one session (logout: :meth:`HermeticSession.end`, or
  :func:`revoke_session`), of the id a login replaced
  (:meth:`HermeticSession.regenerate`, the session fixation defence), and of
  every session of a user (:func:`revoke_user_sessions`);
- server-side data (``SESSION_SERVER_SIDE = True``, default ``False``): the
  data lives in the app's store (``hermetic.security.stores``), encrypted,
  and the cookie carries only the id and times. A session holding nothing
  but an anonymous visitor's CSRF secret (:data:`COOKIE_ONLY_KEYS`) stays in
  its encrypted cookie instead; with cookie sessions, such a session's
  revocation is not looked up. Either way public pages with forms need no
  store, and keep working while it is down.

Revocations live in the app's store. The default store is in memory and per
process: with several workers, set ``HERMETIC_REDIS_URL``.
"""

from __future__ import annotations

import time
import typing as t
from datetime import datetime, timezone

from ..globals import _cv_request
from ..sessions import NullSession, SecureCookieSession, SessionInterface, session_json_serializer
from . import audit
from ._hermetic_session import HermeticSession as HermeticSession
from ._hermetic_session import _new_sid
from ._session_cookie import COOKIE_ONLY_KEYS as COOKIE_ONLY_KEYS
from ._session_cookie import (
    SCANNED_KEY,
    SETTING_METHODS,
    SETTINGS_KEY,
    OpenedCookies,
    Remembered,
    SessionState,
    cookie_value,
    decode_cookie,
    is_cookie_only_data,
    kept_settings,
    loads_payload,
    settings_for,
    vary_cookie,
)
from ._session_revoke import DATA_PREFIX as DATA_PREFIX
from ._session_revoke import REASON_EXPIRED as REASON_EXPIRED
from ._session_revoke import REASON_INVALID as REASON_INVALID
from ._session_revoke import REASON_REVOKED as REASON_REVOKED
from ._session_revoke import REASON_STORE as REASON_STORE
from ._session_revoke import REVOKED_PREFIX as REVOKED_PREFIX
from ._session_revoke import USER_PREFIX as USER_PREFIX
from ._session_revoke import SessionStoreUnavailable as SessionStoreUnavailable
from ._session_revoke import revoke_session as revoke_session
from ._session_revoke import revoke_user_sessions as revoke_user_sessions
from ._session_revoke import store_call
from ._session_settings import DEFAULT_ABSOLUTE_TIMEOUT as DEFAULT_ABSOLUTE_TIMEOUT
from ._session_settings import DEFAULT_IDLE_TIMEOUT as DEFAULT_IDLE_TIMEOUT
from ._session_settings import SessionSettings as SessionSettings
from .crypto import InvalidToken, keyring_for
from .stores import store_for

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask
    from ..wrappers import Request, Response

__all__ = [
    "COOKIE_ONLY_KEYS",
    "DEFAULT_ABSOLUTE_TIMEOUT",
    "DEFAULT_IDLE_TIMEOUT",
    "REASON_EXPIRED",
    "REASON_INVALID",
    "REASON_REVOKED",
    "REASON_STORE",
    "USER_ID_KEY",
    "EncryptedSessionInterface",
    "HermeticSession",
    "SessionSettings",
    "SessionStoreUnavailable",
    "revoke_session",
    "revoke_user_sessions",
]

#: Key-ring purposes: the cookie, and the data kept in the store.
COOKIE_PURPOSE = "session"
DATA_PURPOSE = "session-data"
#: The session data key naming the logged-in user (Flask-Login's convention).
USER_ID_KEY = "_user_id"
_SESSION_LEN = SecureCookieSession.__len__
_new_dict = dict.__new__
_dict_update = dict.update
_copy_dict = dict.copy


class EncryptedSessionInterface(SessionInterface):
    """Keep the session in an encrypted cookie, or its data in the app's store.

    :param now: The clock, in epoch seconds; default :func:`time.time`.

    Settings: :class:`SessionSettings` (``SESSION_IDLE_TIMEOUT``, default 1
    hour; ``SESSION_ABSOLUTE_TIMEOUT``, default 12 hours; ``None`` disables
    either, not advised; ``SESSION_SERVER_SIDE``, default ``False``;
    ``SESSION_OPENED_CACHE_SIZE``), and Flask's ``SESSION_COOKIE_*``. ``SameSite`` is ``Lax`` unless set. Over HTTPS, a
    ``Secure`` cookie with path ``/`` and no domain is named with the
    ``__Host-`` prefix, so a sibling subdomain cannot set or shadow it.
    ``SESSION_REFRESH_EACH_REQUEST`` is not used: the cookie is re-sent when
    the session changes, and for the idle timeout once a tenth of it has
    passed.

    The settings are read once and kept in ``app.extensions`` until one of
    them changes in ``app.config``. A subclass overriding a
    ``get_cookie_*`` method has them computed for every request instead.
    """

    session_class = HermeticSession
    serializer = session_json_serializer
    #: Opening has no side effect but audit records: the app may open the
    #: session on first use rather than at the start of every request.
    open_lazily = True
    #: How many recently opened cookies are remembered per cookie name, so
    #: that a cookie sent again is not decrypted and decoded again (expiry
    #: and revocation are checked every time); ``None`` (default):
    #: ``SESSION_OPENED_CACHE_SIZE`` (``1024``), ``0`` = off.
    opened_cookies_cache_size: int | None = None
    # Set per subclass by __init_subclass__.
    _settings_cacheable = True
    _custom_name = False

    def __init__(self, now: t.Callable[[], float] = time.time) -> None:
        self.now = now

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        base = EncryptedSessionInterface
        cls._settings_cacheable = all(
            getattr(cls, method) is getattr(base, method) for method in SETTING_METHODS
        )
        cls._custom_name = cls.cookie_name_for is not base.cookie_name_for

    def is_null_session(self, obj: object) -> bool:
        """Tell whether ``obj`` is a null session (asked when every response is finished)."""
        if type(obj) is HermeticSession and self.null_session_class is NullSession:
            return False  # without isinstance's ABCMeta check: the usual session
        return super().is_null_session(obj)

    def _settings(self, app: Flask) -> SessionState:
        return settings_for(self, app, revoke_session)

    # -- cookie attributes ---------------------------------------------

    def get_cookie_samesite(self, app: Flask) -> str | None:
        """Return ``SESSION_COOKIE_SAMESITE``, or ``"Lax"`` when it is not set."""
        return super().get_cookie_samesite(app) or "Lax"

    def cookie_name_for(self, app: Flask, request: Request | None) -> str:
        """Return the cookie name for ``request``, with ``__Host-`` when it applies."""
        return self._settings(app).names[request is not None and request.is_secure]

    def _name(
        self, app: Flask, settings: SessionState, request: Request | None
    ) -> tuple[str, bytes, OpenedCookies | None]:
        # The cookie name for ``request``, the same as associated data, and
        # the cookies opened under that name.
        if self._custom_name:
            name = self.cookie_name_for(app, request)
            return name, name.encode(), None
        secure = request is not None and request.is_secure
        return settings.names[secure], settings.aads[secure], settings.opened[secure]

    # -- open ----------------------------------------------------------

    def _fresh(self, settings: SessionState, name: str, drop: bool = False) -> HermeticSession:
        session = self.session_class(now=self.now, on_revoke=settings.on_revoke)
        session._cookie_name = name
        session._drop_cookie = drop
        session._settings_state = settings
        return session

    def _refuse(self, settings: SessionState, name: str, reason: str) -> HermeticSession:
        audit.audit("session", reason=reason)
        return self._fresh(settings, name, drop=True)

    def open_session(self, app: Flask, request: Request) -> HermeticSession | None:
        """Load the session from the cookie; a bad, expired or revoked one gives a fresh session."""
        # The kept settings, when the config (key ring included) is as they
        # saw it: the secret key is set then.
        settings = kept_settings(self, app)
        if settings is None or not settings.keyed:
            if not app.secret_key:
                return None  # Flask's behaviour: a null session that explains itself
            # What _settings returns, without its call.
            settings = settings_for(self, app, revoke_session)
        memo: OpenedCookies | None
        session_attrs: dict[str, t.Any] | None
        if self._custom_name:
            name = self.cookie_name_for(app, request)
            aad, memo, session_attrs = name.encode(), None, None
            value = cookie_value(request, name)
        else:
            name, aad, memo, scannable, session_attrs = settings.schemes[request.is_secure]
            # cookie_value's answer when the header was scanned already (the
            # CSRF shield asked first) and not parsed by Werkzeug since,
            # without its call.
            attrs = request.__dict__
            scanned = attrs.get(SCANNED_KEY)
            if scanned is not None and scannable and "cookies" not in attrs:
                value = scanned.get(name)
            else:
                value = cookie_value(request, name)
        if not value:
            return self._fresh(settings, name)
        ring = settings.ring
        if ring is None:
            ring = keyring_for(app)
            if settings.keyed:
                # SECURITY: kept only while SECRET_KEY and its fallbacks are
                # as the settings saw them (a change makes new settings, and
                # new memos): a key change is seen at once.
                settings.ring = ring
        opened: Remembered | None = None
        if memo is not None:
            current = memo.current  # memo.get(ring, value), without its call
            if current[0] is ring:
                opened = current[1].get(value)
        if opened is None:
            try:
                sid, created, last_seen, data = decode_cookie(
                    app, self.serializer, ring.decrypt(COOKIE_PURPOSE, value, aad=aad)
                )
            except (InvalidToken, ValueError, TypeError, KeyError, AttributeError):
                return self._refuse(settings, name, REASON_INVALID)
            opened = (sid, created, last_seen, data, is_cookie_only_data(data))
            if memo is not None:
                memo.put(ring, value, opened)
        sid, created, last_seen, data, anonymous = opened

        now = self.now()
        if now - created > settings.absolute_limit or now - last_seen > settings.idle_limit:
            return self._refuse(settings, name, REASON_EXPIRED)

        in_store: bool | None
        if anonymous:
            # SECURITY: an anonymous visitor's CSRF secret and nothing else,
            # all in the cookie (either setting of SESSION_SERVER_SIDE): no
            # user, no data in the store, so no revocation to look up -- a
            # revoked copy of such a cookie grants nothing. Anonymous pages
            # need no store, and keep working while it is down.
            in_store = False
        else:
            checked = self._checked(app, settings, ring, sid, created, data)
            if isinstance(checked, str):
                return self._refuse(settings, name, checked)
            data, in_store = checked

        cls = self.session_class
        if cls is HermeticSession and session_attrs is not None:
            # HermeticSession.opened's session, without its call
            # (tests/security/test_session_open_inline.py): the data copied,
            # and the attributes __init__ and the interface set, as a copy
            # of the ones kept for this cookie name (opened_attrs) with this
            # session's own filled in.
            session = _new_dict(cls)
            _dict_update(session, data)
            session.__dict__ = session_attrs = _copy_dict(session_attrs)
            session_attrs["sid"] = sid
            session_attrs["created"] = created
            session_attrs["last_seen"] = last_seen
            session_attrs["_now"] = self.now
            session_attrs["_in_store"] = in_store
            return session
        # (issubclass goes through ABCMeta's check: the usual class is asked first.)
        if issubclass(cls, HermeticSession):
            return cls.opened(
                data,
                sid,
                created,
                last_seen,
                self.now,
                settings.on_revoke,
                settings,
                name,
                in_store,
            )
        # A session class of the app's own, given the same arguments.
        session = cls(
            data,
            sid=sid,
            created=created,
            last_seen=last_seen,
            now=self.now,
            on_revoke=settings.on_revoke,
            issued=True,
        )
        session._cookie_name = name
        session._in_store = in_store
        session._settings_state = settings
        return session

    def _checked(
        self, app: Flask, settings: SessionState, ring: t.Any, sid: str, created: float, data: t.Any
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

    # -- save ----------------------------------------------------------

    def save_session(self, app: Flask, session: t.Any, response: Response) -> None:
        """Write the cookie (and the store) when needed; delete it when the session was emptied."""
        # Only the app's reads count as access: undo the ones made here.
        accessed = session.accessed
        if type(session) is HermeticSession:
            # The usual end of a request: a cookie session opened here, with
            # data, unchanged, whose cookie needs no refresh yet -- nothing is
            # sent. What _save decides for it, without its call; anything
            # else (emptied, changed, server side, settings changed since
            # opening, refresh due) goes the general way.
            settings: t.Any = session._settings_state
            if (
                settings is not None
                and not session.modified
                and dict.__len__(session)
                and not settings.server_side
                and settings.owner is self
                # (not _save's `refresh`, spelt as it is there)
                and not (
                    settings.refresh is not None
                    and self.now() - session.last_seen >= settings.refresh
                )
                and app.extensions.get(SETTINGS_KEY) is settings
            ):
                if accessed:
                    vary_cookie(response)  # a response built from the session
                return
        try:
            self._save(app, session, response, accessed)
        finally:
            session.accessed = accessed

    def _adopt(self, session: t.Any) -> HermeticSession:
        adopted = self.session_class(dict(session), now=self.now)
        adopted.modified = True
        return adopted

    def _save(self, app: Flask, session: t.Any, response: Response, accessed: bool) -> None:
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

    def _store_data(
        self, app: Flask, session: HermeticSession, now: float, absolute: float | None
    ) -> None:
        # SECURITY: the data is encrypted at rest and bound to its sid: a
        # reader of the store learns nothing, a writer cannot forge or swap it.
        plaintext = self.serializer.dumps(dict(session)).encode("utf-8")
        sealed = keyring_for(app).encrypt(DATA_PURPOSE, plaintext, aad=session.sid.encode())
        ttl = None if absolute is None else max(1.0, session.created + absolute - now)
        store_call(store_for(app).set, DATA_PREFIX + session.sid, sealed.encode("ascii"), ttl)
