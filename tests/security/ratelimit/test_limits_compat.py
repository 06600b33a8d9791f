"""The parts of ``limits`` hermetic leans on beyond its public API: fail loudly when they change.

If one of these tests fails after upgrading ``limits``, the speed-ups of
``ratelimit/_limits_compat.py`` are silently off (counting stays correct);
adapt the helper to the new layout, then raise the bound in pyproject.toml.
"""

from __future__ import annotations

import pytest
from limits.storage import MemoryStorage, RedisStorage

from hermetic.security.ratelimit._limits_compat import (
    MEMORY_SWEEP_INTERVAL,
    incr_expire_ttl_script,
    memory_layout_known,
    sweep_memory_less_often,
)


def test_the_memory_storage_has_the_scheduler_the_helper_replaces():
    storage = MemoryStorage()
    try:
        assert memory_layout_known(storage)
        assert sweep_memory_less_often(storage)
        storage.incr("k", 60)
        # The library's hit went through the replacement: one slow daemon sweep.
        assert storage.timer.interval == MEMORY_SWEEP_INTERVAL
        assert storage.timer.daemon
    finally:
        storage.timer.cancel()


def test_another_layout_is_left_alone():
    class Other(MemoryStorage):
        pass

    storage = Other()
    try:
        storage.expirations = None  # not the dict the helper relies on
        assert not sweep_memory_less_often(storage)
    finally:
        storage.timer.cancel()


def test_the_library_script_is_derived_not_copied():
    library = RedisStorage.SCRIPT_INCR_EXPIRE
    if isinstance(library, bytes):
        library = library.decode()
    ours = incr_expire_ttl_script()
    assert ours is not None, "limits' incr_expire.lua changed: adapt _limits_compat.py"
    # Everything up to the last line is the library's own text.
    assert ours.startswith(library.rstrip()[: -len("return current")])
    assert ours.rstrip().endswith('return {current, redis.call("ttl", KEYS[1])}')


def test_a_changed_script_turns_the_shortcut_off(monkeypatch):
    monkeypatch.setattr(RedisStorage, "SCRIPT_INCR_EXPIRE", "return redis.call('incr', KEYS[1])")
    assert incr_expire_ttl_script() is None


@pytest.mark.parametrize("name", ["prefixed_key", "get_connection"])
def test_the_redis_storage_has_the_public_methods_used(name):
    assert callable(getattr(RedisStorage, name))
