"""The circuit breaker: open on a failure, fail fast, one probe, close on success."""

from __future__ import annotations

import logging

import pytest

import hermetic
from hermetic.security.breaker import CircuitBreaker, breaker_for
from hermetic.testing import ManualClock


@pytest.fixture
def clock():
    return ManualClock(100.0)


@pytest.fixture
def breaker(clock):
    return CircuitBreaker(5.0, now=clock)


def test_closed_lets_every_call_through(breaker):
    assert all(breaker.allow() for _ in range(10))
    assert breaker.state == "closed"


def test_one_failure_opens_it_for_the_cooldown(breaker, clock):
    breaker.failure()
    assert breaker.state == "open"
    assert not breaker.allow()
    clock.now += 4.9
    assert not breaker.allow()
    assert breaker.retry_after() == 1


def test_after_the_cooldown_one_probe_goes_through(breaker, clock):
    breaker.failure()
    clock.now += 5
    assert breaker.allow()  # the probe
    assert breaker.state == "half-open"
    # Everyone else keeps failing fast while the probe is out.
    assert [breaker.allow() for _ in range(5)] == [False] * 5


def test_a_successful_probe_closes_it(breaker, clock):
    breaker.failure()
    clock.now += 5
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed"
    assert all(breaker.allow() for _ in range(3))


def test_a_failed_probe_opens_it_again(breaker, clock):
    breaker.failure()
    clock.now += 5
    assert breaker.allow()
    breaker.failure()
    assert breaker.state == "open"
    assert not breaker.allow()
    clock.now += 5
    assert breaker.allow()


def test_a_lost_probe_does_not_hold_it_half_open_for_ever(breaker, clock):
    breaker.failure()
    clock.now += 5
    assert breaker.allow()  # this probe never reports back
    clock.now += 4
    assert not breaker.allow()
    clock.now += 1
    assert breaker.allow()


def test_retry_after_counts_down_to_the_probe(breaker, clock):
    assert breaker.retry_after() == 5
    breaker.failure()
    assert breaker.retry_after() == 5
    clock.now += 2.5
    assert breaker.retry_after() == 3
    clock.now += 10
    assert breaker.retry_after() == 1


def test_the_first_failure_and_the_recovery_are_logged_once(breaker, clock, caplog):
    with caplog.at_level(logging.WARNING, logger="hermetic.security.store"):
        breaker.failure()
        breaker.failure()
        clock.now += 5
        breaker.allow()
        breaker.success()
        breaker.success()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "unreachable" in messages[0] and "5 seconds" in messages[0]
    assert "answers again" in messages[1]


@pytest.mark.parametrize("bad", [0, -1])
def test_cooldown_must_be_positive(bad):
    with pytest.raises(ValueError, match="cooldown"):
        CircuitBreaker(bad)


def test_breaker_for_keeps_one_per_url_with_the_configured_cooldown():
    app = hermetic.Flask(__name__)
    app.config["HERMETIC_STORE_COOLDOWN"] = 2
    one = breaker_for(app, "redis://a/0")
    assert breaker_for(app, "redis://a/0") is one
    assert breaker_for(app, "redis://b/0") is not one
    assert one.cooldown == 2.0
    assert "redis://" not in repr(one)  # a URL may hold a password
