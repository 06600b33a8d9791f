"""Observability: request ids, the access log, metrics and who may read them."""

from __future__ import annotations

import json
import logging
import re

import pytest

pytest.importorskip("prometheus_client", reason="metrics need the 'metrics' extra")

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from hermetic import Flask  # noqa: E402
from hermetic.security.audit import audit, request_id  # noqa: E402
from hermetic.security.audit import logger as audit_logger  # noqa: E402
from hermetic.security.errors import ConfigurationError, CSRFError  # noqa: E402
from hermetic.security.observability import (  # noqa: E402
    ORDER_OBSERVABILITY,
    Observability,
    access_logger,
)
from hermetic.security.shields import Shield  # noqa: E402

TOKEN = "metrics-token-0123456789abcdef"
FRESH_ID = re.compile(r"[0-9a-f]{24}")


@pytest.fixture(autouse=True)
def logs(caplog):
    """Capture access and audit records; put both loggers back as they were."""
    saved = [(lg, lg.level, list(lg.handlers)) for lg in (access_logger, audit_logger)]
    caplog.set_level(logging.INFO, logger=access_logger.name)
    caplog.set_level(logging.INFO, logger=audit_logger.name)
    yield caplog
    for lg, level, handlers in saved:
        lg.setLevel(level)
        lg.handlers[:] = handlers


class Refuser(Shield):
    name = "refuser"
    order = 50

    def before(self, request):  # type: ignore[override]
        if request.path == "/refused":
            audit("csrf", reason="bad_origin")
            raise CSRFError(reason="bad_origin")


@pytest.fixture
def app():
    # Local: an app with Observability and the routes the tests call.
    app = Flask(__name__)
    app.testing = True
    Refuser().init_app(app)
    Observability(app)

    @app.get("/users/<int:user_id>")
    def user(user_id):
        return {"id": user_id, "rid": request_id()}

    @app.route("/refused", methods=["GET", "POST"])
    def refused():
        return "never"

    @app.get("/whoami")
    def whoami():
        from hermetic.globals import request

        request.environ["hermetic.user_id"] = "u-7"
        return "you"

    return app


def access_lines(caplog):
    return [r.getMessage() for r in caplog.records if r.name == access_logger.name]


def audit_events(caplog):
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == audit_logger.name]


def samples(client, **kwargs):
    rv = client.get("/metrics", **kwargs)
    assert rv.status_code == 200, rv.data
    out = {}
    for family in text_string_to_metric_families(rv.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out, rv.text


# -- request ids ------------------------------------------------------------------


def test_a_client_request_id_is_ignored_without_a_trusted_proxy(client):
    rv = client.get("/users/1", headers={"X-Request-ID": "chosen-by-client"})
    rid = rv.headers["X-Request-ID"]
    assert rid != "chosen-by-client" and FRESH_ID.fullmatch(rid)
    assert rv.get_json()["rid"] == rid  # the id audit events carry


@pytest.mark.parametrize("setting", [{"TRUSTED_PROXY_HOPS": 1}, {"REQUEST_ID_TRUSTED": True}])
def test_a_trusted_proxy_passes_its_request_id_on(app, client, setting):
    app.config.update(setting)
    rv = client.get("/users/1", headers={"X-Request-ID": "lb-4f1c.9_A-z"})
    assert rv.headers["X-Request-ID"] == "lb-4f1c.9_A-z"
    assert rv.get_json()["rid"] == "lb-4f1c.9_A-z"


@pytest.mark.parametrize(
    "value",
    [
        "abc\r\nSet-Cookie: x=1",
        "a" * 129,
        "has space",
        'quote"d',
        "caf\u00e9",
        "",
        "{json}",
    ],
)
def test_an_unsafe_request_id_is_replaced_even_from_a_trusted_proxy(app, client, value):
    app.config["REQUEST_ID_TRUSTED"] = True
    rv = client.get("/users/1", environ_base={"HTTP_X_REQUEST_ID": value})
    rid = rv.headers["X-Request-ID"]
    assert FRESH_ID.fullmatch(rid)
    assert "Set-Cookie" not in rv.headers


def test_the_longest_safe_request_id_is_kept(app, client):
    app.config["REQUEST_ID_TRUSTED"] = True
    value = "a" * 128
    assert client.get("/users/1", headers={"X-Request-ID": value}).headers["X-Request-ID"] == value


def test_request_id_header_name_is_configurable():
    app = Flask(__name__)
    app.config.update(REQUEST_ID_HEADER="X-Correlation-ID", REQUEST_ID_TRUSTED=True)
    Observability(app)
    app.get("/")(lambda: "ok")
    rv = app.test_client().get("/", headers={"X-Correlation-ID": "corr-1"})
    assert rv.headers["X-Correlation-ID"] == "corr-1"
    assert "X-Request-ID" not in rv.headers


def test_refused_requests_get_an_id_too(client, logs):
    rv = client.get("/refused")
    assert rv.status_code == 403
    (event,) = audit_events(logs)
    assert event["request_id"] == rv.headers["X-Request-ID"]


# -- access log ---------------------------------------------------------------------


def test_one_json_access_line_per_request(client, logs):
    rv = client.get("/users/42", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    (line,) = access_lines(logs)
    record = json.loads(line)
    assert record["request_id"] == rv.headers["X-Request-ID"]
    assert (record["method"], record["path"], record["route"]) == (
        "GET",
        "/users/42",
        "/users/<int:user_id>",
    )
    assert record["status"] == 200
    assert record["ip"] == "10.1.2.3"
    assert record["bytes"] == len(rv.data)
    assert record["user"] is None
    assert isinstance(record["duration_ms"], float) and record["duration_ms"] >= 0
    assert isinstance(record["ts"], float)


def test_access_log_names_the_user_and_unmatched_routes(client, logs):
    client.get("/whoami")
    client.get("/nowhere")
    first, second = (json.loads(line) for line in access_lines(logs))
    assert first["user"] == "u-7"
    assert (second["status"], second["route"]) == (404, None)


def test_crlf_in_the_path_cannot_forge_an_access_line(client, logs):
    client.get('/x%0D%0A{"status":200,"forged":true}%0A')
    (line,) = access_lines(logs)
    assert "\r" not in line and "\n" not in line
    record = json.loads(line)
    assert record["path"].startswith("/x\r\n")
    assert "forged" not in record


def test_a_long_path_is_cut_in_the_log(client, logs):
    client.get("/" + "p" * 5000)
    (line,) = access_lines(logs)
    assert len(json.loads(line)["path"]) < 1100


def test_access_log_can_be_turned_off(logs):
    app = Flask(__name__)
    app.config["ACCESS_LOG_ENABLED"] = False
    Observability(app)
    app.get("/")(lambda: "ok")
    assert app.test_client().get("/").headers["X-Request-ID"]
    assert access_lines(logs) == []


# -- metrics --------------------------------------------------------------------------


def test_requests_are_counted_by_rule_and_status_never_by_raw_path(client):
    for n in (1, 2, 3):
        client.get(f"/users/{n}9876")
    client.get("/nowhere/314159")
    client.post("/users/1")  # 405
    client.open("/users/1", method="BREW")
    values, text = samples(client)
    total = "hermetic_requests_total"
    assert (
        values[(total, (("method", "GET"), ("route", "/users/<int:user_id>"), ("status", "200")))]
        == 3
    )
    assert values[(total, (("method", "GET"), ("route", "<unmatched>"), ("status", "404")))] == 1
    assert values[(total, (("method", "POST"), ("route", "<unmatched>"), ("status", "405")))] == 1
    assert values[(total, (("method", "OTHER"), ("route", "<unmatched>"), ("status", "405")))] == 1
    # The raw paths and the unknown method are in no label (sample values are
    # numbers that may happen to contain these digits: process memory, times).
    labels = " ".join(str(key[1]) for key in values)
    assert "9876" not in labels and "314159" not in labels and "BREW" not in text


def test_durations_fill_a_histogram(client):
    from hermetic.security.observability import DEFAULT_BUCKETS

    client.get("/users/1")
    client.get("/users/2")
    values, _ = samples(client)
    labels = {"method": "GET", "route": "/users/<int:user_id>"}
    key = tuple(sorted(labels.items()))
    assert values[("hermetic_request_duration_seconds_count", key)] == 2
    assert values[("hermetic_request_duration_seconds_sum", key)] >= 0
    buckets = {
        dict(k[1])["le"]: v
        for k, v in values.items()
        if k[0] == "hermetic_request_duration_seconds_bucket"
        and {n: x for n, x in k[1] if n != "le"} == labels
    }
    assert len(buckets) == len(DEFAULT_BUCKETS) + 1
    assert buckets["+Inf"] == 2
    counts = [buckets[b] for b in sorted(buckets, key=float)]
    assert counts == sorted(counts)  # cumulative


def test_security_events_are_counted_by_kind_and_reason(app, client):
    client.get("/refused")
    client.post("/refused")
    with app.test_request_context("/"):
        audit("authn", reason="bad_password")
    values, _ = samples(client)
    events = "hermetic_security_events_total"
    assert values[(events, (("kind", "csrf"), ("reason", "bad_origin")))] == 2
    assert values[(events, (("kind", "authn"), ("reason", "bad_password")))] == 1
    refused = (("method", "POST"), ("route", "/refused"), ("status", "403"))
    assert values[("hermetic_requests_total", refused)] == 1


def test_apps_keep_their_metrics_apart(app, client):
    other = Flask(__name__)
    Observability(other)
    other.get("/only-here")(lambda: "ok")
    other.test_client().get("/only-here")
    client.get("/refused")
    _, text = samples(client)
    assert "/only-here" not in text
    _, other_text = samples(other.test_client())
    assert "bad_origin" not in other_text


def test_validation_failures_are_counted():
    pytest.importorskip("pydantic")
    from pydantic import BaseModel

    from hermetic.security.validation import validate

    class Body(BaseModel):
        n: int

    app = Flask(__name__)
    Observability(app)

    @app.post("/n")
    @validate(body=Body)
    def n(body):
        return "ok"

    client = app.test_client()
    client.post("/n", json={"n": "x"})
    client.post("/n", json={"n": "y"})
    client.post("/n", data="{", content_type="application/json")
    client.post("/n", data="n=1")
    values, _ = samples(client)
    failures = "hermetic_validation_failures_total"
    assert values[(failures, (("reason", "invalid_body"), ("route", "/n")))] == 2
    assert values[(failures, (("reason", "malformed_json"), ("route", "/n")))] == 1
    assert values[(failures, (("reason", "unsupported_media_type"), ("route", "/n")))] == 1


def test_timing_wraps_every_other_shield(app):
    names = [s.name for s in app.shields]
    assert names[0] == "observability"
    assert ORDER_OBSERVABILITY < min(s.order for s in app.shields if s.name != "observability")


# -- who may read /metrics --------------------------------------------------------------


def test_metrics_refused_to_a_foreign_address(client, logs):
    rv = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert rv.status_code == 403
    assert b"hermetic_requests_total" not in rv.data
    events = audit_events(logs)
    assert [(e["event"], e["reason"]) for e in events] == [("metrics", "metrics_not_allowed")]


def test_metrics_through_an_untrusted_local_proxy_are_refused(client):
    # A reverse proxy on loopback relays an outside client: no IP pass.
    rv = client.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"})
    assert rv.status_code == 403
    rv = client.get("/metrics", headers={"Forwarded": "for=198.51.100.7"})
    assert rv.status_code == 403


def test_metrics_behind_a_trusted_proxy_use_the_resolved_client():
    from hermetic.security.proxies import ProxyShield

    app = Flask(__name__)
    app.config["TRUSTED_PROXY_HOPS"] = 1
    ProxyShield().init_app(app)
    Observability(app)
    client = app.test_client()
    assert client.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 403
    assert client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200


@pytest.mark.parametrize(
    ("headers", "status", "reason"),
    [
        ({}, 401, "metrics_token_required"),
        ({"Authorization": "Bearer wrong-token"}, 401, "metrics_bad_token"),
        ({"Authorization": f"Bearer {TOKEN}x"}, 401, "metrics_bad_token"),
        ({"Authorization": f"Basic {TOKEN}"}, 401, "metrics_token_required"),
        ({"Authorization": "Bearer "}, 401, "metrics_token_required"),
    ],
)
def test_metrics_token_is_required_from_outside(app, client, logs, headers, status, reason):
    app.config["METRICS_TOKEN"] = TOKEN
    rv = client.get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert rv.status_code == status
    assert rv.headers["WWW-Authenticate"].startswith("Bearer")
    assert [(e["event"], e["reason"]) for e in audit_events(logs)] == [("metrics", reason)]
    assert TOKEN not in logs.text


def test_the_right_token_reads_the_metrics_from_anywhere(app, client):
    app.config["METRICS_TOKEN"] = TOKEN
    rv = client.get(
        "/metrics",
        headers={"Authorization": f"Bearer {TOKEN}"},
        environ_base={"REMOTE_ADDR": "10.9.9.9"},
    )
    assert rv.status_code == 200
    assert rv.content_type.startswith("text/plain")


def test_loopback_reads_the_metrics_by_default(client):
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    assert (
        client.get("/metrics", environ_base={"REMOTE_ADDR": "::ffff:127.0.0.1"}).status_code == 200
    )


def test_allowed_networks_are_configurable():
    app = Flask(__name__)
    app.config["METRICS_ALLOWED_NETWORKS"] = "10.0.0.0/8, fd00::/8"
    Observability(app)
    client = app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.30.40"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "fd00::5"}).status_code == 200
    assert client.get("/metrics").status_code == 403  # loopback no longer listed
    app2 = Flask(__name__)
    app2.config.update(METRICS_ALLOWED_NETWORKS=(), METRICS_TOKEN=TOKEN)
    Observability(app2)
    assert app2.test_client().get("/metrics").status_code == 401  # token only


def test_metrics_route_path_and_switch():
    app = Flask(__name__)
    app.config["METRICS_PATH"] = "/internal/prom"
    Observability(app)
    client = app.test_client()
    assert client.get("/internal/prom").status_code == 200
    assert client.get("/metrics").status_code == 404
    off = Flask(__name__)
    off.config["METRICS_ENABLED"] = False
    Observability(off)
    assert off.test_client().get("/metrics").status_code == 404


@pytest.mark.parametrize(
    ("key", "value"),
    [("METRICS_ALLOWED_NETWORKS", ["not-a-network"]), ("REQUEST_ID_HEADER", "Bad Header\r\n")],
)
def test_bad_settings_stop_the_app_at_start_up(key, value):
    app = Flask(__name__)
    app.config[key] = value
    with pytest.raises(ConfigurationError):
        Observability(app)


def test_on_the_hermetic_profile(logs):
    import secrets

    try:
        from hermetic.security.profile import Hermetic

        app = Hermetic("hermetic_observability_tests")
    except ImportError as e:  # pragma: no cover - until every module exists
        pytest.skip(f"hermetic.Hermetic is not importable yet ({e})")
    app.config.update(TESTING=True, SECRET_KEY=secrets.token_urlsafe(48), AUTHZ_DEFAULT="deny")
    Observability(app)

    from hermetic.security.policy import public

    @app.get("/")
    @public
    def index():
        return "ok"

    client = app.test_client()
    rv = client.get("/")
    assert FRESH_ID.fullmatch(rv.headers["X-Request-ID"])
    values, _ = samples(client)
    assert (
        values[("hermetic_requests_total", (("method", "GET"), ("route", "/"), ("status", "200")))]
        == 1
    )
