"""Trusted proxies and hosts: hermetic.security.proxies."""

from __future__ import annotations

import json
import logging

import pytest

from hermetic.security.errors import ConfigurationError
from hermetic.security.proxies import HostShield, ProxyShield, parse_proxy_hops


@pytest.fixture
def audit_records(caplog):
    caplog.set_level(logging.INFO, logger="hermetic.security.audit")

    def records():
        return [
            json.loads(r.getMessage())
            for r in caplog.records
            if r.name == "hermetic.security.audit"
        ]

    return records


def _install_proxy(app, hops):
    app.config["TRUSTED_PROXY_HOPS"] = hops
    ProxyShield().init_app(app)

    @app.route("/whoami")
    def whoami():
        from hermetic import request

        return {
            "ip": request.remote_addr,
            "scheme": request.scheme,
            "host": request.host,
            "root": request.script_root,
            "url": request.url,
            "orig": request.environ.get("werkzeug.proxy_fix.orig"),
        }

    return app.test_client()


FORWARDED = {
    "X-Forwarded-For": "6.6.6.6, 10.0.0.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Port": "8443",
    "X-Forwarded-Prefix": "/evil",
}


# -- the attack: a client forges X-Forwarded-* ------------------------------


@pytest.mark.parametrize("hops", [0, None, {}])
def test_forwarded_headers_ignored_by_default(app, hops):
    client = _install_proxy(app, hops)
    data = client.get("/whoami", headers=FORWARDED, environ_base={"REMOTE_ADDR": "1.2.3.4"}).json
    assert data["ip"] == "1.2.3.4"
    assert data["scheme"] == "http"
    assert data["host"] == "localhost"
    assert data["root"] == ""
    assert data["orig"] is None


def test_forwarded_headers_ignored_without_config_key(app):
    ProxyShield().init_app(app)

    @app.route("/ip")
    def ip():
        from hermetic import request

        return request.remote_addr or ""

    rv = app.test_client().get(
        "/ip", headers={"X-Forwarded-For": "6.6.6.6"}, environ_base={"REMOTE_ADDR": "1.2.3.4"}
    )
    assert rv.text == "1.2.3.4"


def test_one_hop_trusts_only_the_rightmost_value(app):
    client = _install_proxy(app, 1)
    data = client.get("/whoami", headers=FORWARDED, environ_base={"REMOTE_ADDR": "10.0.0.1"}).json
    # The client wrote 6.6.6.6; our proxy appended the address it saw.
    assert data["ip"] == "10.0.0.7"
    assert data["scheme"] == "https"
    assert data["host"] == "evil.example:8443"
    assert data["root"] == "/evil"
    assert data["orig"]["REMOTE_ADDR"] == "10.0.0.1"
    assert data["orig"]["HTTP_HOST"] == "localhost"


def test_two_hops_trust_two_values(app):
    client = _install_proxy(app, 2)
    data = client.get("/whoami", headers=FORWARDED).json
    assert data["ip"] == "6.6.6.6"


def test_too_few_values_are_ignored(app):
    client = _install_proxy(app, {"for": 3})
    data = client.get("/whoami", headers=FORWARDED, environ_base={"REMOTE_ADDR": "10.0.0.1"}).json
    assert data["ip"] == "10.0.0.1"


def test_per_header_counts(app):
    client = _install_proxy(app, {"for": 1, "proto": 1})
    data = client.get("/whoami", headers=FORWARDED, environ_base={"REMOTE_ADDR": "10.0.0.1"}).json
    assert data["ip"] == "10.0.0.7"
    assert data["scheme"] == "https"
    # Host, port and prefix stay untrusted.
    assert data["host"] == "localhost"
    assert data["root"] == ""


def test_config_after_init_app_is_read_on_first_request(app):
    ProxyShield().init_app(app)
    app.config["TRUSTED_PROXY_HOPS"] = 1

    @app.route("/ip")
    def ip():
        from hermetic import request

        return request.remote_addr or ""

    rv = app.test_client().get("/ip", headers={"X-Forwarded-For": "9.9.9.9"})
    assert rv.text == "9.9.9.9"


def test_no_trusted_hop_means_no_prepare_step(app):
    client = _install_proxy(app, 0)
    assert client.get("/whoami", headers=FORWARDED).json["host"] == "localhost"
    assert app.shields.prepare_steps == ()
    # Trusting a hop later (and configuring again) brings the step back.
    app.config["TRUSTED_PROXY_HOPS"] = 1
    assert app.shields.configure() == []
    assert client.get("/whoami", headers=FORWARDED).json["host"] == "evil.example:8443"


@pytest.mark.parametrize(
    "value",
    [-1, True, 1.5, "1", {"for": -1}, {"for": "1"}, {"forwarded": 1}, {"for": None}],
)
def test_bad_hop_config_stops_the_first_request(app, value):
    app.config["TRUSTED_PROXY_HOPS"] = value
    ProxyShield().init_app(app)
    with pytest.raises(ConfigurationError, match="TRUSTED_PROXY_HOPS"):
        app.test_client().get("/")


def test_parse_proxy_hops():
    assert parse_proxy_hops(2) == {"for": 2, "proto": 2, "host": 2, "port": 2, "prefix": 2}
    assert parse_proxy_hops({"proto": 1})["proto"] == 1
    assert parse_proxy_hops({"proto": 1})["for"] == 0


def test_shield_serves_one_app(app):
    import hermetic

    shield = ProxyShield()
    shield.init_app(app)
    shield.init_app(app)  # again on the same app is fine
    with pytest.raises(RuntimeError, match="one ProxyShield"):
        shield.init_app(hermetic.Flask("other"))


def test_proxy_shield_cannot_be_exempted(app):
    from hermetic.security.shields import exempt

    app.config["TRUSTED_PROXY_HOPS"] = 1
    ProxyShield().init_app(app)

    @app.route("/ip")
    @exempt("proxy")
    def ip():
        from hermetic import request

        return request.remote_addr or ""

    assert app.test_client().get("/ip", headers={"X-Forwarded-For": "9.9.9.9"}).text == "9.9.9.9"


# -- trusted hosts ----------------------------------------------------------


@pytest.fixture
def host_app(app):
    app.config["TRUSTED_HOSTS"] = ["good.example", ".corp.example"]
    HostShield().init_app(app)

    @app.route("/")
    def index():
        return "ok"

    @app.route("/item/<int:n>")
    def item(n):
        return str(n)

    return app


UNTRUSTED = [
    "evil.example",
    "good.example.evil.example",
    "evilgood.example",
    "corp.example.evil",
    "good.example/",
    "good.example@evil.example",
    "good example",
    "good.example:99999",
    # Werkzeug compares case-sensitively (browsers send lower case); the
    # shield agrees with Flask's own check rather than pass what it refuses.
    "GOOD.example",
    "",
]


@pytest.mark.parametrize("host", UNTRUSTED)
@pytest.mark.parametrize("path", ["/", "/item/3", "/missing"])
def test_untrusted_host_refused_once(host_app, audit_records, host, path):
    rv = host_app.test_client().get(path, headers={"Host": host})
    assert rv.status_code == 400
    assert "Host header is not served here" in rv.text
    records = audit_records()
    assert [(r["event"], r["reason"]) for r in records] == [("host", "untrusted_host")]
    assert records[0]["host"] == host


def test_untrusted_host_json_problem(host_app):
    rv = host_app.test_client().get(
        "/", headers={"Host": "evil.example", "Accept": "application/json"}
    )
    assert rv.status_code == 400
    assert rv.mimetype == "application/problem+json"
    assert rv.json["reason"] == "untrusted_host"


def test_untrusted_forwarded_host_refused(host_app):
    host_app.config["TRUSTED_PROXY_HOPS"] = {"host": 1}
    ProxyShield().init_app(host_app)
    rv = host_app.test_client().get(
        "/", headers={"Host": "good.example", "X-Forwarded-Host": "evil.example"}
    )
    assert rv.status_code == 400


@pytest.mark.parametrize(
    "host", ["good.example", "good.example:8080", "a.corp.example", "corp.example"]
)
def test_trusted_hosts_pass(host_app, audit_records, host):
    rv = host_app.test_client().get("/", headers={"Host": host})
    assert rv.status_code == 200
    assert audit_records() == []


def test_host_shield_without_trusted_hosts_allows_any(app):
    HostShield().init_app(app)

    @app.route("/")
    def index():
        return "ok"

    assert app.test_client().get("/", headers={"Host": "anything.example"}).status_code == 200


@pytest.mark.parametrize("value", ["good.example", b"good.example", [""], [None], []])
def test_bad_trusted_hosts_stop_the_first_request(app, value):
    app.config["TRUSTED_HOSTS"] = value
    HostShield().init_app(app)
    with pytest.raises(ConfigurationError, match="TRUSTED_HOSTS"):
        app.test_client().get("/")


def test_bad_trusted_hosts_set_after_init_fail_on_configure(app):
    shield = HostShield()
    shield.init_app(app)
    app.config["TRUSTED_HOSTS"] = "good.example"
    with pytest.raises(ConfigurationError):
        shield.configure()


def test_host_shield_cannot_be_exempted(host_app):
    from hermetic.security.shields import exempt

    @host_app.route("/health")
    @exempt("host")
    def health():
        return "ok"

    rv = host_app.test_client().get("/health", headers={"Host": "10.1.2.3"})
    assert rv.status_code == 400


def test_an_exemption_that_skips_nothing_is_announced(host_app, caplog):
    # @exempt("host") or a misspelt name leaves the protection on; the
    # developer is told, not left to believe the route skips it.
    from hermetic.security.shields import exempt

    @host_app.route("/health")
    @exempt("host", "hosts")
    def health():
        return "ok"

    with caplog.at_level("WARNING", logger="hermetic.security"):
        host_app.test_client().get("/health", headers={"Host": "good.example"})
    text = "\n".join(r.getMessage() for r in caplog.records if r.name == "hermetic.security")
    assert "'health' is exempt from 'host', a shield no route can skip: it still runs" in text
    assert "'health' is exempt from 'hosts', which is no shield" in text
    assert "Did you mean 'host'?" in text


def test_core_alone_refuses_too(app):
    # Without the shield Flask's own check still refuses (the two agree).
    app.config["TRUSTED_HOSTS"] = ["good.example"]

    @app.route("/item/<int:n>")
    def item(n):
        return str(n)

    client = app.test_client()
    assert client.get("/item/1", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/item/1", headers={"Host": "good.example"}).status_code == 200


# -- with the Hermetic profile ------------------------------------------------


def _hermetic_app():
    import secrets

    try:
        from hermetic.security.profile import Hermetic

        app = Hermetic("hermetic_proxy_tests")
    except ImportError as e:  # pragma: no cover - until every module exists
        pytest.skip(f"hermetic.Hermetic is not importable yet ({e})")
    app.config.update(TESTING=True, SECRET_KEY=secrets.token_urlsafe(48))
    return app


def test_hermetic_trusted_hosts_set_after_construction(audit_records):
    app = _hermetic_app()
    app.config["TRUSTED_HOSTS"] = ["good.example"]

    @app.route("/")
    def index():
        return "ok"

    client = app.test_client()
    rv = client.get("/", headers={"Host": "evil.example"})
    assert rv.status_code == 400
    assert "Host header is not served here" in rv.text
    assert [(r["event"], r["reason"]) for r in audit_records()] == [("host", "untrusted_host")]
    assert client.get("/", headers={"Host": "good.example"}).status_code == 200


def test_hermetic_ignores_forwarded_headers_by_default():
    app = _hermetic_app()

    @app.route("/ip")
    def ip():
        from hermetic import request

        return request.remote_addr or ""

    rv = app.test_client().get(
        "/ip", headers={"X-Forwarded-For": "6.6.6.6"}, environ_base={"REMOTE_ADDR": "1.2.3.4"}
    )
    assert rv.text == "1.2.3.4"
