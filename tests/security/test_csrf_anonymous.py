"""Anonymous pages: a CSRF token without the store, in both session modes.

A visitor's session holding nothing but its CSRF secret lives in the
encrypted cookie alone (no store read or write; with cookie sessions, no
revocation lookup either), so a public page with a form keeps working while
the store is down. The attacks first: a token is
bound to its visitor's cookie, dies at login, and a cookie from before the
login is worth nothing after it.
"""

from __future__ import annotations

import json
import logging
import sys

import pytest

import hermetic
from hermetic import render_template_string, session
from hermetic.security.auth import UserMixin, current_user, login_user, logout_user
from hermetic.security.crypto import keyring_for
from hermetic.security.sessions import COOKIE_PURPOSE, DATA_PREFIX
from hermetic.security.stores import MemoryStore, StoreUnavailable

KEY = "k" * 4 + "anonymous-csrf-tests-key-0123456789abcdefgh"
READS = ("get", "get_many", "smembers")
WRITES = ("set", "delete", "add", "incr", "sadd", "srem")
FORM = (
    "<form method=post action=/comment>"
    "<input type=hidden name=csrf_token value={{ csrf_token() }}></form>"
)


class FlakyStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.calls: list[str] = []

    def __getattribute__(self, name: str):
        if name in READS or name in WRITES:
            object.__getattribute__(self, "calls").append(name)
            if object.__getattribute__(self, "down"):

                def fail(*args, **kwargs):
                    raise StoreUnavailable("Redis is unreachable (ConnectionError).")

                return fail
        return object.__getattribute__(self, name)


class User(UserMixin):
    def __init__(self, uid: str) -> None:
        self.id = uid


@pytest.fixture
def store():
    return FlakyStore()


@pytest.fixture(params=["server-side", "cookie"])
def server_side(request):
    return request.param == "server-side"


@pytest.fixture(params=["flask", "hermetic"])
def app(request, store, server_side):
    # Local: the same CSRF setup on a plain Flask app and on Hermetic.
    if request.param == "flask":
        from hermetic.security.auth import LoginManager
        from hermetic.security.csrf import CSRFShield
        from hermetic.security.sessions import EncryptedSessionInterface

        app = hermetic.Flask(__name__)
        app.session_interface = EncryptedSessionInterface()
        CSRFShield().init_app(app)
        LoginManager(app)
    else:
        app = hermetic.Hermetic(__name__)
    app.config.update(
        SECRET_KEY=KEY,
        SESSION_COOKIE_SECURE=False,
        SESSION_SERVER_SIDE=server_side,
        TESTING=True,
        # These tests are about the token itself: the test client checks it too.
        CSRF_ENFORCE_IN_TESTS=True,
    )
    app.extensions["hermetic.store"] = store
    app.extensions["hermetic.login"].user_loader(lambda uid: User(uid))

    @app.get("/")
    def home():
        return render_template_string(FORM)

    @app.post("/comment")
    def comment():
        return "thanks"

    @app.post("/login")
    def login():
        login_user(User("alice"))
        return "in"

    @app.post("/logout")
    def logout():
        logout_user()
        return "out"

    @app.get("/me")
    def me():
        return {"user": current_user.get_id(), "data": sorted(session.keys())}

    @app.post("/cart/<item>")
    def cart(item):
        session["cart"] = item
        return {"sid": session.sid}

    @app.get("/sid")
    def sid():
        return {"sid": session.sid}

    return app


def token_from(response) -> str:
    page = response.get_data(as_text=True)
    return page.split("value=")[1].split(">")[0]


def visit(app):
    client = app.test_client()
    token = token_from(client.get("/"))
    return client, token


def opened(app, client) -> dict:
    """What the session cookie holds, decrypted (the test has the key)."""
    value = client.get_cookie("session").value
    plain = keyring_for(app).decrypt(COOKIE_PURPOSE, value, aad=b"session")
    return json.loads(plain)


# -- the attacks: each must fail ------------------------------------------------


def test_a_token_works_only_with_its_own_visitors_cookie(app):
    alice, alice_token = visit(app)
    mallory, mallory_token = visit(app)
    assert alice_token != mallory_token
    assert alice.post("/comment", data={"csrf_token": alice_token}).status_code == 200
    # Mallory's token (from her own visit) is no good with Alice's cookie.
    assert alice.post("/comment", data={"csrf_token": mallory_token}).status_code == 403
    assert mallory.post("/comment", data={"csrf_token": alice_token}).status_code == 403


def test_a_token_from_before_the_login_dies_at_login(app):
    client, before = visit(app)
    assert client.post("/login", data={"csrf_token": before}).status_code == 200
    assert client.post("/comment", data={"csrf_token": before}).status_code == 403
    after = token_from(client.get("/"))
    assert client.post("/comment", data={"csrf_token": after}).status_code == 200


def test_a_planted_anonymous_cookie_is_worthless_after_login(app):
    # The attacker makes an anonymous session, plants its cookie in the
    # victim's browser, and keeps a copy and its token.
    attacker, planted_token = visit(app)
    planted = attacker.get_cookie("session").value
    victim = app.test_client()
    victim.set_cookie("session", planted)
    assert victim.post("/login", data={"csrf_token": planted_token}).status_code == 200
    assert victim.get("/me").get_json()["user"] == "alice"
    # The attacker's copy is still just an anonymous session ...
    assert attacker.get("/me").get_json()["user"] is None
    # ... and its token does not work with the victim's logged-in cookie.
    assert victim.post("/comment", data={"csrf_token": planted_token}).status_code == 403


def test_a_tampered_anonymous_cookie_is_refused(app):
    client, token = visit(app)
    value = client.get_cookie("session").value
    client.set_cookie("session", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert client.post("/comment", data={"csrf_token": token}).status_code == 403


def test_a_cookie_only_session_cannot_carry_other_data(app, store, server_side):
    if not server_side:
        pytest.skip("a cookie session's data is in its cookie by design")
    # Only the CSRF secret may live in the cookie of a server-side session:
    # a cookie holding anything else (made under the key, e.g. by an older
    # version in cookie mode) is refused, not trusted.
    client, _ = visit(app)
    payload = opened(app, client)
    payload["d"]["_user_id"] = "alice"
    forged = keyring_for(app).encrypt(COOKIE_PURPOSE, json.dumps(payload).encode(), aad=b"session")
    client.set_cookie("session", forged)
    assert client.get("/me").get_json() == {"user": None, "data": []}


def test_data_beyond_the_token_goes_to_the_store_under_a_new_id(app, store, server_side):
    if not server_side:
        pytest.skip("server-side sessions only")
    client, token = visit(app)
    anonymous_sid = client.get("/sid").get_json()["sid"]
    old_cookie = client.get_cookie("session").value
    assert client.post("/cart/book", data={"csrf_token": token}).status_code == 200
    sid = client.get("/sid").get_json()["sid"]
    # SECURITY: the id that was in a cookie-only cookie never names stored data.
    assert sid != anonymous_sid
    assert store.get(DATA_PREFIX + sid) is not None
    assert "d" not in opened(app, client)  # the data is not in the cookie
    # The cookie from before is an empty anonymous session, not this one.
    replay = app.test_client()
    replay.set_cookie("session", old_cookie)
    assert replay.get("/me").get_json()["data"] == ["_csrf"]


def test_logout_still_revokes_the_logged_in_cookie(app):
    # (Both modes: the logged-in cookie holds a user, so its revocation is checked.)
    client, token = visit(app)
    client.post("/login", data={"csrf_token": token})
    logged_in = client.get_cookie("session").value
    token = token_from(client.get("/"))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 200
    replay = app.test_client()
    replay.set_cookie("session", logged_in)
    assert replay.get("/me").get_json()["user"] is None


# -- the outage: anonymous pages keep working -----------------------------------


def test_anonymous_page_with_a_form_needs_no_store(app, store):
    client = app.test_client()
    response = client.get("/")
    assert response.status_code == 200
    assert store.calls == []  # neither read nor written
    assert len(client.get_cookie("session").value) < 300


def test_anonymous_pages_and_forms_work_while_the_store_is_down(app, store, server_side, caplog):
    caplog.set_level(logging.ERROR)
    store.down = True
    client = app.test_client()
    first = client.get("/")
    assert first.status_code == 200
    token = token_from(first)
    assert client.get("/").status_code == 200  # with the cookie now
    assert client.post("/comment", data={"csrf_token": token}).status_code == 200
    # What needs the store still fails closed: a server-side session's data.
    # (A cookie session logs in without it: the pre-login id had nothing to revoke.)
    login = client.post("/login", data={"csrf_token": token}).status_code
    assert login == (503 if server_side else 200)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_logged_in_page_still_needs_the_store(app, store):
    client, token = visit(app)
    client.post("/login", data={"csrf_token": token})
    store.down = True
    assert client.get("/me").status_code == 503


def test_anonymous_data_beyond_the_token_is_still_checked_for_revocation(app, store):
    # Only a session with nothing but the CSRF secret skips the store: one
    # with other data (a cart) is looked up, and fails closed while it is down.
    client, token = visit(app)
    assert client.post("/cart/book", data={"csrf_token": token}).status_code == 200
    store.calls.clear()
    assert client.get("/me").get_json()["data"] == ["_csrf", "cart"]
    assert store.calls  # read (revocation, or the data itself)
    store.down = True
    assert client.get("/me").status_code == 503


def test_a_cart_cookie_revoked_at_logout_stays_revoked(app, store):
    client, token = visit(app)
    client.post("/cart/book", data={"csrf_token": token})
    with_cart = client.get_cookie("session").value
    client.post("/login", data={"csrf_token": token})
    token = token_from(client.get("/"))
    client.post("/logout", data={"csrf_token": token})
    replay = app.test_client()
    replay.set_cookie("session", with_cart)
    assert replay.get("/me").get_json()["data"] == []


# -- the Flask-WTF bridge lookup is skipped while no bridge exists -------------


def test_no_bridge_lookup_while_no_bridge_was_ever_made(monkeypatch):
    import hermetic
    from hermetic.security import _wtf_bridge
    from hermetic.security.csrf import CSRFShield, csrf_token
    from hermetic.security.shields import ShieldPipeline

    app = hermetic.Flask(__name__)
    app.config.update(SECRET_KEY="s" * 40)
    CSRFShield().init_app(app)
    monkeypatch.setattr(_wtf_bridge, "_bridges_made", 0)

    def scan(self, name):  # pragma: no cover - the test fails if it runs
        raise AssertionError("the pipeline was scanned for a bridge")

    monkeypatch.setattr(ShieldPipeline, "get", scan)
    with app.test_request_context("/"):
        assert csrf_token()


def test_every_bridge_made_is_counted(monkeypatch):
    import dataclasses

    from hermetic.security import _wtf_bridge

    monkeypatch.setattr(_wtf_bridge, "_bridges_made", 0)
    fields = {f.name: None for f in dataclasses.fields(_wtf_bridge.WTFBridge)}
    _wtf_bridge.WTFBridge(**fields)
    assert _wtf_bridge._bridges_made == 1


def test_flask_wtf_bound_to_real_flask_makes_no_bridge(monkeypatch):
    # A process where `flask` is real Flask (a benchmark next to it): its
    # Flask-WTF works on Flask's contexts, never on a hermetic app, and asking
    # it to check a token from a hermetic request raised (a 500).
    import types

    import hermetic
    from hermetic.security._wtf_bridge import detect

    app = hermetic.Flask(__name__)
    monkeypatch.setitem(sys.modules, "flask_wtf", types.ModuleType("flask_wtf"))
    monkeypatch.setitem(sys.modules, "flask", types.ModuleType("flask"))
    assert detect(app) is None
    aliased = types.ModuleType("flask")
    aliased.__hermetic__ = True
    monkeypatch.setitem(sys.modules, "flask", aliased)
    assert detect(app) is not None
