"""The shield's one-call fixed-window path, checked against the ``limits`` library.

The shield counts a fixed window with one storage call (``incr``) and reads
the reset from the window's end, instead of the library's ``hit`` plus
``get_window_stats``. These tests hold the shortcut to the library's own
answers: the same storage keys, the same ``RateLimit-*`` and ``Retry-After``
values at every step, and the same 429 at the boundary, for every strategy.
"""

from __future__ import annotations

import math

import limits.limits
import pytest
from werkzeug.datastructures import Headers

from hermetic import Flask
from hermetic.security.ratelimit import (
    Limiter,
    RateLimitShield,
    limiter_for,
    rate_limit,
)
from hermetic.security.ratelimit._shield import STATE_KEY
from hermetic.testing import ManualClock, limits_clock

STRATEGIES = ["fixed-window", "moving-window", "sliding-window-counter"]
CLIENT_KEY = "ip:127.0.0.1"
START = 60 * 30_000_000.0  # on a window boundary, so sliding weights are exact


def _app(clock, strategy, limit="3/minute", **config):
    app = Flask(__name__)
    app.testing = True
    app.config.update(RATELIMIT_STRATEGY=strategy, **config)
    shield = RateLimitShield(now=clock)
    shield.init_app(app)

    @app.route("/", methods=["GET", "POST"])
    @rate_limit(limit)
    def index():
        return "ok"

    return app, shield


def _seen(response):
    h = response.headers
    return (
        response.status_code,
        h.get("RateLimit-Limit"),
        h.get("RateLimit-Remaining"),
        h.get("RateLimit-Reset"),
        h.get("Retry-After"),
    )


def _library_view(app, clock, item, status):
    """What the library itself says of the window after a request."""
    stats = limiter_for(app).strategy().get_window_stats(item, "index", "*", CLIENT_KEY)
    seconds = stats.reset_time - clock()
    if status == 429:
        retry = str(max(1, math.ceil(seconds)))
        return (429, str(item.amount), "0", retry, retry)
    return (
        200,
        str(item.amount),
        str(stats.remaining),
        str(max(0, math.ceil(seconds))),
        None,
    )


# Seconds to wait before each request: three hits, one over, one into the
# next window, and a few more.
SCRIPT = [0, 10, 10, 10, 31, 0.25, 0.25, 0.25, 30]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_headers_equal_the_librarys_window_stats_at_every_step(strategy):
    clock = ManualClock(START)
    with limits_clock(clock):
        app, shield = _app(clock, strategy)
        client = app.test_client()
        item = limits.parse("3/minute")
        for wait in SCRIPT:
            clock.advance(wait)
            seen = _seen(client.get("/"))
            assert seen == _library_view(app, clock, item, seen[0]), (strategy, clock())
        (bound,) = shield._routes["index"]
        assert (bound.counter is not None) == (strategy == "fixed-window")


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (
            "fixed-window",
            [
                (200, "3", "2", "60", None),
                (200, "3", "1", "50", None),
                (200, "3", "0", "40", None),
                (429, "3", "0", "30", "30"),  # the boundary
                (200, "3", "2", "60", None),  # a new window at 61 s
            ],
        ),
        (
            "moving-window",
            [
                (200, "3", "2", "60", None),
                (200, "3", "1", "50", None),
                (200, "3", "0", "40", None),
                (429, "3", "0", "30", "30"),
                (200, "3", "0", "9", None),  # the hit at 0 s left; 10 s one leaves at 70
            ],
        ),
    ],
)
@pytest.mark.parametrize("one_call", [True, False], ids=["one-call", "library"])
def test_headers_and_429_at_the_boundary(monkeypatch, strategy, expected, one_call):
    if not one_call:
        monkeypatch.setattr(Limiter, "fixed_window_counter", lambda self, expiry: None)
    clock = ManualClock(START)
    with limits_clock(clock):
        app, shield = _app(clock, strategy)
        client = app.test_client()
        seen = []
        for wait in (0, 10, 10, 10, 31):
            clock.advance(wait)
            seen.append(_seen(client.get("/")))
        (bound,) = shield._routes["index"]
    assert seen == expected
    assert (bound.counter is not None) == (one_call and strategy == "fixed-window")


def test_sliding_window_counter_at_the_boundary():
    clock = ManualClock(START)
    with limits_clock(clock):
        app, _ = _app(clock, "sliding-window-counter", "4/minute")
        client = app.test_client()
        seen = [_seen(client.get("/")) for _ in range(5)]
        assert [s[:3] for s in seen] == [
            (200, "4", "3"),
            (200, "4", "2"),
            (200, "4", "1"),
            (200, "4", "0"),
            (429, "4", "0"),
        ]
        # The library puts this window's reset at the window's edge: "now".
        assert seen[-1][3] == seen[-1][4] == "1"
        clock.advance(90)  # half-way into the next window: the 4 old hits weigh 2
        assert [_seen(client.get("/"))[:3] for _ in range(3)] == [
            (200, "4", "1"),
            (200, "4", "0"),
            (429, "4", "0"),
        ]


def test_fixed_window_makes_one_storage_call_per_request():
    clock = ManualClock(START)
    with limits_clock(clock):
        app, _ = _app(clock, "fixed-window")
        limiter = limiter_for(app)
        storage = limiter.storage
        calls = []
        incr = storage.incr

        def counted_incr(*args, **kwargs):
            calls.append(args[0])
            return incr(*args, **kwargs)

        def forbidden(*args, **kwargs):
            raise AssertionError("a second storage call")

        storage.incr = counted_incr
        storage.get_expiry = forbidden
        strategy = limiter.strategy("fixed-window")
        strategy.hit = strategy.get_window_stats = forbidden
        client = app.test_client()
        assert [_seen(client.get("/"))[:3] for _ in range(4)] == [
            (200, "3", "2"),
            (200, "3", "1"),
            (200, "3", "0"),
            (429, "3", "0"),
        ]
    # The library's own key for this route and client.
    assert calls == [limits.parse("3/minute").key_for("index", "*", CLIENT_KEY)] * 4


def test_per_method_and_shared_scope_keys_are_the_librarys():
    clock = ManualClock(START)
    with limits_clock(clock):
        app = Flask(__name__)
        app.testing = True
        RateLimitShield(now=clock).init_app(app)

        @app.route("/a", methods=["GET", "POST"])
        @rate_limit("5/minute", per_method=True, scope="shared")
        def a():
            return "ok"

        @app.post("/b")
        @rate_limit("5/minute", per_method=True, scope="shared")
        def b():
            return "ok"

        client = app.test_client()
        client.get("/a")
        client.post("/a")
        client.post("/b")
        strategy = limiter_for(app).strategy()
        item = limits.parse("5/minute")
        assert strategy.get_window_stats(item, "shared", "GET", CLIENT_KEY).remaining == 4
        assert strategy.get_window_stats(item, "shared", "POST", CLIENT_KEY).remaining == 3
        # ... and the library's reset clears what the shield counted.
        strategy.clear(item, "shared", "POST", CLIENT_KEY)
        assert client.post("/b").headers["RateLimit-Remaining"] == "4"


def test_a_library_with_other_keys_falls_back_to_its_own_calls(monkeypatch):
    key_for = limits.limits.RateLimitItem.key_for
    monkeypatch.setattr(
        limits.limits.RateLimitItem, "key_for", lambda self, *ids: key_for(self, *ids) + "/v2"
    )
    clock = ManualClock(START)
    with limits_clock(clock):
        app, shield = _app(clock, "fixed-window")
        client = app.test_client()
        assert [_seen(client.get("/"))[:3] for _ in range(4)] == [
            (200, "3", "2"),
            (200, "3", "1"),
            (200, "3", "0"),
            (429, "3", "0"),
        ]
        (bound,) = shield._routes["index"]
        assert bound.counter is None


def test_headers_off_skips_the_stats_but_not_the_refusal():
    clock = ManualClock(START)
    with limits_clock(clock):
        for strategy in STRATEGIES:
            app, _ = _app(clock, strategy, RATELIMIT_HEADERS=False)
            client = app.test_client()
            seen = [_seen(client.get("/")) for _ in range(4)]
            # (The sliding window's library reset is its edge: "now".)
            retry = "1" if strategy == "sliding-window-counter" else "60"
            assert seen == [(200, None, None, None, None)] * 3 + [(429, None, None, None, retry)]


# -- the after step: one look at the names, then append -------------------------


def _reference(view_headers, state):
    """The headers as ``Headers.setdefault`` for each of the three makes them."""
    headers = Headers(view_headers)
    for name, value in state:
        headers.setdefault(name, value)
    return headers.to_wsgi_list()


@pytest.mark.parametrize(
    "view_headers",
    [
        [],
        [("X-Other", "1")],
        [("RateLimit-Limit", "999")],
        [("ratelimit-remaining", "7"), ("X-Other", "1")],
        [("RATELIMIT-RESET", "5"), ("RateLimit-Limit", "9")],
        # A name with the prefix but not one of the three: all three are added.
        [("X-RateLimit-Policy", "3;w=60"), ("RateLimit-Policy", "x")],
        [("RateLimit-Limit", "1"), ("RateLimit-Remaining", "1"), ("RateLimit-Reset", "1")],
    ],
)
def test_after_adds_exactly_what_setdefault_would(view_headers):
    clock = ManualClock(START)
    with limits_clock(clock):
        app, shield = _app(clock, "fixed-window")
        state = (("RateLimit-Limit", "3"), ("RateLimit-Remaining", "2"), ("RateLimit-Reset", "60"))
        with app.test_request_context("/"):
            from hermetic import request

            request.environ[STATE_KEY] = state
            response = app.response_class("ok", headers=view_headers)
            before = response.headers.to_wsgi_list()
            shield.after(request, response)
    expected = _reference(before, state)
    assert response.headers.to_wsgi_list() == expected


def test_after_uses_setdefault_on_a_headers_subclass():
    class Checked(Headers):
        added: list[str] = []

        def setdefault(self, key, default):
            self.added.append(key)
            return super().setdefault(key, default)

    clock = ManualClock(START)
    with limits_clock(clock):
        app, shield = _app(clock, "fixed-window")
        state = (("RateLimit-Limit", "3"), ("RateLimit-Remaining", "2"), ("RateLimit-Reset", "60"))
        with app.test_request_context("/"):
            from hermetic import request

            request.environ[STATE_KEY] = state
            response = app.response_class("ok")
            response.headers = Checked(response.headers)
            shield.after(request, response)
    assert Checked.added == ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"]
    assert response.headers["RateLimit-Reset"] == "60"


# -- the memory storage's sweeps ---------------------------------------------------


def test_memory_storage_sweeps_expired_counters_once_a_second_on_a_daemon():
    from hermetic.security.ratelimit._limits_compat import MEMORY_SWEEP_INTERVAL

    clock = ManualClock(START)
    with limits_clock(clock):
        limiter = Limiter("memory://", now=clock)
        storage = limiter.storage
        timers = set()
        for i in range(200):
            assert limiter.hit("5/minute", f"client-{i}")
            assert limiter.hit("5/minute", f"mover-{i}", strategy="moving-window")
            timers.add(id(storage.timer))
        # One sweep on its way for all those hits (the library starts one per 10 ms).
        assert len(timers) == 1
        timer = storage.timer
        assert timer.interval == MEMORY_SWEEP_INTERVAL
        assert timer.daemon
        assert len(storage.expirations) == 200
        assert len(storage.events) == 200
        # The sweep is the library's: after the window, it empties the storage.
        clock.advance(61)
        timer.cancel()
        timer.function()
        assert storage.expirations == {}
        assert all(events == [] for events in storage.events.values())
        # ... and the counts never waited for it.
        assert limiter.test("1/minute", "client-0")


# -- the route's steps ---------------------------------------------------------------


def test_route_steps_carry_the_routes_limits_and_skip_after_without_headers():
    clock = ManualClock(START)
    with limits_clock(clock):
        for headers in (True, False):
            app, shield = _app(clock, "fixed-window", RATELIMIT_HEADERS=headers)
            client = app.test_client()
            assert [client.get("/").status_code for _ in range(4)] == [200, 200, 200, 429]
            steps = app.shields._steps("index")
            assert (shield.after in steps.after) is headers
            # The before step holds the route's limits: reading the settings
            # again (configure) does not leave the route unlimited.
            shield.configure(app)
            assert client.get("/").status_code == 429


# -- the check for a view's own RateLimit-* headers (names cached as spelt) -----


def _reference_none_of_ours(items):
    """The check as written before the cache: every name lower-cased."""
    return {name.lower() for name, _ in items}.isdisjoint(
        {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"}
    )


@pytest.mark.parametrize(
    "names",
    [
        [],
        ["Content-Type", "Content-Length"],
        ["Content-Type", "RateLimit-Limit"],
        ["ratelimit-remaining"],
        ["RATELIMIT-RESET", "X-Other"],
        ["X-RateLimit-Limit", "RateLimit-Policy", "RateLimit"],
        [b"RateLimit-Limit", "Content-Type"],  # not a str: never cached, checked as before
        ["Content-Type", "rAtElImIt-LiMiT"],
    ],
)
def test_none_of_ours_matches_lowering_every_name(monkeypatch, names):
    from hermetic.security.ratelimit import _shield

    monkeypatch.setattr(_shield, "_OTHER_NAMES", set())
    items = [(name, "1") for name in names]
    expected = _reference_none_of_ours(items)
    # Twice: the first call fills the cache of other names, the second reads it.
    assert _shield._none_of_ours(items) is expected
    assert _shield._none_of_ours(items) is expected
    assert all(
        type(n) is str and n.lower() not in _shield._LOWER_NAMES for n in _shield._OTHER_NAMES
    )


def test_known_other_names_do_not_hide_ours(monkeypatch):
    from hermetic.security.ratelimit import _shield

    monkeypatch.setattr(_shield, "_OTHER_NAMES", set())
    assert _shield._none_of_ours([("Content-Type", "x"), ("Vary", "Cookie")])
    assert _shield._OTHER_NAMES == {"Content-Type", "Vary"}
    # The known names plus one of ours, in a spelling never seen: still found.
    assert not _shield._none_of_ours([("Content-Type", "x"), ("RATELIMIT-limit", "3")])
    assert "RATELIMIT-limit" not in _shield._OTHER_NAMES


def test_other_names_cache_is_bounded(monkeypatch):
    from hermetic.security.ratelimit import _shield

    monkeypatch.setattr(_shield, "_OTHER_NAMES", set())
    for n in range(_shield._OTHER_NAMES_MAX + 50):
        assert _shield._none_of_ours([(f"X-Made-{n}", "1")])
    assert len(_shield._OTHER_NAMES) == _shield._OTHER_NAMES_MAX
    assert not _shield._none_of_ours([("X-Made-999", "1"), ("RateLimit-Reset", "1")])
