"""The pipeline's per-method before steps, the input limits' early return and
``Hermetic.wsgi_app``'s next ``wsgi_app``: each shortcut against the general path."""

from __future__ import annotations

import pytest

import hermetic
from hermetic.security.input_limits import InputLimitsShield
from hermetic.security.shields import Shield

SECRET = "shield-paths-test-3f9c1a7e5d2b8046c1e9a7f3b5d2c8e0"


class Counting(Shield):
    name = "counting"
    order = 55
    before_skips_methods = frozenset({"GET", "HEAD"})

    def __init__(self):
        self.calls = []

    def before(self, request):
        self.calls.append(request.method)


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "OPTIONS"])
def test_a_before_step_is_skipped_only_for_the_methods_it_names(method):
    app = hermetic.Flask(__name__)
    shield = Counting()
    shield.init_app(app)
    app.route("/", methods=["GET", "POST", "PUT"])(lambda: "x")
    app.test_client().open("/", method=method)
    assert shield.calls == ([] if method in ("GET", "HEAD") else [method])


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "TRACE", "POST", "DELETE"])
def test_the_csrf_check_runs_for_unsafe_methods_only(method, monkeypatch):
    from hermetic.security.csrf import CSRFShield

    calls = []
    check = CSRFShield.before

    def spy(self, request):
        calls.append(request.method)
        return check(self, request)

    monkeypatch.setattr(CSRFShield, "before", spy)
    app = hermetic.Hermetic(__name__)
    app.config.update(SECRET_KEY=SECRET)
    app.route("/", methods=["GET", "POST", "DELETE", "TRACE"])(lambda: "x")
    rv = app.test_client().open(
        "/", method=method, base_url="https://localhost", headers={"Origin": "https://evil.example"}
    )
    if method in ("POST", "DELETE"):
        assert calls == [method]
        assert rv.status_code == 403  # the cross-site origin is still refused
    else:
        assert calls == []


# -- the input limits' usual GET --------------------------------------------

ENVIRONS = [
    {},
    {"QUERY_STRING": "a=1"},
    {"CONTENT_LENGTH": ""},
    {"CONTENT_LENGTH": "3"},
    {"wsgi.input_terminated": True},
    {"wsgi.input_terminated": True, "SERVER_PROTOCOL": "HTTP/2"},
    {"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"},
    {"wsgi.input_terminated": True, "CONTENT_LENGTH": "3"},
]


def _installs_limits(environ):
    """The documented rule: the body limits are installed when a body may come."""
    length = environ.get("CONTENT_LENGTH")
    terminated = "wsgi.input_terminated" in environ
    if length:
        return True
    if not terminated:
        return False
    return "HTTP_TRANSFER_ENCODING" in environ or not environ.get(
        "SERVER_PROTOCOL", "HTTP/1.1"
    ).startswith("HTTP/1.")


@pytest.mark.parametrize("extra", ENVIRONS)
def test_input_limits_install_the_body_limits_when_a_body_may_come(extra):
    app = hermetic.Flask(__name__)
    shield = InputLimitsShield()
    shield.init_app(app)
    shield.configure(app)
    with app.test_request_context("/", method="POST") as ctx:
        environ = ctx.request.environ
        for key in ("CONTENT_LENGTH", "wsgi.input_terminated", "HTTP_TRANSFER_ENCODING"):
            environ.pop(key, None)
        environ["SERVER_PROTOCOL"] = "HTTP/1.1"
        environ.update(extra)
        assert shield.before(ctx.request) is None
        installed = ctx.request.__dict__.get("form_data_parser_class") is shield._parser_class
        assert installed == _installs_limits(environ)


def test_input_limits_check_the_url_before_returning_early():
    app = hermetic.Flask(__name__)
    app.config["LIMITS_MAX_URL_LENGTH"] = 10
    InputLimitsShield().init_app(app)
    app.get("/<path:p>")(lambda p: "x")
    client = app.test_client()
    assert client.get("/" + "a" * 9).status_code == 200
    assert client.get("/" + "a" * 10).status_code == 414


# -- Hermetic.wsgi_app ------------------------------------------------------


def test_hermetic_wsgi_app_calls_what_super_finds():
    calls = []

    class Mixin(hermetic.Flask):
        def wsgi_app(self, environ, start_response):
            calls.append(environ["PATH_INFO"])
            return super().wsgi_app(environ, start_response)

    class App(hermetic.Hermetic, Mixin):
        pass

    app = App(__name__)
    app.config.update(SECRET_KEY=SECRET)
    app.get("/")(lambda: "x")
    assert app.test_client().get("/", base_url="https://localhost").data == b"x"
    assert calls == ["/"]
