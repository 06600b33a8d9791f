"""REFERENCE_LOAD_RUN: rate limits off for a load run, never in production."""

from __future__ import annotations

import pytest
from examples.reference.common.settings import base_config


def test_rate_limits_stay_on_without_it():
    assert "RATELIMIT_ENABLED" not in base_config("api", {}, environ={})
    assert "RATELIMIT_ENABLED" not in base_config("api", {}, environ={"REFERENCE_LOAD_RUN": "0"})


def test_a_load_run_lifts_the_rate_limits_in_development():
    config = base_config("api", {}, environ={"REFERENCE_LOAD_RUN": "1"})
    assert config["RATELIMIT_ENABLED"] is False and config["REFERENCE_LOAD_RUN"] is True


def test_a_load_run_is_refused_in_production():
    environ = {"REFERENCE_LOAD_RUN": "1", "REFERENCE_ENV": "production"}
    with pytest.raises(ValueError, match="Fix: unset REFERENCE_LOAD_RUN"):
        base_config("api", {}, environ=environ)


def test_api_keeps_its_one_use_token_check_unless_loading(monkeypatch, tmp_path):
    from examples.reference.api import _settings

    monkeypatch.delenv("REFERENCE_LOAD_RUN", raising=False)
    assert _settings({"INSTANCE_PATH": str(tmp_path)})["JWT_REPLAY_CHECK"] is True
    monkeypatch.setenv("REFERENCE_LOAD_RUN", "1")
    assert _settings({"INSTANCE_PATH": str(tmp_path)})["JWT_REPLAY_CHECK"] is False


def test_sqlite_files_let_writers_queue_instead_of_failing(tmp_path):
    # 16 concurrent writers got "database is locked" (a 503) after SQLite's
    # default 5 s; WAL lets readers through while one writes.
    from examples.reference.common.db import _engine
    from sqlalchemy import text

    engine = _engine(f"sqlite:///{tmp_path}/load.db")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 15000
    engine.dispose()
    memory = _engine("sqlite://")
    with memory.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "memory"
    memory.dispose()
