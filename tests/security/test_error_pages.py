"""Hermetic's error pages: one small HTML page for browsers, problem+json for APIs."""

from __future__ import annotations

import json

import pytest

from hermetic import Hermetic, abort
from hermetic.security.policy import requires

STRONG = "0cZ9v1-8cGm3V1Xr2yQ6tLk4pN7sW0eB5hJ2uD8fA3q"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
CODES = [401, 403, 404, 405, 413, 429, 503]


@pytest.fixture
def happ():
    app = Hermetic(__name__)
    app.config.update(SECRET_KEY=STRONG, TRUSTED_HOSTS=["localhost"])
    app.login_manager.user_loader(lambda user_id: None)

    @app.route("/abort/<int:code>", methods=["GET", "POST"])
    def aborting(code):
        abort(code)

    @app.get("/admin")
    @requires("admin")
    def admin():
        return "secret"

    return app


def _get(app, code, **kwargs):
    path = "/nowhere" if code == 404 else f"/abort/{code}"
    if code == 405:
        return app.test_client().delete("/abort/1", **kwargs)
    return app.test_client().get(path, **kwargs)


@pytest.mark.parametrize("code", CODES)
def test_browser_gets_the_html_page(happ, code):
    rv = _get(happ, code, headers=BROWSER)
    assert rv.status_code == code
    assert rv.mimetype == "text/html"
    page = rv.text
    assert page.startswith("<!doctype html>")
    assert f"<h1>{code} " in page and "<main>" in page
    # Works under the default CSP: no script, no inline style.
    assert "<script" not in page and "<style" not in page and "style=" not in page
    assert (
        "script-src" in rv.headers["Content-Security-Policy"]
        or "default-src" in (rv.headers["Content-Security-Policy"])
    )


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize(
    "kind",
    [
        {"headers": {"Accept": "application/json"}},
        {"headers": {"Accept": "application/problem+json"}},
        {"headers": {"Authorization": "Bearer abc"}},
        {"json": {"x": 1}},
    ],
    ids=["accept-json", "accept-problem", "bearer", "json-body"],
)
def test_api_client_gets_problem_json(happ, code, kind):
    if "json" in kind:
        path = "/nowhere" if code == 404 else f"/abort/{code}"
        method = "DELETE" if code == 405 else "POST"
        path = "/abort/1" if code == 405 else path
        rv = happ.test_client().open(path, method=method, json=kind["json"])
    else:
        rv = _get(happ, code, **kind)
    assert rv.status_code == code
    assert rv.mimetype == "application/problem+json"
    document = json.loads(rv.data)
    assert document["status"] == code and document["title"]


def test_accept_html_preferred_over_json_by_quality(happ):
    rv = _get(happ, 404, headers={"Accept": "application/json;q=0.5, text/html"})
    assert rv.mimetype == "text/html"
    rv = _get(happ, 404, headers={"Accept": "text/html;q=0.1, application/json"})
    assert rv.mimetype == "application/problem+json"


def test_app_error_handler_keeps_precedence(happ):
    @happ.errorhandler(404)
    def not_found(e):
        return "my own 404", 404

    @happ.errorhandler(403)
    def forbidden(e):
        return {"mine": True}, 403

    rv = _get(happ, 404, headers=BROWSER)
    assert rv.text == "my own 404"
    rv = happ.test_client().get("/admin", headers={"Authorization": "Bearer x"})
    assert rv.status_code in (401, 403)
    rv = _get(happ, 403, headers=BROWSER)
    assert rv.json == {"mine": True}


def test_security_refusal_hint_only_in_debug(happ):
    client = happ.test_client()
    rv = client.get("/", headers={"Host": "evil.example", **BROWSER})
    assert rv.status_code == 400
    assert "TRUSTED_HOSTS" not in rv.text
    happ.debug = True
    rv = happ.test_client().get("/", headers={"Host": "evil.example", **BROWSER})
    assert "For the developer" in rv.text and "TRUSTED_HOSTS" in rv.text
    rv = happ.test_client().get("/", headers={"Host": "evil.example", "Accept": "application/json"})
    assert "TRUSTED_HOSTS" in rv.json["hint"]


def test_login_refusal_hint_in_debug(happ):
    happ.debug = True
    rv = happ.test_client().get("/admin", headers={"Accept": "application/json"})
    assert rv.status_code == 401
    assert "login" in rv.json["hint"].lower()


def test_abort_description_is_kept(happ):
    @happ.get("/gone")
    def gone():
        abort(404, "No such note.")

    rv = happ.test_client().get("/gone", headers=BROWSER)
    assert "No such note." in rv.text


def test_plain_flask_keeps_werkzeug_pages(app):
    rv = app.test_client().get("/nowhere")
    assert rv.status_code == 404 and "<main>" not in rv.text
