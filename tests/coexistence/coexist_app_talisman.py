"""Flask-Talisman on a Hermetic app: one copy of each header, Talisman's values, named at start-up.

Run as ``python coexist_app_talisman.py``; see ``conftest.py``.
"""

from __future__ import annotations

from _coexist_common import STARTUP, check, make_app, run

import flask  # isort: skip  (after the alias)
from flask_talisman import Talisman

from hermetic.security.checks import run_checks

TALISMAN_CSP = {"default-src": "'self'", "img-src": "*"}

APP = make_app()
Talisman(APP, content_security_policy=TALISMAN_CSP)


@APP.get("/")
def index():
    return "<p>hello</p>"


def _once_each(response: flask.Response) -> None:
    names = [name.lower() for name, _ in response.headers.items()]
    twice = sorted({name for name in names if names.count(name) > 1})
    assert not twice, f"headers sent twice: {twice}"


@check()
def startup_line_names_talisman() -> None:
    APP.test_client().get("/", base_url="https://localhost")
    lines = [m for m in STARTUP.messages() if m.startswith("Flask-Talisman")]
    assert len(lines) == 1, STARTUP.messages()
    assert "Content-Security-Policy" in lines[0] and "csp_nonce()" in lines[0]
    assert "force_https" in lines[0]
    findings = {f.id: f for f in run_checks(APP)}
    assert findings["flask_talisman"].level == "warning"


@check()
def no_duplicate_headers_over_https() -> None:
    _once_each(APP.test_client().get("/", base_url="https://localhost"))


@check()
def no_duplicate_headers_on_errors() -> None:
    response = APP.test_client().get("/missing", base_url="https://localhost")
    assert response.status_code == 404
    _once_each(response)


@check()
def talismans_values_win() -> None:
    response = APP.test_client().get("/", base_url="https://localhost")
    assert response.headers["Content-Security-Policy"] == "default-src 'self'; img-src *"
    assert "Strict-Transport-Security" in response.headers


@check()
def hermetic_adds_only_what_talisman_does_not_set() -> None:
    response = APP.test_client().get("/", base_url="https://localhost")
    # Talisman sets none of these; Hermetic's shield does.
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin"


@check()
def force_https_still_redirects() -> None:
    response = APP.test_client().get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("https://")


@check()
def hermetic_check_before_start_up_still_logs_once() -> None:
    app = make_app()
    Talisman(app, force_https=False)
    app.add_url_rule("/", "index", index)
    before = len(STARTUP.messages())
    assert "flask_talisman" in {f.id for f in run_checks(app)}
    assert "flask_talisman" in {f.id for f in run_checks(app)}
    client = app.test_client()
    client.get("/")
    client.get("/")
    _once_each(client.get("/"))
    lines = [m for m in STARTUP.messages()[before:] if m.startswith("Flask-Talisman")]
    assert len(lines) == 1, lines


run(APP)
