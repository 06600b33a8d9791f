"""The session's per-request fast paths answer as the general ones would.

- vary_cookie tells an absent ``Vary`` by one set check of the header names;
- open_session reads the cookie from the header the CSRF shield scanned,
  and takes an anonymous cookie-only session without the store checks
  (``_checked``), the memo on or off, refusals included;
- open_session keeps the key ring in the settings while SECRET_KEY and its
  fallbacks are unchanged (a list changed in place included);
- save_session returns early for an unchanged session needing no refresh;
- HermeticSession.opened also sets what the interface sets after opening.
"""

from __future__ import annotations

import itertools
import sys
import time

import pytest
from tests.security._session_harness import T0, bare_request, sealed_cookie, session_app
from tests.security.test_session_fast_paths import assert_vary_cookie_as_werkzeug

import hermetic
from hermetic.security._session_cookie import (
    _VARY_SPELLINGS,
    cookie_value,
    keyed_settings,
    settings_for,
)
from hermetic.security.crypto import keyring_for
from hermetic.security.sessions import (
    COOKIE_ONLY_KEYS,
    EncryptedSessionInterface,
    HermeticSession,
    revoke_session,
)
from hermetic.testing import ManualClock
from hermetic.wrappers import Response

KEY = "f" * 4 + "open-fast-test-key-0123456789abcdefghijklmn"
NEW_KEY = "n" * 4 + "open-fast-next-key-ABCDEFGHIJKLMNOPQRSTUVWX"
SECRET = "s" * 43

# -- vary_cookie ------------------------------------------------------------------


def test_vary_spellings_are_every_name_that_lower_cases_to_vary():
    # Over all of Unicode: only ASCII letters lower-case to v, a, r or y, and
    # only U+0130 changes length (to "i" + a combining dot: no such letter).
    letters = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).lower() in ("v", "a", "r", "y")}
    assert letters == set("varyVARY")
    longer = [c for c in range(sys.maxunicode + 1) if len(chr(c).lower()) != 1]
    assert longer == [0x130]
    assert not set(chr(0x130).lower()) & set("vary")
    every = {"".join(p) for p in itertools.product(*((c, c.upper()) for c in "vary"))}
    assert _VARY_SPELLINGS == every
    assert all(name.lower() == "vary" for name in _VARY_SPELLINGS)


_OTHERS = [
    ("Content-Type", "text/html"),
    ("X-Frame-Options", "DENY"),
    ("Date", "x"),
    ("Link", "y"),
    ("Varyy", "Cookie"),
    ("V\u0430ry", "Cookie"),  # a Cyrillic a: not Vary
    ("X-Vary", "Cookie"),
    ("Content-Security-Policy", "default-src 'self'"),
]


@pytest.mark.parametrize("spelling", sorted(_VARY_SPELLINGS) + [None])
@pytest.mark.parametrize("value", ["Origin", "cookie", "Accept, COOKIE", '"x", Cookie', "*"])
def test_vary_cookie_matches_werkzeug_with_many_headers(spelling, value):
    pairs = list(_OTHERS)
    if spelling is not None:
        pairs.insert(3, (spelling, value))
    assert_vary_cookie_as_werkzeug(pairs)


# -- open_session -------------------------------------------------------------------


def _app(cache_size=1024, server_side=False, clock=None):
    return session_app(KEY, cache_size, server_side, clock)


_request, _cookie = bare_request, sealed_cookie


def _open(app, header, first=None):
    iface = app.session_interface
    with app.test_request_context():
        request = _request(app, header)
        if first == "scan":
            cookie_value(request, "session")  # what the CSRF shield does
        elif first == "parse":
            request.cookies  # noqa: B018  (Werkzeug parsed it first)
        session = iface.open_session(app, request)
    return None if session is None else (session.new, dict(session), session._in_store)


@pytest.mark.parametrize("server_side", [False, True])
@pytest.mark.parametrize(
    "data", [{"_csrf": SECRET}, {"_csrf": SECRET, "_permanent": True}, {"_permanent": True}, {}]
)
def test_anonymous_shortcut_is_the_general_answer(server_side, data):
    # open_session takes these (a dict of COOKIE_ONLY_KEYS) without _checked:
    # _checked gives them the same answer, and never asks the store.
    assert type(data) is dict and COOKIE_ONLY_KEYS.issuperset(data)
    app, _ = _app(server_side=server_side)
    iface = app.session_interface
    app.extensions["hermetic.store"] = None  # a store that is not there
    checked = iface._checked(app, iface._settings(app), keyring_for(app), "i" * 24, T0, data)
    assert checked == (data, False)


@pytest.mark.parametrize("first", [None, "scan", "parse"])
@pytest.mark.parametrize("cache_size", [0, 1024])
def test_open_answers_alike_whoever_read_the_header_first(first, cache_size):
    app, _ = _app(cache_size)
    good = _cookie(app, {"_csrf": SECRET})
    other = _cookie(app, {"_csrf": "t" * 43})
    headers = [
        f"session={good}",
        f"a=1; session={good}",
        f"session={good}; session={other}",  # the first one wins
        f"session={other}; session={good}",
        f' session = {good} ; b="q"',  # quoted: Werkzeug parses
        f"session={good} x",  # a space inside: skipped
        f"Session={good}",  # another name
        f"session={good[:-2]}",  # tampered
        "session=",
        None,
    ]
    for header in headers:
        expected = _open(app, header, "parse")
        assert _open(app, header, first) == expected, header
        # The same with the memo off: the general path (decrypting) agrees.
        plain, _ = _app(0)
        assert _open(plain, header) == expected, header


def _sequence(cache_size, server_side):
    """Open the same cookies through expiry, revocation and key changes."""
    app, clock = _app(cache_size, server_side)
    anon = _cookie(app, {"_csrf": SECRET})
    user = _cookie(app, {"_csrf": SECRET, "_user_id": "7"})
    results = []

    def both():
        for value in (anon, user):
            results.append(_open(app, f"session={value}", "scan"))

    both()
    both()  # remembered now (memo on)
    for value in (anon, user):
        with app.test_request_context():
            sid = app.session_interface.open_session(app, _request(app, f"session={value}")).sid
        revoke_session(app, sid)
    both()  # the anonymous one is not looked up; the user's is revoked
    app.config["SECRET_KEY_FALLBACKS"] = [KEY]
    app.config["SECRET_KEY"] = NEW_KEY
    both()  # a new ring: opened again under the fallback
    app.config["SECRET_KEY_FALLBACKS"] = []
    both()  # the old key is gone: refused
    app.config["SECRET_KEY"] = KEY
    clock.advance(2 * 3600)  # past the idle timeout
    both()
    app.config["SESSION_IDLE_TIMEOUT"] = None
    both()
    clock.advance(12 * 3600)  # past the absolute timeout
    both()
    return results


@pytest.mark.parametrize("server_side", [False, True])
def test_refusals_are_the_same_with_the_memo(server_side):
    remembered, general = _sequence(1024, server_side), _sequence(0, server_side)
    assert remembered == general
    news = [result[0] for result in remembered]
    assert news[:4] == [False, False, False, False]
    assert news[4:6] == [False, True]  # anonymous kept, user revoked
    assert news[6] is False and news[8] is True  # fallback key, then no key
    assert news[10] is True and news[12] is False and news[14] is True  # timeouts


# -- save_session -------------------------------------------------------------------


def _opened_session(app, value):
    session = app.session_interface.open_session(app, _request(app, f"session={value}"))
    assert not session.new
    return session


def _headers(response):
    return [
        (key, value.split("=", 1)[0] if key == "Set-Cookie" else value)
        for key, value in response.headers.items()
    ]


_CHANGES = {
    "none": lambda app, clock, s: None,
    "accessed": lambda app, clock, s: s.get("_csrf"),
    "modified": lambda app, clock, s: s.__setitem__("a", "1"),
    "emptied": lambda app, clock, s: s.clear(),
    "refresh due": lambda app, clock, s: (clock.advance(1800), s.get("_csrf")),
    "settings changed": lambda app, clock, s: app.config.update(SESSION_COOKIE_NAME="other"),
    "regenerated": lambda app, clock, s: s.regenerate(),
    "dropped": lambda app, clock, s: setattr(s, "_drop_cookie", True),
}


@pytest.mark.parametrize("server_side", [False, True])
@pytest.mark.parametrize("change", list(_CHANGES))
def test_save_session_is_what_the_general_save_does(server_side, change):
    outcomes = []
    for general in (False, True):
        app, clock = _app(server_side=server_side, clock=ManualClock(T0))
        value = _cookie(app, {"_csrf": SECRET})
        response = Response()
        with app.test_request_context():
            session = _opened_session(app, value)
            _CHANGES[change](app, clock, session)
            accessed = session.accessed
            iface = app.session_interface
            if general:
                iface._save(app, session, response, accessed)
                session.accessed = accessed
            else:
                iface.save_session(app, session, response)
        # Per-app objects aside; "accessed" is compared as read (the general
        # way sets it on the instance to the value it had).
        state = {
            k: v
            for k, v in vars(session).items()
            if k not in ("sid", "_settings_state", "_now", "_on_revoke", "accessed")
        }
        outcomes.append((_headers(response), session.accessed, state, dict(session)))
    assert outcomes[0] == outcomes[1]


# -- HermeticSession.opened ---------------------------------------------------------


class _OwnInit(HermeticSession):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)


@pytest.mark.parametrize("cls", [HermeticSession, _OwnInit])
def test_opened_with_the_interface_state_is_the_constructor_then_three_sets(cls):
    sid, created, last_seen, state = "s" * 24, T0, T0 + 1, object()
    slow = cls(
        {"a": "1"}, sid=sid, created=created, last_seen=last_seen, now=time.time, issued=True
    )
    slow._cookie_name, slow._in_store, slow._settings_state = "session", False, state
    fast = cls.opened({"a": "1"}, sid, created, last_seen, time.time, None, state, "session", False)
    assert type(fast) is cls and dict(fast) == dict(slow)
    slow_vars, fast_vars = dict(vars(slow)), dict(vars(fast))
    assert callable(slow_vars.pop("on_update")) and callable(fast_vars.pop("on_update"))
    assert fast_vars == slow_vars
    assert list(vars(fast)) == list(vars(slow))
    fast["b"] = "2"
    assert fast.modified and fast.accessed


# -- the key ring kept by the settings -------------------------------------------


def _opens(app, value):
    result = _open(app, f"session={value}", "scan")
    return result is not None and result[0] is False


@pytest.mark.parametrize("cache_size", [0, 1024])
def test_fallbacks_changed_in_place_are_seen_at_once(cache_size):
    app, _ = _app(cache_size)
    old = _cookie(app, {"_csrf": SECRET})
    app.config["SECRET_KEY"] = NEW_KEY
    app.config["SECRET_KEY_FALLBACKS"] = fallbacks = []
    assert not _opens(app, old)
    fallbacks.append(KEY)  # the app's own list, changed in place
    assert _opens(app, old)
    assert _opens(app, old)  # kept ring, remembered cookie
    fallbacks.clear()
    assert not _opens(app, old)
    fallbacks.append(KEY)
    assert _opens(app, old)
    app.config["SECRET_KEY"] = None
    assert _open(app, f"session={old}") is None  # no key: Flask's null session


class _OwnKeyApp(hermetic.Flask):
    @property
    def secret_key(self):
        return None  # an app of its own: no session at all


@pytest.mark.parametrize(
    "change",
    [
        lambda app: app.config.update(SECRET_KEY=bytearray(KEY.encode())),
        lambda app: app.config.update(SECRET_KEY_FALLBACKS={KEY}),
        lambda app: app.config.update(SECRET_KEY_FALLBACKS=[bytearray(b"x" * 40)]),
        lambda app: app.config.update(SECRET_KEY=None),
        lambda app: app.config.update(SECRET_KEY=""),
    ],
)
def test_keys_that_could_change_unseen_are_not_kept(change):
    app, _ = _app()
    change(app)
    iface = app.session_interface
    with app.test_request_context():
        if app.secret_key:
            settings = iface._settings(app)
            assert not settings.keyed
        assert keyed_settings(iface, app) is None


def test_an_app_with_its_own_secret_key_is_asked_every_time():
    app = _OwnKeyApp(__name__)
    app.config.update(SECRET_KEY=KEY)
    app.session_interface = EncryptedSessionInterface()
    assert not app.session_interface._settings(app).keyed
    with app.test_request_context():
        assert app.session_interface.open_session(app, _request(app)) is None


@pytest.mark.parametrize("key", ["SECRET_KEY", "SECRET_KEY_FALLBACKS"])
def test_kept_settings_are_what_settings_for_gives_with_the_current_ring(key):
    app, _ = _app()
    iface = app.session_interface
    value = _cookie(app, {"_csrf": SECRET})
    assert _opens(app, value)
    kept = keyed_settings(iface, app)
    assert kept is not None and kept is settings_for(iface, app, revoke_session)
    assert kept.ring is keyring_for(app)
    app.config[key] = NEW_KEY if key == "SECRET_KEY" else [NEW_KEY]
    assert keyed_settings(iface, app) is None  # changed: not kept
    fresh = settings_for(iface, app, revoke_session)
    assert fresh is not kept and fresh.ring is None and fresh.opened != kept.opened
