"""Fixtures of the real-server tests: a Redis key prefix, and the run summary."""

from __future__ import annotations

import typing as t
import uuid

import pytest

from ._servers import REDIS_URL, RESULTS, redis_available


@pytest.fixture
def redis_prefix() -> t.Iterator[str]:
    """A unique key prefix on the shared Redis; its keys are deleted afterwards."""
    if not redis_available():
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: server-side sessions not fuzzed")
    import redis

    prefix = f"hermetic-fuzz-{uuid.uuid4().hex}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for key in client.scan_iter(match=prefix + "*", count=1000):
            client.delete(key)
    finally:
        client.close()


def pytest_terminal_summary(terminalreporter: t.Any) -> None:
    if RESULTS:
        terminalreporter.section("raw-socket fuzz of real servers")
        for line in RESULTS:
            terminalreporter.write_line(line)
