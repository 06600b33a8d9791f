"""HermeticSession.opened: the session of a cookie, built without __init__.

It must make what ``HermeticSession(data, sid=..., issued=True, ...)`` makes
-- the same data, attributes and change tracking -- and fall back to the
constructor for session classes of the app's own.
"""

from __future__ import annotations

import time

import pytest

import hermetic
from hermetic import session
from hermetic.security.sessions import EncryptedSessionInterface, HermeticSession

KEY = "fast-open-test-key-0123456789abcdefghijklmnopqrstuvwxyz"
ARGS = ("s" * 24, 1_700_000_000.0, 1_700_000_100.0)


REVOKED: list[str] = []


def _revoke(sid: str) -> None:
    REVOKED.append(sid)


def _both(data: dict[str, object]) -> tuple[HermeticSession, HermeticSession]:
    sid, created, last_seen = ARGS
    slow = HermeticSession(
        dict(data),
        sid=sid,
        created=created,
        last_seen=last_seen,
        now=time.time,
        on_revoke=_revoke,
        issued=True,
    )
    fast = HermeticSession.opened(dict(data), sid, created, last_seen, time.time, _revoke)
    return slow, fast


def test_same_data_and_attributes_as_the_constructor():
    slow, fast = _both({"_csrf": "x" * 43, "n": 1})
    assert type(fast) is HermeticSession
    assert dict(fast) == dict(slow)
    slow_vars, fast_vars = dict(vars(slow)), dict(vars(fast))
    # The change callbacks differ as objects, not in effect (next test).
    assert callable(slow_vars.pop("on_update")) and callable(fast_vars.pop("on_update"))
    assert fast_vars == slow_vars
    assert list(vars(fast)) == list(vars(slow))  # same attributes, same order
    for name in ("modified", "accessed", "new", "permanent", "_reissue", "_drop_cookie"):
        assert getattr(fast, name) == getattr(slow, name), name


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.__setitem__("k", "v"),
        lambda s: s.__delitem__("n"),
        lambda s: s.pop("n"),
        lambda s: s.pop("missing", None),
        lambda s: s.popitem(),
        lambda s: s.setdefault("k", "v"),
        lambda s: s.setdefault("n", 5),
        lambda s: s.update(k="v"),
        lambda s: s.clear(),
        lambda s: s.get("n"),
        lambda s: "n" in s,
        lambda s: len(s),
        lambda s: list(s),
        lambda s: s.regenerate(),
        lambda s: setattr(s, "permanent", True),
    ],
)
def test_changes_are_tracked_as_by_the_constructor(change):
    slow, fast = _both({"n": 1})
    change(slow)
    change(fast)
    assert dict(fast) == dict(slow)
    assert (fast.modified, fast.accessed) == (slow.modified, slow.accessed)
    assert (fast._reissue, fast._issued) == (slow._reissue, slow._issued)
    assert (fast.sid == ARGS[0]) is (slow.sid == ARGS[0])  # regenerate() gives a new id to both


def test_the_data_is_copied_not_shared():
    data = {"a": "1"}
    sid, created, last_seen = ARGS
    fast = HermeticSession.opened(data, sid, created, last_seen, time.time, None)
    fast["a"] = "2"
    assert data == {"a": "1"}


def test_a_subclass_with_its_own_init_gets_it_called():
    calls = []

    class Counted(HermeticSession):
        def __init__(self, *args, **kwargs):
            calls.append(kwargs["sid"])
            super().__init__(*args, **kwargs)

    sid, created, last_seen = ARGS
    made = Counted.opened({"a": "1"}, sid, created, last_seen, time.time, None)
    assert type(made) is Counted and calls == [sid] and made._issued


def _app(session_class: type) -> hermetic.Flask:
    app = hermetic.Flask(__name__)
    app.config.update(TESTING=True, SECRET_KEY=KEY)
    interface = EncryptedSessionInterface()
    interface.session_class = session_class  # type: ignore[assignment]
    app.session_interface = interface

    @app.route("/set/<value>")
    def set_value(value):
        session["a"] = value
        return "ok"

    @app.route("/get")
    def get_value():
        return {"a": session.get("a"), "type": type(session._get_current_object()).__name__}

    return app


def test_the_apps_session_class_is_used_for_an_opened_cookie():
    class Custom(HermeticSession):
        pass

    client = _app(Custom).test_client()
    client.get("/set/1")
    assert client.get("/get").json == {"a": "1", "type": "Custom"}
    assert client.get("/get").json == {"a": "1", "type": "Custom"}  # remembered cookie


def test_a_changed_session_of_a_remembered_cookie_does_not_reach_the_next_request():
    # Attack: a request changes its session in place; a later request sending
    # the same cookie (remembered, not decrypted again) must get the cookie's data.
    app = _app(HermeticSession)

    @app.route("/tamper")
    def tamper():
        dict.__setitem__(session._get_current_object(), "a", "tampered")
        return ""

    client = app.test_client()
    client.get("/set/1")
    cookie = client.get_cookie("session").value
    assert client.get("/get").json["a"] == "1"
    client.get("/tamper")
    client.set_cookie("session", cookie)
    assert client.get("/get").json["a"] == "1"
