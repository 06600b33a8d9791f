"""Store outages: every shield answers 503 with Retry-After (or fails open), never a 500.

The store doubles raise on reads, on writes, or as a hung Redis does (a
timeout error from the client): nothing sleeps. Each test runs on a
``Flask`` app with the shields installed and on ``Hermetic``.
"""

from __future__ import annotations

import logging

import pytest
from limits.errors import StorageError
from werkzeug.exceptions import HTTPException

import hermetic
from hermetic import session
from hermetic.security.auth import LoginManager, UserMixin, login_user, logout_user
from hermetic.security.breaker import CircuitBreaker
from hermetic.security.csrf import CSRFShield, csrf_token
from hermetic.security.headers import HeadersShield
from hermetic.security.jwt.errors import TokenCheckUnavailable
from hermetic.security.jwt.replay import TokenLedger
from hermetic.security.ratelimit import (
    RateLimitShield,
    limiter_for,
    rate_limit,
)
from hermetic.security.sessions import EncryptedSessionInterface, revoke_user_sessions
from hermetic.security.stores import MemoryStore, RedisStore, StoreUnavailable
from hermetic.testing import ManualClock, limits_clock

KEY = "k" * 4 + "outage-tests-session-key-0123456789abcdefgh"
JSON = {"Accept": "application/json"}
READS = ("get", "get_many", "smembers")
WRITES = ("set", "delete", "add", "incr", "sadd", "srem")


class FlakyStore(MemoryStore):
    """A memory store whose reads or writes can be made to fail like Redis down."""

    def __init__(self) -> None:
        super().__init__()
        self.down: set[str] = set()  # "read" and/or "write"

    def __getattribute__(self, name: str):
        kind = "read" if name in READS else "write" if name in WRITES else None
        if kind is not None and kind in object.__getattribute__(self, "down"):

            def fail(*args, **kwargs):
                raise StoreUnavailable("Redis is unreachable (ConnectionError).", retry_after=3)

            return fail
        return object.__getattribute__(self, name)


class User(UserMixin):
    def __init__(self, uid: str) -> None:
        self.id = uid


@pytest.fixture(params=["flask", "hermetic"])
def kind(request):
    return request.param


@pytest.fixture
def errors(caplog):
    """The ERROR records logged (a 500's traceback would be one)."""
    caplog.set_level(logging.INFO)
    return lambda: [r for r in caplog.records if r.levelno >= logging.ERROR]


def make_app(kind, store, **config):
    if kind == "flask":
        app = hermetic.Flask(__name__)
        app.session_interface = EncryptedSessionInterface()
        CSRFShield().init_app(app)
        HeadersShield().init_app(app)
        LoginManager(app)
    else:
        app = hermetic.Hermetic(__name__)
    # Production error handling: an escaped error would be a 500, not an exception.
    app.config.update(
        SECRET_KEY=KEY,
        SESSION_COOKIE_SECURE=False,
        SESSION_SERVER_SIDE=True,
        PROPAGATE_EXCEPTIONS=False,
    )
    app.config.update(config)
    app.extensions["hermetic.store"] = store
    manager = app.extensions["hermetic.login"]
    manager.user_loader(lambda uid: User(uid))

    @app.get("/set")
    def set_value():
        session["k"] = "v"
        return "ok"

    @app.get("/get")
    def get_value():
        return {"k": session.get("k")}

    @app.get("/plain")
    def plain():
        return "no session in the view"

    @app.post("/form")
    def form():
        return "posted"

    @app.get("/login")
    def login():
        login_user(User("1"), remember=True)
        return "in"

    @app.get("/logout")
    def logout():
        logout_user()
        return "out"

    @app.get("/revoke-all")
    def revoke_all():
        revoke_user_sessions(app, "1")
        return "revoked"

    @app.get("/token")
    def token():
        return csrf_token()

    return app


def assert_outage(response, reason="store_unavailable"):
    assert response.status_code == 503, response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) >= 1
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["reason"] == reason
    assert "Traceback" not in response.get_data(as_text=True)


def test_session_write_refused_is_a_503_not_a_500(kind, errors):
    store = FlakyStore()
    app = make_app(kind, store)
    client = app.test_client()
    store.down.add("write")
    response = client.get("/set", headers=JSON)
    assert_outage(response)
    assert response.headers["Retry-After"] == "3"  # what the store said
    assert errors() == []
    if kind == "hermetic":
        # The shields' after steps ran on the 503 too.
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_session_read_refused_is_a_503(kind, errors):
    store = FlakyStore()
    client = make_app(kind, store).test_client()
    assert client.get("/set").status_code == 200
    store.down.add("read")
    assert_outage(client.get("/get", headers=JSON))
    assert errors() == []


def test_session_first_opened_by_an_after_request_hook(kind, errors):
    store = FlakyStore()
    app = make_app(kind, store)

    @app.after_request
    def touch(response):
        response.headers["X-Seen"] = str(session.get("k"))
        return response

    client = app.test_client()
    assert client.get("/set").status_code == 200
    store.down.add("read")
    # The view never touched the session: it is opened during response processing.
    assert_outage(client.get("/plain", headers=JSON))
    assert errors() == []


def test_session_first_opened_while_handling_an_error(kind, errors):
    store = FlakyStore()
    app = make_app(kind, store)

    @app.get("/broken")
    def broken():
        raise RuntimeError("a bug in the view")

    @app.after_request
    def touch(response):
        session.get("k")
        return response

    client = app.test_client()
    assert client.get("/set").status_code == 200
    store.down.add("read")
    assert_outage(client.get("/broken", headers=JSON))
    # The view's own bug is logged; the outage adds no "finalizing failed" error.
    assert [r.getMessage() for r in errors()] == ["Exception on /broken [GET]"]


def test_the_apps_503_handler_renders_the_outage(kind):
    store = FlakyStore()
    app = make_app(kind, store)

    @app.errorhandler(503)
    def busy(e):
        return "we are busy", 503, {"Retry-After": e.get_response().headers["Retry-After"]}

    store.down.add("write")
    response = app.test_client().get("/set")
    assert (response.status_code, response.get_data(as_text=True)) == (503, "we are busy")
    assert response.headers["Retry-After"] == "3"


def test_a_503_handler_that_needs_the_store_falls_back_to_the_problem(kind, errors):
    store = FlakyStore()
    app = make_app(kind, store)

    @app.errorhandler(503)
    def busy(e):
        return f"hello {session.get('k')}", 503

    client = app.test_client()
    assert client.get("/set").status_code == 200
    store.down.update(("read", "write"))
    assert_outage(client.get("/get", headers=JSON))
    assert errors() == []


def test_csrf_check_with_the_store_down_is_a_503(kind, errors):
    store = FlakyStore()
    client = make_app(kind, store).test_client(enforce_csrf=True)
    assert client.get("/set").status_code == 200
    token = client.get("/token").get_data(as_text=True)
    store.down.add("read")
    response = client.post("/form", data={"csrf_token": token}, headers=JSON)
    assert_outage(response)
    assert errors() == []


def test_login_with_remember_me_and_the_store_down_is_a_503(kind, errors):
    store = FlakyStore()
    client = make_app(kind, store).test_client()
    store.down.add("write")
    assert_outage(client.get("/login", headers=JSON))
    assert errors() == []


def test_logout_with_the_store_down_is_a_503(kind, errors):
    store = FlakyStore()
    client = make_app(kind, store).test_client()
    assert client.get("/login").status_code == 200
    store.down.update(("read", "write"))
    assert_outage(client.get("/logout", headers=JSON))
    assert errors() == []


def test_a_store_error_raised_in_a_view_is_a_503(kind, errors):
    store = FlakyStore()
    client = make_app(kind, store).test_client()
    store.down.add("write")
    response = client.get("/revoke-all", headers=JSON)
    assert_outage(response)
    assert errors() == []


def test_remember_me_cookie_with_the_store_down_is_anonymous_not_a_500(kind, errors):
    store = FlakyStore()
    app = make_app(kind, store)

    @app.get("/whoami")
    def whoami():
        from hermetic.security.auth import current_user

        return {"id": current_user.get_id()}

    client = app.test_client()
    assert client.get("/login").status_code == 200
    remember = client.get_cookie("remember_token").value
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember)
    store.down.update(("read", "write"))
    # Documented: the cookie proves nothing while the store is down (kept for later).
    assert fresh.get("/whoami").get_json() == {"id": None}
    assert errors() == []


# -- a hung Redis: the timeout error, then the breaker ------------------------------


class HungClient:
    """A redis-py client whose every call times out, as on a paused server."""

    def __init__(self) -> None:
        import redis

        self.calls = 0
        self._timeout = redis.exceptions.TimeoutError

    def register_script(self, script):
        return self._fail

    def _fail(self, *args, **kwargs):
        self.calls += 1
        raise self._timeout("Timeout reading from socket")

    def __getattr__(self, name):
        return self._fail


def test_a_hung_store_fails_fast_once_the_breaker_opens(kind, errors):
    clock = ManualClock()
    hung = HungClient()
    store = RedisStore(hung, breaker=CircuitBreaker(5.0, now=clock))
    client = make_app(kind, store).test_client()
    first = client.get("/set", headers=JSON)
    assert_outage(first)
    assert hung.calls == 1
    # Open: the next requests fail at once, without waiting on Redis.
    for _ in range(3):
        assert_outage(client.get("/set", headers=JSON))
    assert hung.calls == 1
    clock.now += 5
    assert_outage(client.get("/set", headers=JSON))  # the probe
    assert hung.calls == 2
    assert errors() == []


def test_write_refusals_do_not_open_the_breaker():
    import redis

    class ReadOnly:
        calls = 0

        def register_script(self, script):
            return None

        def set(self, *args, **kwargs):
            ReadOnly.calls += 1
            raise redis.exceptions.ReadOnlyError("You can't write against a read only replica.")

        def get(self, key):
            return b"v"

    clock = ManualClock()
    store = RedisStore(ReadOnly(), breaker=CircuitBreaker(5.0, now=clock))
    with pytest.raises(StoreUnavailable, match="refuses writes"):
        store.set("k", b"v")
    assert store.breaker.state == "closed"
    assert store.get("k") == b"v"  # reads still work


def test_oom_refusal_is_unavailable_not_a_plain_store_error():
    import redis

    class Full:
        def register_script(self, script):
            return None

        def set(self, *args, **kwargs):
            raise redis.exceptions.ResponseError(
                "OOM command not allowed when used memory > 'maxmemory'."
            )

    with pytest.raises(StoreUnavailable):
        RedisStore(Full()).set("k", b"v")


# -- rate limits: the limiter's own storage, the same breaker logic -----------------


def test_rate_limit_storage_down_fails_fast_then_probes(errors):
    clock = ManualClock()
    app = hermetic.Flask(__name__)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    RateLimitShield(now=clock).init_app(app)

    @app.get("/")
    @rate_limit("5/minute")
    def index():
        return "ok"

    with limits_clock(clock):
        client = app.test_client()
        assert client.get("/").status_code == 200
        limiter = limiter_for(app)
        storage = limiter.storage
        real_incr = storage.incr
        calls = []

        def down(*args, **kwargs):
            calls.append(1)
            raise StorageError(ConnectionError("Redis is unreachable"))

        storage.incr = down
        assert_outage(client.get("/", headers=JSON), reason="storage_unavailable")
        assert len(calls) == 1
        assert_outage(client.get("/", headers=JSON), reason="storage_unavailable")
        assert len(calls) == 1  # the breaker answered
        storage.incr = real_incr
        clock.advance(5)
        assert client.get("/").status_code == 200  # the probe finds it back
        assert limiter.breaker.state == "closed"
    assert errors() == []


def test_rate_limit_storage_saying_no_does_not_open_the_breaker():
    import redis

    clock = ManualClock()
    app = hermetic.Flask(__name__)
    app.config.update(PROPAGATE_EXCEPTIONS=False, RATELIMIT_ON_STORAGE_ERROR="open")
    RateLimitShield(now=clock).init_app(app)

    @app.get("/")
    @rate_limit("5/minute")
    def index():
        return "ok"

    with limits_clock(clock):
        client = app.test_client()
        assert client.get("/").status_code == 200
        limiter = limiter_for(app)

        def full(*args, **kwargs):
            raise StorageError(redis.exceptions.OutOfMemoryError("OOM command not allowed"))

        limiter.storage.incr = full
        assert client.get("/").status_code == 200  # fails open, as configured
        # Redis answered (it is up): the breaker the sessions share stays closed.
        assert limiter.breaker.state == "closed"


def test_jwt_replay_store_down_is_a_503_with_retry_after():
    store = FlakyStore()
    store.down.add("read")
    ledger = TokenLedger(store)
    claims = {"sub": "u", "jti": "j", "iss": "i", "iat": 0, "exp": 100}
    with pytest.raises(TokenCheckUnavailable) as info:
        ledger.check(claims, 10, replay=True)
    response = info.value.get_response({"HTTP_ACCEPT": "application/json"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "3"


def test_store_settings_come_from_the_config_then_the_environment(monkeypatch):
    from hermetic.security.stores import store_for

    monkeypatch.setenv("HERMETIC_REDIS_URL", "redis://127.0.0.1:1/9")
    monkeypatch.setenv("HERMETIC_STORE_TIMEOUT", "0.25")
    monkeypatch.setenv("HERMETIC_STORE_COOLDOWN", "3")
    app = hermetic.Flask(__name__)
    store = store_for(app)
    kwargs = store.client.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == 0.25 and kwargs["socket_connect_timeout"] == 0.25
    assert store.breaker.cooldown == 3.0
    limiter = limiter_for(app)
    assert limiter.breaker is store.breaker  # one Redis, one breaker
    options = limiter.storage.storage.connection_pool.connection_kwargs
    assert options["socket_timeout"] == 0.25


def test_default_timeouts_are_short():
    from hermetic.security.stores import store_for

    app = hermetic.Flask(__name__)
    app.config["HERMETIC_REDIS_URL"] = "redis://127.0.0.1:1/9"
    kwargs = store_for(app).client.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == 0.5  # was 5
    assert store_for(app).breaker.cooldown == 5.0
    options = limiter_for(app).storage.storage.connection_pool.connection_kwargs
    assert options["socket_timeout"] == 0.5  # was 1


def test_a_browser_gets_an_html_503_page(kind):
    store = FlakyStore()
    app = make_app(kind, store)
    store.down.add("write")
    response = app.test_client().get("/set", headers={"Accept": "text/html"})
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    assert response.headers["Retry-After"] == "3"
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_login_page_with_an_unchecked_remember_me_cookie_is_a_503(kind, errors):
    # The visitor may well be logged in (a remember-me cookie the store cannot
    # check): "try again shortly", not "log in", on pages that need a user.
    from hermetic.security.auth import login_required

    store = FlakyStore()
    app = make_app(kind, store)

    @app.get("/private")
    @login_required
    def private():
        return "secret"

    client = app.test_client()
    assert client.get("/login").status_code == 200
    remember = client.get_cookie("remember_token").value
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember)
    no_cookie = app.test_client()
    store.down.update(("read", "write"))
    assert_outage(fresh.get("/private", headers=JSON))
    assert fresh.get_cookie("remember_token").value == remember  # kept
    # Without a remember-me cookie there is nothing to check: the usual 401.
    assert no_cookie.get("/private", headers=JSON).status_code == 401
    assert errors() == []


def test_a_catch_all_error_handler_does_not_turn_an_outage_into_a_500(kind, errors):
    store = FlakyStore()
    app = make_app(kind, store)

    @app.errorhandler(Exception)
    def oops(e):
        # Flask's documented catch-all: HTTP errors pass through.
        if isinstance(e, HTTPException):
            return e
        return "something broke", 500

    @app.get("/bug")
    def bug():
        raise KeyError("a real bug")

    @app.get("/raw")
    def raw():
        # The app's own use of the store: a StoreError, not an HTTP error.
        store.set("mine", b"1")
        return "ok"

    client = app.test_client()
    store.down.add("write")
    assert_outage(client.get("/raw", headers=JSON), reason="store_unavailable")
    assert_outage(client.get("/revoke-all", headers=JSON))
    # Other errors still reach the app's handler.
    assert client.get("/bug").get_data(as_text=True) == "something broke"
