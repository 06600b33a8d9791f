"""Encrypted sessions: tampering, keys, timeouts, revocation, fixation, server-side data."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from datetime import datetime, timezone

import pytest
from werkzeug.test import EnvironBuilder

import hermetic
from hermetic import session
from hermetic.security.crypto import KeyRing, keyring_for
from hermetic.security.sessions import (
    DATA_PREFIX,
    EncryptedSessionInterface,
    HermeticSession,
    SessionStoreUnavailable,
    revoke_session,
    revoke_user_sessions,
)
from hermetic.security.stores import MemoryStore, RedisStore
from hermetic.testing import ManualClock

KEY = "k" * 4 + "current-session-key-0123456789abcdefghijkl"
OLD_KEY = "o" * 4 + "previous-session-key-ABCDEFGHIJKLMNOPQRSTUV"
OTHER_KEY = "x" * 4 + "some-other-apps-key-zyxwvutsrqponmlkjihgfe"
T0 = 1_700_000_000.0
HOUR = 3600.0


@pytest.fixture
def clock():
    return ManualClock(T0)


@pytest.fixture
def audit_log(caplog):
    caplog.set_level(logging.INFO, logger="hermetic.security.audit")

    def reasons():
        return [
            r.audit["reason"]
            for r in caplog.records
            if getattr(r, "audit", {}).get("event") == "session"
        ]

    return reasons


def _add_routes(app):
    @app.route("/set/<key>/<value>")
    def set_value(key, value):
        session[key] = value
        return "ok"

    @app.route("/get")
    def get_values():
        return {"data": dict(session), "sid": session.sid, "new": session.new}

    @app.route("/login/<user_id>")
    def login(user_id):
        session.regenerate()
        session["_user_id"] = user_id
        return "logged in"

    @app.route("/logout")
    def logout():
        session.end()
        return "bye"

    @app.route("/clear")
    def clear():
        session.clear()
        return "cleared"

    @app.route("/plain")
    def plain():
        return "no session here"


def make_app(clock, kind="flask", store=None, **config):
    if kind == "flask":
        app = hermetic.Flask(__name__)
    else:
        try:
            app = hermetic.Hermetic(__name__)
        except ImportError as e:  # pragma: no cover - depends on other modules
            pytest.skip(f"hermetic.Hermetic cannot be built yet: {e}")
    app.config.update(TESTING=True, SECRET_KEY=KEY)
    app.config.update(config)
    app.session_interface = EncryptedSessionInterface(now=clock)
    app.extensions["hermetic.store"] = store if store is not None else MemoryStore(now=clock)
    _add_routes(app)
    return app


@pytest.fixture
def app(clock):
    # Local: an app with encrypted sessions reading the test's clock.
    return make_app(clock)


def cookie(client, name="session"):
    found = client.get_cookie(name)
    return None if found is None else found.value


def set_cookies(response):
    return response.headers.getlist("Set-Cookie")


def flip(value: str, index: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    ch = value[index]
    return value[:index] + alphabet[(alphabet.index(ch) + 1) % 64] + value[index + 1 :]


def login(client, user_id="7"):
    assert client.get(f"/login/{user_id}").status_code == 200
    return cookie(client)


# -- the cookie cannot be read or changed ------------------------------------


def test_round_trip(client):
    client.get("/set/color/blue")
    assert client.get("/get").json["data"] == {"color": "blue"}


def test_cookie_is_encrypted_not_base64_json(client):
    client.get("/set/color/blue-secret-value")
    value = cookie(client)
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    assert b"blue-secret-value" not in raw and b"color" not in raw
    for part in [value, *value.split(".")]:
        with pytest.raises((ValueError, UnicodeDecodeError)):
            json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


@pytest.mark.parametrize("index", [0, 3, 7, 20, -1])
def test_tampered_cookie_gives_fresh_session(client, audit_log, index):
    client.get("/set/role/user")
    client.set_cookie("session", flip(cookie(client), index))
    response = client.get("/get")
    assert response.json["data"] == {} and response.json["new"] is True
    assert audit_log() == ["invalid_cookie"]
    # The bad cookie is deleted.
    assert any("session=;" in c and "Expires=Thu, 01 Jan 1970" in c for c in set_cookies(response))


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_cookie_gives_fresh_session(client, audit_log, keep):
    client.get("/set/role/user")
    value = cookie(client)
    client.set_cookie("session", value[: int(len(value) * keep)])
    assert client.get("/get").json["data"] == {}
    assert audit_log() == ["invalid_cookie"]


@pytest.mark.parametrize(
    "value",
    ["garbage", "eyJ1c2VyIjoiYWRtaW4ifQ", "a" * 3000, "%%%"],
    ids=["garbage", "base64-json", "long", "percent"],
)
def test_forged_cookie_gives_fresh_session(client, audit_log, value):
    client.set_cookie("session", value)
    assert client.get("/get").json["data"] == {}
    assert audit_log() == ["invalid_cookie"]


def test_flask_signed_cookie_is_not_accepted(clock, audit_log):
    flask_app = hermetic.Flask(__name__)
    flask_app.config.update(SECRET_KEY=KEY)

    @flask_app.route("/")
    def index():
        session["_user_id"] = "admin"
        return ""

    flask_client = flask_app.test_client()
    flask_client.get("/")
    app = make_app(clock)
    client = app.test_client()
    client.set_cookie("session", cookie(flask_client))
    assert client.get("/get").json["data"] == {}
    assert audit_log() == ["invalid_cookie"]


def test_no_cookie_is_not_audited(client, audit_log):
    assert client.get("/get").json["data"] == {}
    assert audit_log() == []


def test_wrong_key_gives_fresh_session(clock, client, audit_log):
    other = make_app(clock, SECRET_KEY=OTHER_KEY).test_client()
    other.get("/set/role/admin")
    client.set_cookie("session", cookie(other))
    assert client.get("/get").json["data"] == {}
    assert audit_log() == ["invalid_cookie"]


def test_authentic_but_malformed_payload_is_refused(app, client, audit_log):
    ring = keyring_for(app)
    for payload in [b"not json", b"[1,2]", b'{"i":"short","c":1,"l":1,"d":{}}', b'{"i":1}']:
        client.set_cookie("session", ring.encrypt("session", payload, aad=b"session"))
        assert client.get("/get").json["data"] == {}
    assert audit_log() == ["invalid_cookie"] * 4


def test_cookie_moved_to_another_name_is_refused(clock, audit_log):
    app = make_app(clock, SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    client.get("/set/role/user")  # over http: named "session"
    client.set_cookie("__Host-session", cookie(client))
    response = client.get("/get", base_url="https://localhost/")
    assert response.json["data"] == {}
    assert audit_log() == ["invalid_cookie"]


def test_cookie_from_another_purpose_is_refused(app, client, audit_log):
    client.get("/set/role/user")
    ring = keyring_for(app)
    token = ring.encrypt("csrf", b'{"i":"aaaaaaaaaaaaaaaaaaaaaaaa","c":1,"l":1,"d":{}}')
    client.set_cookie("session", token)
    assert client.get("/get").json["data"] == {}
    assert audit_log() == ["invalid_cookie"]


# -- key rotation --------------------------------------------------------------


def test_rotated_key_old_cookie_still_reads_new_cookie_uses_new_key(clock):
    old_app = make_app(clock, SECRET_KEY=OLD_KEY)
    client = old_app.test_client()
    client.get("/set/color/blue")
    old_cookie = cookie(client)

    new_app = make_app(clock, SECRET_KEY=KEY, SECRET_KEY_FALLBACKS=[OLD_KEY])
    client = new_app.test_client()
    client.set_cookie("session", old_cookie)
    assert client.get("/get").json["data"] == {"color": "blue"}
    client.get("/set/size/large")
    new_cookie = cookie(client)
    new_kid = base64.urlsafe_b64decode(new_cookie + "=" * (-len(new_cookie) % 4))[1:5]
    assert new_kid.hex() == KeyRing([KEY]).key_ids[0]
    # Once the old key is dropped, old cookies stop working; new ones still do.
    new_app.config["SECRET_KEY_FALLBACKS"] = []
    assert client.get("/get").json["data"] == {"color": "blue", "size": "large"}
    client.set_cookie("session", old_cookie)
    assert client.get("/get").json["data"] == {}


# -- timeouts ------------------------------------------------------------------


def test_idle_timeout(clock, client, audit_log):
    client.get("/set/role/user")
    clock.now += HOUR + 1
    assert client.get("/get").json["data"] == {}
    assert audit_log() == ["expired"]


def test_activity_refreshes_idle_timeout_but_not_on_every_request(clock, client):
    client.get("/set/role/user")
    clock.now += 10
    assert set_cookies(client.get("/get")) == []  # too soon to re-issue
    clock.now += 50 * 60
    assert any(c.startswith("session=") for c in set_cookies(client.get("/get")))
    clock.now += 50 * 60  # 100 minutes after the last write, 50 after the refresh
    assert client.get("/get").json["data"] == {"role": "user"}


def test_absolute_timeout(clock, client, audit_log):
    client.get("/set/role/user")
    seen = []
    for _ in range(15):  # active every 50 minutes, for 12.5 hours
        clock.now += 50 * 60
        seen.append(client.get("/get").json["data"])
    assert seen[:14] == [{"role": "user"}] * 14
    assert seen[14] == {}
    assert audit_log() == ["expired"]


def test_timeouts_configurable_in_seconds(clock):
    client = make_app(clock, SESSION_IDLE_TIMEOUT=120, SESSION_ABSOLUTE_TIMEOUT=None).test_client()
    client.get("/set/role/user")
    clock.now += 119
    assert client.get("/get").json["data"] == {"role": "user"}
    clock.now += 121
    assert client.get("/get").json["data"] == {}


def test_permanent_cookie_expiry_is_capped_by_absolute_timeout(clock, app, client):
    @app.route("/permanent")
    def permanent():
        session.permanent = True
        return ""

    response = client.get("/permanent")
    (header,) = set_cookies(response)
    expected = datetime.fromtimestamp(T0 + 12 * HOUR, timezone.utc)
    assert expected.strftime("%d %b %Y %H:%M:%S") in header


# -- logout, fixation, revocation ---------------------------------------------


def test_cookie_replayed_after_logout_is_refused(client, audit_log):
    login(client)
    before_logout = cookie(client)
    response = client.get("/logout")
    assert any("Expires=Thu, 01 Jan 1970" in c for c in set_cookies(response))
    assert cookie(client) is None
    client.set_cookie("session", before_logout)
    assert client.get("/get").json["data"] == {}
    assert audit_log() == ["revoked"]


def test_emptied_session_is_revoked_too(client, audit_log):
    client.get("/set/role/user")
    before = cookie(client)
    client.get("/clear")
    client.set_cookie("session", before)
    assert client.get("/get").json["data"] == {}
    assert audit_log() == ["revoked"]


def test_fixation_cookie_before_regenerate_is_dead(client, audit_log):
    client.get("/set/cart/3")  # an anonymous session, as an attacker could plant it
    planted = cookie(client)
    planted_sid = client.get("/get").json["sid"]
    login(client)
    after = client.get("/get").json
    assert after["data"] == {"cart": "3", "_user_id": "7"}  # same data
    assert after["sid"] != planted_sid  # new id
    client.set_cookie("session", planted)
    assert client.get("/get").json["data"] == {}
    assert audit_log() == ["revoked"]


def test_data_written_after_end_goes_to_a_new_session(app, client):
    @app.route("/logout-and-flash")
    def logout_and_flash():
        old = session.sid
        session.end()
        session["message"] = "bye"
        return old

    login(client)
    old_sid = client.get("/logout-and-flash").text
    after = client.get("/get").json
    assert after["data"] == {"message": "bye"} and after["sid"] != old_sid


def test_revoke_user_sessions(clock, app, audit_log):
    laptop, phone, other = app.test_client(), app.test_client(), app.test_client()
    login(laptop, "7")
    login(phone, "7")
    login(other, "8")
    clock.now += 1
    revoke_user_sessions(app, "7")
    assert laptop.get("/get").json["data"] == {}
    assert phone.get("/get").json["data"] == {}
    assert other.get("/get").json["data"] == {"_user_id": "8"}
    assert audit_log() == ["revoked", "revoked"]
    login(laptop, "7")  # a new login after the revocation works
    assert laptop.get("/get").json["data"] == {"_user_id": "7"}


def test_session_regenerated_at_revocation_time_survives(clock, app):
    @app.route("/change-password")
    def change_password():
        revoke_user_sessions(app, session["_user_id"])
        session.regenerate()
        return ""

    here, elsewhere = app.test_client(), app.test_client()
    login(here)
    login(elsewhere)
    clock.now += 5
    here.get("/change-password")
    assert here.get("/get").json["data"] == {"_user_id": "7"}
    assert elsewhere.get("/get").json["data"] == {}


def test_revoke_session_by_id(app, client, audit_log):
    login(client)
    revoke_session(app, client.get("/get").json["sid"])
    assert client.get("/get").json["data"] == {}
    assert audit_log() == ["revoked"]


# -- server-side data ------------------------------------------------------------


def _redis_store():
    redis = pytest.importorskip("redis", reason="redis-py is not installed")
    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.exceptions.RedisError:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    return RedisStore(client, prefix=f"hermetic-test:{uuid.uuid4().hex}:")


@pytest.fixture(params=["memory", "redis"])
def server_side_app(request, clock):
    if request.param == "memory":
        store = MemoryStore(now=clock)
        yield make_app(clock, store=store, SESSION_SERVER_SIDE=True)
        return
    store = _redis_store()
    yield make_app(clock, store=store, SESSION_SERVER_SIDE=True)
    keys = list(store.client.scan_iter(match=store.prefix + "*"))
    if keys:
        store.client.delete(*keys)
    store.client.close()


def test_server_side_keeps_data_out_of_the_cookie(server_side_app):
    client = server_side_app.test_client()
    client.get("/set/big/" + "x" * 2000)
    assert len(cookie(client)) < 200
    assert client.get("/get").json["data"] == {"big": "x" * 2000}
    sid = client.get("/get").json["sid"]
    stored = server_side_app.extensions["hermetic.store"].get(DATA_PREFIX + sid)
    assert stored is not None and b"xxxx" not in stored  # encrypted at rest


def test_server_side_change_does_not_resend_cookie(server_side_app):
    client = server_side_app.test_client()
    client.get("/set/a/1")
    assert set_cookies(client.get("/set/b/2")) == []
    assert client.get("/get").json["data"] == {"a": "1", "b": "2"}


def test_server_side_logout_replay_and_fixation(server_side_app, audit_log):
    client = server_side_app.test_client()
    client.get("/set/cart/3")
    planted = cookie(client)
    login(client)
    logged_in = cookie(client)
    assert client.get("/get").json["data"] == {"cart": "3", "_user_id": "7"}
    client.get("/logout")
    for old in (planted, logged_in):
        client.set_cookie("session", old)
        assert client.get("/get").json["data"] == {}
    assert audit_log() == ["revoked", "revoked"]


def test_server_side_user_revocation(clock, server_side_app):
    client = server_side_app.test_client()
    login(client)
    clock.now += 1
    revoke_user_sessions(server_side_app, "7")
    assert client.get("/get").json["data"] == {}


def test_server_side_swapped_data_is_refused(server_side_app, audit_log):
    store = server_side_app.extensions["hermetic.store"]
    victim, attacker = server_side_app.test_client(), server_side_app.test_client()
    login(victim, "admin")
    login(attacker, "mallory")
    victim_sid = victim.get("/get").json["sid"]
    attacker_sid = attacker.get("/get").json["sid"]
    # Someone with write access to the store copies the admin's data.
    store.set(DATA_PREFIX + attacker_sid, store.get(DATA_PREFIX + victim_sid), 60)
    assert attacker.get("/get").json["data"] == {}
    assert audit_log() == ["invalid_cookie"]


def test_store_down_fails_closed(clock, audit_log):
    app = make_app(clock, store=RedisStore("redis://127.0.0.1:1/0"))
    headers = {"Cookie": f"session={_valid_cookie(app, clock)}"}
    request = app.request_class(EnvironBuilder(headers=headers).get_environ())
    with pytest.raises(SessionStoreUnavailable) as info:
        app.session_interface.open_session(app, request)
    response = info.value.get_response({"HTTP_ACCEPT": "application/json"})
    assert response.status_code == 503
    assert json.loads(response.get_data())["reason"] == "store_unavailable"
    assert "store_unavailable" in audit_log()


def test_store_down_is_a_503_response(clock, audit_log):
    app = make_app(clock, store=RedisStore("redis://127.0.0.1:1/0"))
    client = app.test_client()
    client.set_cookie("session", _valid_cookie(app, clock))
    response = client.get("/get", headers={"Accept": "application/json"})
    assert response.status_code == 503
    assert response.json["reason"] == "store_unavailable"
    assert audit_log() == ["store_unavailable"]


def _valid_cookie(app, clock):
    writer = make_app(clock)
    client = writer.test_client()
    client.get("/set/a/1")
    return cookie(client)


# -- cookie attributes and caching ----------------------------------------------


def test_host_prefix_and_flags_over_https(clock):
    app = make_app(clock, SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    response = client.get("/set/a/1", base_url="https://localhost/")
    (header,) = set_cookies(response)
    assert header.startswith("__Host-session=")
    assert "; Secure" in header and "; HttpOnly" in header and "SameSite=Lax" in header
    assert "Path=/" in header and "Domain" not in header
    data = client.get("/get", base_url="https://localhost/").json["data"]
    assert data == {"a": "1"}


@pytest.mark.parametrize(
    ("config", "base_url"),
    [
        ({"SESSION_COOKIE_SECURE": True}, "http://localhost/"),
        ({"SESSION_COOKIE_SECURE": False}, "https://localhost/"),
        ({"SESSION_COOKIE_SECURE": True, "SESSION_COOKIE_DOMAIN": "example.com"}, "https://x/"),
        ({"SESSION_COOKIE_SECURE": True, "SESSION_COOKIE_PATH": "/app"}, "https://localhost/"),
    ],
)
def test_no_host_prefix_when_it_does_not_apply(clock, config, base_url):
    client = make_app(clock, **config).test_client()
    (header,) = set_cookies(client.get("/set/a/1", base_url=base_url))
    assert header.startswith("session=")


def test_samesite_default_and_override(clock):
    (header,) = set_cookies(make_app(clock).test_client().get("/set/a/1"))
    assert "SameSite=Lax" in header
    strict = make_app(clock, SESSION_COOKIE_SAMESITE="Strict").test_client()
    (header,) = set_cookies(strict.get("/set/a/1"))
    assert "SameSite=Strict" in header


def test_vary_cookie_only_when_session_used(client):
    assert "Cookie" in client.get("/get").headers.get("Vary", "")
    client.get("/set/a/1")
    response = client.get("/plain")
    assert "Cookie" not in response.headers.get("Vary", "")
    assert set_cookies(response) == []


def test_unchanged_session_sends_no_cookie(client):
    client.get("/set/a/1")
    response = client.get("/get")
    assert set_cookies(response) == []
    assert "Cookie" in response.headers["Vary"]


# -- compatibility ------------------------------------------------------------------


def test_tagged_types_round_trip(app, client):
    value = {
        "t": (1, 2),
        "b": b"\xff\x00",
        "u": uuid.UUID(int=5),
        "d": datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
    }

    @app.route("/types")
    def types():
        if "t" not in session:
            session.update(value)
            return ""
        return {"same": {k: session[k] for k in value} == value}

    client.get("/types")
    assert client.get("/types").json == {"same": True}


def test_session_transaction(client):
    with client.session_transaction() as sess:
        assert isinstance(sess, HermeticSession)
        sess["role"] = "user"
    assert client.get("/get").json["data"] == {"role": "user"}


def test_no_secret_key_gives_flasks_null_session(clock):
    app = make_app(clock, SECRET_KEY=None)

    @app.route("/null")
    def null():
        assert dict(session) == {}
        with pytest.raises(RuntimeError, match="secret key"):
            session["a"] = 1
        return "null"

    assert app.test_client().get("/null").text == "null"


@pytest.mark.parametrize("kind", ["flask", "hermetic"])
def test_works_in_both_app_kinds(clock, kind):
    app = make_app(clock, kind=kind, TRUSTED_HOSTS=["localhost"], CSRF_ENABLED=False)
    client = app.test_client()
    response = client.get("/set/a/1", base_url="https://localhost/")
    assert response.status_code == 200, response.text
    name = "__Host-session" if kind == "hermetic" else "session"
    assert cookie(client, name) is not None
    assert client.get("/get", base_url="https://localhost/").json["data"] == {"a": "1"}


def test_session_is_not_opened_for_requests_that_do_not_use_it(app, client, monkeypatch):
    client.get("/set/a/1")
    opened = []
    original = EncryptedSessionInterface.open_session

    def spy(self, app, request):
        opened.append(request.path)
        return original(self, app, request)

    monkeypatch.setattr(EncryptedSessionInterface, "open_session", spy)
    client.get("/plain")
    assert opened == []


def test_saving_another_session_object_adopts_it(app, client):
    from hermetic.sessions import SecureCookieSession

    with app.test_request_context("/"):
        response = app.response_class()
        app.session_interface.save_session(app, SecureCookieSession({"a": "1"}), response)
    (header,) = set_cookies(response)
    client.set_cookie("session", header.split(";")[0].partition("=")[2])
    assert client.get("/get").json["data"] == {"a": "1"}


# -- the per-request fast paths give the same answers as the slow ones -------------


def _random_cookie_header(rng):
    pieces = ["session", "sess", "a", "=", "==", " ", "\t", ";", "; ", "v1", "x y", '"', "\\", "é"]
    return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))


def test_cookie_lookup_matches_werkzeugs_parser():
    import random

    from hermetic.security._session_cookie import cookie_value
    from hermetic.wrappers import Request

    rng = random.Random(1234)
    headers = [_random_cookie_header(rng) for _ in range(4000)]
    headers += [
        "session=abc",
        "session=abc; session=def",
        "other=1; session=abc",
        " session = abc ; x=1",
        "session=a b; session=second",
        "session; x=1",
        "session=",
        'session="quoted\\"value"; x=1',
        'x="a;session=b"; session=real',
        "session=a=b=c",
        "sess=1;session=2",
    ]
    for header in headers:
        environ = EnvironBuilder(headers={"Cookie": header}).get_environ()
        for name in ("session", "sess", "a"):
            expected = Request(environ).cookies.get(name)  # Werkzeug's parser
            assert cookie_value(Request(environ), name) == expected, (header, name)
            parsed = Request(environ)
            parsed.cookies  # noqa: B018 - parsed already: read from there
            assert cookie_value(parsed, name) == expected, (header, name)
    # A name Werkzeug never yields (a space in it) is left to Werkzeug too.
    environ = EnvironBuilder(headers={"Cookie": "a b=1"}).get_environ()
    assert cookie_value(Request(environ), "a b") is None


def test_one_cookie_is_found_without_parsing_the_others(app, client, monkeypatch):
    from werkzeug.sansio import request as sansio_request

    client.get("/set/a/1")
    client.set_cookie("theme", "dark")

    def refuse(*args, **kwargs):
        raise AssertionError("all cookies parsed")

    monkeypatch.setattr(sansio_request, "parse_cookie", refuse)
    assert client.get("/get").json["data"] == {"a": "1"}


@pytest.mark.parametrize(
    "payload",
    [
        {"i": "x" * 20, "c": 1.5, "l": 2, "d": {"a": "1", "n": 3, "f": True, "z": None}},
        {"a": [1, {"b": "c"}], "s": "x y", "q": 'a"b'},
        {"k": {" t": [1, 2]}},  # tagged: a tuple
        {" t": [1, 2]},  # a one-key dict with a tag's key
        {"k": {" t": [1]}, "tuple": (1, "a"), "uuid": uuid.UUID(int=5)},  # tagged by dumps
        {"k": {"\u0020t": [1, 2]}},
        {"k": {" u": "00000000-0000-0000-0000-000000000005"}},
        {"k": {" b": "/wA="}},
        {"k": " leading space value"},
        {"unicode": "café ☕"},
    ],
)
def test_payload_decoding_matches_tagged_json(app, payload):
    from hermetic.security._session_cookie import loads_payload
    from hermetic.sessions import session_json_serializer as serializer

    with app.app_context():
        texts = [serializer.dumps(payload), json.dumps(payload, default=str)]
        texts.append(json.dumps(payload, default=str, ensure_ascii=False))
        texts.append(texts[1].replace('" ', '"\\u0020'))  # a space written as an escape
        for text in texts:
            assert loads_payload(app, serializer, text) == serializer.loads(text), text


def test_payload_without_tags_skips_the_tag_scan(app, monkeypatch):
    from hermetic.json.tag import TaggedJSONSerializer
    from hermetic.security._session_cookie import loads_payload
    from hermetic.sessions import session_json_serializer as serializer

    scanned = []
    original = TaggedJSONSerializer._untag_scan
    monkeypatch.setattr(
        TaggedJSONSerializer,
        "_untag_scan",
        lambda self, value: scanned.append(value) or original(self, value),
    )
    with app.app_context():
        # The patched class method is not the one the fast path knows: slow path.
        assert loads_payload(app, serializer, '{"a": 1}') == {"a": 1}
        assert scanned
    monkeypatch.undo()
    calls = []
    monkeypatch.setattr(
        TaggedJSONSerializer, "untag", lambda self, value: calls.append(value) or value
    )
    with app.app_context():
        assert loads_payload(app, serializer, '{"a": {"b": 1}}') == {"a": {"b": 1}}
        assert calls == []
        loads_payload(app, serializer, '{"a": {" t": [1]}}')
        assert calls  # a tag's key: the tagged-JSON path


def test_custom_tag_without_leading_space_is_honoured(app, monkeypatch):
    from hermetic.json.tag import JSONTag, TaggedJSONSerializer
    from hermetic.security._session_cookie import loads_payload

    class Point:
        def __init__(self, x):
            self.x = x

    class TagPoint(JSONTag):
        __slots__ = ()
        key = "pt"

        def check(self, value):
            return isinstance(value, Point)

        def to_json(self, value):
            return value.x

        def to_python(self, value):
            return Point(value)

    serializer = TaggedJSONSerializer()
    with app.app_context():
        assert loads_payload(app, serializer, '{"a": {"pt": 3}}') == {"a": {"pt": 3}}
        serializer.register(TagPoint)
        loaded = loads_payload(app, serializer, '{"a": {"pt": 3}}')
    assert isinstance(loaded["a"], Point)


def test_custom_json_provider_is_used_for_payloads(clock):
    from hermetic.json.provider import DefaultJSONProvider

    class Provider(DefaultJSONProvider):
        def loads(self, s, **kwargs):
            obj = super().loads(s, **kwargs)
            if isinstance(obj, dict) and isinstance(obj.get("d"), dict):
                obj["d"]["via"] = "provider"  # a session payload went through here
            return obj

    app = make_app(clock)
    app.json = Provider(app)
    client = app.test_client()
    client.get("/set/a/1")
    assert client.get("/get").json["data"] == {"a": "1", "via": "provider"}


@pytest.mark.parametrize(
    "existing",
    [
        None,
        "",
        "Origin",
        "origin, Accept-Encoding",
        "Cookie",
        "cookie",
        "Origin,Cookie",
        "Origin, COOKIE ",
        '"x"',
    ],
)
def test_vary_cookie_matches_werkzeug(existing):
    from hermetic.security._session_cookie import vary_cookie
    from hermetic.wrappers import Response

    ours, theirs = Response(), Response()
    if existing is not None:
        ours.headers["Vary"] = theirs.headers["Vary"] = existing
    vary_cookie(ours)
    theirs.vary.add("Cookie")
    assert ours.headers.getlist("Vary") == theirs.headers.getlist("Vary")
    vary_cookie(ours)
    assert ours.headers.getlist("Vary") == theirs.headers.getlist("Vary")


def test_vary_cookie_added_to_another_vary(app, client):
    @app.route("/vary")
    def vary():
        session.get("a")
        return "", {"Vary": "Origin"}

    assert client.get("/vary").headers.getlist("Vary") == ["Origin, Cookie"]


def test_settings_follow_config_changes(clock, app, client):
    client.get("/set/a/1")
    assert cookie(client) is not None
    app.config["SESSION_COOKIE_NAME"] = "renamed"
    (header,) = set_cookies(client.get("/set/b/2"))
    assert header.startswith("renamed=")
    assert client.get("/get").json["data"] == {"b": "2"}
    app.config["SESSION_IDLE_TIMEOUT"] = 10
    clock.now += 11
    assert client.get("/get").json["data"] == {}
    app.config["SESSION_COOKIE_SECURE"] = True
    (header,) = set_cookies(client.get("/set/c/3", base_url="https://localhost/"))
    assert header.startswith("__Host-renamed=")


def test_subclass_cookie_settings_are_read_per_request(clock):
    class PerTenant(EncryptedSessionInterface):
        def get_cookie_name(self, app):
            from hermetic import request

            return "s_" + request.args.get("tenant", "none")

    app = make_app(clock)
    app.session_interface = PerTenant(now=clock)
    client = app.test_client()
    (header,) = set_cookies(client.get("/set/a/1?tenant=red"))
    assert header.startswith("s_red=")
    (header,) = set_cookies(client.get("/set/a/1?tenant=blue"))
    assert header.startswith("s_blue=")


def test_subclass_cookie_name_for_is_used(clock):
    class Named(EncryptedSessionInterface):
        def cookie_name_for(self, app, request):
            return "custom"

    app = make_app(clock)
    app.session_interface = Named(now=clock)
    client = app.test_client()
    (header,) = set_cookies(client.get("/set/a/1"))
    assert header.startswith("custom=")
    assert client.get("/get").json["data"] == {"a": "1"}


# -- opened cookies are remembered, safely ---------------------------------------------


def test_a_cookie_sent_again_is_not_decrypted_again(app, client, monkeypatch):
    client.get("/set/a/1")
    calls = []
    original = KeyRing.decrypt
    monkeypatch.setattr(
        KeyRing, "decrypt", lambda self, *a, **k: calls.append(a) or original(self, *a, **k)
    )
    for _ in range(3):
        assert client.get("/get").json["data"] == {"a": "1"}
    assert len(calls) == 1


def test_remembered_cookie_is_still_checked_for_expiry_and_revocation(clock, client, audit_log):
    login(client)
    assert client.get("/get").json["data"] == {"_user_id": "7"}  # remembered now
    stolen = cookie(client)
    client.get("/logout")
    client.set_cookie("session", stolen)
    assert client.get("/get").json["data"] == {}
    assert audit_log() == ["revoked"]
    client.get("/set/a/1")
    client.get("/get")
    clock.now += 2 * HOUR
    assert client.get("/get").json["data"] == {}
    assert audit_log()[-1] == "expired"


def test_remembered_cookie_dies_with_its_key(clock, audit_log):
    app = make_app(clock, SECRET_KEY=OLD_KEY)
    client = app.test_client()
    client.get("/set/a/1")
    assert client.get("/get").json["data"] == {"a": "1"}  # remembered under OLD_KEY
    app.config.update(SECRET_KEY=KEY, SECRET_KEY_FALLBACKS=[OLD_KEY])
    assert client.get("/get").json["data"] == {"a": "1"}
    app.config.update(SECRET_KEY_FALLBACKS=[])
    assert client.get("/get").json["data"] == {}
    assert audit_log() == ["invalid_cookie"]


def test_remembered_cookie_is_bound_to_its_name(clock, audit_log):
    app = make_app(clock, SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    client.get("/set/a/1", base_url="https://localhost/")
    value = cookie(client, "__Host-session")
    assert client.get("/get", base_url="https://localhost/").json["data"] == {"a": "1"}
    client.set_cookie("session", value)  # the same value under the plain name
    assert client.get("/get").json["data"] == {}
    assert audit_log() == ["invalid_cookie"]


def test_in_place_changes_do_not_leak_into_the_next_request(app, client):
    @app.route("/nested")
    def nested():
        if "cart" not in session:
            session["cart"] = ["apple"]
            session["n"] = 1
        else:
            session["cart"].append("pear")  # not marked modified: not saved
            dict.__setitem__(session._get_current_object(), "n", 2)  # behind its back
        return {"cart": session["cart"], "n": session["n"]}

    @app.route("/scalar")
    def scalar():
        dict.__setitem__(session._get_current_object(), "a", "changed")
        return ""

    client.get("/nested")
    assert client.get("/nested").json == {"cart": ["apple", "pear"], "n": 2}
    assert client.get("/nested").json == {"cart": ["apple", "pear"], "n": 2}

    client.get("/clear")
    client.get("/set/a/1")
    assert client.get("/get").json["data"] == {"a": "1"}  # remembered now
    client.get("/scalar")
    assert client.get("/get").json["data"] == {"a": "1"}


def test_opened_cookies_are_bounded():
    from hermetic.security._session_cookie import OpenedCookies

    ring = object()
    memo = OpenedCookies(2)
    for value in ("v1", "v2", "v3"):
        memo.put(ring, value, ("s" * 20, 1.0, 1.0, {"a": "1"}))
    assert memo.get(ring, "v1") is None
    assert memo.get(ring, "v3") is not None
    assert memo.get(object(), "v3") is None  # another key ring
    memo.put(ring, "v4", ("s" * 20, 1.0, 1.0, {"a": ["mutable"]}))
    assert memo.get(ring, "v4") is None
    off = OpenedCookies(0)
    off.put(ring, "v1", ("s" * 20, 1.0, 1.0, None))
    assert off.get(ring, "v1") is None


# -- the settings are read once per request ------------------------------------


def test_settings_are_computed_once_per_request(app, client, monkeypatch):
    from hermetic.security import sessions as sessions_module

    client.get("/set/a/1")
    calls = []
    original = sessions_module.settings_for

    def spy(interface, app_, revoke):
        calls.append(app_)
        return original(interface, app_, revoke)

    original_kept = sessions_module.kept_settings

    def spy_kept(interface, app_):
        calls.append(app_)
        return original_kept(interface, app_)

    monkeypatch.setattr(sessions_module, "settings_for", spy)
    monkeypatch.setattr(sessions_module, "kept_settings", spy_kept)
    assert client.get("/set/b/2").status_code == 200
    # open reads them (kept ones: kept_settings alone); save reuses what open read
    assert len(calls) == 1


def test_settings_kept_by_a_session_do_not_leak_into_another_app(clock):
    # Attack: one interface shared by two apps; a session opened by app A and
    # saved through app B must get B's cookie settings, not A's remembered ones.
    shared = EncryptedSessionInterface(now=clock)
    first = make_app(clock, SESSION_COOKIE_PATH="/a")
    second = make_app(clock, SESSION_COOKIE_PATH="/b")
    first.session_interface = second.session_interface = shared
    second.extensions["hermetic.store"] = first.extensions["hermetic.store"]
    with first.test_request_context("/"):
        opened = shared.open_session(first, hermetic.request)
    opened["a"] = "1"
    with second.test_request_context("/"):
        response = second.response_class()
        shared.save_session(second, opened, response)
    (header,) = set_cookies(response)
    assert "Path=/b" in header


def test_a_config_change_between_requests_is_seen_by_the_save(app, client):
    assert "Path=/;" in set_cookies(client.get("/set/a/1"))[0] + ";"
    app.config["SESSION_COOKIE_PATH"] = "/elsewhere"
    (header,) = set_cookies(client.get("/set/a/2"))
    assert "Path=/elsewhere" in header
