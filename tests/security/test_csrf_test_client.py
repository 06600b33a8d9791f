"""The test client passes the CSRF token check; nothing from outside can claim that."""

from __future__ import annotations

import http.client
import json
import logging
import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder, run_wsgi_app

from hermetic import Hermetic, session
from hermetic.security.csrf import CSRFShield
from hermetic.testing import CSRF_BYPASS_KEY

STRONG = "0cZ9v1-8cGm3V1Xr2yQ6tLk4pN7sW0eB5hJ2uD8fA3q"


def _make_app(**config):
    app = Hermetic(__name__)
    app.config.update(SECRET_KEY=STRONG, SESSION_COOKIE_SECURE=False, **config)

    @app.route("/login", methods=["GET"])
    def login():
        session["user_id"] = 1
        return "in"

    @app.route("/create", methods=["POST"])
    def create():
        return "created"

    return app


@pytest.fixture
def app_():
    return _make_app()


def _session_cookie(app):
    """A real session cookie for ``app`` (what a logged-in browser sends)."""
    client = app.test_client()
    client.get("/login")
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name)
    assert cookie is not None, f"/login set no {name} cookie"
    return f"{name}={cookie.value}"


# -- the attacks: a real request never gets the test client's bypass ---------


@pytest.mark.parametrize(
    "extra",
    [
        {"headers": {"X-Hermetic-Test-Client": "1"}},
        {"headers": {CSRF_BYPASS_KEY: "1"}},
        {"environ_overrides": {CSRF_BYPASS_KEY: "1"}},
        {"environ_overrides": {CSRF_BYPASS_KEY: True}},
        {"environ_overrides": {"HTTP_" + CSRF_BYPASS_KEY.upper().replace(".", "_"): "1"}},
    ],
)
def test_outside_request_cannot_claim_the_bypass(app_, extra):
    cookie = _session_cookie(app_)
    headers = {"Cookie": cookie, **extra.get("headers", {})}
    builder = EnvironBuilder(
        "/create", method="POST", headers=headers, environ_overrides=extra.get("environ_overrides")
    )
    _, status, _ = run_wsgi_app(app_.wsgi_app, builder.get_environ(), buffered=True)
    assert status.startswith("403")


def test_real_http_request_with_forged_marker_is_refused(app_):
    cookie = _session_cookie(app_)
    server = make_server("127.0.0.1", 0, app_)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=5)
        conn.request(
            "POST",
            "/create",
            body="x=1",
            headers={
                "Cookie": cookie,
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Hermetic-Test-Client": "1",
                CSRF_BYPASS_KEY: "1",
            },
        )
        response = conn.getresponse()
        assert response.status == 403
        response.read()
        conn.close()
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def test_test_client_still_checks_origin(app_):
    client = app_.test_client()
    client.get("/login")
    rv = client.post("/create", headers={"Origin": "https://evil.example"})
    assert rv.status_code == 403
    rv = client.post("/create", headers={"Sec-Fetch-Site": "cross-site"})
    assert rv.status_code == 403


# -- the defence's convenience: tests need no token -------------------------


def test_test_client_passes_token_check_by_default(app_):
    client = app_.test_client()
    client.get("/login")
    rv = client.post("/create", data={"title": "x"})
    assert rv.status_code == 200 and rv.text == "created"


def test_enforce_csrf_argument_tests_csrf_itself(app_):
    client = app_.test_client(enforce_csrf=True)
    client.get("/login")
    assert client.post("/create").status_code == 403


def test_config_key_enforces_for_every_test_client():
    app = _make_app(CSRF_ENFORCE_IN_TESTS=True)
    client = app.test_client()
    client.get("/login")
    assert client.post("/create").status_code == 403
    # The argument wins over the config key.
    client = app.test_client(enforce_csrf=False)
    client.get("/login")
    assert client.post("/create").status_code == 200


def test_bypass_works_on_plain_flask_with_the_shield(app):
    CSRFShield().init_app(app)

    @app.get("/in")
    def login_in():
        session["x"] = 1
        return "in"

    @app.post("/create")
    def create():
        return "created"

    client = app.test_client()
    client.get("/in")
    assert client.post("/create").status_code == 200
    assert app.test_client(enforce_csrf=True).post("/create").status_code == 200  # no cookie
    strict = app.test_client(enforce_csrf=True)
    strict.get("/in")
    assert strict.post("/create").status_code == 403


# -- messages for developers --------------------------------------------------


def _audit(caplog):
    return [json.loads(r.getMessage()) for r in caplog.records if r.name.endswith("audit")]


def test_missing_token_hint_in_debug_page_and_log(caplog):
    app = _make_app()
    app.debug = True
    client = app.test_client(enforce_csrf=True)
    client.get("/login")
    caplog.set_level(logging.INFO, logger="hermetic.security.audit")
    rv = client.post("/create", data={"title": "x"})
    assert rv.status_code == 403
    assert "csrf_token()" in rv.text and "X-CSRF-Token" in rv.text
    assert "create" in rv.text  # the route is named
    (record,) = [r for r in _audit(caplog) if r["event"] == "csrf"]
    assert record["reason"] == "no_token"
    assert "csrf_token()" in record["hint"] and "create" in record["hint"]


def test_missing_token_hint_hidden_outside_debug():
    app = _make_app()
    client = app.test_client(enforce_csrf=True)
    client.get("/login")
    rv = client.post("/create", data={"title": "x"})
    assert rv.status_code == 403
    assert "csrf_token()" not in rv.text
    assert "csrf_token()" not in rv.text


def test_hint_uses_configured_field_and_header_names():
    app = _make_app(CSRF_FIELD_NAME="_token", CSRF_HEADER_NAME="X-My-Token")
    app.debug = True
    client = app.test_client(enforce_csrf=True)
    client.get("/login")
    rv = client.post("/create", data={"title": "x"})
    assert 'name="_token"' in rv.text or "name=&#34;_token&#34;" in rv.text
    assert "X-My-Token" in rv.text
