"""CSP violation reports: the header, the built-in endpoint, its limits and its log."""

from __future__ import annotations

import json

import pytest

from hermetic import Hermetic
from hermetic.security import audit
from hermetic.security.csp_reports import parse_reports
from hermetic.security.errors import ConfigurationError
from hermetic.security.headers import CSP_REPORT_PATH, HeadersShield

STRONG = "Vq3-rT8sLm0pXw2Zc7NbY4kHd9FgJ6eA1uQoWi5RtSyv"
REPORT = {
    "csp-report": {
        "document-uri": "http://localhost/post/1?token=s3cret#frag",
        "referrer": "",
        "violated-directive": "script-src-attr",
        "effective-directive": "script-src-attr",
        "original-policy": "default-src 'self'",
        "disposition": "enforce",
        "blocked-uri": "inline",
        "line-number": 12,
        "source-file": "http://localhost/post/1?token=s3cret",
        "status-code": 200,
        "script-sample": "return confirm('Are you sure?')",
    }
}
CSP_TYPE = "application/csp-report"


def _app(**config):
    app = Hermetic("csp_report_app")
    app.config.update(SECRET_KEY=STRONG, **config)

    @app.get("/")
    def index():
        return "ok"

    return app


@pytest.fixture
def events(audit_events):
    return lambda kind="csp": audit_events(kind)


def _post(client, body, content_type=CSP_TYPE, **kwargs):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(CSP_REPORT_PATH, data=data, content_type=content_type, **kwargs)


# -- the silent failure: a blocked handler left no trace ----------------------


def test_plain_flask_with_headers_sends_no_report_directives(app):
    # The old behaviour, kept for Flask + HeadersShield: reports are opt-in there.
    HeadersShield().init_app(app)
    app.add_url_rule("/", "index", lambda: "ok")
    rv = app.test_client().get("/")
    assert "report-uri" not in rv.headers["Content-Security-Policy"]
    assert "Reporting-Endpoints" not in rv.headers


def test_hermetic_csp_names_the_report_endpoint():
    rv = _app().test_client().get("/")
    csp = rv.headers["Content-Security-Policy"]
    assert csp.endswith(f"; report-uri {CSP_REPORT_PATH}")
    # report-to is opt-in: Chromium would ignore report-uri for it.
    assert "report-to" not in csp
    assert "Reporting-Endpoints" not in rv.headers


def test_report_to_with_reporting_endpoints():
    rv = _app(SECURITY_CSP_REPORT_TO=True).test_client().get("/")
    csp = rv.headers["Content-Security-Policy"]
    assert csp.endswith(f"; report-uri {CSP_REPORT_PATH}; report-to hermetic-csp")
    assert rv.headers["Reporting-Endpoints"] == f'hermetic-csp="{CSP_REPORT_PATH}"'


def test_report_only_rollout_sends_the_report_only_header():
    rv = _app(SECURITY_CSP_REPORT_ONLY=True).test_client().get("/")
    assert "Content-Security-Policy" not in rv.headers
    assert "report-uri" in rv.headers["Content-Security-Policy-Report-Only"]


def test_own_collector_turns_the_endpoint_off():
    app = _app(SECURITY_CSP_REPORT_URI="https://reports.example/csp")
    client = app.test_client()
    rv = client.get("/")
    assert "report-uri https://reports.example/csp" in rv.headers["Content-Security-Policy"]
    assert _post(client, REPORT).status_code == 404


def test_reports_off():
    client = _app(SECURITY_CSP_REPORTS=False).test_client()
    assert "report-uri" not in client.get("/").headers["Content-Security-Policy"]
    assert _post(client, REPORT).status_code == 404


def test_policy_with_its_own_report_uri_is_kept():
    csp = {"default-src": ["'self'"], "report-uri": ["https://r.example/x"]}
    rv = _app(SECURITY_CSP=csp).test_client().get("/")
    assert (
        rv.headers["Content-Security-Policy"]
        == "default-src 'self'; report-uri https://r.example/x"
    )
    assert "Reporting-Endpoints" not in rv.headers


@pytest.mark.parametrize("uri", ["/r; script-src *", "/a b", '/x"', "/r,x"])
def test_report_uri_cannot_inject_directives(uri):
    app = _app(SECURITY_CSP_REPORT_URI=uri)
    with pytest.raises(ConfigurationError, match="SECURITY_CSP_REPORT_URI"):
        app.security_check()


def test_bad_rate_stops_the_app():
    with pytest.raises(ConfigurationError, match="SECURITY_CSP_REPORT_RATE"):
        _app(SECURITY_CSP_REPORT_RATE="lots").security_check()


# -- the endpoint ---------------------------------------------------------------


def test_report_is_logged_without_query_strings(events):
    client = _app().test_client(enforce_csrf=True)
    rv = _post(client, REPORT)
    assert rv.status_code == 204
    (event,) = events()
    assert event["reason"] == "script-src-attr"
    assert event["blocked"] == "inline"
    assert event["document"] == "http://localhost/post/1"
    assert event["source"] == "http://localhost/post/1"
    assert event["line"] == 12
    assert event["sample"] == "return confirm('Are you sure?')"
    assert "s3cret" not in json.dumps(event)


def test_reporting_api_batch(events):
    body = [
        {
            "type": "csp-violation",
            "body": {
                "effectiveDirective": "img-src",
                "blockedURL": "https://cdn.example/a.png?k=1",
                "documentURL": "http://localhost/",
            },
        },
        {"type": "deprecation", "body": {"id": "x"}},
    ]
    rv = _post(_app().test_client(), body, "application/reports+json")
    assert rv.status_code == 204
    (event,) = events()
    assert event["reason"] == "img-src"
    assert event["blocked"] == "https://cdn.example/a.png"


def test_other_content_type_is_415(events):
    assert _post(_app().test_client(), REPORT, "application/json").status_code == 415
    assert events() == []


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"csp-report": 3}', b"\xff\xfe", b"[" * 3000 + b"]" * 3000],
    ids=["syntax", "empty-list", "not-an-object", "not-utf8", "deep"],
)
def test_bad_body_is_400(body, events):
    assert _post(_app().test_client(), body).status_code == 400
    assert events() == []


def test_oversized_report_is_413(events):
    big = {"csp-report": {**REPORT["csp-report"], "script-sample": "x" * 9000}}
    assert _post(_app().test_client(), big).status_code == 413
    assert events() == []


def test_long_fields_are_cut_and_cr_lf_escaped(caplog, events):
    forged = 'a\r\n{"event":"login","user":"admin"}' + "y" * 1000
    report = {"csp-report": {**REPORT["csp-report"], "script-sample": forged}}
    assert _post(_app(SECURITY_CSP_REPORT_MAX_BYTES=4096).test_client(), report).status_code == 204
    (event,) = events()
    assert len(event["sample"]) == 200
    lines = [r.getMessage() for r in caplog.records if r.name == audit.logger.name]
    assert all("\n" not in line and "\r" not in line for line in lines)


def test_reports_are_rate_limited_per_client(events):
    client = _app(SECURITY_CSP_REPORT_RATE="2 per minute").test_client()
    codes = [_post(client, REPORT).status_code for _ in range(3)]
    assert codes == [204, 204, 429]
    other = _post(client, REPORT, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 204
    assert len(events()) == 3


def test_cross_site_origin_is_refused(events):
    rv = _post(_app().test_client(), REPORT, headers={"Origin": "https://evil.example"})
    assert rv.status_code == 403
    assert events() == []


def test_report_about_another_site_is_dropped(events):
    report = {"csp-report": {**REPORT["csp-report"], "document-uri": "https://other.example/"}}
    assert _post(_app().test_client(), report).status_code == 204
    assert events() == []


def test_endpoint_is_public_under_default_deny():
    from hermetic.security.policy import public

    app = Hermetic("csp_report_deny_app")
    app.config.update(SECRET_KEY=STRONG, AUTHZ_DEFAULT="deny")
    app.add_url_rule("/", "index", public(lambda: "ok"))
    app.security_check()  # the report route declares its policy: no refusal
    assert _post(app.test_client(), REPORT).status_code == 204


def test_get_is_405():
    assert _app().test_client().get(CSP_REPORT_PATH).status_code == 405


def test_reports_are_counted_in_metrics():
    pytest.importorskip("prometheus_client", reason="metrics need the 'metrics' extra")
    from hermetic.security.observability import Observability

    app = _app()
    Observability(app)
    client = app.test_client()
    assert _post(client, REPORT).status_code == 204
    text = client.get("/metrics").get_data(as_text=True)
    assert 'hermetic_security_events_total{kind="csp",reason="script-src-attr"} 1.0' in text


def test_parse_reports_keeps_at_most_ten():
    body = json.dumps([{"type": "csp-violation", "body": {"effectiveDirective": "x"}}] * 50)
    assert len(parse_reports("application/reports+json", body.encode())) == 10


def test_endpoint_is_left_out_of_the_openapi_document():
    from hermetic.openapi import openapi_spec

    app = _app()
    with app.app_context():
        spec = openapi_spec(app)
    assert CSP_REPORT_PATH not in spec["paths"]
    assert "/" in spec["paths"]
