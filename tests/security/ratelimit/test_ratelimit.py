"""Rate limits: windows with a frozen clock, keys, headers, 429, defaults, outages."""

from __future__ import annotations

import socket

import pytest

from hermetic import Flask, request
from hermetic.security.breaker import breaker_for
from hermetic.security.errors import ConfigurationError
from hermetic.security.ratelimit import (
    Limiter,
    RateLimitExceeded,
    RateLimitShield,
    hit,
    limiter_for,
    rate_limit,
)
from hermetic.security.shields import exempt
from hermetic.testing import ManualClock, limits_clock

JSON = {"Accept": "application/json"}


@pytest.fixture
def clock():
    clock = ManualClock()
    with limits_clock(clock):
        yield clock


@pytest.fixture
def events(audit_events):
    return lambda kind="ratelimit": audit_events(kind)


def install(app, clock, **config):
    app.config.update(config)
    shield = RateLimitShield(now=clock)
    shield.init_app(app)
    return shield


def client_with(app, **environ):
    client = app.test_client()
    client.environ_base.update(environ)
    return client


def statuses(client, path, n, **kwargs):
    return [client.get(path, **kwargs).status_code for _ in range(n)]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- windows, with the clock injected ---------------------------------------


@pytest.mark.parametrize("strategy", ["fixed-window", "moving-window", "sliding-window-counter"])
def test_limit_is_hit_then_resets_for_each_strategy(app, clock, strategy):
    install(app, clock, RATELIMIT_STRATEGY=strategy)

    @app.get("/")
    @rate_limit("3/minute")
    def index():
        return "ok"

    client = app.test_client()
    assert statuses(client, "/", 4) == [200, 200, 200, 429]
    clock.advance(30)
    assert client.get("/").status_code == 429
    # Two full windows later every strategy has forgotten the hits.
    clock.advance(120)
    assert statuses(client, "/", 4) == [200, 200, 200, 429]


def test_fixed_window_resets_all_at_once_and_moving_window_one_by_one(app, clock):
    install(app, clock)

    @app.get("/fixed")
    @rate_limit("2/minute", strategy="fixed-window")
    def fixed():
        return "ok"

    @app.get("/moving")
    @rate_limit("2/minute", strategy="moving-window")
    def moving():
        return "ok"

    client = app.test_client()
    for path in ("/fixed", "/moving"):
        assert client.get(path).status_code == 200
    clock.advance(40)
    for path in ("/fixed", "/moving"):
        assert statuses(client, path, 2) == [200, 429]
    clock.advance(25)  # 65 s after the first hit, 25 s after the second
    assert statuses(client, "/fixed", 3) == [200, 200, 429]
    assert statuses(client, "/moving", 2) == [200, 429]


def test_sliding_window_counter_weighs_the_previous_window(app, clock):
    # Align the clock on a window boundary so the weights are exact.
    clock.now = 60 * 30_000_000.0
    install(app, clock, RATELIMIT_STRATEGY="sliding-window-counter")

    @app.get("/")
    @rate_limit("4/minute")
    def index():
        return "ok"

    client = app.test_client()
    assert statuses(client, "/", 5) == [200] * 4 + [429]
    # Half-way into the next window the 4 old hits still weigh 2.
    clock.advance(90)
    assert statuses(client, "/", 3) == [200, 200, 429]


# -- the refusal ---------------------------------------------------------------


def test_refusal_is_a_429_problem_with_retry_after_and_an_audit_event(app, clock, events):
    install(app, clock)
    calls = []

    @app.get("/")
    @rate_limit("1/minute")
    def index():
        calls.append(1)
        return "ok"

    client = client_with(app, **{"REMOTE_ADDR": "203.0.113.7"})
    assert client.get("/").status_code == 200
    clock.advance(20)
    response = client.get("/", headers=JSON)
    assert response.status_code == 429
    assert calls == [1]  # the view did not run
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 429
    assert problem["reason"] == "exceeded"
    assert "Traceback" not in response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "40"
    assert response.headers["RateLimit-Remaining"] == "0"
    assert response.headers["RateLimit-Limit"] == "1"
    (event,) = events()
    assert event["reason"] == "exceeded"
    assert event["limit"] == "1 per 1 minute"
    assert event["key"] == "ip:203.0.113.7"
    assert event["ip"] == "203.0.113.7"


def test_refusal_is_html_for_browsers(app, clock):
    install(app, clock)

    @app.get("/")
    @rate_limit("1/hour")
    def index():
        return "ok"

    client = app.test_client()
    client.get("/")
    response = client.get("/", headers={"Accept": "text/html"})
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    assert response.headers["Retry-After"] == "3600"


def test_retry_after_is_at_least_one_second(app, clock):
    install(app, clock)

    @app.get("/")
    @rate_limit("1/second")
    def index():
        return "ok"

    client = app.test_client()
    client.get("/")
    clock.advance(0.999)
    assert client.get("/").headers["Retry-After"] == "1"


# -- headers -------------------------------------------------------------------


def test_ratelimit_headers_count_down_and_reset_in_seconds(app, clock):
    install(app, clock)

    @app.get("/")
    @rate_limit("3/minute")
    def index():
        return "ok"

    client = app.test_client()
    first = client.get("/")
    assert (
        first.headers["RateLimit-Limit"],
        first.headers["RateLimit-Remaining"],
        first.headers["RateLimit-Reset"],
    ) == ("3", "2", "60")
    clock.advance(15)
    second = client.get("/")
    assert second.headers["RateLimit-Remaining"] == "1"
    assert second.headers["RateLimit-Reset"] == "45"


def test_headers_name_the_tightest_of_stacked_limits(app, clock):
    install(app, clock)

    @app.get("/")
    @rate_limit("5/minute")
    @rate_limit("2/second")
    def index():
        return "ok"

    client = app.test_client()
    response = client.get("/")
    assert response.headers["RateLimit-Limit"] == "2"
    assert response.headers["RateLimit-Remaining"] == "1"
    assert client.get("/").status_code == 200
    assert client.get("/").status_code == 429  # the per-second limit
    clock.advance(1)
    assert statuses(client, "/", 3) == [200, 200, 429]  # now the per-minute one
    refused = client.get("/")
    assert refused.headers["RateLimit-Limit"] == "5"


def test_headers_only_on_limited_routes_and_can_be_switched_off(app, clock):
    install(app, clock)

    @app.get("/free")
    def free():
        return "ok"

    @app.get("/limited")
    @rate_limit("2/minute")
    def limited():
        return "ok"

    client = app.test_client()
    assert "RateLimit-Limit" not in client.get("/free").headers
    assert "RateLimit-Limit" in client.get("/limited").headers

    quiet = Flask("quiet")
    install(quiet, clock, RATELIMIT_HEADERS=False)
    quiet.get("/")(rate_limit("1/minute")(lambda: "ok"))
    qclient = quiet.test_client()
    assert "RateLimit-Limit" not in qclient.get("/").headers
    refused = qclient.get("/")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"


def test_a_view_may_set_its_own_ratelimit_headers(app, clock):
    install(app, clock)

    @app.get("/")
    @rate_limit("2/minute")
    def index():
        return "ok", {"RateLimit-Limit": "999"}

    assert app.test_client().get("/").headers["RateLimit-Limit"] == "999"


# -- keys ----------------------------------------------------------------------


def test_ip_key_counts_each_client_address_apart(app, clock):
    install(app, clock)

    @app.get("/")
    @rate_limit("2/minute")
    def index():
        return "ok"

    one = client_with(app, **{"REMOTE_ADDR": "198.51.100.1"})
    two = client_with(app, **{"REMOTE_ADDR": "198.51.100.2"})
    assert statuses(one, "/", 3) == [200, 200, 429]
    assert statuses(two, "/", 3) == [200, 200, 429]


def test_forged_forwarded_for_does_not_change_the_key_without_trusted_proxies(app, clock):
    install(app, clock)

    @app.get("/")
    @rate_limit("2/minute")
    def index():
        return "ok"

    client = client_with(app, **{"REMOTE_ADDR": "198.51.100.1"})
    codes = [
        client.get("/", headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code for i in range(3)
    ]
    assert codes == [200, 200, 429]


def test_trusted_proxy_hop_makes_the_forwarded_client_the_key(app, clock):
    proxies = pytest.importorskip("hermetic.security.proxies")
    app.config["TRUSTED_PROXY_HOPS"] = 1
    proxies.ProxyShield().init_app(app)
    install(app, clock)

    @app.get("/")
    @rate_limit("1/minute")
    def index():
        return request.remote_addr

    client = client_with(app, **{"REMOTE_ADDR": "10.0.0.1"})  # the proxy
    first = client.get("/", headers={"X-Forwarded-For": "192.0.2.1"})
    assert first.get_data(as_text=True) == "192.0.2.1"
    assert client.get("/", headers={"X-Forwarded-For": "192.0.2.2"}).status_code == 200
    assert client.get("/", headers={"X-Forwarded-For": "192.0.2.1"}).status_code == 429
    # A client cannot prepend a value: only the rightmost hop is trusted.
    spoof = client.get("/", headers={"X-Forwarded-For": "192.0.2.9, 192.0.2.1"})
    assert spoof.status_code == 429


def test_routes_count_apart_unless_they_share_a_scope(app, clock):
    install(app, clock)

    @app.get("/a")
    @rate_limit("1/minute")
    def a():
        return "a"

    @app.get("/b")
    @rate_limit("1/minute")
    def b():
        return "b"

    @app.post("/login")
    @rate_limit("2/minute", scope="auth")
    def login():
        return "login"

    @app.post("/reset")
    @rate_limit("2/minute", scope="auth")
    def reset():
        return "reset"

    client = app.test_client()
    assert [client.get("/a").status_code, client.get("/b").status_code] == [200, 200]
    assert [client.get("/a").status_code, client.get("/b").status_code] == [429, 429]
    assert client.post("/login").status_code == 200
    assert client.post("/reset").status_code == 200
    assert client.post("/login").status_code == 429
    assert client.post("/reset").status_code == 429


def test_per_method_counts_each_method_apart(app, clock):
    install(app, clock)

    @app.route("/shared", methods=["GET", "POST"])
    @rate_limit("1/minute")
    def shared():
        return "ok"

    @app.route("/split", methods=["GET", "POST"])
    @rate_limit("1/minute", per_method=True)
    def split():
        return "ok"

    client = app.test_client()
    assert [client.get("/shared").status_code, client.post("/shared").status_code] == [200, 429]
    assert [client.get("/split").status_code, client.post("/split").status_code] == [200, 200]
    assert client.post("/split").status_code == 429


def test_user_key_counts_users_apart_and_anonymous_clients_by_ip(app, clock):
    install(app, clock)

    @app.get("/")
    @rate_limit("1/minute", key="user")
    def index():
        return "ok"

    same_ip = {"REMOTE_ADDR": "198.51.100.1"}
    alice = client_with(app, **{**same_ip, "hermetic.user_id": "alice"})
    bob = client_with(app, **{**same_ip, "hermetic.user_id": "bob"})
    anon = client_with(app, **same_ip)
    assert statuses(alice, "/", 2) == [200, 429]
    assert statuses(bob, "/", 2) == [200, 429]
    assert statuses(anon, "/", 2) == [200, 429]
    # A user id that looks like an address does not share that address's counter.
    ip_lookalike = client_with(
        app, **{"REMOTE_ADDR": "198.51.100.9", "hermetic.user_id": "198.51.100.1"}
    )
    assert ip_lookalike.get("/").status_code == 200


def test_subject_key_counts_token_subjects_apart(app, clock):
    install(app, clock)

    @app.get("/api")
    @rate_limit("1/minute", key="subject")
    def api():
        return "ok"

    base = {"REMOTE_ADDR": "198.51.100.1"}
    svc_a = client_with(app, **{**base, "hermetic.user_id": "svc-a"})
    svc_b = client_with(app, **{**base, "hermetic.user_id": "svc-b"})
    assert statuses(svc_a, "/api", 2) == [200, 429]
    assert statuses(svc_b, "/api", 2) == [200, 429]


def test_a_huge_identity_is_hashed_into_a_bounded_key(app, clock, events):
    install(app, clock)

    @app.get("/")
    @rate_limit("1/minute", key="user")
    def index():
        return "ok"

    client = client_with(app, **{"hermetic.user_id": "x" * 10_000})
    assert statuses(client, "/", 2) == [200, 429]
    (event,) = events()
    assert event["key"].startswith("user:sha256:") and len(event["key"]) < 100


def test_callable_key_and_missing_value_falls_back_to_the_ip(app, clock):
    install(app, clock)

    def api_key(req):
        return req.headers.get("X-Api-Key")

    @app.get("/")
    @rate_limit("1/minute", key=api_key)
    def index():
        return "ok"

    client = app.test_client()
    assert client.get("/", headers={"X-Api-Key": "k1"}).status_code == 200
    assert client.get("/", headers={"X-Api-Key": "k2"}).status_code == 200
    assert client.get("/", headers={"X-Api-Key": "k1"}).status_code == 429
    # Leaving the header out is not a way around the limit.
    assert statuses(client, "/", 2) == [200, 429]


# -- default limit, exemption, scope of the shield -----------------------------


def test_default_limit_applies_to_routes_without_their_own(app, clock):
    install(app, clock, RATELIMIT_DEFAULT="2/minute")

    @app.get("/plain")
    def plain():
        return "ok"

    @app.get("/own")
    @rate_limit("3/minute")
    def own():
        return "ok"

    @app.get("/open")
    @exempt("ratelimit")
    def open_():
        return "ok"

    client = app.test_client()
    assert statuses(client, "/plain", 3) == [200, 200, 429]
    assert statuses(client, "/own", 4) == [200, 200, 200, 429]
    assert statuses(client, "/open", 5) == [200] * 5
    assert "RateLimit-Limit" not in client.get("/open").headers


def test_exempt_skips_declared_limits_too(app, clock):
    install(app, clock)

    @app.get("/")
    @exempt("ratelimit")
    @rate_limit("1/minute")
    def index():
        return "ok"

    assert statuses(app.test_client(), "/", 3) == [200] * 3


def test_unknown_urls_and_disabled_limits_count_nothing(app, clock):
    install(app, clock, RATELIMIT_DEFAULT="1/minute", RATELIMIT_ENABLED=True)
    client = app.test_client()
    assert statuses(client, "/nowhere", 3) == [404] * 3
    assert "RateLimit-Limit" not in client.get("/nowhere").headers

    off = Flask("off")
    install(off, clock, RATELIMIT_DEFAULT="1/minute", RATELIMIT_ENABLED=False)
    off.get("/")(lambda: "ok")
    assert statuses(off.test_client(), "/", 3) == [200] * 3


def test_describe_names_the_limits_of_a_route(app, clock):
    install(app, clock, RATELIMIT_DEFAULT="100/minute")

    @app.get("/")
    @rate_limit("10/minute", key="user")
    def index():
        return "ok"

    app.get("/other")(lambda: "ok")
    assert app.shields.describe("index") == "ratelimit(10/minute by user)"
    assert app.shields.describe("<lambda>") == "ratelimit(100/minute by ip)"


# -- configuration errors, at start-up -----------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"limit": "lots"},
        {"limit": "0/minute"},
        {"limit": 10},
        {"limit": "1/minute", "key": "cookie"},
        {"limit": "1/minute", "strategy": "token-bucket"},
        {"limit": "1/minute", "scope": ""},
    ],
)
def test_bad_declarations_fail_at_import_time(kwargs):
    limit = kwargs.pop("limit")
    with pytest.raises(ConfigurationError):
        rate_limit(limit, **kwargs)


@pytest.mark.parametrize(
    "config",
    [
        {"RATELIMIT_DEFAULT": "often"},
        {"RATELIMIT_STRATEGY": "leaky"},
        {"RATELIMIT_ON_STORAGE_ERROR": "sometimes"},
        {"RATELIMIT_STORAGE_URI": "localhost"},
        {"RATELIMIT_STORAGE_OPTIONS": "key_prefix=x"},
    ],
)
def test_bad_settings_stop_init_app(app, config):
    app.config.update(config)
    with pytest.raises(ConfigurationError):
        RateLimitShield().init_app(app)


def test_unknown_storage_scheme_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="RATELIMIT_STORAGE_URI"):
        Limiter("nosuch://host")


def test_one_shield_serves_one_app(app):
    shield = RateLimitShield()
    shield.init_app(app)
    with pytest.raises(RuntimeError):
        shield.init_app(Flask("other"))


# -- counting in views ----------------------------------------------------------


def test_hit_counts_failed_logins_per_account_and_reset_forgets_them(app, clock, events):
    install(app, clock)

    @app.post("/login/<name>")
    def login(name):
        if not hit("2/minute", f"login:{name}", scope="login"):
            raise RateLimitExceeded()
        if request.args.get("ok"):
            limiter_for(app).reset("2/minute", f"login:{name}", scope="login")
        return "tried"

    client = app.test_client()
    assert [client.post("/login/ann").status_code for _ in range(3)] == [200, 200, 429]
    assert client.post("/login/bob").status_code == 200
    (event,) = events()
    assert event["key"] == "login:ann"
    clock.advance(60)
    assert client.post("/login/ann?ok=1").status_code == 200
    assert client.post("/login/ann").status_code == 200
    assert client.post("/login/ann").status_code == 200
    assert limiter_for(app).test("2/minute", "login:ann", scope="login") is False


def test_limiter_for_builds_one_limiter_per_app_without_the_shield(clock):
    plain = Flask("plain")
    limiter = limiter_for(plain)
    assert limiter_for(plain) is limiter
    assert [limiter.hit("1/minute", "k") for _ in range(2)] == [True, False]
    assert limiter.hit("1/minute", "k", strategy="moving-window") is True


# -- storage outages (a Redis URL where nothing listens) -----------------------


@pytest.fixture
def dead_redis_uri():
    return f"redis://127.0.0.1:{_free_port()}/0"


def test_storage_down_fails_closed_with_503_by_default(app, clock, events, dead_redis_uri):
    install(app, clock, RATELIMIT_STORAGE_URI=dead_redis_uri)
    calls = []

    @app.get("/")
    @rate_limit("5/minute")
    def index():
        calls.append(1)
        return "ok"

    client = app.test_client()
    response = client.get("/", headers=JSON)
    assert response.status_code == 503
    assert response.get_json()["reason"] == "storage_unavailable"
    assert "127.0.0.1" not in response.get_data(as_text=True)
    assert calls == []
    assert client.get("/").status_code == 503
    assert [e["reason"] for e in events()] == ["storage_unavailable"] * 2


def test_storage_down_fails_open_when_configured_audited_once(
    app, clock, events, caplog, dead_redis_uri
):
    install(app, clock, RATELIMIT_STORAGE_URI=dead_redis_uri, RATELIMIT_ON_STORAGE_ERROR="open")

    @app.get("/")
    @rate_limit("1/minute")
    def index():
        return "ok"

    client = app.test_client()
    responses = [client.get("/") for _ in range(3)]
    assert [r.status_code for r in responses] == [200] * 3
    assert "RateLimit-Limit" not in responses[0].headers
    assert [(e["reason"], e["action"]) for e in events()] == [("storage_unavailable", "allow")]
    warnings = [r for r in caplog.records if r.name == "hermetic.security.ratelimit"]
    assert len(warnings) == 1 and "ConnectionError" in warnings[0].getMessage()


def test_hit_in_a_view_follows_the_outage_policy(clock, dead_redis_uri):
    closed = Flask("closed")
    closed.config["RATELIMIT_STORAGE_URI"] = dead_redis_uri
    opened = Flask("opened")
    opened.config.update(RATELIMIT_STORAGE_URI=dead_redis_uri, RATELIMIT_ON_STORAGE_ERROR="open")
    for app in (closed, opened):
        app.post("/login")(lambda: "ok" if hit("1/minute", "login:x") else ("no", 429))
    assert closed.test_client().post("/login").status_code == 503
    assert opened.test_client().post("/login").status_code == 200
    assert limiter_for(opened).in_outage


def test_hermetic_redis_url_is_the_default_storage():
    app = Flask("shared")
    app.config["HERMETIC_REDIS_URL"] = "redis://127.0.0.1:1/3"
    limiter = limiter_for(app)
    assert type(limiter.storage).__name__ == "RedisStorage"
    assert limiter.storage.key_prefix == "hermetic-ratelimit"
    # One breaker for the one Redis: the app's store gets the same.
    assert limiter.breaker is breaker_for(app, "redis://127.0.0.1:1/3")


def test_the_apps_own_redis_url_is_not_taken_over(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/4")
    app = Flask("queue")
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/3"
    assert type(limiter_for(app).storage).__name__ == "MemoryStorage"


def test_storage_uri_overrides_for_the_limiter_only():
    app = Flask("split")
    app.config["HERMETIC_REDIS_URL"] = "redis://127.0.0.1:1/3"
    app.config["RATELIMIT_STORAGE_URI"] = "memory://"
    assert type(limiter_for(app).storage).__name__ == "MemoryStorage"


# -- identities from the auth and JWT layers ------------------------------------


def test_user_key_reads_the_login_managers_user(app, clock):
    auth = pytest.importorskip("hermetic.security.auth")
    app.config["SECRET_KEY"] = "x" * 40

    class User(auth.UserMixin):
        def __init__(self, uid):
            self.id = uid

    class HeaderProvider:
        def identify(self, req):
            name = req.headers.get("X-User")
            return User(name) if name else None

    manager = auth.LoginManager(app)
    manager.user_loader(lambda uid: None)
    manager.add_provider(HeaderProvider())
    install(app, clock)

    @app.get("/")
    @rate_limit("1/minute", key="user")
    def index():
        return "ok"

    client = client_with(app, REMOTE_ADDR="198.51.100.1")
    assert client.get("/", headers={"X-User": "ann"}).status_code == 200
    assert client.get("/", headers={"X-User": "ann"}).status_code == 429
    assert client.get("/", headers={"X-User": "bob"}).status_code == 200
    assert statuses(client, "/", 2) == [200, 429]  # anonymous: by IP


def test_subject_key_reads_the_bearer_tokens_sub(app, clock):
    jwt = pytest.importorskip("hermetic.security.jwt")
    key = jwt.generate_signing_key("EdDSA", kid="k1")
    app.config.update(
        JWT_ISSUER="https://issuer.test",
        JWT_SIGNING_KEYS=[{"kid": "k1", "alg": "EdDSA", "pem": jwt.private_pem(key)}],
        JWT_AUDIENCE="notes",
        JWT_REPLAY_CHECK=False,
    )
    tokens = jwt.JWTAuth(app)
    install(app, clock)

    @app.get("/notes")
    @rate_limit("1/minute", key="subject")
    def notes():
        return "ok"

    client = client_with(app, REMOTE_ADDR="198.51.100.1")

    def bearer(sub):
        return {"Authorization": f"Bearer {tokens.issue(sub, 'notes')}"}

    assert client.get("/notes", headers=bearer("svc-a")).status_code == 200
    assert client.get("/notes", headers=bearer("svc-a")).status_code == 429
    assert client.get("/notes", headers=bearer("svc-b")).status_code == 200
    # A forged token is counted by IP (token guessing is limited too).
    forged = {"Authorization": "Bearer not.a.token"}
    assert client.get("/notes", headers=forged).status_code == 200
    assert client.get("/notes", headers=forged).status_code == 429


def _hermetic(name):
    import secrets

    try:
        from hermetic.security.profile import Hermetic

        app = Hermetic(name)
    except ImportError as e:  # pragma: no cover - until every module exists
        pytest.skip(f"hermetic.Hermetic is not importable yet ({e})")
    app.config.update(TESTING=True, SECRET_KEY=secrets.token_urlsafe(48))
    return app


def test_works_on_the_hermetic_profile(clock):
    app = _hermetic("hermetic_ratelimit_tests")
    install(app, clock, RATELIMIT_DEFAULT="2/minute")

    @app.get("/")
    def index():
        return "ok"

    client = app.test_client()
    assert statuses(client, "/", 2) == [200, 200]
    refused = client.get("/", headers=JSON)
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert refused.headers["Retry-After"] == "60"
    assert refused.headers["RateLimit-Remaining"] == "0"


def test_a_failing_key_function_is_not_taken_for_a_storage_outage(app, clock):
    install(app, clock, RATELIMIT_ON_STORAGE_ERROR="open")

    def broken(req):
        raise ValueError("bug in the key function")

    @app.get("/")
    @rate_limit("1/minute", key=broken)
    def index():
        return "ok"

    with pytest.raises(ValueError, match="bug in the key"):
        app.test_client().get("/")
    assert not limiter_for(app).in_outage


@pytest.mark.parametrize("make", ["shield", "limiter"])
def test_clock_is_the_deprecated_name_of_now(make):
    clock = ManualClock()
    with pytest.warns(DeprecationWarning, match="pass now="):
        if make == "shield":
            RateLimitShield(clock=clock)
        else:
            assert Limiter("memory://", clock=clock).now is clock


@pytest.mark.parametrize(
    "own",
    [
        [],
        [("X-Request-Id", "1")],
        [("ratelimit-remaining", "7")],
        [("RATELIMIT-LIMIT", "9"), ("RateLimit-Reset", "1")],
    ],
)
def test_headers_appended_whole_are_what_setdefault_adds(app, clock, own):
    """The one-pass append gives the headers ``Headers.setdefault`` would (a view's own win)."""
    install(app, clock)

    @app.get("/")
    @rate_limit("5/minute")
    def index():
        return "ok", 200, own

    got = app.test_client().get("/").headers
    ours = {"ratelimit-limit": "5", "ratelimit-remaining": "4", "ratelimit-reset": "60"}
    mine = {name.lower(): value for name, value in own}
    for lower, value in ours.items():
        # Exactly one of each: the view's own when it set one, else ours.
        assert got.getlist(lower) == [mine.get(lower, value)]
    assert got.get("X-Request-Id") == mine.get("x-request-id")


def test_limiter_asks_the_breaker_only_when_it_is_not_closed(monkeypatch):
    from hermetic.security.breaker import CircuitBreaker, CircuitOpenError
    from hermetic.security.ratelimit import Limiter

    clock = [1000.0]
    breaker = CircuitBreaker(5.0, now=lambda: clock[0])
    limiter = Limiter("memory://", breaker=breaker)
    asked = []
    for name in ("allow", "success"):
        real = getattr(CircuitBreaker, name)
        monkeypatch.setattr(
            CircuitBreaker, name, lambda self, _n=name, _r=real: (asked.append(_n), _r(self))[1]
        )
    limiter.check_breaker()
    limiter.storage_ok()
    assert asked == []  # closed: allow() would say yes, success() has nothing to do
    breaker.failure()
    with pytest.raises(CircuitOpenError):
        limiter.check_breaker()
    assert asked == ["allow"]
    clock[0] += 6  # the cool-down is over: one probe, then its success closes it
    limiter.check_breaker()
    assert breaker.state == "half-open"
    limiter.storage_ok()
    assert asked == ["allow", "allow", "success"]
    assert breaker.state == "closed"
