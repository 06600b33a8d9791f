"""Rate limits on Redis: shared by processes, prefixed keys, outages mid-run.

Uses the Redis on 127.0.0.1:6379 only under a unique key prefix (deleted
afterwards); outage tests start and stop their own ``redis-server``.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from hermetic.testing import ManualClock

redis = pytest.importorskip("redis")
limits = pytest.importorskip("limits")

from hermetic import Flask  # noqa: E402
from hermetic.security.breaker import CircuitBreaker  # noqa: E402
from hermetic.security.ratelimit import RateLimitShield, limiter_for, rate_limit  # noqa: E402

SHARED_URI = "redis://127.0.0.1:6379/0"


def _reachable(port: int) -> bool:
    try:
        return bool(redis.Redis(port=port, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


needs_redis = pytest.mark.skipif(
    not _reachable(6379), reason="no Redis server answers on 127.0.0.1:6379"
)


@pytest.fixture
def prefix():
    """A key prefix of this test's own; its keys are deleted afterwards."""
    value = f"hermetic-test:{uuid.uuid4().hex}"
    yield value
    conn = redis.Redis(port=6379, socket_connect_timeout=0.5)
    try:
        keys = list(conn.scan_iter(match=f"{value}:*", count=500))
        if keys:
            conn.delete(*keys)
    except redis.RedisError:
        pass
    finally:
        conn.close()


def make_app(uri, prefix, **config):
    app = Flask(__name__)
    app.testing = True
    app.config.update(
        RATELIMIT_STORAGE_URI=uri, RATELIMIT_STORAGE_OPTIONS={"key_prefix": prefix}, **config
    )
    RateLimitShield().init_app(app)

    @app.get("/")
    @rate_limit("3/minute")
    def index():
        return "ok"

    return app


@needs_redis
@pytest.mark.parametrize("strategy", ["fixed-window", "moving-window", "sliding-window-counter"])
def test_limit_is_hit_on_redis_for_each_strategy(prefix, strategy):
    app = make_app(SHARED_URI, prefix, RATELIMIT_STRATEGY=strategy)
    client = app.test_client()
    codes = [client.get("/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = client.get("/", headers={"Accept": "application/json"})
    assert refused.get_json()["reason"] == "exceeded"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


@needs_redis
def test_headers_and_keys_live_under_the_prefix(prefix):
    app = make_app(SHARED_URI, prefix)
    response = app.test_client().get("/")
    assert response.headers["RateLimit-Limit"] == "3"
    assert response.headers["RateLimit-Remaining"] == "2"
    assert 59 <= int(response.headers["RateLimit-Reset"]) <= 60
    conn = redis.Redis(port=6379)
    keys = list(conn.scan_iter(match=f"{prefix}:*"))
    conn.close()
    assert len(keys) == 1


@needs_redis
def test_fixed_window_is_one_round_trip_with_the_librarys_key_and_ttl(prefix):
    app = make_app(SHARED_URI, prefix)
    limiter = limiter_for(app)

    def forbidden(*args, **kwargs):
        raise AssertionError("a second storage call")

    strategy = limiter.strategy("fixed-window")
    strategy.hit = strategy.get_window_stats = forbidden
    limiter.storage.incr = limiter.storage.get_expiry = forbidden
    client = app.test_client()
    seen = [client.get("/") for _ in range(4)]
    assert [(r.status_code, r.headers["RateLimit-Remaining"]) for r in seen] == [
        (200, "2"),
        (200, "1"),
        (200, "0"),
        (429, "0"),
    ]
    # The key is the library's, with the TTL the library's script sets.
    item = limits.parse("3/minute")
    key = f"{prefix}:{item.key_for('index', '*', 'ip:127.0.0.1')}"
    conn = redis.Redis(port=6379)
    try:
        assert int(conn.get(key)) == 4
        ttl = conn.ttl(key)
    finally:
        conn.close()
    assert 58 <= ttl <= 60
    assert abs(int(seen[-1].headers["Retry-After"]) - ttl) <= 1
    assert seen[-1].headers["RateLimit-Reset"] == seen[-1].headers["Retry-After"]
    del strategy.hit, strategy.get_window_stats, limiter.storage.incr, limiter.storage.get_expiry
    stats = strategy.get_window_stats(item, "index", "*", "ip:127.0.0.1")
    assert stats.remaining == 0


@needs_redis
def test_two_apps_in_one_process_share_the_counter(prefix):
    first = make_app(SHARED_URI, prefix).test_client()
    second = make_app(SHARED_URI, prefix).test_client()
    codes = [c.get("/").status_code for c in (first, second, first, second)]
    assert codes == [200, 200, 200, 429]


@needs_redis
def test_view_hits_and_reset_are_shared(prefix):
    one = limiter_for(make_app(SHARED_URI, prefix))
    two = limiter_for(make_app(SHARED_URI, prefix))
    assert [one.hit("2/minute", "login:ann"), two.hit("2/minute", "login:ann")] == [True, True]
    assert one.hit("2/minute", "login:ann") is False
    two.reset("2/minute", "login:ann")
    assert one.hit("2/minute", "login:ann") is True


_WORKER = textwrap.dedent(
    """
    import json, sys
    from hermetic import Flask
    from hermetic.security.ratelimit import RateLimitShield, rate_limit

    uri, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    app = Flask("worker")
    app.config.update(
        RATELIMIT_STORAGE_URI=uri, RATELIMIT_STORAGE_OPTIONS={"key_prefix": prefix}
    )
    RateLimitShield().init_app(app)

    @app.get("/")
    @rate_limit("7/minute")
    def index():
        return "ok"

    client = app.test_client()
    sys.stdin.readline()  # start together
    print(json.dumps([client.get("/").status_code for _ in range(count)]))
    """
)


@needs_redis
def test_two_app_processes_share_one_limit(prefix):
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, SHARED_URI, prefix, "6"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    try:
        for worker in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        for worker in workers:
            out, err = worker.communicate(timeout=60)
            assert worker.returncode == 0, err
            results.append(json.loads(out))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    codes = results[0] + results[1]
    # 12 requests from two processes against one 7/minute limit.
    assert codes.count(200) == 7
    assert codes.count(429) == 5
    assert all(code in (200, 429) for code in codes)


# -- outages: a Redis of our own, stopped mid-test ------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnRedis:
    """A throw-away ``redis-server`` on a free port, without persistence."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Wait for PING (a readiness poll, not a sleep to pass time in a test).
        deadline = time.monotonic() + 10
        while not _reachable(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    @property
    def uri(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.fixture
def own_redis():
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = OwnRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_outage_fails_closed_with_503_then_recovers(own_redis):
    app = make_app(own_redis.uri, "hermetic-outage")
    clock = ManualClock(1000.0)
    breaker = CircuitBreaker(5.0, now=clock)
    app.extensions["hermetic.breakers"] = {own_redis.uri: breaker}
    client = app.test_client()
    assert client.get("/").status_code == 200
    own_redis.stop()
    down = [client.get("/", headers={"Accept": "application/json"}) for _ in range(2)]
    assert [r.status_code for r in down] == [503, 503]
    assert down[0].get_json()["reason"] == "storage_unavailable"
    assert down[1].headers["Retry-After"] == "5"
    assert breaker.state == "open"
    own_redis.start()  # same port, empty data
    # The breaker holds for its cool-down (no request reaches Redis) ...
    assert client.get("/").status_code == 503
    clock.now += 5
    # ... then one probe finds Redis back and closes it.
    assert [client.get("/").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert not limiter_for(app).in_outage
    assert breaker.state == "closed"


def test_outage_fails_open_when_configured(own_redis):
    app = make_app(own_redis.uri, "hermetic-outage", RATELIMIT_ON_STORAGE_ERROR="open")
    client = app.test_client()
    assert [client.get("/").status_code for _ in range(4)] == [200, 200, 200, 429]
    own_redis.stop()
    codes = [client.get("/").status_code for _ in range(5)]
    assert codes == [200] * 5
    assert limiter_for(app).in_outage
