"""open_session's expiry check with a timeout turned off (``None``) read as an infinite limit.

The reference is the check as documented: expired when the absolute
timeout is set and the session is older than it, or the idle timeout is
set and the session was unused longer than it. Every combination of
settings, ages at and around the limits, and odd clocks (infinite, NaN)
must give the reference's answer, for anonymous and logged-in sessions.
"""

from __future__ import annotations

import math

import pytest
from werkzeug.test import EnvironBuilder

import hermetic
from hermetic.security.sessions import EncryptedSessionInterface
from hermetic.security.stores import MemoryStore
from hermetic.testing import ManualClock
from hermetic.wrappers import Response

KEY = "e" * 4 + "expiry-limit-test-key-0123456789abcdefghijkl"
T0 = 1_700_000_000.0
IDLE, ABSOLUTE = 600.0, 3600.0


def _reference_expired(now, created, last_seen, idle, absolute):
    return (absolute is not None and now - created > absolute) or (
        idle is not None and now - last_seen > idle
    )


def _opened_again(data, idle, absolute, elapsed):
    clock = ManualClock(T0)
    app = hermetic.Flask(__name__)
    app.config.update(
        TESTING=True, SECRET_KEY=KEY, SESSION_IDLE_TIMEOUT=idle, SESSION_ABSOLUTE_TIMEOUT=absolute
    )
    app.session_interface = iface = EncryptedSessionInterface(now=clock)
    app.extensions["hermetic.store"] = MemoryStore(now=lambda: T0)
    with app.test_request_context():
        session = iface.open_session(app, app.request_class(EnvironBuilder().get_environ()))
        session.update(data)
        response = Response()
        iface.save_session(app, session, response)
    created, last_seen = session.created, session.last_seen
    value = response.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]
    clock.now = (
        elapsed if isinstance(elapsed, float) and not math.isfinite(elapsed) else T0 + elapsed
    )
    environ = EnvironBuilder(headers={"Cookie": f"session={value}"}).get_environ()
    with app.test_request_context():
        opened = iface.open_session(app, app.request_class(environ))
    expired = _reference_expired(clock.now, created, last_seen, idle, absolute)
    return opened, expired


@pytest.mark.parametrize("idle", [None, IDLE])
@pytest.mark.parametrize("absolute", [None, ABSOLUTE])
@pytest.mark.parametrize(
    "elapsed",
    [0.0, IDLE, IDLE + 0.001, ABSOLUTE, ABSOLUTE + 0.001, 1e9, math.inf, -math.inf, math.nan],
)
@pytest.mark.parametrize("data", [{"_csrf": "s" * 43}, {"_csrf": "s" * 43, "_user_id": "7"}])
def test_expiry_is_the_documented_check(idle, absolute, elapsed, data):
    opened, expired = _opened_again(data, idle, absolute, elapsed)
    assert opened.new is expired
    assert dict(opened) == ({} if expired else data)
