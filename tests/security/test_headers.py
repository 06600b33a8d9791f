"""Security headers and the CSP nonce: hermetic.security.headers."""

from __future__ import annotations

import re

import pytest

from hermetic import render_template_string
from hermetic.security.errors import ConfigurationError
from hermetic.security.headers import HeadersShield, csp_nonce, plan_headers
from hermetic.security.shields import exempt

DEFAULT_PLAIN_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none';"
    " base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)


def _shielded(app, **config):
    app.config.update(config)
    HeadersShield().init_app(app)

    @app.route("/")
    def index():
        return "ok"

    @app.route("/page")
    def page():
        return render_template_string(
            '<script nonce="{{ csp_nonce() }}"></script><style nonce="{{ csp_nonce() }}"></style>'
        )

    return app.test_client()


# -- the attacks the headers stop ------------------------------------------


def test_plain_flask_sends_no_security_headers(app, client):
    # The baseline the shield fixes: an unprotected app.
    @app.route("/")
    def index():
        return "ok"

    rv = client.get("/")
    assert "Content-Security-Policy" not in rv.headers
    assert "X-Frame-Options" not in rv.headers


def test_default_headers(app):
    rv = _shielded(app).get("/")
    assert rv.headers["Content-Security-Policy"] == DEFAULT_PLAIN_CSP
    assert "nonce" not in rv.headers["Content-Security-Policy"]
    assert rv.headers["X-Content-Type-Options"] == "nosniff"
    assert rv.headers["X-Frame-Options"] == "DENY"
    assert rv.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    policy = rv.headers["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in policy
    assert rv.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert rv.headers["Cross-Origin-Resource-Policy"] == "same-origin"
    # Plain HTTP: no HSTS (browsers ignore it there, and it would pin tests).
    assert "Strict-Transport-Security" not in rv.headers


def test_hsts_only_over_https(app):
    client = _shielded(app)
    rv = client.get("/", base_url="https://localhost")
    assert rv.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_hsts_configurable_and_off(app):
    client = _shielded(app, SECURITY_HSTS="max-age=60")
    assert client.get("/", base_url="https://x").headers["Strict-Transport-Security"] == (
        "max-age=60"
    )


def test_hsts_disabled(app):
    client = _shielded(app, SECURITY_HSTS=None)
    assert "Strict-Transport-Security" not in client.get("/", base_url="https://x").headers


def test_nonce_used_in_page_and_header(app):
    rv = _shielded(app).get("/page")
    nonces = set(re.findall(r'nonce="([^"]+)"', rv.text))
    assert len(nonces) == 1  # one nonce per request, however often asked
    nonce = nonces.pop()
    assert len(nonce) >= 22
    csp = rv.headers["Content-Security-Policy"]
    assert f"script-src 'self' 'nonce-{nonce}'" in csp
    assert f"style-src 'self' 'nonce-{nonce}'" in csp


def test_nonce_differs_per_request(app):
    client = _shielded(app)
    first = client.get("/page").headers["Content-Security-Policy"]
    second = client.get("/page").headers["Content-Security-Policy"]
    assert first != second
    # A request without a nonce does not reuse the last one.
    assert client.get("/").headers["Content-Security-Policy"] == DEFAULT_PLAIN_CSP


def test_nonce_outside_request_is_a_clear_error():
    with pytest.raises(RuntimeError, match="needs a request"):
        csp_nonce()


def test_view_headers_win(app):
    client = _shielded(app)

    @app.route("/framable")
    def framable():
        return "ok", {
            "X-Frame-Options": "SAMEORIGIN",
            "Content-Security-Policy": "frame-ancestors 'self'",
        }

    rv = client.get("/framable")
    assert rv.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert rv.headers.getlist("Content-Security-Policy") == ["frame-ancestors 'self'"]
    assert rv.headers["X-Content-Type-Options"] == "nosniff"


def test_view_header_case_insensitive(app):
    client = _shielded(app)

    @app.route("/custom")
    def custom():
        return "ok", {"referrer-policy": "no-referrer"}

    assert client.get("/custom").headers.getlist("Referrer-Policy") == ["no-referrer"]


def test_exempt_route_gets_no_headers(app):
    client = _shielded(app)

    @app.route("/raw")
    @exempt("headers")
    def raw():
        return "ok"

    rv = client.get("/raw")
    assert "Content-Security-Policy" not in rv.headers
    assert "X-Content-Type-Options" not in rv.headers


def test_error_responses_get_headers(app):
    rv = _shielded(app).get("/missing")
    assert rv.status_code == 404
    assert rv.headers["X-Content-Type-Options"] == "nosniff"
    assert rv.headers["Content-Security-Policy"] == DEFAULT_PLAIN_CSP


def test_report_only(app):
    rv = _shielded(app, SECURITY_CSP_REPORT_ONLY=True).get("/")
    assert "Content-Security-Policy" not in rv.headers
    assert rv.headers["Content-Security-Policy-Report-Only"] == DEFAULT_PLAIN_CSP


def test_csp_disabled(app):
    rv = _shielded(app, SECURITY_CSP=None).get("/page")
    assert "Content-Security-Policy" not in rv.headers
    assert rv.headers["X-Frame-Options"] == "DENY"


def test_csp_from_dict(app):
    client = _shielded(
        app,
        SECURITY_CSP={
            "default-src": "'self'",
            "script-src": ["'nonce-{nonce}'", "'strict-dynamic'"],
            "img-src": ["'self'", "https://img.example"],
            "upgrade-insecure-requests": None,
        },
    )
    assert client.get("/").headers["Content-Security-Policy"] == (
        "default-src 'self'; script-src 'strict-dynamic'; img-src 'self'"
        " https://img.example; upgrade-insecure-requests"
    )
    csp = client.get("/page").headers["Content-Security-Policy"]
    assert re.search(r"script-src 'nonce-[\w-]+' 'strict-dynamic';", csp)


def test_csp_only_nonce_without_nonce_is_none(app):
    client = _shielded(app, SECURITY_CSP={"script-src": ["'nonce-{nonce}'"]})
    assert client.get("/").headers["Content-Security-Policy"] == "script-src 'none'"


def test_csp_from_string(app):
    client = _shielded(app, SECURITY_CSP="default-src 'self'; script-src 'self' 'nonce-{nonce}'")
    assert client.get("/").headers["Content-Security-Policy"] == (
        "default-src 'self'; script-src 'self'"
    )
    assert "'nonce-" in client.get("/page").headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("ancestors", "expected"),
    [(["'none'"], "DENY"), (["'self'"], "SAMEORIGIN"), (["https://a.example"], None)],
)
def test_frame_options_follow_frame_ancestors(app, ancestors, expected):
    rv = _shielded(app, SECURITY_CSP={"frame-ancestors": ancestors}).get("/")
    assert rv.headers.get("X-Frame-Options") == expected


def test_frame_options_explicit(app):
    rv = _shielded(
        app,
        SECURITY_CSP={"frame-ancestors": ["'self'"]},
        SECURITY_FRAME_OPTIONS="sameorigin",
    ).get("/")
    assert rv.headers["X-Frame-Options"] == "SAMEORIGIN"


def test_frame_options_disabled(app):
    rv = _shielded(app, SECURITY_FRAME_OPTIONS=None).get("/")
    assert "X-Frame-Options" not in rv.headers


def test_permissions_policy_dict(app):
    rv = _shielded(
        app,
        SECURITY_PERMISSIONS_POLICY={
            "camera": [],
            "fullscreen": ["self"],
            "geolocation": ["self", "https://maps.example"],
            "autoplay": "*",
        },
    ).get("/")
    assert rv.headers["Permissions-Policy"] == (
        'camera=(), fullscreen=(self), geolocation=(self "https://maps.example"), autoplay=(*)'
    )


def test_extra_headers_add_and_remove(app):
    rv = _shielded(
        app,
        SECURITY_HEADERS_EXTRA={
            "X-Permitted-Cross-Domain-Policies": "none",
            "Referrer-Policy": None,
        },
        SECURITY_COOP="same-origin-allow-popups",
        SECURITY_CORP=None,
    ).get("/")
    assert rv.headers["X-Permitted-Cross-Domain-Policies"] == "none"
    assert "Referrer-Policy" not in rv.headers
    assert "Cross-Origin-Resource-Policy" not in rv.headers
    assert rv.headers["Cross-Origin-Opener-Policy"] == "same-origin-allow-popups"


def test_config_set_after_init_app_counts(app):
    client = _shielded(app)
    app.config["SECURITY_REFERRER_POLICY"] = "no-referrer"
    assert client.get("/").headers["Referrer-Policy"] == "no-referrer"


def test_csp_nonce_is_a_template_global(app):
    HeadersShield().init_app(app)
    assert app.jinja_env.globals["csp_nonce"] is csp_nonce


# -- configuration checked at start-up -------------------------------------

BAD_CONFIG = [
    {"SECURITY_HSTS": "max-age=1\r\nSet-Cookie: a=b"},
    {"SECURITY_HSTS": 5},
    {"SECURITY_REFERRER_POLICY": "no-referrer\n"},
    {"SECURITY_COOP": "same-origin\rX: y"},
    {"SECURITY_CORP": "same-origin\x00"},
    {"SECURITY_CSP": "default-src 'self'\r\nX-Evil: 1"},
    {"SECURITY_CSP": {"script-src": ["'self'; report-uri https://evil"]}},
    {"SECURITY_CSP": {"script-src": ["'self', https://evil"]}},
    {"SECURITY_CSP": {"script-src": ["'self' https://evil"]}},
    {"SECURITY_CSP": {"script-src": [""]}},
    {"SECURITY_CSP": {"script src": ["'self'"]}},
    {"SECURITY_CSP": {"script-src\n": ["'self'"]}},
    {"SECURITY_CSP": {"script-src": ["'self'\n"]}},
    {"SECURITY_CSP": 42},
    {"SECURITY_FRAME_OPTIONS": "ALLOW-FROM https://x"},
    {"SECURITY_FRAME_OPTIONS": "SAMEORIGIN"},  # default CSP says frame-ancestors 'none'
    {"SECURITY_CSP": {"frame-ancestors": ["'self'"]}, "SECURITY_FRAME_OPTIONS": "DENY"},
    {"SECURITY_PERMISSIONS_POLICY": {"Camera!": []}},
    {"SECURITY_PERMISSIONS_POLICY": {"camera": ['"x"']}},
    {"SECURITY_PERMISSIONS_POLICY": {"camera": ["a\nb"]}},
    {"SECURITY_PERMISSIONS_POLICY": 1},
    {"SECURITY_HEADERS_EXTRA": {"X-A": "b\r\nSet-Cookie: x"}},
    {"SECURITY_HEADERS_EXTRA": {"X A": "b"}},
    {"SECURITY_HEADERS_EXTRA": {"X-A\n": "b"}},
    {"SECURITY_HEADERS_EXTRA": {"Content-Security-Policy": "default-src *"}},
    {"SECURITY_HEADERS_EXTRA": {"Strict-Transport-Security": "max-age=0"}},
    {"SECURITY_HEADERS_EXTRA": ["X-A"]},
]


@pytest.mark.parametrize("config", BAD_CONFIG)
def test_bad_config_stops_the_first_request(app, config):
    app.config.update(config)
    HeadersShield().init_app(app)
    with pytest.raises(ConfigurationError, match="SECURITY_"):
        app.test_client().get("/")


@pytest.mark.parametrize("config", BAD_CONFIG[:3])
def test_bad_config_after_init_fails_on_configure(app, config):
    shield = HeadersShield()
    shield.init_app(app)
    app.config.update(config)
    with pytest.raises(ConfigurationError):
        shield.configure()


def test_plan_is_precomputed():
    plan = plan_headers({})
    assert plan.csp_name == "Content-Security-Policy"
    assert plan.csp_plain == DEFAULT_PLAIN_CSP
    assert len(plan.csp_parts) == 3  # two nonce slots: script and style


def test_shield_serves_one_app(app):
    import hermetic

    shield = HeadersShield()
    shield.init_app(app)
    with pytest.raises(RuntimeError, match="another app"):
        shield.init_app(hermetic.Flask("other"))


# -- with the Hermetic profile ------------------------------------------------


def test_hermetic_sends_headers_with_nonce():
    import secrets

    try:
        from hermetic.security.profile import Hermetic

        app = Hermetic("hermetic_headers_tests")
    except ImportError as e:  # pragma: no cover - until every module exists
        pytest.skip(f"hermetic.Hermetic is not importable yet ({e})")
    app.config.update(TESTING=True, SECRET_KEY=secrets.token_urlsafe(48))
    app.config["SECURITY_REFERRER_POLICY"] = "no-referrer"  # set after construction

    @app.route("/page")
    def page():
        return render_template_string('<script nonce="{{ csp_nonce() }}"></script>')

    rv = app.test_client().get("/page", base_url="https://localhost")
    nonce = re.search(r'nonce="([^"]+)"', rv.text).group(1)
    assert f"'nonce-{nonce}'" in rv.headers["Content-Security-Policy"]
    assert rv.headers["Strict-Transport-Security"].startswith("max-age=")
    assert rv.headers["Referrer-Policy"] == "no-referrer"
    assert rv.headers["X-Frame-Options"] == "DENY"


# -- the after step appends the precomputed list: same headers as one by one ---


def _one_by_one(plan, request, response):
    """The headers as adding each one through ``Headers.add`` makes them (the reference)."""
    from hermetic.security.headers import NONCE_KEY

    headers = response.headers
    present = {key.lower() for key in headers.keys()}
    for name, lower, value in plan.static:
        if lower not in present:
            headers.add(name, value)
    if plan.csp_name is not None and plan.csp_lower not in present:
        nonce = request.environ.get(NONCE_KEY)
        headers.add(plan.csp_name, nonce.join(plan.csp_parts) if nonce else plan.csp_plain)
    if plan.hsts is not None and request.is_secure and "strict-transport-security" not in present:
        headers.add("Strict-Transport-Security", plan.hsts)
    return response


HEADER_CASES = {
    "none": [],
    "unrelated": [("X-Request-Id", "1"), ("Vary", "Cookie")],
    "frame": [("X-Frame-Options", "SAMEORIGIN")],
    "lower-case csp": [("content-security-policy", "default-src 'none'")],
    "hsts and referrer": [("STRICT-TRANSPORT-SECURITY", "max-age=1"), ("referrer-policy", "x")],
    "all static": [
        ("X-Content-Type-Options", "a"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "b"),
        ("Permissions-Policy", "c"),
        ("Cross-Origin-Opener-Policy", "d"),
        ("Cross-Origin-Resource-Policy", "e"),
    ],
}
CONFIG_CASES = {
    "defaults": {},
    "report-only": {"SECURITY_CSP_REPORT_ONLY": True},
    "no csp, no hsts": {"SECURITY_CSP": None, "SECURITY_HSTS": None},
    "extra": {"SECURITY_HEADERS_EXTRA": {"X-Extra": "1", "Referrer-Policy": None}},
    "string csp": {"SECURITY_CSP": "default-src 'self'; script-src 'nonce-{nonce}'"},
}


@pytest.mark.parametrize("config", list(CONFIG_CASES))
@pytest.mark.parametrize("view", list(HEADER_CASES))
@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("with_nonce", [False, True])
def test_after_adds_exactly_the_headers_of_one_by_one(app, config, view, scheme, with_nonce):
    app.config.update(CONFIG_CASES[config])
    shield = HeadersShield()
    shield.init_app(app)
    shield.configure(app)
    with app.test_request_context("/", base_url=f"{scheme}://localhost") as ctx:
        if with_nonce:
            csp_nonce()
        got = shield.after(ctx.request, app.response_class("ok", headers=HEADER_CASES[view]))
        want = _one_by_one(
            shield.plan, ctx.request, app.response_class("ok", headers=HEADER_CASES[view])
        )
    assert got.headers.to_wsgi_list() == want.headers.to_wsgi_list()


def test_nonce_only_in_the_csp_of_a_response_that_made_one(app):
    client = _shielded(app)
    plain = client.get("/").headers["Content-Security-Policy"]
    page = client.get("/page")
    nonce = re.search(r'nonce="([^"]+)"', page.text).group(1)
    assert "nonce" not in plain
    assert page.headers["Content-Security-Policy"].count(f"'nonce-{nonce}'") == 2


def test_a_headers_subclass_gets_each_header_through_add(app):
    from werkzeug.datastructures import Headers

    class Checked(Headers):
        def add(self, key, value, **kwargs):
            added.append(key)
            super().add(key, value, **kwargs)

    added = []
    shield = HeadersShield()
    shield.init_app(app)
    shield.configure(app)
    with app.test_request_context("/", base_url="https://localhost") as ctx:
        response = app.response_class("ok")
        response.headers = Checked(response.headers)
        added.clear()
        shield.after(ctx.request, response)
    assert added == [
        "X-Content-Type-Options",
        "X-Frame-Options",
        "Referrer-Policy",
        "Permissions-Policy",
        "Cross-Origin-Opener-Policy",
        "Cross-Origin-Resource-Policy",
        "Content-Security-Policy",
        "Strict-Transport-Security",
    ]


# -- the nonce is made lazily: only a page that asks for one gets it ------------


def test_streamed_template_asking_for_a_nonce_too_late_fails_closed(app, caplog, monkeypatch):
    # The CSP is set once the view returned; a streamed template renders later.
    # Decision: a nonce asked for after the header left is never one the
    # header allows (the page's scripts are blocked, not trusted), and the
    # log says what to change.
    from hermetic import stream_template_string

    # The app's logger is shared by name with other tests' apps (tests/test_signals.py
    # disables it): this test needs it on.
    monkeypatch.setattr(app.logger, "disabled", False)

    client = _shielded(app)

    @app.route("/stream")
    def stream():
        return stream_template_string('<script nonce="{{ csp_nonce() }}"></script>')

    with caplog.at_level("WARNING"):
        rv = client.get("/stream")
    csp = rv.headers["Content-Security-Policy"]
    assert "'nonce-" not in csp
    (nonce,) = re.findall(r'nonce="([^"]+)"', rv.text)
    assert nonce and nonce not in csp
    assert any(
        "csp_nonce()" in r.getMessage() and "before" in r.getMessage() for r in caplog.records
    )


def test_streamed_template_with_nonce_asked_in_the_view_is_allowed(app):
    from hermetic import stream_template_string

    client = _shielded(app)

    @app.route("/stream-early")
    def stream_early():
        csp_nonce()  # asked before returning: the header carries it
        return stream_template_string('<script nonce="{{ csp_nonce() }}"></script>')

    rv = client.get("/stream-early")
    (nonce,) = re.findall(r'nonce="([^"]+)"', rv.text)
    assert f"'nonce-{nonce}'" in rv.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "raw", [bytes(16), b"\xff" * 16, bytes(range(16)), b"\xfb\xef\xbe" * 5 + b"?"]
)
def test_nonce_is_what_secrets_token_urlsafe_makes_of_the_same_bytes(monkeypatch, raw):
    import base64

    from hermetic.security import headers

    monkeypatch.setattr(headers, "urandom", lambda n: raw[:n])
    # secrets.token_urlsafe(16): base64url of os.urandom(16), padding stripped.
    assert headers._new_nonce() == base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def test_nonces_are_fresh_and_128_bits():
    from hermetic.security.headers import _new_nonce

    nonces = {_new_nonce() for _ in range(200)}
    assert len(nonces) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", n) for n in nonces)
