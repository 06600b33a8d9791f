"""Kept session settings are used only while the app's config is as they saw it.

open_session keeps the settings (and the key ring) in ``app.extensions``
and checks them against ``app.config`` on every request. These tests change
the config in every way an app can -- a key set, removed or added, a list
value changed in place, the whole config object replaced and then changed --
and require the next request to see it, exactly as freshly computed
settings would.
"""

from __future__ import annotations

import pytest
from tests.security._session_harness import bare_request, session_app

from hermetic.security._session_cookie import keyed_settings, settings_for
from hermetic.security.sessions import revoke_session
from hermetic.wrappers import Response

KEY = "c" * 4 + "currency-test-key-0123456789abcdefghijklmnop"
NEW_KEY = "d" * 4 + "currency-next-key-ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _app(cache_size=1024):
    return session_app(KEY, cache_size)[0]


_request = bare_request
SECRET = "s" * 43


def _cookie(app, name="session"):
    iface = app.session_interface
    with app.test_request_context():
        session = iface.open_session(app, _request(app))
        session["_csrf"] = SECRET
        response = Response()
        iface.save_session(app, session, response)
    header = response.headers["Set-Cookie"]
    cookie_name, value = header.split(";", 1)[0].split("=", 1)
    assert cookie_name == name
    return value


def _opens(app, value, name="session"):
    """Whether the cookie opens to the session it was made with (not a fresh one)."""
    with app.test_request_context():
        session = app.session_interface.open_session(app, _request(app, f"{name}={value}"))
    return session is not None and not session.new and session.get("_csrf") == SECRET


def _replaced_config(app, **changes):
    # A new config object, equal to the old one but for ``changes``.
    fresh = type(app.config)(app.config.root_path, dict(app.config))
    fresh.update(changes)
    app.config = fresh
    return fresh


@pytest.mark.parametrize("cache_size", [0, 1024])
def test_a_replaced_config_is_read_and_its_later_changes_seen(cache_size):
    app = _app(cache_size)
    value = _cookie(app)
    assert _opens(app, value) and _opens(app, value)  # kept settings, remembered cookie
    old_config = app.config
    config = _replaced_config(app)
    assert _opens(app, value)
    # SECURITY: the new object is the one watched: a key changed in it is
    # seen at once, and changes to the old object no longer count.
    config["SECRET_KEY"] = NEW_KEY
    assert not _opens(app, value)
    old_config["SECRET_KEY"] = KEY
    assert not _opens(app, value)
    config["SECRET_KEY_FALLBACKS"] = [KEY]
    assert _opens(app, value)
    config["SECRET_KEY_FALLBACKS"].clear()  # in place, in the new object
    assert not _opens(app, value)


def test_a_replaced_config_with_another_key_refuses_the_old_cookie():
    app = _app()
    value = _cookie(app)
    assert _opens(app, value) and _opens(app, value)
    _replaced_config(app, SECRET_KEY=NEW_KEY)
    assert not _opens(app, value)


@pytest.mark.parametrize("cache_size", [0, 1024])
def test_fallbacks_mutated_in_place_in_every_way_are_seen(cache_size):
    app = _app(cache_size)
    old = _cookie(app)
    app.config["SECRET_KEY"] = NEW_KEY
    fallbacks = app.config["SECRET_KEY_FALLBACKS"] = ["x" * 40]
    assert not _opens(app, old)
    fallbacks[0] = KEY  # an item replaced
    assert _opens(app, old) and _opens(app, old)
    fallbacks.insert(0, "y" * 40)  # still there, second
    assert _opens(app, old)
    del fallbacks[1]
    assert not _opens(app, old)
    fallbacks += [KEY]
    assert _opens(app, old)
    fallbacks.reverse()
    assert _opens(app, old)
    fallbacks.remove(KEY)
    assert not _opens(app, old)


def test_a_setting_added_then_removed_is_seen():
    app = _app()
    value = _cookie(app)
    assert _opens(app, value)
    app.config["SESSION_COOKIE_NAME"] = "other"
    assert not _opens(app, value)  # looked for under the new name
    assert _opens(app, value, "other") is False  # its name is its associated data
    del app.config["SESSION_COOKIE_NAME"]
    app.config["SESSION_COOKIE_NAME"] = "session"
    assert _opens(app, value)
    assert "SESSION_OPENED_CACHE_SIZE" in app.config
    del app.config["SESSION_OPENED_CACHE_SIZE"]
    assert _opens(app, value)
    iface = app.session_interface
    kept = keyed_settings(iface, app)
    assert kept is not None and "SESSION_OPENED_CACHE_SIZE" in kept.absent
    app.config["SESSION_OPENED_CACHE_SIZE"] = 0  # an absent key added
    assert keyed_settings(iface, app) is None
    assert settings_for(iface, app, revoke_session) is not kept


def test_the_kept_settings_are_those_settings_for_keeps():
    app = _app()
    value = _cookie(app)
    assert _opens(app, value)
    iface = app.session_interface
    kept = keyed_settings(iface, app)
    assert kept is settings_for(iface, app, revoke_session)
    app.config["SESSION_IDLE_TIMEOUT"] = 60
    assert keyed_settings(iface, app) is None
    fresh = settings_for(iface, app, revoke_session)
    assert fresh is not kept and fresh.idle == 60
    assert keyed_settings(iface, app) is fresh
