"""Open-redirect defence: hermetic.security.redirects."""

from __future__ import annotations

import json
import logging

import pytest

from hermetic.security.errors import ConfigurationError
from hermetic.security.redirects import is_safe_redirect_target, next_url, safe_redirect

HOST = "good.example"

# The attack first: every one of these sends a browser to another site (or
# runs script) if used as a Location, directly or after a decoding hop.
UNSAFE = [
    "//evil.example",
    "//evil.example/path",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "\t//evil.example",
    " //evil.example",
    " /path",
    "/path\x00",
    "/path\x0b",
    "/path\u2028",
    "/path\x85",
    "\x01//evil.example",
    "http://evil.example",
    "https://evil.example/",
    "HTTPS://evil.example/",
    "https://good.example@evil.example/",
    "https://good.example:443@evil.example/",
    "https://evil.example#@good.example",
    "https://evil.example?@good.example",
    "https://good.example.evil.example/",
    "https://evilgood.example/",
    "https:evil.example",
    "https:/evil.example",
    "https:///evil.example",
    "https://good.example\\@evil.example",
    "https://good%2Eexample/",
    "ftp://good.example/",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "java\tscript:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "/%2F%2Fevil.example",
    "/%2f%2fevil.example",
    "/%5Cevil.example",
    "/%5cevil.example",
    "%2F%2Fevil.example",
    "/%09/evil.example",
    "/%0A/evil.example",
    "/%252F%252Fevil.example",
    "/%25252F%25252Fevil.example",
    "/%2525252525252F",
    "%5C%5Cevil.example",
    "evil.example",
    "relative/path",
    "?next=x",
    "",
    None,
]

SAFE = [
    "/",
    "/dashboard",
    "/a/b?c=d&e=f#frag",
    "/search?q=a%20b",
    "/page/a%20b",
    "/login?next=%2F%2Fignored-query",
    "/login?next=https%3A%2F%2Fgood.example%2F",
    "/caf\u00e9",
    "https://good.example/",
    "https://good.example/path?x=1",
    "http://GOOD.example/",
    "https://good.example:8443/",
    "https://api.partner.example/cb",
    "https://partner.example/",
]


@pytest.mark.parametrize("target", UNSAFE)
def test_unsafe_targets_are_refused(target):
    assert not is_safe_redirect_target(target, host=HOST, allowed_hosts=(".partner.example",))


@pytest.mark.parametrize("target", SAFE)
def test_safe_targets_pass(target):
    assert is_safe_redirect_target(target, host=HOST, allowed_hosts=(".partner.example",))


def test_absolute_urls_need_a_host_to_compare_with():
    assert not is_safe_redirect_target("https://good.example/")
    assert is_safe_redirect_target("/ok")


def test_allowed_host_without_dot_matches_that_host_only():
    allowed = ("partner.example",)
    assert is_safe_redirect_target("https://partner.example/", allowed_hosts=allowed)
    assert not is_safe_redirect_target("https://api.partner.example/", allowed_hosts=allowed)


def test_allowed_hosts_given_as_a_string_is_one_host():
    assert is_safe_redirect_target("https://partner.example/", allowed_hosts="partner.example")
    assert not is_safe_redirect_target("https://p/", allowed_hosts="partner.example")


def test_non_string_targets_are_refused():
    assert not is_safe_redirect_target(b"/path")  # type: ignore[arg-type]


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


@pytest.fixture
def redirect_app(app):
    @app.route("/go", methods=["GET", "POST"])
    def go():
        return safe_redirect(next_url(), fallback="/home")

    @app.route("/next", methods=["GET", "POST"])
    def show_next():
        return {"next": next_url("to", fallback="/fallback")}

    return app


def test_safe_redirect_refuses_foreign_target_and_audits(redirect_app, audit_records):
    client = redirect_app.test_client()
    rv = client.get("/go?next=//evil.example")
    assert rv.status_code == 302
    assert rv.headers["Location"] == "/home"
    records = audit_records()
    assert [(r["event"], r["reason"]) for r in records] == [("redirect", "unsafe_target")]
    assert records[0]["target"] == "//evil.example"


def test_audit_truncates_a_huge_target(redirect_app, audit_records):
    client = redirect_app.test_client()
    client.get("/go?next=//evil.example/" + "a" * 5000)
    (record,) = audit_records()
    assert len(record["target"]) < 600


def test_safe_redirect_follows_own_path(redirect_app, audit_records):
    rv = redirect_app.test_client().get("/go?next=/profile")
    assert rv.headers["Location"] == "/profile"
    assert audit_records() == []


def test_safe_redirect_to_own_absolute_host(redirect_app):
    rv = redirect_app.test_client().get("/go?next=http://localhost/x")
    assert rv.headers["Location"] == "http://localhost/x"


@pytest.mark.parametrize(
    ("hosts", "location"),
    [(None, "/home"), (["sso.example"], "https://sso.example/done"), ([".example"], None)],
)
def test_safe_redirect_allowed_hosts_from_config(redirect_app, hosts, location):
    if hosts is not None:
        redirect_app.config["REDIRECT_ALLOWED_HOSTS"] = hosts
    rv = redirect_app.test_client().get("/go?next=https://sso.example/done")
    assert rv.headers["Location"] == (location or "https://sso.example/done")


def test_a_host_string_instead_of_a_list_is_a_configuration_error(redirect_app):
    # A string would be read as a list of one-letter hosts.
    redirect_app.config["REDIRECT_ALLOWED_HOSTS"] = "sso.example"
    with pytest.raises(ConfigurationError, match="REDIRECT_ALLOWED_HOSTS"):
        redirect_app.test_client().get("/go?next=https://sso.example/done")


def test_safe_redirect_code_and_missing_target(app):
    with app.test_request_context():
        rv = safe_redirect(None, fallback="/f", code=303)
    assert rv.status_code == 303
    assert rv.headers["Location"] == "/f"


def test_next_url_missing_gives_fallback_without_audit(redirect_app, audit_records):
    rv = redirect_app.test_client().get("/next")
    assert rv.json == {"next": "/fallback"}
    assert audit_records() == []


def test_next_url_reads_form(redirect_app, audit_records):
    client = redirect_app.test_client()
    assert client.post("/next", data={"to": "/inbox"}).json == {"next": "/inbox"}
    assert client.post("/next", data={"to": "https://evil.example"}).json == {"next": "/fallback"}
    assert len(audit_records()) == 1


def test_next_url_query_wins_over_form(redirect_app):
    rv = redirect_app.test_client().post("/next?to=/query", data={"to": "/form"})
    assert rv.json == {"next": "/query"}


def test_next_url_ignores_non_form_bodies(redirect_app):
    rv = redirect_app.test_client().post("/next", json={"to": "/json"})
    assert rv.json == {"next": "/fallback"}
