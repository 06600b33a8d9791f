"""The session's cheap per-request checks answer as the plain ways would.

- vary_cookie finds the Vary headers without lower-casing every header name;
- settings_for sees any change of a session setting (changed, added, removed)
  by comparing the config with its snapshot through dict views.
"""

from __future__ import annotations

import pytest
from werkzeug.datastructures import Headers

import hermetic
from hermetic.security._session_cookie import (
    SETTING_KEYS,
    SETTINGS_KEY,
    keyed_settings,
    settings_for,
    vary_cookie,
)
from hermetic.security.sessions import EncryptedSessionInterface, revoke_session
from hermetic.wrappers import Response

KEY = "fast-paths-test-key-0123456789abcdefghijklmnopqrstuvwxyz"


@pytest.mark.parametrize(
    "existing",
    [
        [],
        [("vary", "Origin")],
        [("VARY", "Origin, cookie")],
        [("Vary", "Origin"), ("vary", "Accept")],  # two headers: Werkzeug merges
        [("Vary", "Accept"), ("Vary", "Cookie")],
        [("Date", "x"), ("Link", "y"), ("Vary", "Origin")],  # other 4-letter names
        [("Varyy", "Cookie"), ("X-Vary", "Cookie")],  # not Vary
    ],
)
def test_vary_cookie_matches_werkzeug_with_any_spelling(existing):
    ours, theirs = Response(), Response()
    for key, value in existing:
        ours.headers.add(key, value)
        theirs.headers.add(key, value)
    vary_cookie(ours)
    theirs.vary.add("Cookie")
    assert ours.headers.getlist("Vary") == theirs.headers.getlist("Vary")


def _app() -> hermetic.Flask:
    app = hermetic.Flask(__name__)
    app.config.update(SECRET_KEY=KEY)
    app.session_interface = EncryptedSessionInterface()
    return app


def test_settings_are_kept_while_the_config_is_unchanged():
    app = _app()
    interface = app.session_interface
    first = settings_for(interface, app, revoke_session)
    assert app.extensions[SETTINGS_KEY] is first
    app.config["UNRELATED"] = 1
    assert settings_for(interface, app, revoke_session) is first
    app.config["SESSION_COOKIE_PATH"] = app.config["SESSION_COOKIE_PATH"]  # same value
    assert settings_for(interface, app, revoke_session) is first


# Two valid values per setting; Flask's own keys are always in the config.
CHANGES = {
    "SESSION_COOKIE_NAME": ("other", "third"),
    "SESSION_COOKIE_DOMAIN": ("example.com", None),
    "SESSION_COOKIE_PATH": ("/x", "/z"),
    "APPLICATION_ROOT": ("/y", "/"),
    "SESSION_COOKIE_HTTPONLY": (False, True),
    "SESSION_COOKIE_SECURE": (True, False),
    "SESSION_COOKIE_SAMESITE": ("Strict", None),
    "SESSION_COOKIE_PARTITIONED": (True, False),
    "SESSION_IDLE_TIMEOUT": (60, 90),
    "SESSION_ABSOLUTE_TIMEOUT": (120, 180),
    "SESSION_SERVER_SIDE": (True, False),
    "SESSION_OPENED_CACHE_SIZE": (3, 0),
    "SECRET_KEY": (KEY + "-next", KEY),
    "SECRET_KEY_FALLBACKS": ([KEY + "-old"], ()),
}
OPTIONAL = {
    "SESSION_IDLE_TIMEOUT",
    "SESSION_ABSOLUTE_TIMEOUT",
    "SESSION_SERVER_SIDE",
    "SESSION_OPENED_CACHE_SIZE",
}


def test_every_setting_key_is_checked():
    assert set(CHANGES) == set(SETTING_KEYS)


@pytest.mark.parametrize("key", SETTING_KEYS)
def test_any_session_setting_changed_is_seen(key):
    app = _app()
    interface = app.session_interface
    before = settings_for(interface, app, revoke_session)
    for value in CHANGES[key]:
        app.config[key] = value
        after = settings_for(interface, app, revoke_session)
        assert after is not before, value
        assert settings_for(interface, app, revoke_session) is after
        before = after


@pytest.mark.parametrize("key", sorted(OPTIONAL))
def test_a_session_setting_added_or_removed_is_seen(key):
    app = _app()
    interface = app.session_interface
    assert key not in app.config
    before = settings_for(interface, app, revoke_session)
    app.config[key] = CHANGES[key][0]
    added = settings_for(interface, app, revoke_session)
    assert added is not before
    del app.config[key]
    removed = settings_for(interface, app, revoke_session)
    assert removed is not added
    assert settings_for(interface, app, revoke_session) is removed


@pytest.mark.parametrize("absent", [0, 1, 2, len(OPTIONAL)])
def test_a_setting_added_is_seen_however_many_are_absent(absent):
    # The check that no absent setting was added is one `in` with at most
    # one absent, isdisjoint with more: each way sees every one added.
    app = _app()
    interface = app.session_interface
    missing = sorted(OPTIONAL)[:absent]
    for key in sorted(OPTIONAL)[absent:]:
        app.config[key] = CHANGES[key][1]
    kept = settings_for(interface, app, revoke_session)
    assert sorted(kept.absent) == missing
    app.config["UNRELATED"] = 1
    assert keyed_settings(interface, app) is kept
    for key in missing:
        app.config[key] = CHANGES[key][0]
        assert keyed_settings(interface, app) is None
        assert settings_for(interface, app, revoke_session) is not kept
        del app.config[key]
        kept = settings_for(interface, app, revoke_session)
        assert keyed_settings(interface, app) is kept


class _OwnHeaders(Headers):
    """A Headers subclass: vary_cookie goes through its methods."""


@pytest.mark.parametrize("own_headers", [False, True])
@pytest.mark.parametrize(
    "existing",
    [
        [],
        [("Location", "/"), ("X-Frame-Options", "DENY")],
        [("vary", "Origin")],
        [("Vary", "Accept"), ("Vary", "Cookie")],
        [("Date", "x"), ("Vary", "Origin, cookie")],
    ],
)
def test_vary_cookie_gives_werkzeugs_whole_header_list(existing, own_headers):
    # Every header, in order (not only the Vary values): the pair is appended
    # to the item list as Werkzeug's add appends it.
    assert_vary_cookie_as_werkzeug(existing, own_headers)


def assert_vary_cookie_as_werkzeug(pairs, own_headers=False):
    """``vary_cookie`` on a response holding ``pairs`` gives Werkzeug's header list."""
    ours, theirs = Response(), Response()
    if own_headers:
        ours.headers = _OwnHeaders(ours.headers)
    for key, value in pairs:
        ours.headers.add(key, value)
        theirs.headers.add(key, value)
    vary_cookie(ours)
    theirs.vary.add("Cookie")
    assert list(ours.headers.items()) == list(theirs.headers.items())
    assert ours.headers.to_wsgi_list() == theirs.headers.to_wsgi_list()


# -- is_null_session and the emptiness check without ABCMeta / __len__ frames --


def test_is_null_session_as_isinstance():
    from hermetic.security.sessions import HermeticSession
    from hermetic.sessions import NullSession, SessionInterface

    class Own(HermeticSession):
        pass

    class OwnNull(NullSession):
        pass

    interface = EncryptedSessionInterface()
    for obj in (HermeticSession(), Own(), NullSession(), OwnNull(), {}, None):
        assert interface.is_null_session(obj) == SessionInterface.is_null_session(interface, obj)
    # A null session class of the app's own (even the usual session's class) is honoured.
    interface.null_session_class = HermeticSession
    assert interface.is_null_session(HermeticSession())


@pytest.mark.parametrize("own_len", [False, True])
def test_emptied_session_deletes_the_cookie_and_keeps_accessed(own_len):
    from hermetic.security.sessions import HermeticSession

    class Counting(HermeticSession):
        calls = 0

        def __len__(self):
            type(self).calls += 1
            return super().__len__()

    app = _app()
    if own_len:
        app.session_interface.session_class = Counting

    @app.get("/set")
    def set_():
        hermetic.session["a"] = 1
        return "set"

    @app.get("/clear")
    def clear():
        hermetic.session.pop("a")
        return "cleared"

    @app.get("/quiet")
    def quiet():
        return "quiet"

    client = app.test_client()
    assert "Set-Cookie" in client.get("/set").headers
    r = client.get("/clear")
    assert "Expires=Thu, 01 Jan 1970" in r.headers["Set-Cookie"]
    assert r.headers["Vary"] == "Cookie"
    assert client.get_cookie("session") is None
    if own_len:
        assert Counting.calls >= 1  # its own __len__ was asked


@pytest.mark.parametrize("own_headers", [False, True])
@pytest.mark.parametrize(
    "existing",
    [
        [],
        [("Location", "/"), ("X-Frame-Options", "DENY")],
        [("vary", "Origin")],
        [("VARY", "Origin, cookie")],
        [("Vary", "Accept"), ("Vary", "Cookie")],
        [("Date", "x"), ("Vary", "Origin, cookie")],
    ],
)
def test_an_unchanged_session_read_by_the_view_varies_as_werkzeug(existing, own_headers):
    # save_session's usual case (an opened session with data, unchanged, no
    # refresh due, read by the view) adds Vary: Cookie in its own frame.
    app = _app()
    interface = app.session_interface
    with app.test_request_context():
        fresh = interface.open_session(app, hermetic.request)
        fresh["_csrf"] = "s" * 43
        response = Response()
        interface.save_session(app, fresh, response)
    cookie = response.headers["Set-Cookie"].split(";", 1)[0]
    with app.test_request_context(headers={"Cookie": cookie}):
        session = interface.open_session(app, hermetic.request)
        assert not session.new and session.get("_csrf") == "s" * 43  # accessed
        ours, theirs = Response(), Response()
        if own_headers:
            ours.headers = _OwnHeaders(ours.headers)
        for key, value in existing:
            ours.headers.add(key, value)
            theirs.headers.add(key, value)
        interface.save_session(app, session, ours)
    theirs.vary.add("Cookie")
    assert list(ours.headers.items()) == list(theirs.headers.items())
    assert "Set-Cookie" not in ours.headers  # nothing to re-send
