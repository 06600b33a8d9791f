"""open_session builds the usual HermeticSession in place: the same object as the general way.

For ``session_class = HermeticSession`` open_session makes the session
itself (HermeticSession.opened's work, without its call); these tests hold
it to the constructor followed by the three attributes the interface sets,
with the memo on and off, for anonymous and logged-in cookies.
"""

from __future__ import annotations

import pytest
from tests.security._session_harness import T0, bare_request, sealed_cookie, session_app

from hermetic.security._session_cookie import SETTINGS_KEY, cookie_value
from hermetic.security.sessions import HermeticSession
from hermetic.testing import ManualClock

KEY = "i" * 4 + "inline-open-test-key-0123456789abcdefghijklm"


def _app(cache_size):
    return session_app(KEY, cache_size)[0]


_request, _cookie = bare_request, sealed_cookie


def _open(app, value, scan):
    request = _request(app, f"session={value}")
    if scan:
        cookie_value(request, "session")  # what the CSRF shield does first
    with app.test_request_context():
        return app.session_interface.open_session(app, request)


@pytest.mark.parametrize("cache_size", [0, 1024])
@pytest.mark.parametrize("scan", [False, True])
@pytest.mark.parametrize(
    "data", [{"_csrf": "s" * 43}, {"_csrf": "s" * 43, "_user_id": "7"}, {"a": "1", "b": 2}]
)
def test_opened_session_is_the_constructor_then_three_sets(cache_size, scan, data):
    app = _app(cache_size)
    value = _cookie(app, data)
    for _ in range(2):  # decrypted, then (memo on) remembered
        fast = _open(app, value, scan)
        assert type(fast) is HermeticSession and not fast.new
        assert not fast.modified and not fast.accessed
        settings = app.extensions[SETTINGS_KEY]
        slow = HermeticSession(
            data,
            sid=fast.sid,
            created=fast.created,
            last_seen=fast.last_seen,
            now=app.session_interface.now,
            on_revoke=settings.on_revoke,
            issued=True,
        )
        slow._cookie_name = "session"
        slow._in_store = False if "_user_id" not in data and "a" not in data else None
        slow._settings_state = settings
        assert dict(fast) == dict(slow) == data
        slow_vars, fast_vars = dict(vars(slow)), dict(vars(fast))
        assert slow_vars.pop("on_update") is not None
        assert fast_vars.pop("on_update") is not None
        assert fast_vars == slow_vars
        assert list(vars(fast)) == list(vars(slow))
        fast["changed"] = "yes"  # tracked, and the remembered data untouched
        assert fast.modified and fast.accessed


def test_a_change_to_one_opened_session_does_not_reach_the_next():
    app = _app(1024)
    value = _cookie(app, {"_csrf": "s" * 43})
    first = _open(app, value, True)
    first["_csrf"] = "t" * 43
    first["more"] = "x"
    again = _open(app, value, True)
    assert dict(again) == {"_csrf": "s" * 43}
    assert again is not first and again.__dict__ is not first.__dict__


def test_attributes_changed_on_one_opened_session_do_not_reach_the_next():
    # Each session gets its own copy of the attributes kept per cookie name.
    app = _app(1024)
    value = _cookie(app, {"_csrf": "s" * 43})
    first = _open(app, value, True)
    sid, created, last_seen = first.sid, first.created, first.last_seen
    first.regenerate()  # a new sid and times, not issued, to be re-sent
    first._cookie_name = "other"
    first._settings_state = None
    first.accessed = True
    again = _open(app, value, True)
    assert (again.sid, again.created, again.last_seen) == (sid, created, last_seen)
    assert again._issued and not again._reissue and not again.modified and not again.accessed
    assert again._cookie_name == "session"
    assert again._settings_state is app.extensions[SETTINGS_KEY]
    assert again.__dict__ is not first.__dict__


def test_a_clock_given_to_the_interface_later_is_the_opened_sessions():
    app = _app(1024)
    value = _cookie(app, {"_csrf": "s" * 43})
    assert _open(app, value, True)._now is app.session_interface.now  # settings kept
    later = ManualClock(T0 + 5)
    app.session_interface.now = later
    assert _open(app, value, True)._now is later
