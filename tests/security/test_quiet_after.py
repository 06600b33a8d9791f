"""The fused after step (security/_quiet_after.py) answers exactly as the steps do.

Every case is served twice: by an app whose pipeline fuses the after steps
of the headers and login shields, and by the same app with the fusion off
(each shield describing nothing, so its step runs). Status, headers in
order, body and the environ marks must be the same. Then each case the
fused step must not answer is shown to reach the steps themselves.
"""

from __future__ import annotations

import pytest
from tests.security._shield_app import comparable, shielded_app
from werkzeug.datastructures import Headers

import hermetic
from hermetic import redirect
from hermetic.security._quiet_after import QuietAfter, fuse
from hermetic.security.auth._state import AFTER_KEY, COOKIE_KEY
from hermetic.security.headers import NONCE_KEY
from hermetic.security.shields import Shield

SECRET = "quiet-after-test-3f9c1a7e5d2b8046c1e9a7f3b5d2c8e0"


class CheckedHeaders(Headers):
    """A Headers subclass: the shield must go through its methods."""


def _app(*, fused=True, config=None):
    app = shielded_app(SECRET, "Hello, World!", **(config or {}))
    seen = []

    @app.get("/custom")
    def custom():
        return "custom", {"X-Custom": "1"}

    @app.get("/go-iri")
    def go_iri():
        return redirect("/caf\u00e9", 302)

    @app.get("/checked")
    def checked():
        response = app.response_class("checked")
        response.headers = CheckedHeaders(response.headers)
        return response

    @app.teardown_request
    def marks(exc):
        from hermetic import request

        seen.append({key: request.environ.get(key) for key in (NONCE_KEY, AFTER_KEY)})

    app.security_check()
    if not fused:
        for name in ("headers", "login"):
            app.shields.get(name).quiet_after = lambda endpoint, view: None
        app.shields._routes.clear()
    return app, seen


CASES = [
    "/",
    "/json",
    "/nonce",
    "/own",
    "/custom",
    "/go",
    "/go-iri",
    "/remember",
    "/checked",
    "/missing",
]


@pytest.mark.parametrize("base_url", ["https://localhost", "http://localhost"])
@pytest.mark.parametrize("path", CASES)
def test_fused_after_answers_as_the_steps(path, base_url, monkeypatch):
    # The same nonce and remember token on both sides.
    monkeypatch.setattr("hermetic.security.headers.urandom", lambda n: b"n" * n)
    monkeypatch.setattr("secrets.token_bytes", lambda n=32: b"t" * n)
    monkeypatch.setattr("os.urandom", lambda n: b"u" * n)
    fused, fused_seen = _app()
    steps, steps_seen = _app(fused=False)
    a = fused.test_client().get(path, base_url=base_url)
    b = steps.test_client().get(path, base_url=base_url)
    assert a.status == b.status
    assert comparable(a.headers.to_wsgi_list()) == comparable(b.headers.to_wsgi_list())
    assert a.data == b.data
    assert fused_seen == steps_seen


def test_the_steps_really_are_off_in_the_reference_app():
    app, _ = _app(fused=False)
    app.test_client().get("/")
    assert app.shields._routes["hello"].quiet_after is None


def _spied(app):
    """Count the calls to the headers shield's own after step."""
    shield = app.shields.get("headers")
    calls = []
    step = shield._step

    def spy(request, response):
        calls.append(request.path)
        return step(request, response)

    shield._step = spy
    app.shields._routes.clear()
    return calls


def test_the_usual_response_is_answered_by_the_fused_step():
    app, seen = _app()
    calls = _spied(app)
    client = app.test_client()
    rv = client.get("/", base_url="https://localhost")
    assert client.get("/json").status_code == 200
    # What redirect builds too: its Location is no header of the shields'.
    assert client.get("/go").status_code == 303
    assert client.get("/go-iri").headers["Location"] == "/caf%C3%A9"
    assert calls == []
    assert rv.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
    assert rv.headers["X-Frame-Options"] == "DENY"
    assert seen[0] == {NONCE_KEY: "", AFTER_KEY: True}


@pytest.mark.parametrize("path", ["/nonce", "/own", "/custom", "/remember", "/checked"])
def test_other_responses_reach_the_steps(path):
    app, _ = _app()
    calls = _spied(app)
    app.test_client().get(path)
    assert calls == [path]


def test_a_pending_remember_cookie_reaches_the_login_step():
    app, _ = _app()
    rv = app.test_client().get("/remember", base_url="https://localhost")
    assert any(c.startswith("remember_token=") for c in rv.headers.getlist("Set-Cookie"))


def test_no_fusion_when_a_step_has_no_description():
    class Stamp(Shield):
        name = "stamp"
        order = 85

        def after(self, request, response):
            response.headers["X-Stamp"] = "1"
            return response

    app, _ = _app()
    Stamp().init_app(app)
    rv = app.test_client().get("/")
    assert app.shields._routes["hello"].quiet_after is None
    assert rv.headers["X-Stamp"] == "1"
    assert rv.headers["X-Frame-Options"] == "DENY"


def test_no_fusion_for_a_headers_shield_with_its_own_after():
    from hermetic.security.headers import HeadersShield

    class Mine(HeadersShield):
        def after(self, request, response):
            response.headers["X-Mine"] = "1"
            return super().after(request, response)

    app = hermetic.Flask(__name__)
    shield = Mine()
    shield.init_app(app)
    app.get("/")(lambda: "x")
    rv = app.test_client().get("/")
    assert rv.headers["X-Mine"] == "1"
    assert app.shields._routes["<lambda>"].quiet_after is None


def test_headers_extra_naming_a_maker_header_is_not_fused():
    app, _ = _app(config={"SECURITY_HEADERS_EXTRA": {"Content-Type": "text/plain"}})
    steps, _ = _app(fused=False, config={"SECURITY_HEADERS_EXTRA": {"Content-Type": "text/plain"}})
    app.test_client().get("/")
    assert app.shields._routes["hello"].quiet_after is None
    a, b = app.test_client().get("/"), steps.test_client().get("/")
    assert a.headers.to_wsgi_list() == b.headers.to_wsgi_list()


def test_fuse_keeps_the_order_of_the_steps():
    fused = fuse(
        [
            QuietAfter((("k", 1),), ((("A", "1"),), (("A", "1"), ("S", "1"))), ("g1",)),
            QuietAfter((("k", 2), ("m", 3)), ((("B", "2"),), (("B", "2"),)), ("g2", "g1")),
        ]
    )
    app = hermetic.Flask(__name__)
    with app.test_request_context("/", base_url="https://localhost") as ctx:
        response = app.response_class("x")
        assert fused(ctx.request, response) is response
        assert response.headers.to_wsgi_list()[2:] == [("A", "1"), ("S", "1"), ("B", "2")]
        assert ctx.request.environ["k"] == 2 and ctx.request.environ["m"] == 3
    for guard in ("g1", "g2"):
        with app.test_request_context("/", environ_base={guard: "x"}) as ctx:
            response = app.response_class("x")
            assert fused(ctx.request, response) is None
            assert "k" not in ctx.request.environ


def test_a_pending_cookie_key_is_a_guard():
    app, _ = _app()
    with app.test_request_context("/") as ctx:
        ctx.request.environ[COOKIE_KEY] = (None, 0)
        steps = app.shields._steps("hello")
        assert steps.quiet_after(ctx.request, app.response_class("x")) is None


def _redirect_response(app):
    response = app.response_class("x")
    response.headers["Location"] = "/there"
    return response


def test_fuse_takes_a_redirect_only_when_every_step_does():
    block = ((("A", "1"),), (("A", "1"),))
    app = hermetic.Flask(__name__)
    for flags, answered in [((True, True), True), ((True, False), False), ((False, False), False)]:
        fused = fuse([QuietAfter((), block, (), flag) for flag in flags])
        with app.test_request_context("/") as ctx:
            response = _redirect_response(app)
            assert (fused(ctx.request, response) is response) is answered, flags
            names = [name for name, _ in response.headers.to_wsgi_list()]
            assert (
                names
                == (
                    ["Content-Type", "Content-Length", "Location", "A", "A"][: 5 if answered else 3]
                )
            )
    # A third header that is not Location: the steps must look at it.
    fused = fuse([QuietAfter((), block, (), True)])
    with app.test_request_context("/") as ctx:
        response = app.response_class("x")
        response.headers["X-Other"] = "1"
        assert fused(ctx.request, response) is None


def test_headers_extra_naming_location_leaves_redirects_to_the_step():
    config = {"SECURITY_HEADERS_EXTRA": {"Location": "/elsewhere"}}
    app, _ = _app(config=config)
    steps, _ = _app(fused=False, config=config)
    calls = _spied(app)
    a, b = app.test_client().get("/go"), steps.test_client().get("/go")
    assert calls == ["/go"]
    assert a.headers.to_wsgi_list() == b.headers.to_wsgi_list()
    assert a.headers["Location"] == "/"  # the view's own header wins
