"""``hermetic check`` and the extensions' own keys; no extension, no coexistence finding."""

from __future__ import annotations

import redis

import hermetic
import hermetic.cli  # noqa: F401  (first: importing hermetic.security.checks alone is circular)
from hermetic import Hermetic
from hermetic.security.checks import run_checks
from hermetic.security.coexistence import ALL_EXTENSION_KEYS, companions, is_store_failure

KEY = "kq3J9vW2xP7mZt4LrB8nY6cH1dF5gS0aQeUoIiTwRvEyNuMl"


def _unknown(app: hermetic.Flask) -> list[str]:
    return [f.message for f in run_checks(app, environ={}) if f.id == "unknown_setting"]


def test_extension_keys_are_not_unknown_settings():
    app = Hermetic(__name__)
    app.config.update(
        SECRET_KEY=KEY,
        LOGIN_DISABLED=True,
        JWT_SECRET_KEY="their key",
        JWT_TOKEN_LOCATION=["cookies"],
        RATELIMIT_SWALLOW_ERRORS=True,
        CORS_SUPPORTS_CREDENTIALS=False,
    )
    assert _unknown(app) == []


def test_a_typo_under_a_declared_prefix_is_still_reported():
    app = Hermetic(__name__)
    app.config.update(SECRET_KEY=KEY, LOGIN_DISABLD=True)
    unknown = _unknown(app)
    assert len(unknown) == 1 and "LOGIN_DISABLD" in unknown[0]
    assert "LOGIN_DISABLD" not in ALL_EXTENSION_KEYS


def test_no_extension_no_finding():
    app = Hermetic(__name__)
    app.config.update(SECRET_KEY=KEY)
    assert companions(app) == []
    ids = {f.id for f in run_checks(app, environ={})}
    assert not ids & {"flask_login", "flask_session", "flask_talisman", "flask_limiter"}


def test_store_failures_are_told_from_other_errors():
    assert is_store_failure(redis.exceptions.ConnectionError("down"))
    assert is_store_failure(redis.exceptions.TimeoutError("slow"))
    assert is_store_failure(ConnectionRefusedError())
    assert not is_store_failure(redis.exceptions.ResponseError("WRONGTYPE"))
    assert not is_store_failure(ValueError("bad data"))
