"""Secure cookies over plain HTTP: said at server start, logged once when it happens."""

from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner

from hermetic import Hermetic, session
from hermetic.cli import FlaskGroup
from hermetic.cli import commands as cli_commands
from hermetic.security._dev_server import insecure_cookie_notice

STRONG = "0cZ9v1-8cGm3V1Xr2yQ6tLk4pN7sW0eB5hJ2uD8fA3q"


def _app(**config):
    app = Hermetic("insecure_cookie_app")
    app.config.update(SECRET_KEY=STRONG, **config)

    @app.get("/login")
    def login():
        session["user_id"] = 1
        return "in"

    return app


@pytest.mark.parametrize(
    ("host", "ssl", "config", "expected"),
    [
        ("0.0.0.0", False, {}, True),
        ("192.168.1.20", False, {}, True),
        ("::", False, {}, True),
        ("127.0.0.1", False, {}, False),
        ("localhost", False, {}, False),
        ("0.0.0.0", True, {}, False),
        ("0.0.0.0", False, {"SESSION_COOKIE_SECURE": False}, False),
    ],
)
def test_start_notice(host, ssl, config, expected):
    notice = insecure_cookie_notice(_app(**config), host, ssl=ssl)
    assert (notice is not None) is expected
    if expected:
        assert "SESSION_COOKIE_SECURE" in notice and "http://" in notice


def test_run_command_prints_the_notice(monkeypatch):
    started = []
    monkeypatch.setattr(cli_commands, "run_simple", lambda *a, **k: started.append(a))
    app = _app()
    group = FlaskGroup(create_app=lambda: app)
    result = CliRunner().invoke(group, ["run", "--host", "0.0.0.0", "--no-reload"])
    assert result.exit_code == 0, result.output
    assert "SESSION_COOKIE_SECURE" in result.output and len(started) == 1
    result = CliRunner().invoke(group, ["run", "--host", "127.0.0.1", "--no-reload"])
    assert "SESSION_COOKIE_SECURE" not in result.output


def test_secure_cookie_on_plain_http_lan_request_is_logged_once(caplog):
    app = _app()
    caplog.set_level(logging.WARNING, logger=app.logger.name)
    client = app.test_client()
    client.get("/login", base_url="http://192.168.1.20:5000/")
    client.get("/login", base_url="http://192.168.1.20:5000/")
    records = [r for r in caplog.records if "Secure" in r.getMessage()]
    assert len(records) == 1
    message = records[0].getMessage()
    assert "192.168.1.20" in message and "SESSION_COOKIE_SECURE" in message
    assert "Set-Cookie" not in message or "=" not in message.split("Set-Cookie")[-1][:3]


@pytest.mark.parametrize(
    "base_url", ["https://192.168.1.20/", "http://127.0.0.1:5000/", "http://localhost/"]
)
def test_no_log_on_https_or_loopback(caplog, base_url):
    app = _app()
    caplog.set_level(logging.WARNING, logger=app.logger.name)
    app.test_client().get("/login", base_url=base_url)
    assert not [r for r in caplog.records if "Secure" in r.getMessage()]


def test_no_log_when_cookies_are_not_secure(caplog):
    app = _app(SESSION_COOKIE_SECURE=False)
    caplog.set_level(logging.WARNING, logger=app.logger.name)
    app.test_client().get("/login", base_url="http://192.168.1.20/")
    assert not [r for r in caplog.records if "Secure" in r.getMessage()]


def test_app_run_logs_the_notice(monkeypatch, caplog):
    import werkzeug.serving

    started = []
    monkeypatch.setattr(werkzeug.serving, "run_simple", lambda *a, **k: started.append(a))
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)
    app = _app()
    caplog.set_level(logging.WARNING, logger=app.logger.name)
    app.run(host="0.0.0.0", port=5999, load_dotenv=False)
    assert started and any("SESSION_COOKIE_SECURE" in r.getMessage() for r in caplog.records)


def _secure_cookie_records(caplog):
    return [r for r in caplog.records if "Secure cookie" in r.getMessage()]


def test_a_view_cookie_on_a_redirect_is_seen_too(caplog):
    """The check reads the final header list: any Secure cookie, on any response path."""
    from hermetic import redirect

    app = _app(SESSION_COOKIE_SECURE=False)

    @app.get("/remember")
    def remember():
        response = redirect("/login")
        response.set_cookie("pref", "1", secure=True)
        return response

    caplog.set_level(logging.WARNING, logger=app.logger.name)
    app.test_client().get("/remember", base_url="http://192.168.1.20/")
    records = _secure_cookie_records(caplog)
    assert len(records) == 1 and "'pref'" in records[0].getMessage()


@pytest.mark.parametrize(("proto", "logged"), [("https", 0), ("http", 1)])
def test_behind_a_trusted_proxy_the_forwarded_scheme_decides(caplog, proto, logged):
    app = _app(TRUSTED_PROXY_HOPS=1)
    caplog.set_level(logging.WARNING, logger=app.logger.name)
    rv = app.test_client().get(
        "/login", base_url="http://192.168.1.20/", headers={"X-Forwarded-Proto": proto}
    )
    assert "Set-Cookie" in rv.headers
    assert len(_secure_cookie_records(caplog)) == logged


def test_watching_stops_once_logged(caplog):
    app = _app()
    caplog.set_level(logging.WARNING, logger=app.logger.name)
    client = app.test_client()
    client.get("/login", base_url="http://192.168.1.20/")
    assert not app._watch_insecure_cookies
    client.get("/login", base_url="http://192.168.1.21/")
    assert len(_secure_cookie_records(caplog)) == 1


@pytest.mark.parametrize("name", ["Set-Cookie", "set-cookie", "SET-COOKIE"])
def test_a_secure_cookie_is_seen_whatever_the_spelling_of_its_header(caplog, name):
    app = _app()

    @app.get("/raw")
    def raw():
        return "raw", {name: "token=1; Secure; Path=/"}

    caplog.set_level(logging.WARNING, logger=app.logger.name)
    client = app.test_client()
    client.get("/", base_url="http://192.168.1.20/")  # no cookie set: nothing to see
    assert app._watch_insecure_cookies
    client.get("/raw", base_url="http://192.168.1.20/")
    assert [r for r in caplog.records if "Secure" in r.getMessage()]
    assert not app._watch_insecure_cookies
