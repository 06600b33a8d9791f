"""``hermetic check``: each unsafe setting is found, safe settings pass."""

from __future__ import annotations

import json
import sys
import types

import click
import click.testing
import pytest

from hermetic import Flask
from hermetic.security.checks import (
    ERROR,
    INFO,
    WARNING,
    check_command,
    configured_workers,
    run_checks,
)
from hermetic.security.input_limits import InputLimitsShield
from hermetic.security.shields import Shield

STRONG_KEY = "k3Y-fOr-tEsTs-0123456789-abcdefghijklmnop-QRSTUVWXYZ"


# Stand-ins for the shields ``Hermetic`` installs: the checks know them by class name.
class ProxyShield(Shield):
    name = "proxy"


class HostShield(Shield):
    name = "host"


class CSRFShield(Shield):
    name = "csrf"


class AuthorizationShield(Shield):
    name = "authz"


class HeadersShield(Shield):
    name = "headers"


SAFE_CONFIG = dict(
    SECRET_KEY=STRONG_KEY,
    SESSION_COOKIE_SECURE=True,
    TRUSTED_HOSTS=["example.com"],
    TRUSTED_PROXY_HOPS=1,
    MAX_CONTENT_LENGTH=1024 * 1024,
    CSRF_ENABLED=True,
    HERMETIC_REDIS_URL="redis://127.0.0.1:6379/0",
)


def safe_app(**config):
    app = Flask(__name__)
    app.config.update(SAFE_CONFIG)
    app.config.update(config)
    for shield in (
        ProxyShield(),
        HostShield(),
        InputLimitsShield(),
        CSRFShield(),
        AuthorizationShield(),
        HeadersShield(),
    ):
        shield.init_app(app)
    return app


def ids(findings, level=None):
    return {f.id for f in findings if level is None or f.level == level}


def test_safe_app_has_no_findings():
    assert run_checks(safe_app(), environ={}) == []


@pytest.mark.parametrize("key", [None, "", "dev", "short-key", "a" * 64])
def test_weak_or_missing_secret_key_is_an_error(key):
    findings = run_checks(safe_app(SECRET_KEY=key), environ={})
    assert "secret_key" in ids(findings, ERROR)
    assert "HERMETIC_SECRET_KEY" in next(f.message for f in findings if f.id == "secret_key")


def test_weak_fallback_key_is_an_error():
    findings = run_checks(safe_app(SECRET_KEY_FALLBACKS=["old"]), environ={})
    assert "secret_key" in ids(findings, ERROR)


def test_debug_is_an_error():
    app = safe_app()
    app.debug = True
    assert "debug" in ids(run_checks(app, environ={}), ERROR)


def test_insecure_session_cookie_is_a_warning():
    findings = run_checks(safe_app(SESSION_COOKIE_SECURE=False), environ={})
    assert ids(findings) == {"session_cookie_secure"}
    assert findings[0].level == WARNING


def test_hsts_off_is_a_warning():
    assert ids(run_checks(safe_app(SECURITY_HSTS=None), environ={}), WARNING) == {"hsts"}


def test_csp_none_is_a_warning():
    assert ids(run_checks(safe_app(SECURITY_CSP=None), environ={}), WARNING) == {"csp"}


def test_trusted_hosts_unset_is_a_warning():
    assert ids(run_checks(safe_app(TRUSTED_HOSTS=None), environ={})) == {"trusted_hosts"}


@pytest.mark.parametrize("hops", [3, 10, {"for": 5, "proto": 1}])
def test_many_proxy_hops_is_a_warning(hops):
    assert ids(run_checks(safe_app(TRUSTED_PROXY_HOPS=hops), environ={})) == {"proxy_hops"}


@pytest.mark.parametrize("hops", [0, 1, 2, {"for": 1}])
def test_few_proxy_hops_pass(hops):
    assert run_checks(safe_app(TRUSTED_PROXY_HOPS=hops), environ={}) == []


@pytest.mark.parametrize("origins", ["*", ["*"], ("https://a.example", "*")])
@pytest.mark.parametrize("key", ["CORS_ALLOW_CREDENTIALS", "CORS_SUPPORTS_CREDENTIALS"])
def test_wildcard_cors_with_credentials_is_an_error(origins, key):
    findings = run_checks(safe_app(CORS_ORIGINS=origins, **{key: True}), environ={})
    assert ids(findings, ERROR) == {"cors_wildcard_credentials"}


@pytest.mark.parametrize(
    "config",
    [
        {"CORS_ORIGINS": "*"},
        {"CORS_ORIGINS": ["https://a.example"], "CORS_ALLOW_CREDENTIALS": True},
    ],
)
def test_cors_without_the_dangerous_pair_passes(config):
    assert run_checks(safe_app(**config), environ={}) == []


@pytest.mark.parametrize(
    "environ",
    [
        {"WEB_CONCURRENCY": "4"},
        {"GUNICORN_CMD_ARGS": "--bind 0.0.0.0 --workers 3"},
        {"GUNICORN_CMD_ARGS": "--workers=2"},
        {"GUNICORN_CMD_ARGS": "-w 2"},
        {"GUNICORN_CMD_ARGS": "-w4"},
    ],
)
def test_memory_store_with_many_workers_is_an_error(environ):
    app = safe_app(HERMETIC_REDIS_URL=None)
    findings = run_checks(app, environ=environ)
    assert ids(findings, ERROR) == {"memory_store"}


def test_memory_store_with_workers_from_config():
    app = safe_app(HERMETIC_REDIS_URL=None, HERMETIC_WORKERS=8)
    assert "8 workers" in run_checks(app, environ={})[0].message


def test_memory_store_found_in_extensions():
    class MemoryStore:
        pass

    app = safe_app()
    app.extensions["hermetic.store"] = MemoryStore()
    assert ids(run_checks(app, environ={"WEB_CONCURRENCY": "2"})) == {"memory_store"}


def test_memory_store_with_one_worker_passes():
    app = safe_app(HERMETIC_REDIS_URL=None)
    assert run_checks(app, environ={"WEB_CONCURRENCY": "1"}) == []


def test_redis_from_the_environment_passes():
    app = safe_app(HERMETIC_REDIS_URL=None)
    environ = {"WEB_CONCURRENCY": "4", "HERMETIC_REDIS_URL": "redis://127.0.0.1"}
    assert run_checks(app, environ=environ) == []


@pytest.mark.parametrize("where", ["config", "environment"])
def test_the_apps_own_redis_url_is_not_hermetics(where):
    # REDIS_URL names the app's job queue: Hermetic's state stays in memory, and
    # the check says so and how to share it.
    app = safe_app(HERMETIC_REDIS_URL=None)
    environ = {"WEB_CONCURRENCY": "4"}
    if where == "config":
        app.config["REDIS_URL"] = "redis://127.0.0.1"
    else:
        environ["REDIS_URL"] = "redis://127.0.0.1"
    findings = run_checks(app, environ=environ)
    assert ids(findings, ERROR) == {"memory_store"}
    assert ids(findings, WARNING) == {"redis_url_ignored"}
    message = next(f.message for f in findings if f.id == "redis_url_ignored")
    assert "process memory" in message and "HERMETIC_REDIS_URL" in message


def test_redis_url_next_to_hermetic_redis_url_is_fine():
    app = safe_app(REDIS_URL="redis://127.0.0.1/5")
    assert run_checks(app, environ={"WEB_CONCURRENCY": "4"}) == []


@pytest.mark.parametrize("environ", [{"WEB_CONCURRENCY": "many"}, {"GUNICORN_CMD_ARGS": "'"}])
def test_unreadable_worker_counts_count_as_one(environ):
    assert configured_workers(Flask(__name__), environ) == 1


def test_no_body_limit_is_a_warning():
    findings = run_checks(safe_app(MAX_CONTENT_LENGTH=None), environ={})
    assert ids(findings, WARNING) == {"max_content_length"}


def test_csrf_disabled_is_a_warning():
    assert ids(run_checks(safe_app(CSRF_ENABLED=False), environ={})) == {"csrf"}


def test_routes_without_policy_are_reported(monkeypatch):
    policy = types.ModuleType("hermetic.security.policy")
    policy.routes_without_policy = lambda app: ["admin", "index"]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "hermetic.security.policy", policy)
    findings = run_checks(safe_app(), environ={})
    assert ids(findings) == {"routes_without_policy"}
    assert "admin, index" in findings[0].message


def test_plain_flask_app_lists_the_protections_off():
    app = Flask(__name__)
    app.config.update(SAFE_CONFIG)
    findings = run_checks(app, environ={})
    assert ids(findings) == {"protections_off"}
    assert findings[0].level == INFO
    for name in ("CSRF protection", "security headers", "authorization policies"):
        assert name in findings[0].message


def test_errors_come_first():
    app = safe_app(SECRET_KEY="dev", TRUSTED_HOSTS=None)
    app.debug = True
    levels = [f.level for f in run_checks(app, environ={})]
    assert levels == sorted(levels, key=[ERROR, WARNING, INFO].index)


# -- the command ----------------------------------------------------------


def cli_for(app):
    group = click.Group("hermetic")
    group.add_command(check_command)
    return app.test_cli_runner(), group


def test_command_exits_1_on_errors(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    app = safe_app(SECRET_KEY="short-but-Unique-zq")
    runner, group = cli_for(app)
    result = runner.invoke(group, ["check"])
    assert result.exit_code == 1
    assert "ERROR: [secret_key]" in result.output
    assert "1 error(s)" in result.output
    assert "short-but-Unique-zq" not in result.output  # the key is never echoed


def test_command_exits_0_without_errors(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)
    runner, group = cli_for(safe_app(TRUSTED_HOSTS=None))
    result = runner.invoke(group, ["check"])
    assert result.exit_code == 0, result.output
    assert "WARNING: [trusted_hosts]" in result.output


def test_command_says_when_all_is_well(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)
    runner, group = cli_for(safe_app())
    result = runner.invoke(group, ["check"])
    assert result.exit_code == 0
    assert result.output.strip() == "No problems found."


def test_command_json_format(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    runner, group = cli_for(safe_app(SECRET_KEY=None, MAX_CONTENT_LENGTH=None))
    result = runner.invoke(group, ["check", "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert {d["id"] for d in data} >= {"secret_key", "max_content_length"}
    assert set(data[0]) == {"level", "id", "message"}


def test_command_inside_an_app_context(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    app = safe_app(SECRET_KEY="dev")
    runner = click.testing.CliRunner()
    with app.app_context():
        result = runner.invoke(check_command, [])
    assert result.exit_code == 1


# -- a real Hermetic app ----------------------------------------------------


def test_hermetic_app_with_safe_settings_has_no_errors():
    from hermetic import Hermetic

    app = Hermetic(__name__)
    app.config.update(SAFE_CONFIG)
    findings = run_checks(app, environ={"WEB_CONCURRENCY": "4"})
    assert ids(findings, ERROR) == set()
    assert "protections_off" not in ids(findings)


def test_hermetic_app_without_key_or_redis_fails(monkeypatch):
    from hermetic import Hermetic

    for name in (
        "HERMETIC_SECRET_KEY",
        "SECRET_KEY",
        "HERMETIC_SECRET_KEY_FILE",
        "SECRET_KEY_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HERMETIC_SECRETS_DIR", "/nonexistent")
    app = Hermetic(__name__)
    findings = run_checks(app, environ={"WEB_CONCURRENCY": "4"})
    assert {"secret_key", "memory_store"} <= ids(findings, ERROR)
    assert "trusted_hosts" in ids(findings, WARNING)


@pytest.mark.parametrize(
    "config",
    [
        {"JWT_ISSUER": None},
        {"JWT_AUDIENCE": None, "JWT_TRUSTED_ISSUERS": {"https://idp.test": []}},
        {"JWT_AUDIENCE": "notes"},
    ],
    ids=["nothing", "no-audience", "no-issuer"],
)
def test_jwt_that_accepts_no_token_is_an_error(config):
    from hermetic.security.jwt import JWTAuth

    app = safe_app(**config)
    JWTAuth(app)
    findings = run_checks(app, environ={})
    assert ids(findings, ERROR) == {"jwt_accepts_no_tokens"}
    (finding,) = findings
    assert "Fix: set JWT_" in finding.message


def test_jwt_issuer_only_on_purpose_or_complete_passes():
    from hermetic.security.jwt import JWTAuth, generate_signing_key
    from hermetic.security.jwt.keys import private_pem

    pem = private_pem(generate_signing_key("EdDSA")).decode()
    for audience in (False, "notes"):
        app = safe_app(
            JWT_AUDIENCE=audience,
            JWT_ISSUER="https://me.test",
            JWT_SIGNING_KEYS=[{"alg": "EdDSA", "pem": pem}],
        )
        JWTAuth(app)
        assert run_checks(app, environ={}) == []


# -- templates: what the CSP and CSRF will refuse ------------------------------


def _templated_app(tmp_path, page, **config):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text(page)
    app = Flask("templated_app", root_path=str(tmp_path))
    app.config.update(SAFE_CONFIG, **config)
    for shield in (ProxyShield, HostShield, CSRFShield, AuthorizationShield, HeadersShield):
        shield().init_app(app)
    return app


FLASKR_DELETE = """<form action="/1/delete" method="post">
  <input class="danger" type="submit" value="Delete" onclick="return confirm('Are you sure?');">
</form>
"""


def test_inline_handler_in_template_is_reported_by_file_and_line(tmp_path):
    findings = run_checks(_templated_app(tmp_path, FLASKR_DELETE), environ={})
    (csp,) = [f for f in findings if f.id == "csp_template"]
    assert csp.level == WARNING
    assert "page.html:2: inline event handler onclick=" in csp.message
    assert "addEventListener" in csp.message
    (form,) = [f for f in findings if f.id == "csrf_form"]
    assert "page.html:1: POST form without a CSRF token" in form.message
    assert "{{ csrf_token() }}" in form.message


def test_fixed_template_is_clean(tmp_path):
    page = """<form method="post"><input type="hidden" name="csrf_token"
      value="{{ csrf_token() }}"><button>Delete</button></form>
    <script nonce="{{ csp_nonce() }}">go()</script>
    <script src="{{ url_for('static', filename='app.js') }}"></script>"""
    findings = run_checks(_templated_app(tmp_path, page), environ={})
    assert not {"csp_template", "csp_origin", "csrf_form"} & ids(findings)


def test_cdn_origins_get_a_suggested_csp(tmp_path):
    page = """<link rel="stylesheet" href="https://cdn.example.net/bs.css?v=5">
    {{ moment.include_moment() }}
    <script src="https://cdn.example.net/bs.js"></script>"""
    findings = run_checks(_templated_app(tmp_path, page), environ={})
    messages = [f.message for f in findings if f.id == "csp_origin"]
    assert any(
        "page.html:1: <link> loads from https://cdn.example.net (style-src)" in m for m in messages
    )
    (helper,) = [f for f in findings if f.id == "csp_template"]
    assert "page.html:2: {{ moment.include_moment() }} emits a <script> tag" in helper.message
    (suggestion,) = [f for f in findings if f.id == "csp_suggestion"]
    assert "'script-src': [\"'self'\", \"'nonce-{nonce}'\", 'https://cdn.example.net']" in (
        suggestion.message
    )


def test_origin_already_allowed_is_not_reported(tmp_path):
    csp = {"default-src": ["'self'"], "script-src": ["'self'", "https://cdn.example.net"]}
    page = '<script src="https://cdn.example.net/bs.js"></script>'
    findings = run_checks(_templated_app(tmp_path, page, SECURITY_CSP=csp), environ={})
    assert "csp_origin" not in ids(findings)


def test_csp_off_skips_the_template_scan(tmp_path):
    findings = run_checks(_templated_app(tmp_path, FLASKR_DELETE, SECURITY_CSP=None), environ={})
    assert "csp_template" not in ids(findings)


def test_check_migrate_adds_the_migration_items(tmp_path, monkeypatch):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text(FLASKR_DELETE)
    (tmp_path / "app.py").write_text('app.secret_key = "dev"\n')
    app = Flask("migrating_app", root_path=str(tmp_path))
    app.config.update(SAFE_CONFIG)
    runner = click.testing.CliRunner()
    with app.app_context():
        plain = runner.invoke(check_command, [])
        rv = runner.invoke(check_command, ["--migrate"])
    assert "migrate_" not in plain.output
    assert rv.exit_code == 1
    assert "ERROR: [migrate_weak_secret_key] app.py:1: [breaks] literal SECRET_KEY" in rv.output
    assert "[migrate_inline_handler] templates/page.html:2:" in rv.output


def test_report_only_rollout_says_what_will_be_blocked(tmp_path):
    app = _templated_app(tmp_path, FLASKR_DELETE, SECURITY_CSP_REPORT_ONLY=True)
    (csp,) = [f for f in run_checks(app, environ={}) if f.id == "csp_template"]
    assert csp.message.startswith("The CSP (report-only for now) will block ")
    assert "templates/page.html:2: inline event handler" in csp.message
