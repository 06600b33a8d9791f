"""Stores: the same contract on memory and Redis, expiry, atomicity, bounds."""

from __future__ import annotations

import logging
import threading
import uuid

import pytest

import hermetic
from hermetic.security.breaker import breaker_for
from hermetic.security.stores import (
    MemoryStore,
    RedisStore,
    Store,
    StoreError,
    StoreUnavailable,
    store_for,
)
from hermetic.testing import ManualClock

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_client():
    redis = pytest.importorskip("redis", reason="redis-py is not installed")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5, socket_timeout=2)
    try:
        client.ping()
    except redis.exceptions.RedisError:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    return client


@pytest.fixture
def redis_store():
    client = _redis_client()
    prefix = f"hermetic-test:{uuid.uuid4().hex}:"
    store = RedisStore(client, prefix=prefix)
    yield store
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(params=["memory", "redis"])
def store(request):
    if request.param == "memory":
        return MemoryStore()
    return request.getfixturevalue("redis_store")


def test_get_set_delete(store):
    assert store.get("k") is None
    store.set("k", b"v")
    assert store.get("k") == b"v"
    store.set("k", b"w", ttl=60)
    assert store.get("k") == b"w"
    store.delete("k")
    assert store.get("k") is None
    store.delete("missing")  # no error


def test_get_many(store):
    store.set("a", b"1")
    store.set("c", b"3")
    assert store.get_many(["a", "b", "c"]) == [b"1", None, b"3"]
    assert store.get_many([]) == []


def test_add_is_set_if_absent(store):
    assert store.add("once", b"first", ttl=60) is True
    assert store.add("once", b"second", ttl=60) is False
    assert store.get("once") == b"first"


def test_incr_counts(store):
    assert [store.incr("n", ttl=60) for _ in range(3)] == [1, 2, 3]
    assert store.get("n") == b"3"
    assert store.incr("no-ttl") == 1


def test_sets(store):
    assert store.smembers("s") == set()
    store.sadd("s", "a", ttl=60)
    store.sadd("s", "b", ttl=60)
    store.sadd("s", "a", ttl=60)
    assert store.smembers("s") == {"a", "b"}
    store.srem("s", "a")
    assert store.smembers("s") == {"b"}
    store.srem("s", "b")
    store.srem("missing", "x")
    assert store.smembers("s") == set()
    store.sadd("forever", "a")
    assert store.smembers("forever") == {"a"}


@pytest.mark.parametrize("ttl", [0, -1])
def test_non_positive_ttl_is_refused(store, ttl):
    with pytest.raises(ValueError):
        store.set("k", b"v", ttl=ttl)
    with pytest.raises(ValueError):
        store.incr("k", ttl=ttl)


def test_wrong_type_is_a_store_error(store):
    store.sadd("s", "a")
    with pytest.raises(StoreError):
        store.get("s")
    with pytest.raises(StoreError):
        store.incr("s")
    store.set("plain", b"x")
    with pytest.raises(StoreError):
        store.smembers("plain")
    with pytest.raises(StoreError):
        store.incr("plain")


def test_incr_is_atomic_under_threads(store):
    def work():
        for _ in range(50):
            store.incr("race", ttl=60)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.get("race") == b"400"


def test_add_is_atomic_under_threads(store):
    wins = []
    barrier = threading.Barrier(8)

    def work(i):
        barrier.wait()
        if store.add("lock", str(i).encode(), ttl=60):
            wins.append(i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1


# -- expiry: memory with a frozen clock, Redis by its own TTLs ------------


def test_memory_expiry_with_injected_clock():
    clock = ManualClock(1_000_000.0)
    store = MemoryStore(now=clock)
    store.set("k", b"v", ttl=10)
    store.add("a", b"v", ttl=10)
    store.sadd("s", "m", ttl=10)
    clock.now += 9.9
    assert store.get("k") == b"v" and store.smembers("s") == {"m"}
    assert store.add("a", b"w", ttl=10) is False
    clock.now += 0.2
    assert store.get("k") is None
    assert store.smembers("s") == set()
    assert store.add("a", b"w", ttl=10) is True


def test_memory_incr_keeps_expiry_of_creation():
    clock = ManualClock(1_000_000.0)
    store = MemoryStore(now=clock)
    assert store.incr("n", ttl=10) == 1
    clock.now += 8
    assert store.incr("n", ttl=10) == 2  # does not extend the window
    clock.now += 3
    assert store.incr("n", ttl=10) == 1  # a new window


def test_memory_sadd_refreshes_expiry():
    clock = ManualClock(1_000_000.0)
    store = MemoryStore(now=clock)
    store.sadd("s", "a", ttl=10)
    clock.now += 8
    store.sadd("s", "b", ttl=10)
    clock.now += 8
    assert store.smembers("s") == {"a", "b"}


def test_memory_sweep_drops_expired_keys():
    clock = ManualClock(1_000_000.0)
    store = MemoryStore(now=clock, sweep_interval=60)
    for i in range(100):
        store.set(f"k{i}", b"v", ttl=5)
    clock.now += 61
    store.set("trigger", b"v")
    assert len(store) == 1


def test_memory_is_bounded_evicting_expired_then_oldest():
    clock = ManualClock(1_000_000.0)
    store = MemoryStore(now=clock, max_entries=10)
    store.set("short", b"v", ttl=1)
    for i in range(9):
        store.set(f"k{i}", b"v")
    clock.now += 2
    store.set("new", b"v")  # full: the expired key goes first
    assert store.get("k0") == b"v" and store.get("new") == b"v"
    store.set("newer", b"v")  # full, nothing expired: the oldest goes
    assert len(store) <= 10
    assert store.get("k0") is None
    assert store.get("newer") == b"v"


def test_memory_rewrite_moves_key_to_the_young_end():
    store = MemoryStore(max_entries=3)
    store.set("a", b"1")
    store.set("b", b"1")
    store.set("c", b"1")
    store.set("a", b"2")
    store.set("d", b"1")
    assert store.get("a") == b"2" and store.get("b") is None


def test_memory_store_rejects_zero_entries():
    with pytest.raises(ValueError):
        MemoryStore(max_entries=0)


def test_redis_sets_expiry_on_creation(redis_store):
    client = redis_store.client
    p = redis_store.prefix
    redis_store.set("k", b"v", ttl=30)
    assert 0 < client.pttl(p + "k") <= 30_000
    redis_store.set("forever", b"v")
    assert client.pttl(p + "forever") == -1
    redis_store.incr("n", ttl=30)
    client.pexpire(p + "n", 5_000)
    redis_store.incr("n", ttl=30)  # a later increment keeps the first expiry
    assert client.pttl(p + "n") <= 5_000
    redis_store.sadd("s", "a", ttl=0.5)
    assert 0 < client.pttl(p + "s") <= 500
    redis_store.add("once", b"v", ttl=30)
    assert 0 < client.pttl(p + "once") <= 30_000


def test_redis_keys_are_prefixed(redis_store):
    redis_store.set("k", b"v")
    assert redis_store.client.get(redis_store.prefix + "k") == b"v"


def test_redis_repr_hides_url():
    store = RedisStore("redis://:hunter2-password@127.0.0.1:1/0")
    assert "hunter2" not in repr(store)


def test_redis_unreachable_raises_store_unavailable():
    store = RedisStore("redis://127.0.0.1:1/0")  # nothing listens on port 1
    assert issubclass(StoreUnavailable, StoreError)
    for call in (
        lambda: store.get("k"),
        lambda: store.set("k", b"v", ttl=1),
        lambda: store.add("k", b"v", ttl=1),
        lambda: store.incr("k", ttl=1),
        lambda: store.sadd("k", "m", ttl=1),
        lambda: store.get_many(["k"]),
    ):
        with pytest.raises(StoreUnavailable) as info:
            call()
        assert "hunter2" not in str(info.value)


# -- store_for -----------------------------------------------------------


@pytest.fixture
def bare_app(monkeypatch):
    monkeypatch.delenv("HERMETIC_REDIS_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("HERMETIC_STORE_PREFIX", raising=False)
    return hermetic.Flask(__name__)


def test_store_for_defaults_to_memory_and_caches(bare_app):
    store = store_for(bare_app)
    assert isinstance(store, MemoryStore)
    assert store_for(bare_app) is store
    assert bare_app.extensions["hermetic.store"] is store


def test_store_for_uses_a_store_put_in_extensions(bare_app):
    mine = MemoryStore()
    bare_app.extensions["hermetic.store"] = mine
    assert store_for(bare_app) is mine


def test_store_for_redis_from_config(bare_app):
    bare_app.config["HERMETIC_REDIS_URL"] = REDIS_URL
    bare_app.config["HERMETIC_STORE_PREFIX"] = "myapp:"
    store = store_for(bare_app)
    assert isinstance(store, RedisStore) and store.prefix == "myapp:"


def test_store_for_redis_from_environment(bare_app, monkeypatch):
    monkeypatch.setenv("HERMETIC_REDIS_URL", REDIS_URL)
    store = store_for(bare_app)
    assert isinstance(store, RedisStore) and store.prefix == "hermetic:"


@pytest.mark.parametrize("where", ["config", "environment"])
def test_the_apps_own_redis_url_is_not_taken_over(bare_app, monkeypatch, caplog, where):
    # The app's REDIS_URL names its job queue: Hermetic keeps off it, and says so once.
    if where == "config":
        bare_app.config["REDIS_URL"] = REDIS_URL
    else:
        monkeypatch.setenv("REDIS_URL", REDIS_URL)
    with caplog.at_level(logging.WARNING, logger="hermetic.security.store"):
        store = store_for(bare_app)
        assert store_for(bare_app) is store
    assert isinstance(store, MemoryStore)
    warnings = [r.getMessage() for r in caplog.records if "REDIS_URL" in r.getMessage()]
    assert len(warnings) == 1 and "HERMETIC_REDIS_URL" in warnings[0]


def test_store_for_shares_one_breaker_per_url(bare_app):
    bare_app.config["HERMETIC_REDIS_URL"] = REDIS_URL
    bare_app.config["HERMETIC_STORE_COOLDOWN"] = 2
    store = store_for(bare_app)
    assert store.breaker is breaker_for(bare_app, REDIS_URL)
    assert store.breaker.cooldown == 2.0


def test_store_interface_is_abstract():
    store = Store()
    for call in (
        lambda: store.get("k"),
        lambda: store.set("k", b"v"),
        lambda: store.delete("k"),
        lambda: store.add("k", b"v"),
        lambda: store.incr("k"),
        lambda: store.sadd("k", "m"),
        lambda: store.smembers("k"),
        lambda: store.srem("k", "m"),
    ):
        with pytest.raises(NotImplementedError):
            call()


def test_memory_get_many_reads_once_and_drops_expired_keys():
    clock = ManualClock(1_000_000.0)
    readings = []

    def counting_clock():
        readings.append(1)
        return clock()

    store = MemoryStore(now=counting_clock)
    store.set("a", b"1", ttl=10)
    store.set("b", b"2")
    store.sadd("s", "m")
    clock.now += 11
    readings.clear()
    assert store.get_many(["a", "b", "missing", "b"]) == [None, b"2", None, b"2"]
    assert len(readings) == 1  # one clock reading for the lot
    assert "a" not in store._data  # expired: dropped when read
    with pytest.raises(StoreError):
        store.get_many(["b", "s"])


def test_hermetic_says_once_at_start_up_that_redis_url_is_not_its_own(caplog):
    app = hermetic.Hermetic(__name__)
    app.config.update(
        SECRET_KEY="Zq3-start-up-key-9fKx2LmP7wRt4YbN8cVh1JdS6gUe5", REDIS_URL=REDIS_URL
    )

    @app.get("/")
    def index():
        hermetic.session["x"] = 1  # the store is used too: still one warning
        return "ok"

    with caplog.at_level(logging.WARNING, logger="hermetic.security.store"):
        client = app.test_client()
        assert [client.get("/").status_code for _ in range(3)] == [200] * 3
    warnings = [r.getMessage() for r in caplog.records if "REDIS_URL is set" in r.getMessage()]
    assert len(warnings) == 1
    assert isinstance(store_for(app), MemoryStore)
