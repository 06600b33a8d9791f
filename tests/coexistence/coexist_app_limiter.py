"""Flask-Limiter on a Hermetic app: two limiters counting, 429 stays 429, a dead storage is a 503.

Run as ``python coexist_app_limiter.py``; see ``conftest.py``.
"""

from __future__ import annotations

from _coexist_common import STARTUP, check, make_app, run

import flask  # isort: skip  (after the alias)
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from hermetic.security.checks import run_checks
from hermetic.security.ratelimit import rate_limit

#: A port nothing listens on: the app-owned Redis is down.
DEAD_URI = "redis://127.0.0.1:1"


def build(storage_uri: str, **config: object) -> tuple[flask.Flask, Limiter]:
    app = make_app(PROPAGATE_EXCEPTIONS=False, **config)
    limiter = Limiter(get_remote_address, app=app, storage_uri=storage_uri)

    @app.get("/theirs")
    @limiter.limit("2/minute")
    def theirs():
        return "theirs"

    @app.get("/ours")
    @rate_limit("2/minute")
    @limiter.limit("5/minute")
    def ours():
        return "ours"

    @app.get("/free")
    @limiter.exempt
    def free():
        return "free"

    return app, limiter


APP, _ = build("memory://")
DEAD, _ = build(DEAD_URI)
SWALLOWED, _ = build(DEAD_URI, RATELIMIT_SWALLOW_ERRORS=True)


@check()
def startup_line_says_which_limits_apply() -> None:
    APP.test_client().get("/free")
    lines = [m for m in STARTUP.messages() if m.startswith("Flask-Limiter")]
    assert len(lines) == 1, STARTUP.messages()
    assert "separate from HERMETIC_REDIS_URL" in lines[0]
    assert "Hermetic's 503" in lines[0]
    findings = {f.id: f for f in run_checks(APP)}
    assert "flask_limiter" in findings


@check()
def flask_limiters_429_stays_429() -> None:
    client = APP.test_client()
    codes = [client.get("/theirs").status_code for _ in range(3)]
    assert codes == [200, 200, 429], codes


@check()
def both_limiters_count() -> None:
    client = APP.test_client()
    codes = [client.get("/ours").status_code for _ in range(3)]
    # Hermetic's 2/minute refuses before Flask-Limiter's 5/minute.
    assert codes == [200, 200, 429], codes


@check()
def dead_storage_is_503_not_500() -> None:
    response = DEAD.test_client().get("/theirs")
    assert response.status_code == 503, response.status_code
    assert b"Traceback" not in response.data


@check()
def swallow_errors_lets_requests_through() -> None:
    assert SWALLOWED.test_client().get("/theirs").status_code == 200


@check()
def flask_limiter_keys_are_not_unknown_settings() -> None:
    app = make_app(RATELIMIT_SWALLOW_ERRORS=True, RATELIMIT_HEADERS_ENABLED=True)
    app.config.update(LOGIN_DISABLED=False, JWT_SECRET_KEY="x", JWT_TOKEN_LOCATION=["headers"])
    app.config["RATELIMIT_TYPO_KEY"] = 1
    unknown = [f.message for f in run_checks(app) if f.id == "unknown_setting"]
    assert len(unknown) == 1 and "RATELIMIT_TYPO_KEY" in unknown[0], unknown


run(APP)
