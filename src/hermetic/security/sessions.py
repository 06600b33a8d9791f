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

from ..sessions import NullSession, SessionInterface, session_json_serializer
from . import audit
from ._hermetic_session import HermeticSession as HermeticSession
from ._opened_cookies import OpenedCookies, Remembered
from ._session_cookie import COOKIE_ONLY_KEYS as COOKIE_ONLY_KEYS
from ._session_cookie import COOKIE_PURPOSE as COOKIE_PURPOSE
from ._session_cookie import DATA_PURPOSE as DATA_PURPOSE
from ._session_cookie import (
    SCANNED_KEY,
    SETTING_METHODS,
    SETTINGS_KEY,
    SessionState,
    cookie_value,
    decode_cookie,
    is_cookie_only_data,
    kept_settings,
    settings_for,
    vary_cookie,
)
from ._session_revoke import DATA_PREFIX as DATA_PREFIX
from ._session_revoke import REASON_EXPIRED as REASON_EXPIRED
from ._session_revoke import REASON_INVALID as REASON_INVALID
from ._session_revoke import REASON_REVOKED as REASON_REVOKED
from ._session_revoke import REASON_STORE as REASON_STORE
from ._session_revoke import REVOKED_PREFIX as REVOKED_PREFIX
from ._session_revoke import USER_ID_KEY as USER_ID_KEY
from ._session_revoke import USER_PREFIX as USER_PREFIX
from ._session_revoke import SessionStoreUnavailable as SessionStoreUnavailable
from ._session_revoke import checked_session_data
from ._session_revoke import revoke_session as revoke_session
from ._session_revoke import revoke_user_sessions as revoke_user_sessions
from ._session_save import adopt_session, general_save, store_session_data
from ._session_settings import DEFAULT_ABSOLUTE_TIMEOUT as DEFAULT_ABSOLUTE_TIMEOUT
from ._session_settings import DEFAULT_IDLE_TIMEOUT as DEFAULT_IDLE_TIMEOUT
from ._session_settings import SessionSettings as SessionSettings
from .crypto import InvalidToken, keyring_for

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

    # (_checked: checked_session_data, in _session_revoke.py, bound below.)

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

    # The general way of saving (_session_save.py) and the store checks of
    # an opened cookie (_session_revoke.py), bound here as methods rather
    # than inherited from a mixin: a longer MRO costs the lookups on the
    # interface that miss the type cache.
    _save = general_save
    _adopt = adopt_session
    _store_data = store_session_data
    _checked = checked_session_data
