"""Cross-site request forgery: hermetic.security.csrf."""

from __future__ import annotations

import json
import logging
import secrets

import pytest

import hermetic
from hermetic import render_template_string, session
from hermetic.security.csrf import (
    REASON_BAD_ORIGIN,
    REASON_BAD_TOKEN,
    REASON_CROSS_SITE,
    REASON_NO_SESSION_TOKEN,
    REASON_NO_TOKEN,
    SESSION_KEY,
    CSRFShield,
    csrf_token,
    rotate_csrf_token,
    validate_csrf_token,
)
from hermetic.security.errors import ConfigurationError
from hermetic.security.shields import exempt

EVIL = "https://evil.example"


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


def _routes(app):
    @app.route("/form")
    def form():
        return csrf_token()

    @app.route("/submit", methods=["POST", "PUT", "PATCH", "DELETE", "PROPFIND"])
    def submit():
        return "done"

    @app.route("/login", methods=["POST"])
    def login():
        rotate_csrf_token()
        return csrf_token()

    @app.route("/hook", methods=["POST"])
    @exempt("csrf")
    def hook():
        return "hooked"

    @app.route("/check", methods=["POST"])
    @exempt("csrf")
    def check():
        return {"valid": validate_csrf_token(hermetic.request.headers.get("X-Manual"))}


@pytest.fixture
def csrf_app(app):
    CSRFShield().init_app(app)
    _routes(app)
    return app


@pytest.fixture
def csrf_client(csrf_app):
    return csrf_app.test_client(enforce_csrf=True)


def _token(client):
    """Open a session (the cookie) and return a token for it."""
    return client.get("/form").text


def _assert_refused(rv, records, reason):
    assert rv.status_code == 403, rv.text
    assert [(r["event"], r["reason"]) for r in records()] == [("csrf", reason)]


# -- the attacks --------------------------------------------------------------


def test_missing_token_refused(csrf_client, audit_records):
    _token(csrf_client)
    rv = csrf_client.post("/submit", data={"x": "1"})
    _assert_refused(rv, audit_records, REASON_NO_TOKEN)
    assert "CSRF token is missing" in rv.text


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "PROPFIND"])
def test_every_unsafe_method_checked(csrf_client, audit_records, method):
    _token(csrf_client)
    rv = csrf_client.open("/submit", method=method)
    _assert_refused(rv, audit_records, REASON_NO_TOKEN)


def test_empty_token_refused(csrf_client, audit_records):
    _token(csrf_client)
    rv = csrf_client.post("/submit", data={"csrf_token": ""})
    _assert_refused(rv, audit_records, REASON_NO_TOKEN)


def _tampered(token):
    flipped = "A" if token[10] != "A" else "B"
    return token[:10] + flipped + token[11:]


@pytest.mark.parametrize(
    "make_bad",
    [
        _tampered,
        lambda tok: tok[:-1],
        lambda tok: tok + "A",
        lambda tok: tok[:40] + "+" + tok[41:],
        lambda tok: tok[:40] + "=" + tok[41:],
        lambda tok: "x" * 86,
        lambda tok: "not a token",
        lambda tok: tok[43:] + tok[:43],
    ],
    ids=["tampered", "short", "long", "plus", "padding", "forged", "garbage", "swapped"],
)
def test_wrong_token_refused(csrf_client, audit_records, make_bad):
    token = _token(csrf_client)
    rv = csrf_client.post("/submit", data={"csrf_token": make_bad(token)})
    _assert_refused(rv, audit_records, REASON_BAD_TOKEN)


def test_unmasked_secret_is_not_a_token(csrf_app, csrf_client, audit_records):
    _token(csrf_client)
    with csrf_client.session_transaction() as sess:
        secret = sess[SESSION_KEY]
    rv = csrf_client.post("/submit", data={"csrf_token": secret})
    _assert_refused(rv, audit_records, REASON_BAD_TOKEN)


def test_token_from_another_session_refused(csrf_app, audit_records):
    attacker = csrf_app.test_client(enforce_csrf=True)
    victim = csrf_app.test_client(enforce_csrf=True)
    attacker_token = _token(attacker)
    _token(victim)
    rv = victim.post("/submit", data={"csrf_token": attacker_token})
    _assert_refused(rv, audit_records, REASON_BAD_TOKEN)


def test_session_without_secret_refused(csrf_client, audit_records):
    token = _token(csrf_client)
    with csrf_client.session_transaction() as sess:
        del sess[SESSION_KEY]
        sess["user"] = "alice"
    rv = csrf_client.post("/submit", data={"csrf_token": token})
    _assert_refused(rv, audit_records, REASON_NO_SESSION_TOKEN)


@pytest.mark.parametrize("stored", [42, "short", "!" * 43, None])
def test_corrupt_session_secret_refused(csrf_client, audit_records, stored):
    token = _token(csrf_client)
    with csrf_client.session_transaction() as sess:
        sess[SESSION_KEY] = stored
    rv = csrf_client.post("/submit", data={"csrf_token": token})
    _assert_refused(rv, audit_records, REASON_NO_SESSION_TOKEN)


def test_remember_cookie_alone_needs_a_token(csrf_client, audit_records):
    csrf_client.set_cookie("remember_token", "alice|sig")
    rv = csrf_client.post("/submit")
    _assert_refused(rv, audit_records, REASON_NO_TOKEN)


def test_host_prefixed_session_cookie_needs_a_token(csrf_client, audit_records):
    csrf_client.set_cookie("__Host-session", "anything")
    rv = csrf_client.post("/submit")
    _assert_refused(rv, audit_records, REASON_NO_TOKEN)


def test_custom_cookie_names(app, audit_records):
    app.config.update(SESSION_COOKIE_NAME="sid", REMEMBER_COOKIE_NAME="keep")
    CSRFShield().init_app(app)
    _routes(app)
    client = app.test_client(enforce_csrf=True)
    client.set_cookie("keep", "x")
    _assert_refused(client.post("/submit"), audit_records, REASON_NO_TOKEN)
    # The default name is no longer a session cookie: anonymous, passes.
    other = app.test_client(enforce_csrf=True)
    other.set_cookie("session", "x")
    assert other.post("/submit").status_code == 200


@pytest.mark.parametrize(
    "origin",
    [
        EVIL,
        "null",
        "NULL",
        "http://localhost.evil.example",
        "https://localhost",  # another scheme is another origin
        "http://localhost:8080",  # another port too
        "http://evil.example@localhost",
        "",
    ],
)
def test_foreign_origin_refused_even_with_token(csrf_client, audit_records, origin):
    token = _token(csrf_client)
    rv = csrf_client.post("/submit", data={"csrf_token": token}, headers={"Origin": origin})
    _assert_refused(rv, audit_records, REASON_BAD_ORIGIN)
    assert audit_records()[0]["origin"] == origin


def test_foreign_origin_refused_without_cookies(csrf_client, audit_records):
    # Intranet or IP-authenticated apps: no cookie, still a forged request.
    rv = csrf_client.post("/submit", headers={"Origin": EVIL})
    _assert_refused(rv, audit_records, REASON_BAD_ORIGIN)


@pytest.mark.parametrize("site", ["cross-site", "same-site", "CROSS-SITE", "bogus"])
def test_sec_fetch_site_cross_refused(csrf_client, audit_records, site):
    token = _token(csrf_client)
    rv = csrf_client.post(
        "/submit",
        data={"csrf_token": token},
        headers={"Sec-Fetch-Site": site, "Origin": EVIL},
    )
    _assert_refused(rv, audit_records, REASON_CROSS_SITE)
    assert audit_records()[0]["sec_fetch_site"] == site.lower()


def test_sec_fetch_site_wins_over_a_matching_origin(csrf_client, audit_records):
    rv = csrf_client.post(
        "/submit", headers={"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"}
    )
    _assert_refused(rv, audit_records, REASON_CROSS_SITE)


def test_sec_fetch_site_cross_without_origin_refused(csrf_client, audit_records):
    rv = csrf_client.post("/submit", headers={"Sec-Fetch-Site": "cross-site"})
    _assert_refused(rv, audit_records, REASON_CROSS_SITE)


def test_huge_form_is_refused_by_limits_not_parsed(csrf_app, csrf_client, audit_records):
    csrf_app.config["MAX_CONTENT_LENGTH"] = 1000
    _token(csrf_client)
    rv = csrf_client.post("/submit", data={"csrf_token": "x", "big": "y" * 10_000})
    assert rv.status_code == 413
    assert audit_records() == []


def test_refusal_as_problem_json(csrf_client):
    _token(csrf_client)
    rv = csrf_client.post("/submit", json={"a": 1})
    assert rv.status_code == 403
    assert rv.mimetype == "application/problem+json"
    assert rv.json["reason"] == REASON_NO_TOKEN


def test_rotation_invalidates_old_token(csrf_client, audit_records):
    old = _token(csrf_client)
    new = csrf_client.post("/login", data={"csrf_token": old}).text
    assert new != old
    rv = csrf_client.post("/submit", data={"csrf_token": old})
    _assert_refused(rv, audit_records, REASON_BAD_TOKEN)
    assert csrf_client.post("/submit", data={"csrf_token": new}).status_code == 200


def test_audit_never_logs_the_token(csrf_client, caplog):
    caplog.set_level(logging.INFO, logger="hermetic.security.audit")
    token = _token(csrf_client)
    bad = _tampered(token)
    csrf_client.post("/submit", data={"csrf_token": bad})
    assert caplog.records
    assert token not in caplog.text
    assert bad not in caplog.text


# -- what passes --------------------------------------------------------------


def test_form_token_passes(csrf_client, audit_records):
    token = _token(csrf_client)
    rv = csrf_client.post("/submit", data={"csrf_token": token})
    assert rv.status_code == 200
    assert audit_records() == []


def test_multipart_form_token_passes(csrf_client):
    token = _token(csrf_client)
    rv = csrf_client.post(
        "/submit", data={"csrf_token": token, "f": (b"data", "a.txt")}, content_type=None
    )
    assert rv.status_code == 200


def test_header_token_for_json(csrf_client):
    token = _token(csrf_client)
    rv = csrf_client.post("/submit", json={"a": 1}, headers={"X-CSRF-Token": token})
    assert rv.status_code == 200


def test_json_body_token_field_is_not_read(csrf_client):
    token = _token(csrf_client)
    assert csrf_client.post("/submit", json={"csrf_token": token}).status_code == 403


def test_custom_field_and_header_names(app):
    app.config.update(CSRF_FIELD_NAME="_xsrf", CSRF_HEADER_NAME="X-XSRF-Token")
    CSRFShield().init_app(app)
    _routes(app)
    client = app.test_client(enforce_csrf=True)
    token = _token(client)
    assert client.post("/submit", data={"_xsrf": token}).status_code == 200
    assert client.post("/submit", headers={"X-XSRF-Token": token}).status_code == 200
    assert client.post("/submit", headers={"X-CSRF-Token": token}).status_code == 403


def test_masked_tokens_differ_but_all_verify(csrf_client):
    tokens = [_token(csrf_client) for _ in range(5)]
    assert len(set(tokens)) == 5
    for token in tokens:
        assert csrf_client.post("/submit", data={"csrf_token": token}).status_code == 200


def test_tokens_in_one_request_differ_and_verify(csrf_app, csrf_client):
    @csrf_app.route("/two")
    def two():
        return render_template_string("{{ csrf_token() }} {{ csrf_token() }}")

    first, second = csrf_client.get("/two").text.split()
    assert first != second
    for token in (first, second):
        assert csrf_client.post("/submit", data={"csrf_token": token}).status_code == 200


@pytest.mark.parametrize("site", ["same-origin", "none", "SAME-ORIGIN"])
def test_sec_fetch_site_same_origin_passes(csrf_client, site):
    token = _token(csrf_client)
    rv = csrf_client.post("/submit", data={"csrf_token": token}, headers={"Sec-Fetch-Site": site})
    assert rv.status_code == 200


@pytest.mark.parametrize(
    ("site", "status"),
    [
        ("same-origin", 200),  # the exact spelling, answered first
        (" Same-Origin\t", 200),
        ("same-origin ", 200),
        ("same-originx", 403),
        ("same-site", 403),
        ("cross-site", 403),
    ],
)
def test_sec_fetch_site_decides_before_origin(csrf_client, site, status):
    # Sec-Fetch-Site, when sent, decides; the Origin beside it is not this site's.
    token = _token(csrf_client)
    rv = csrf_client.post(
        "/submit",
        data={"csrf_token": token},
        headers={"Sec-Fetch-Site": site, "Origin": "https://evil.example"},
    )
    assert rv.status_code == status


@pytest.mark.parametrize("origin", ["http://localhost", "http://LOCALHOST", "http://localhost/"])
def test_own_origin_passes(csrf_client, origin):
    token = _token(csrf_client)
    rv = csrf_client.post("/submit", data={"csrf_token": token}, headers={"Origin": origin})
    assert rv.status_code == 200


def test_own_origin_with_port_and_https(csrf_client):
    rv = csrf_client.post(
        "/submit",
        base_url="https://app.example:8443",
        headers={"Origin": "https://app.example:8443"},
    )
    assert rv.status_code == 200


def test_trusted_origin_allowed(app, audit_records):
    app.config["CSRF_TRUSTED_ORIGINS"] = ["https://Admin.example/", "http://localhost:3000"]
    CSRFShield().init_app(app)
    _routes(app)
    client = app.test_client(enforce_csrf=True)
    token = _token(client)
    for headers in (
        {"Origin": "https://admin.example"},
        {"Origin": "http://localhost:3000", "Sec-Fetch-Site": "same-site"},
        {"Origin": "https://admin.example", "Sec-Fetch-Site": "cross-site"},
    ):
        rv = client.post("/submit", data={"csrf_token": token}, headers=headers)
        assert rv.status_code == 200, headers
    # A trusted origin still needs the token of a cookie-authenticated session.
    rv = client.post("/submit", headers={"Origin": "https://admin.example"})
    _assert_refused(rv, audit_records, REASON_NO_TOKEN)


def test_bearer_only_request_allowed(csrf_client, audit_records):
    rv = csrf_client.post(
        "/submit",
        json={"a": 1},
        headers={
            "Authorization": "Bearer abc.def.ghi",
            "Origin": EVIL,
            "Sec-Fetch-Site": "cross-site",
        },
    )
    assert rv.status_code == 200
    assert audit_records() == []


def test_bearer_with_session_cookie_is_checked(csrf_client, audit_records):
    _token(csrf_client)
    rv = csrf_client.post("/submit", headers={"Authorization": "Bearer abc"})
    _assert_refused(rv, audit_records, REASON_NO_TOKEN)


def test_basic_auth_is_ambient_and_checked(csrf_client, audit_records):
    # Browsers resend cached Basic credentials on their own: no free pass.
    rv = csrf_client.post("/submit", headers={"Authorization": "Basic YTpi", "Origin": EVIL})
    _assert_refused(rv, audit_records, REASON_BAD_ORIGIN)


def test_non_browser_without_cookies_passes(csrf_client):
    assert csrf_client.post("/submit", data={"a": "b"}).status_code == 200


def test_unrelated_cookie_is_not_authentication(csrf_client):
    csrf_client.set_cookie("theme", "dark")
    assert csrf_client.post("/submit").status_code == 200


def test_exempt_view(csrf_client, audit_records):
    _token(csrf_client)
    rv = csrf_client.post("/hook", headers={"Origin": EVIL, "Sec-Fetch-Site": "cross-site"})
    assert rv.text == "hooked"
    assert audit_records() == []


def test_manual_validation_in_exempt_view(csrf_client):
    token = _token(csrf_client)
    assert csrf_client.post("/check", headers={"X-Manual": token}).json == {"valid": True}
    assert csrf_client.post("/check", headers={"X-Manual": "x"}).json == {"valid": False}
    assert csrf_client.post("/check").json == {"valid": False}


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_safe_methods_not_checked(csrf_client, method):
    _token(csrf_client)
    rv = csrf_client.open("/form", method=method, headers={"Origin": EVIL})
    assert rv.status_code == 200


def test_routing_errors_keep_their_status(csrf_client):
    _token(csrf_client)
    assert csrf_client.post("/missing", headers={"Origin": EVIL}).status_code == 404
    assert csrf_client.post("/form").status_code == 405


def test_disabled(app):
    app.config["CSRF_ENABLED"] = False
    CSRFShield().init_app(app)
    _routes(app)
    client = app.test_client(enforce_csrf=True)
    _token(client)
    assert client.post("/submit", headers={"Origin": EVIL}).status_code == 200


def test_config_after_init_app_is_read_on_first_request(csrf_app, csrf_client):
    csrf_app.config["CSRF_ENABLED"] = False
    _token(csrf_client)
    assert csrf_client.post("/submit").status_code == 200


def test_token_in_template_and_describe(csrf_app, csrf_client):
    @csrf_app.route("/page")
    def page():
        return render_template_string('<input name="csrf_token" value="{{ csrf_token() }}">')

    assert 'value="' in csrf_client.get("/page").text
    assert csrf_app.jinja_env.globals["csrf_token"] is csrf_token
    assert "csrf" in csrf_app.shields.describe("submit")
    assert "csrf" not in csrf_app.shields.describe("hook")


def test_token_helpers_need_a_request():
    with pytest.raises(RuntimeError, match="during a request"):
        csrf_token()
    with pytest.raises(RuntimeError, match="during a request"):
        rotate_csrf_token()


def test_secret_is_stored_in_the_session(csrf_app):
    with csrf_app.test_request_context():
        token = csrf_token()
        stored = session[SESSION_KEY]
        assert isinstance(stored, str) and len(stored) == 43
        assert stored not in token
        assert validate_csrf_token(token)


@pytest.mark.parametrize(
    "origins",
    ["https://a.example", ["a.example"], ["https://a.example/path"], ["ftp://a.example"], [1]],
)
def test_bad_trusted_origins_stop_the_first_request(app, origins):
    app.config["CSRF_TRUSTED_ORIGINS"] = origins
    CSRFShield().init_app(app)
    app.get("/")(lambda: "never")
    with pytest.raises(ConfigurationError, match="CSRF_TRUSTED_ORIGINS"):
        app.test_client().get("/")


def test_shield_serves_one_app(app):
    shield = CSRFShield()
    shield.init_app(app)
    with pytest.raises(RuntimeError, match="another app"):
        shield.init_app(hermetic.Flask("other"))


def test_behind_trusted_proxy_origin_is_the_public_one(app):
    from hermetic.security.proxies import ProxyShield

    app.config["TRUSTED_PROXY_HOPS"] = 1
    ProxyShield().init_app(app)
    CSRFShield().init_app(app)
    _routes(app)
    client = app.test_client(enforce_csrf=True)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "public.example"}
    rv = client.post("/submit", headers={**forwarded, "Origin": "https://public.example"})
    assert rv.status_code == 200
    rv = client.post("/submit", headers={**forwarded, "Origin": "http://localhost"})
    assert rv.status_code == 403


# -- with the Hermetic profile (needs the other security modules) ------------


def _hermetic_app():
    try:
        from hermetic.security.profile import Hermetic

        app = Hermetic("hermetic_csrf_tests")
    except ImportError as e:  # pragma: no cover - until every module exists
        pytest.skip(f"hermetic.Hermetic is not importable yet ({e})")
    app.config.update(
        TESTING=True, SECRET_KEY=secrets.token_urlsafe(48), SESSION_COOKIE_SECURE=False
    )
    _routes(app)
    return app


def test_hermetic_installs_csrf(audit_records):
    app = _hermetic_app()
    client = app.test_client(enforce_csrf=True)
    token = _token(client)
    _assert_refused(client.post("/submit"), audit_records, REASON_NO_TOKEN)
    assert client.post("/submit", data={"csrf_token": token}).status_code == 200
    rv = client.post("/submit", data={"csrf_token": token}, headers={"Origin": EVIL})
    assert rv.status_code == 403


def test_hermetic_route_option_exempt():
    app = _hermetic_app()

    @app.route("/api/hook", methods=["POST"], exempt=["csrf"])
    def api_hook():
        return "ok"

    client = app.test_client(enforce_csrf=True)
    _token(client)
    assert client.post("/api/hook", headers={"Origin": EVIL}).status_code == 200


# -- the masking: binascii and int XOR, checked against base64 ------------------


def test_encoding_is_base64url_without_padding():
    import base64

    from hermetic.security.csrf import _encode

    for size in range(70):
        data = secrets.token_bytes(size)
        assert _encode(data) == base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_token_is_pad_then_pad_xor_secret(csrf_app):
    import base64

    with csrf_app.test_request_context():
        tokens = [csrf_token() for _ in range(20)]
        secret = base64.urlsafe_b64decode(session[SESSION_KEY] + "=")
    assert len(secret) == 32
    pads = set()
    for token in tokens:
        assert len(token) == 86
        raw = base64.urlsafe_b64decode(token + "==")
        pad, masked = raw[:32], raw[32:]
        assert bytes(a ^ b for a, b in zip(pad, masked, strict=True)) == secret
        pads.add(pad)
    assert len(pads) == 20  # a fresh pad per token


@pytest.mark.parametrize(
    "stored",
    [
        "é" * 43,  # not ASCII
        "A" * 42 + "=",  # padding inside
        "+" * 43,  # standard base64, not base64url: still decodes (as before)
    ],
)
def test_odd_session_secrets_are_replaced_or_used_like_base64(csrf_app, stored):
    import base64

    with csrf_app.test_request_context():
        session[SESSION_KEY] = stored
        token = csrf_token()
        kept = session[SESSION_KEY]
        assert validate_csrf_token(token)
    try:
        expected = base64.urlsafe_b64decode(stored + "=")
    except ValueError:
        expected = None
    if expected is not None and len(expected) == 32:
        assert kept == stored  # base64 reads it: the secret is used
    else:
        assert kept != stored and len(kept) == 43  # unreadable: a new secret


def test_rotation_stores_a_new_random_secret(csrf_app):
    with csrf_app.test_request_context():
        seen = set()
        for _ in range(10):
            rotate_csrf_token()
            seen.add(session[SESSION_KEY])
    assert len(seen) == 10
    assert all(len(value) == 43 and "=" not in value for value in seen)


def test_without_flask_wtf_the_shield_stays_alone(csrf_app, csrf_client, caplog):
    # The Flask-WTF bridge (tests/coexistence/) costs nothing to an app without it.
    import sys

    if "flask_wtf" in sys.modules:
        pytest.skip("Flask-WTF was imported by another test in this process")
    with caplog.at_level(logging.INFO):
        token = _token(csrf_client)
        assert csrf_client.post("/submit", headers={"X-CSRF-Token": token}).text == "done"
    assert csrf_app.shields.get("csrf").wtf is None
    assert "flask_wtf" not in sys.modules
    assert not [r for r in caplog.records if r.getMessage().startswith("CSRF: ")]
