"""A session cookie's times must be real times: anything else is refused.

Only the app can make a cookie (it is encrypted and authenticated), so this
is defence in depth: a payload whose creation or last-seen time is not a
finite number of a plausible size (``NaN`` compares false with everything,
so it would never expire; a huge integer cannot become a float) opens as a
fresh session, like any malformed payload, never a 500.
"""

from __future__ import annotations

import json
import time

import pytest

import hermetic
from hermetic import session
from hermetic.security.crypto import keyring_for
from hermetic.security.sessions import COOKIE_PURPOSE

SECRET = "session-times-test-8c2e4a6f0b1d3e5a7c9f2b4d6e8a0c1e"


@pytest.fixture
def app():
    app = hermetic.Hermetic(__name__)
    app.config.update(SECRET_KEY=SECRET)

    @app.get("/x")
    def x():
        return {"x": session.get("x")}

    app.security_check()
    return app


def _cookie(app, created, last_seen):
    payload = {"i": "s" * 32, "c": created, "l": last_seen, "d": {"x": 1}}
    text = json.dumps(payload).encode()  # NaN and Infinity as Python writes them
    return keyring_for(app).encrypt(COOKIE_PURPOSE, text, aad=b"session")


def test_a_cookie_with_real_times_opens(app):
    now = time.time()
    client = app.test_client()
    client.set_cookie("session", _cookie(app, now, now))
    assert client.get("/x").get_json() == {"x": 1}


@pytest.mark.parametrize(
    "bad",
    [float("nan"), float("inf"), float("-inf"), 10**400, -(10**400), 1e300],
    ids=["nan", "inf", "-inf", "huge-int", "-huge-int", "1e300"],
)
@pytest.mark.parametrize("which", ["created", "last_seen"])
def test_a_cookie_whose_times_are_not_times_is_refused(app, bad, which, audit_events):
    now = time.time()
    times = {"created": now, "last_seen": now, which: bad}
    client = app.test_client()
    client.set_cookie("session", _cookie(app, times["created"], times["last_seen"]))
    rv = client.get("/x")
    assert rv.status_code == 200
    assert rv.get_json() == {"x": None}  # a fresh session
    assert any(event.get("event") == "session" for event in audit_events())
