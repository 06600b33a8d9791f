"""The session object of encrypted sessions (re-exported by :mod:`.sessions`)."""

from __future__ import annotations

import time
import typing as t

from ..sessions import SecureCookieSession
from .crypto import random_token


def _new_sid() -> str:
    return random_token(18)


def _mark_changed(session: SecureCookieSession) -> None:
    # What SecureCookieSession's own change callback does, without a new
    # closure per session (HermeticSession.opened).
    session.modified = True
    session.accessed = True


def opened_attrs(
    now: t.Callable[[], float],
    on_revoke: t.Callable[[str], None] | None,
    settings_state: t.Any,
    cookie_name: str,
) -> dict[str, t.Any]:
    """Return the ``__dict__`` :meth:`HermeticSession.opened` gives a session
    opened with these settings, its id, times and ``_in_store`` left to fill in.

    The interface keeps one per cookie name and gives each session it opens
    a copy: copying a dict is several times cheaper than building it.
    """
    # The same keys, in the same order, as HermeticSession.opened's.
    return {
        "on_update": _mark_changed,
        "sid": "",
        "created": 0.0,
        "last_seen": 0.0,
        "new": False,
        "_now": now,
        "_on_revoke": on_revoke,
        "_issued": True,
        "_cookie_name": cookie_name,
        "_in_store": None,
        "_settings_state": settings_state,
    }


class HermeticSession(SecureCookieSession):
    """A session with an id, timestamps, :meth:`regenerate` and :meth:`end`.

    Reads and writes are tracked like Flask's cookie session (``accessed``,
    ``modified``).
    """

    def __init__(
        self,
        initial: t.Any = None,
        *,
        sid: str | None = None,
        created: float | None = None,
        last_seen: float | None = None,
        now: t.Callable[[], float] = time.time,
        on_revoke: t.Callable[[str], None] | None = None,
        issued: bool = False,
    ) -> None:
        super().__init__(initial)
        stamp = round(now(), 3) if created is None or last_seen is None else 0.0
        #: The random session id.
        self.sid: str = sid or _new_sid()
        #: When the session started (epoch seconds).
        self.created: float = stamp if created is None else created
        #: When the cookie was last issued (epoch seconds).
        self.last_seen: float = stamp if last_seen is None else last_seen
        self.new = not issued
        self._now = now
        self._on_revoke = on_revoke
        self._issued = issued  # the sid came from a client's cookie

    # Per-session state whose start value is shared (set on the instance
    # when it changes): a session made per request sets five fewer attributes.
    #: The cookie must be sent again (new sid).
    _reissue = False
    #: A bad cookie came in: delete it.
    _drop_cookie = False
    #: The cookie name the session was opened under.
    _cookie_name: str | None = None
    #: Server-side sessions: True when the data is in the store, False when
    #: the cookie holds it all (COOKIE_ONLY_KEYS); None otherwise.
    _in_store: bool | None = None
    #: The interface's settings as open_session read them (sessions.py).
    _settings_state: t.Any = None

    @classmethod
    def opened(
        cls,
        data: dict[str, t.Any],
        sid: str,
        created: float,
        last_seen: float,
        now: t.Callable[[], float],
        on_revoke: t.Callable[[str], None] | None,
        settings_state: t.Any = None,
        cookie_name: str | None = None,
        in_store: bool | None = None,
    ) -> HermeticSession:
        """Return ``cls(data, sid=..., created=..., last_seen=..., issued=True, ...)``, made faster.

        A session is opened on every request that uses it: building it
        without the three ``__init__`` calls up the class chain saves more
        than the rest of opening a remembered cookie costs. A subclass with
        its own ``__init__`` gets it called. With ``settings_state``, the
        session also gets what the interface sets after opening it
        (``_settings_state``, ``_cookie_name``, ``_in_store``).
        """
        if cls.__init__ is not HermeticSession.__init__:
            session = cls(
                data,
                sid=sid,
                created=created,
                last_seen=last_seen,
                now=now,
                on_revoke=on_revoke,
                issued=True,
            )
            if settings_state is not None:
                session._cookie_name = cookie_name
                session._in_store = in_store
                session._settings_state = settings_state
            return session
        session = dict.__new__(cls)
        dict.update(session, data)
        # The attributes __init__ sets, in its order (test_sessions_fast_open.py),
        # given as one new __dict__: each attribute set on a dict subclass
        # costs about as much as building the whole dict.
        attrs = {
            "on_update": _mark_changed,
            "sid": sid,
            "created": created,
            "last_seen": last_seen,
            "new": False,
            "_now": now,
            "_on_revoke": on_revoke,
            "_issued": True,
        }
        if settings_state is not None:
            attrs["_cookie_name"] = cookie_name
            attrs["_in_store"] = in_store
            attrs["_settings_state"] = settings_state
        session.__dict__ = attrs
        return session

    def _revoke_current(self) -> None:
        if self._issued and self._on_revoke is not None and self._in_store is not False:
            # (A cookie-only session has nothing on the server to revoke.)
            self._on_revoke(self.sid)
        self._in_store = None
        self.sid = _new_sid()
        self.created = self.last_seen = round(self._now(), 3)
        self._issued = False
        self._reissue = True
        self.modified = True

    def regenerate(self) -> None:
        """Give the session a new id, keep its data, and revoke the old id.

        Call it at login and at every privilege change: a copy of the cookie
        taken before (planted by an attacker, or leaked) stops working. The
        absolute timeout starts again.
        """
        self._revoke_current()

    def end(self) -> None:
        """Revoke this session on the server and clear it (call it at logout).

        The cookie is deleted, and a copy of it replayed later is refused.
        Data written afterwards goes into a new session.
        """
        self._revoke_current()
        self.clear()
        self.modified = True
