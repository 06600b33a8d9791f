"""Sessions: the session objects, the interfaces, and the signed cookie."""

from __future__ import annotations

import hashlib
import time
import types
from datetime import datetime, timedelta, timezone

import pytest
from itsdangerous import URLSafeTimedSerializer
from werkzeug.http import parse_cookie
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

import hermetic
from hermetic.sessions import (
    NullSession,
    SecureCookieSession,
    SecureCookieSessionInterface,
    SessionInterface,
    SessionMixin,
    session_json_serializer,
)

NULL_MESSAGE = (
    "The session is unavailable because no secret key was set. Set the"
    " secret_key on the application to something unique and secret."
)


def make_app(**config):
    """Return the minimum an interface reads from an app."""
    defaults = {
        "SECRET_KEY_FALLBACKS": [],
        "SESSION_COOKIE_NAME": "session",
        "SESSION_COOKIE_DOMAIN": None,
        "SESSION_COOKIE_PATH": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SECURE": False,
        "SESSION_COOKIE_PARTITIONED": False,
        "SESSION_COOKIE_SAMESITE": None,
        "SESSION_REFRESH_EACH_REQUEST": True,
        "APPLICATION_ROOT": "/",
    }
    defaults.update(config)
    return types.SimpleNamespace(
        config=defaults,
        secret_key="dev key",
        permanent_session_lifetime=timedelta(days=31),
    )


def make_request(cookie=None):
    """Return a request carrying ``cookie`` as the session cookie."""
    headers = {"Cookie": f"session={cookie}"} if cookie is not None else {}
    return Request(EnvironBuilder(headers=headers).get_environ())


def flask_serializer(keys):
    """Build, from itsdangerous alone, the serializer Flask signs sessions with."""
    return URLSafeTimedSerializer(
        keys,
        salt="cookie-session",
        serializer=session_json_serializer,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
    )


def set_cookies(response):
    """Return the parsed Set-Cookie headers of ``response``."""
    return [parse_cookie(h.split(";", 1)[0]) for h in response.headers.getlist("Set-Cookie")]


# --- session objects ---------------------------------------------------------


def test_mixin_defaults_assume_the_worst():
    class Plain(dict, SessionMixin):
        pass

    s = Plain()
    assert s.new is False
    assert s.modified is True
    assert s.accessed is True
    assert s.permanent is False
    s.permanent = 1
    assert s["_permanent"] is True
    assert s.permanent is True


def test_secure_cookie_session_starts_clean():
    s = SecureCookieSession({"a": 1})
    assert s == {"a": 1}
    assert not s.modified
    assert not s.accessed


@pytest.mark.parametrize(
    "read",
    [
        lambda s: s["a"],
        lambda s: s.get("a"),
        lambda s: s.get("missing", 2),
        lambda s: s.setdefault("a", 3),
        lambda s: "a" in s,
        lambda s: len(s),
        lambda s: bool(s),
        lambda s: list(s),
        lambda s: s.keys(),
        lambda s: s.values(),
        lambda s: s.items(),
        lambda s: s.permanent,
    ],
)
def test_reads_mark_accessed_only(read):
    s = SecureCookieSession({"a": 1})
    read(s)
    assert s.accessed
    assert not s.modified


@pytest.mark.parametrize(
    "write",
    [
        lambda s: s.__setitem__("b", 2),
        lambda s: s.__delitem__("a"),
        lambda s: s.pop("a"),
        lambda s: s.update(b=2),
        lambda s: s.clear(),
        lambda s: s.setdefault("b", 2),
        lambda s: setattr(s, "permanent", True),
    ],
)
def test_writes_mark_modified_and_accessed(write):
    s = SecureCookieSession({"a": 1})
    write(s)
    assert s.modified
    assert s.accessed


def test_missing_key_raises_key_error_and_marks_accessed():
    s = SecureCookieSession()
    with pytest.raises(KeyError):
        s["nope"]  # noqa: B018
    assert s.accessed


def test_null_session_reads_but_refuses_writes():
    s = NullSession()
    assert s.get("x") is None
    assert len(s) == 0
    assert s.permanent is False
    for write in (
        lambda: s.__setitem__("a", 1),
        lambda: s.__delitem__("a"),
        lambda: s.pop("a"),
        lambda: s.popitem(),
        lambda: s.update(a=1),
        lambda: s.clear(),
        lambda: s.setdefault("a", 1),
        lambda: setattr(s, "permanent", True),
    ):
        with pytest.raises(RuntimeError) as e:
            write()
        assert e.value.args[0] == NULL_MESSAGE
    assert s == {}


# --- SessionInterface --------------------------------------------------------


def test_interface_is_abstract():
    app = make_app()
    interface = SessionInterface()
    assert interface.pickle_based is False
    with pytest.raises(NotImplementedError):
        interface.open_session(app, make_request())
    with pytest.raises(NotImplementedError):
        interface.save_session(app, SecureCookieSession(), Response())


def test_null_session_helpers():
    interface = SessionInterface()
    null = interface.make_null_session(make_app())
    assert type(null) is NullSession
    assert interface.is_null_session(null)
    assert not interface.is_null_session(SecureCookieSession())

    class MyNull(NullSession):
        pass

    interface.null_session_class = MyNull
    assert type(interface.make_null_session(make_app())) is MyNull


def test_cookie_options_come_from_config():
    interface = SessionInterface()
    app = make_app(
        SESSION_COOKIE_NAME="sid",
        SESSION_COOKIE_DOMAIN="example.com",
        SESSION_COOKIE_HTTPONLY=False,
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_PARTITIONED=True,
        SESSION_COOKIE_SAMESITE="Lax",
        APPLICATION_ROOT="/app",
    )
    assert interface.get_cookie_name(app) == "sid"
    assert interface.get_cookie_domain(app) == "example.com"
    assert interface.get_cookie_path(app) == "/app"
    assert interface.get_cookie_httponly(app) is False
    assert interface.get_cookie_secure(app) is True
    assert interface.get_cookie_partitioned(app) is True
    assert interface.get_cookie_samesite(app) == "Lax"

    app.config["SESSION_COOKIE_PATH"] = "/cookie"
    assert interface.get_cookie_path(app) == "/cookie"
    app.config["SESSION_COOKIE_DOMAIN"] = ""
    assert interface.get_cookie_domain(app) is None


def test_expiration_time_only_for_permanent_sessions():
    interface = SessionInterface()
    app = make_app()
    s = SecureCookieSession()
    assert interface.get_expiration_time(app, s) is None
    s.permanent = True
    expires = interface.get_expiration_time(app, s)
    expected = datetime.now(timezone.utc) + app.permanent_session_lifetime
    assert abs(expires - expected) < timedelta(seconds=5)


@pytest.mark.parametrize(
    ("modified", "permanent", "refresh", "expected"),
    [
        (True, False, False, True),
        (False, True, True, True),
        (False, True, False, False),
        (False, False, True, False),
    ],
)
def test_should_set_cookie(modified, permanent, refresh, expected):
    app = make_app(SESSION_REFRESH_EACH_REQUEST=refresh)
    s = SecureCookieSession({"_permanent": permanent})
    s.modified = modified
    assert SessionInterface().should_set_cookie(app, s) is expected


# --- SecureCookieSessionInterface -----------------------------------------------


def test_class_defaults_match_flask():
    interface = SecureCookieSessionInterface()
    assert interface.salt == "cookie-session"
    assert interface.digest_method is hashlib.sha1
    assert interface.key_derivation == "hmac"
    assert interface.serializer is session_json_serializer
    assert interface.session_class is SecureCookieSession


def test_no_secret_key_means_no_session():
    app = make_app()
    app.secret_key = None
    interface = SecureCookieSessionInterface()
    assert interface.get_signing_serializer(app) is None
    assert interface.open_session(app, make_request()) is None


def test_signing_serializer_is_cached_per_key_set():
    app = make_app()
    interface = SecureCookieSessionInterface()
    first = interface.get_signing_serializer(app)
    assert interface.get_signing_serializer(app) is first

    app.config["SECRET_KEY_FALLBACKS"] = ["old key"]
    second = interface.get_signing_serializer(app)
    assert second is not first
    assert interface.get_signing_serializer(app) is second

    app.secret_key = "new key"
    assert interface.get_signing_serializer(app) is not second


def test_cookie_is_byte_compatible_with_flask(monkeypatch):
    """A cookie written here equals the one Flask writes for the same key and time."""
    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.0)
    app = make_app()
    interface = SecureCookieSessionInterface()
    s = SecureCookieSession()
    s["user"] = "ada"
    s["ids"] = (1, 2)
    response = Response()
    interface.save_session(app, s, response)

    [cookie] = set_cookies(response)
    # Flask's format: compact JSON with tagged values, itsdangerous-signed
    # with the "cookie-session" salt, HMAC key derivation and SHA-1.
    expected = URLSafeTimedSerializer(
        "dev key",
        salt="cookie-session",
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
    ).dumps({"user": "ada", "ids": {" t": [1, 2]}})
    assert cookie["session"] == expected


def test_reads_cookie_made_by_flask():
    app = make_app()
    cookie = flask_serializer("dev key").dumps({"n": 1, "b": b"\xff", "_permanent": True})
    s = SecureCookieSessionInterface().open_session(app, make_request(cookie))
    assert s == {"n": 1, "b": b"\xff", "_permanent": True}
    assert not s.modified
    assert not s.accessed
    assert s.permanent


@pytest.mark.parametrize("cookie", [None, "", "garbage", "e30.Zm9v.YmFy"])
def test_missing_or_bad_cookie_gives_empty_session(cookie):
    s = SecureCookieSessionInterface().open_session(make_app(), make_request(cookie))
    assert type(s) is SecureCookieSession
    assert s == {}
    assert not s.modified


def test_cookie_signed_with_other_key_is_ignored():
    cookie = flask_serializer("other key").dumps({"a": 1})
    s = SecureCookieSessionInterface().open_session(make_app(), make_request(cookie))
    assert s == {}


def test_expired_cookie_is_ignored(monkeypatch):
    app = make_app()
    app.permanent_session_lifetime = timedelta(seconds=60)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now - 120)
    cookie = flask_serializer("dev key").dumps({"a": 1})
    monkeypatch.setattr(time, "time", lambda: now)
    s = SecureCookieSessionInterface().open_session(app, make_request(cookie))
    assert s == {}


def test_fallback_keys_verify_and_newest_key_signs():
    app = make_app(SECRET_KEY_FALLBACKS=["old 1", "old 2"])
    interface = SecureCookieSessionInterface()
    for key in ("old 1", "old 2", "dev key"):
        cookie = flask_serializer(key).dumps({"k": key})
        assert interface.open_session(app, make_request(cookie)) == {"k": key}

    s = SecureCookieSession({"a": 1})
    s.modified = True
    response = Response()
    interface.save_session(app, s, response)
    [cookie] = set_cookies(response)
    # Only the current key verifies what was just signed.
    assert flask_serializer("dev key").loads(cookie["session"]) == {"a": 1}
    with pytest.raises(Exception, match="Signature"):
        flask_serializer("old 2").loads(cookie["session"])


def test_save_untouched_session_does_nothing():
    response = Response()
    SecureCookieSessionInterface().save_session(make_app(), SecureCookieSession({"a": 1}), response)
    assert "Set-Cookie" not in response.headers
    assert "Vary" not in response.headers


@pytest.mark.parametrize("permanent", [False, True])
def test_saving_does_not_count_as_access(permanent):
    cookie = flask_serializer("dev key").dumps({"a": 1, "_permanent": permanent})
    interface = SecureCookieSessionInterface()
    s = interface.open_session(make_app(), make_request(cookie))
    response = Response()
    interface.save_session(make_app(), s, response)
    assert not s.accessed
    # A permanent session is re-sent to slide its expiry, and a response
    # that sets the cookie always varies on it.
    assert ("Set-Cookie" in response.headers) is permanent
    assert ("Vary" in response.headers) is permanent


def test_save_read_session_adds_vary_only():
    s = SecureCookieSession({"a": 1})
    s.get("a")
    response = Response()
    SecureCookieSessionInterface().save_session(make_app(), s, response)
    assert "Set-Cookie" not in response.headers
    assert response.headers.get_all("Vary") == ["Cookie"]


def test_save_sets_cookie_with_all_options():
    app = make_app(
        SESSION_COOKIE_NAME="sid",
        SESSION_COOKIE_DOMAIN="example.com",
        SESSION_COOKIE_PATH="/p",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_PARTITIONED=True,
        SESSION_COOKIE_SAMESITE="Strict",
    )
    s = SecureCookieSession()
    s["a"] = 1
    s.permanent = True
    response = Response()
    SecureCookieSessionInterface().save_session(app, s, response)
    header = response.headers["Set-Cookie"]
    assert header.startswith("sid=")
    for part in (
        "Domain=example.com",
        "Path=/p",
        "Secure",
        "HttpOnly",
        "Partitioned",
        "SameSite=Strict",
        "Expires=",
    ):
        assert part in header
    assert response.headers["Vary"] == "Cookie"


def test_non_permanent_cookie_has_no_expiry():
    s = SecureCookieSession()
    s["a"] = 1
    response = Response()
    SecureCookieSessionInterface().save_session(make_app(), s, response)
    header = response.headers["Set-Cookie"]
    assert "Expires" not in header
    assert "Max-Age" not in header


def test_emptied_session_deletes_cookie_with_same_options():
    app = make_app(
        SESSION_COOKIE_DOMAIN="example.com",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="Lax",
        APPLICATION_ROOT="/root",
    )
    s = SecureCookieSession({"a": 1})
    s.clear()
    response = Response()
    SecureCookieSessionInterface().save_session(app, s, response)
    header = response.headers["Set-Cookie"]
    assert header.startswith("session=;")
    for part in ("Domain=example.com", "Path=/root", "Secure", "SameSite=Lax", "Max-Age=0"):
        assert part in header
    assert response.headers.get_all("Vary") == ["Cookie"]


def test_empty_unmodified_session_sets_nothing():
    response = Response()
    SecureCookieSessionInterface().save_session(make_app(), SecureCookieSession(), response)
    assert "Set-Cookie" not in response.headers


def test_invalid_samesite_is_rejected():
    s = SecureCookieSession()
    s["a"] = 1
    with pytest.raises(ValueError):
        SecureCookieSessionInterface().save_session(
            make_app(SESSION_COOKIE_SAMESITE="invalid"), s, Response()
        )


# --- through the app ---------------------------------------------------------


def test_app_session_round_trip(app):
    @app.post("/")
    def store():
        hermetic.session["value"] = hermetic.request.form["value"]
        return ""

    @app.get("/")
    def load():
        return hermetic.session.get("value", "none")

    client = app.test_client()
    assert client.get("/").text == "none"
    rv = client.post("/", data={"value": "42"})
    assert rv.headers["Vary"] == "Cookie"
    cookie = client.get_cookie("session")
    assert flask_serializer("test key").loads(cookie.value) == {"value": "42"}
    assert client.get("/").text == "42"


def test_app_reads_flask_cookie(app):
    @app.get("/")
    def load():
        return repr(hermetic.session.get("t"))

    client = app.test_client()
    # Flask's wire format, built with plain itsdangerous JSON: a tagged tuple.
    raw = URLSafeTimedSerializer(
        "test key",
        salt="cookie-session",
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
    ).dumps({"t": {" t": [1, 2]}})
    client.set_cookie("session", raw)
    assert client.get("/").text == "(1, 2)"


def test_app_without_secret_key_has_null_session(app):
    app.secret_key = None

    @app.get("/")
    def write():
        hermetic.session["a"] = 1
        return ""

    with app.test_request_context():
        assert hermetic.session.get("a") is None
        with pytest.raises(RuntimeError, match="session is unavailable"):
            hermetic.session["a"] = 1

    app.testing = True
    with pytest.raises(RuntimeError, match="no secret key was set"):
        app.test_client().get("/")


def test_app_clearing_session_deletes_cookie(app):
    @app.get("/set")
    def set_():
        hermetic.session["a"] = 1
        return ""

    @app.get("/clear")
    def clear():
        hermetic.session.clear()
        return ""

    client = app.test_client()
    client.get("/set")
    assert client.get_cookie("session") is not None
    rv = client.get("/clear")
    assert rv.headers["Set-Cookie"].startswith("session=;")
    assert client.get_cookie("session") is None


def test_no_permanent_lifetime_means_a_browser_session_cookie():
    # PERMANENT_SESSION_LIFETIME = None (accepted by the app's converter) used to
    # fail with TypeError (datetime + None) when saving and AttributeError when
    # reading: a 500 on every request with a permanent session.
    app = make_app()
    app.permanent_session_lifetime = None
    interface = SecureCookieSessionInterface()
    s = SecureCookieSession()
    s["a"] = 1
    s.permanent = True
    assert interface.get_expiration_time(app, s) is None
    response = Response()
    interface.save_session(app, s, response)
    assert "Expires" not in response.headers["Set-Cookie"]
    cookie = set_cookies(response)[0]["session"]
    assert interface.open_session(app, make_request(cookie)) == {"a": 1, "_permanent": True}
