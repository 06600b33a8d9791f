"""Remember-me tokens: issue, rotation, theft detection, revocation."""

from __future__ import annotations

import logging
import uuid

import pytest

from hermetic import request
from hermetic.security.auth import (
    LoginManager,
    UserMixin,
    current_user,
    fresh_login_required,
    login_user,
    logout_user,
    revoke_remember_tokens,
)
from hermetic.security.auth._remember import MALFORMED, OK, THEFT, UNKNOWN, RememberTokens
from hermetic.security.stores import MemoryStore, RedisStore
from hermetic.testing import ManualClock

COOKIE = "remember_token"
DAY = 86400


class User(UserMixin):
    def __init__(self, id, active=True):
        self.id = id
        self.active = active


class CountingStore:
    """Wrap a store and count the calls made to it."""

    def __init__(self, inner):
        self.inner = inner
        self.calls = []

    def __getattr__(self, name):
        attr = getattr(self.inner, name)

        def call(*args, **kwargs):
            self.calls.append(name)
            return attr(*args, **kwargs)

        return call


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture(params=["memory", "redis"])
def store(request, clock):
    if request.param == "memory":
        yield MemoryStore(now=clock)
        return
    redis = pytest.importorskip("redis")
    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    prefix = f"hermetic-test:{uuid.uuid4().hex}:"
    yield RedisStore(client, prefix=prefix)
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)
    client.close()


@pytest.fixture
def audits(caplog):
    caplog.set_level(logging.INFO, logger="hermetic.security.audit")

    def events(kind=None):
        found = [r.audit for r in caplog.records if hasattr(r, "audit")]
        return [e for e in found if kind is None or e["event"] == kind]

    return events


@pytest.fixture
def users():
    return {"1": User("1"), "2": User("2")}


@pytest.fixture
def app(app, store, clock, users):
    # Local: extends the shared app with a LoginManager and login routes.
    app.config["REMEMBER_ROTATION_GRACE"] = 30
    counting = CountingStore(store)
    manager = LoginManager(app, store=counting, now=clock)
    manager.user_loader(users.get)
    app.store_calls = counting.calls

    @app.post("/login/<uid>")
    def login(uid):
        return {"ok": login_user(users[uid], remember=request.args.get("remember", "1") == "1")}

    @app.post("/logout")
    def logout():
        logout_user()
        return "ok"

    @app.get("/whoami")
    def whoami():
        return {"id": current_user.get_id()}

    @app.get("/sensitive")
    @fresh_login_required
    def sensitive():
        return "ok"

    @app.post("/revoke-all/<uid>")
    def revoke_all(uid):
        return {"n": revoke_remember_tokens(uid)}

    return app


def _remember_cookie(client):
    cookie = client.get_cookie(COOKIE)
    return None if cookie is None else cookie.value


def _login_remembered(app, uid="1"):
    """Log in with remember-me; return the cookie value (the session is dropped)."""
    client = app.test_client()
    client.post(f"/login/{uid}")
    return _remember_cookie(client)


def _with_cookie(app, value):
    client = app.test_client()
    client.set_cookie(COOKIE, value)
    return client


# -- issue -------------------------------------------------------------------


def test_remember_cookie_flags(app):
    client = app.test_client()
    rv = client.post("/login/1")
    header = next(h for h in rv.headers.getlist("Set-Cookie") if h.startswith(COOKIE + "="))
    assert "HttpOnly" in header
    assert "Secure" in header
    assert "SameSite=Lax" in header
    assert f"Max-Age={14 * DAY}" in header


def test_no_remember_no_cookie(app):
    client = app.test_client()
    client.post("/login/1?remember=0")
    assert _remember_cookie(client) is None


def test_store_keeps_only_a_hash_of_the_validator(store, clock):
    tokens = RememberTokens(store, 3600, now=clock)
    cookie, _ = tokens.issue("1")
    selector, validator = cookie.split(":")
    raw = store.get("remember:t:" + selector)
    assert raw is not None and validator.encode() not in raw


def test_secure_flag_can_be_turned_off(app):
    app.config["REMEMBER_COOKIE_SECURE"] = False
    rv = app.test_client().post("/login/1")
    header = next(h for h in rv.headers.getlist("Set-Cookie") if h.startswith(COOKIE + "="))
    assert "Secure" not in header


# -- use and rotation ----------------------------------------------------------


def test_remember_cookie_logs_in_and_rotates(app, audits):
    old = _login_remembered(app)
    client = _with_cookie(app, old)
    rv = client.get("/whoami")
    assert rv.json == {"id": "1"}
    assert "Cookie" in rv.headers.get("Vary", "")
    new = _remember_cookie(client)
    assert new and new != old
    assert new.split(":")[0] == old.split(":")[0]  # same selector, new validator
    assert audits("login")[-1]["method"] == "remember"
    # The session now carries the login: the cookie is not used again.
    client.delete_cookie(COOKIE)
    assert client.get("/whoami").json == {"id": "1"}


def test_remember_login_is_not_fresh(app):
    client = _with_cookie(app, _login_remembered(app))
    assert client.get("/whoami").json == {"id": "1"}
    rv = client.get("/sensitive", headers={"Accept": "application/json"})
    assert rv.status_code == 401
    assert rv.json["reason"] == "fresh_login_required"


def test_rotated_cookie_keeps_working(app, clock):
    value = _login_remembered(app)
    for _ in range(3):
        client = _with_cookie(app, value)
        assert client.get("/whoami").json == {"id": "1"}
        value = _remember_cookie(client)
        clock.now += 60


def test_rotation_does_not_extend_the_lifetime(app, clock):
    value = _login_remembered(app)
    clock.now += 13 * DAY
    client = _with_cookie(app, value)
    client.get("/whoami")
    value = _remember_cookie(client)
    clock.now += 2 * DAY
    assert _with_cookie(app, value).get("/whoami").json == {"id": None}


def test_expired_token_refused(app, clock, audits):
    value = _login_remembered(app)
    clock.now += 14 * DAY + 1
    client = _with_cookie(app, value)
    assert client.get("/whoami").json == {"id": None}
    assert _remember_cookie(client) is None  # deleted
    assert audits("remember_refused")[-1]["reason"] == UNKNOWN


def test_no_remember_cookie_costs_no_store_call(app):
    app.store_calls.clear()
    app.test_client().get("/whoami")
    assert app.store_calls == []


# -- theft -------------------------------------------------------------------


def test_theft_detection_revokes(app, clock, audits, caplog):
    stolen = _login_remembered(app)
    # The thief uses the cookie first: it is rotated for them.
    thief = _with_cookie(app, stolen)
    assert thief.get("/whoami").json == {"id": "1"}
    thief_cookie = _remember_cookie(thief)
    clock.now += 120  # past the rotation grace
    # The victim comes back with the old validator: theft.
    victim = _with_cookie(app, stolen)
    assert victim.get("/whoami").json == {"id": None}
    (event,) = audits("remember_theft")
    assert event["user"] == "1"
    assert stolen.split(":")[1] not in caplog.text
    # The thief's rotated cookie is dead too.
    assert _with_cookie(app, thief_cookie).get("/whoami").json == {"id": None}


def test_old_cookie_within_grace_is_accepted(app, clock, audits):
    value = _login_remembered(app)
    first = _with_cookie(app, value)
    first.get("/whoami")
    clock.now += 5  # a parallel request sent with the same cookie
    second = _with_cookie(app, value)
    assert second.get("/whoami").json == {"id": "1"}
    assert audits("remember_theft") == []
    # The rotated cookie still works afterwards.
    assert _with_cookie(app, _remember_cookie(first)).get("/whoami").json == {"id": "1"}


def test_grace_zero_treats_reuse_as_theft(store, clock):
    tokens = RememberTokens(store, 3600, grace=0, now=clock)
    cookie, _ = tokens.issue("1")
    assert tokens.check(cookie).status == OK
    clock.now += 1
    assert tokens.check(cookie).status == THEFT


# -- revocation ----------------------------------------------------------------


def test_logout_revokes_the_token(app):
    value = _login_remembered(app)
    client = _with_cookie(app, value)
    client.get("/whoami")
    rotated = _remember_cookie(client)
    client.post("/logout")
    assert _remember_cookie(client) is None
    assert _with_cookie(app, rotated).get("/whoami").json == {"id": None}


def test_revoke_all_tokens_of_a_user(app):
    one = _login_remembered(app, "1")
    two = _login_remembered(app, "1")
    other = _login_remembered(app, "2")
    rv = app.test_client().post("/revoke-all/1")
    assert rv.json == {"n": 2}
    assert _with_cookie(app, one).get("/whoami").json == {"id": None}
    assert _with_cookie(app, two).get("/whoami").json == {"id": None}
    assert _with_cookie(app, other).get("/whoami").json == {"id": "2"}


def test_login_again_revokes_the_previous_cookie(app):
    client = app.test_client()
    client.post("/login/1")
    first = _remember_cookie(client)
    client.post("/login/2")
    assert _remember_cookie(client) != first
    assert _with_cookie(app, first).get("/whoami").json == {"id": None}


def test_inactive_user_token_refused(app, users, audits):
    value = _login_remembered(app)
    users["1"].active = False
    client = _with_cookie(app, value)
    assert client.get("/whoami").json == {"id": None}
    assert audits("remember_refused")[-1]["reason"] == "inactive"


# -- malformed and unknown cookies --------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        "a" * 16 + ":" + "b" * 42,
        "a" * 16 + ":" + "b" * 44,
        "a" * 16 + "-" + "b" * 43,
        "a" * 15 + "!:" + "b" * 43,
        "x" * 4000,
    ],
)
def test_malformed_cookie_refused_without_store_lookup(app, value, audits):
    app.store_calls.clear()
    client = _with_cookie(app, value)
    assert client.get("/whoami").json == {"id": None}
    assert "get" not in app.store_calls
    assert _remember_cookie(client) is None
    assert audits("remember_refused")[-1]["reason"] == MALFORMED


def test_unknown_selector_refused(app):
    forged = "A" * 16 + ":" + "B" * 43
    client = _with_cookie(app, forged)
    assert client.get("/whoami").json == {"id": None}
    assert _remember_cookie(client) is None


def test_tampered_validator_is_theft(app, clock):
    value = _login_remembered(app)
    selector, validator = value.split(":")
    tampered = selector + ":" + ("A" if validator[0] != "A" else "B") + validator[1:]
    assert _with_cookie(app, tampered).get("/whoami").json == {"id": None}
    # The genuine cookie is revoked as well: a guess against a selector kills it.
    assert _with_cookie(app, value).get("/whoami").json == {"id": None}


def test_store_outage_fails_closed(app, users):
    class Down:
        def __getattr__(self, name):
            from hermetic.security.stores import StoreUnavailable

            def fail(*a, **k):
                raise StoreUnavailable("down")

            return fail

    value = _login_remembered(app)
    manager = app.extensions["hermetic.login"]
    manager._state(app).tokens.store = Down()
    client = _with_cookie(app, value)
    assert client.get("/whoami").json == {"id": None}
    assert _remember_cookie(client) == value  # kept: the outage may be brief


def test_late_access_does_not_rotate(app):
    """current_user first read after the cookie hook must not rotate unseen."""
    seen = {}

    @app.get("/late")
    def late():
        return "ok"

    @app.teardown_request
    def after(exc):
        seen["id"] = current_user.get_id()

    value = _login_remembered(app)
    client = _with_cookie(app, value)
    client.get("/late")
    assert seen["id"] is None
    assert client.get("/whoami").json == {"id": "1"}  # the cookie is still good


def test_a_hook_registered_before_the_manager_reads_the_user_and_the_rotation_is_sent(
    store, clock, users
):
    """The cookie is written after every after_request hook, whatever their order."""
    import hermetic

    app = hermetic.Flask(__name__)
    app.config["SECRET_KEY"] = "test-secret-key-long-enough-for-hmac-0123456789"
    seen = {}

    @app.after_request
    def read_user(response):
        seen["id"] = current_user.get_id()
        return response

    LoginManager(app, store=store, now=clock).user_loader(users.get)

    @app.post("/login")
    def login():
        return {"ok": login_user(users["1"], remember=True)}

    @app.get("/plain")
    def plain():
        return "ok"

    first = app.test_client()
    first.post("/login")
    old = _remember_cookie(first)
    client = _with_cookie(app, old)
    assert client.get("/plain").data == b"ok"
    assert seen["id"] == "1"
    new = _remember_cookie(client)
    assert new and new != old  # the rotated cookie was sent, not lost
