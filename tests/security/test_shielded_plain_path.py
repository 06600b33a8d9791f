"""``Hermetic`` on the one-frame request path (hermetic/_plain_path.py).

An app with active shields and no hooks of its own is served by the plain
path too: the shields' ``before`` steps run ahead of the view, and a text
answer gets the route's fused after steps (security/_quiet_after.py) on its
two headers. Every case here is served twice, on the plain path and with
``serve_plain`` switched off (the general methods), and must give the same
status, headers in order, body and environ marks; the cases the plain path
hands over (a cookie, a CSP nonce, a remember-me cookie, a refusal, an
error) are among them.
"""

from __future__ import annotations

import pytest
from tests._wsgi import serve
from tests.security._shield_app import comparable, shielded_app
from werkzeug.test import create_environ

import hermetic
import hermetic.app as app_module
import hermetic.security.profile as profile_module
from hermetic import redirect, request, session
from hermetic.security.shields import Shield

SECRET = "shielded-plain-test-5d1c9e3a7f2b4068e1c3a5f7d9b2e4c6"


def _app():
    app = shielded_app(SECRET, "Hello, World! \u00e9", LIMITS_MAX_URL_LENGTH=200)

    @app.get("/count")
    def count():
        session["n"] = session.get("n", 0) + 1
        return str(session["n"])

    @app.get("/query")
    def query():
        return request.args.get("q", "-")

    @app.get("/fail")
    def fail():
        raise ValueError("boom")

    @app.post("/form")
    def form():
        return "saved"

    @app.errorhandler(404)
    def missing(e):
        return "no such page", 404

    app.security_check()
    return app


def _serve(app, path, **kwargs):
    """Call the app as a server does; return status, headers, body and the environ marks."""
    environ = create_environ(path, **kwargs)
    status, headers, data = serve(app, environ)
    marks = {
        key: value if isinstance(value, (str, int, type(None))) else type(value).__name__
        for key, value in environ.items()
        if key.startswith("hermetic.")
    }
    return status, comparable(headers), data, marks


def _general(monkeypatch):
    """Switch the plain path off: every request takes the general methods."""
    monkeypatch.setattr(app_module, "serve_plain", lambda *args: None)
    monkeypatch.setattr(profile_module, "serve_plain", lambda *args: None)


def _spy(monkeypatch):
    """Record, per request, whether the plain path answered it."""
    answered = []
    real = profile_module.serve_plain

    def spy(*args):
        answer = real(*args)
        answered.append(answer is not None)
        return answer

    monkeypatch.setattr(profile_module, "serve_plain", spy)
    return answered


CASES = [
    ("/", {}),
    ("/?q=1", {}),
    ("/query?q=%C3%A9", {}),
    ("/json", {}),
    ("/nonce", {}),
    ("/own", {}),
    ("/go", {}),
    ("/remember", {}),
    ("/count", {}),
    ("/fail", {}),
    ("/missing", {}),
    ("/" + "a" * 300, {}),  # longer than LIMITS_MAX_URL_LENGTH: refused before the view
    ("/" + "a" * 199, {}),  # as long as LIMITS_MAX_URL_LENGTH: a 404
    ("/" + "a" * 200, {}),  # one longer: refused
    ("/", {"data": b"x" * 10}),  # a GET with a body
    ("/", {"environ_base": {"wsgi.input_terminated": True}}),
    ("/?", {}),
    ("/query?" + "&".join(f"p{i}=1" for i in range(200)), {}),  # too many parameters
    ("/", {"method": "HEAD"}),
    ("/", {"method": "POST"}),  # not allowed
    ("/form", {"method": "POST", "data": {"x": "1"}}),  # no CSRF token: refused
    ("/", {"headers": {"Cookie": "other=1"}}),
    ("/", {"headers": {"Cookie": "session=forged"}}),
    ("/", {"headers": {"Origin": "https://evil.example"}}),
]


@pytest.mark.parametrize("base_url", ["https://localhost", "http://localhost"])
@pytest.mark.parametrize(("path", "kwargs"), CASES)
def test_the_plain_path_answers_as_the_general_methods(path, kwargs, base_url, monkeypatch):
    # The same nonce and remember token on both sides.
    monkeypatch.setattr("hermetic.security.headers.urandom", lambda n: b"n" * n)
    monkeypatch.setattr("secrets.token_bytes", lambda n=32: b"t" * n)
    monkeypatch.setattr("os.urandom", lambda n: b"u" * n)
    plain = _serve(_app(), path, base_url=base_url, **kwargs)
    with monkeypatch.context() as m:
        _general(m)
        general = _serve(_app(), path, base_url=base_url, **kwargs)
    assert plain == general


def test_hello_is_answered_by_the_plain_path_with_every_header(monkeypatch):
    answered = _spy(monkeypatch)
    app = _app()
    status, headers, body, marks = _serve(app, "/", base_url="https://localhost")
    assert answered == [True]
    assert status == "200 OK" and body == "Hello, World! \u00e9".encode()
    names = [name for name, _ in headers]
    assert names[:2] == ["Content-Type", "Content-Length"]
    for name in ("Content-Security-Policy", "Strict-Transport-Security", "X-Frame-Options"):
        assert name in names
    # The login shield's after step counted as done, the CSP as sent without a nonce.
    assert marks == {"hermetic.login.after_done": True, "hermetic.csp_nonce": ""}


def test_plain_http_gets_no_hsts_on_the_plain_path(monkeypatch):
    answered = _spy(monkeypatch)
    _, headers, _, _ = _serve(_app(), "/", base_url="http://localhost")
    assert answered == [True]
    assert "Strict-Transport-Security" not in [name for name, _ in headers]


def test_a_refusal_before_the_view_keeps_the_view_from_running(monkeypatch):
    app = _app()
    ran = []
    app.view_functions["hello"] = lambda: ran.append(1) or "ran"
    status, _, _, _ = _serve(app, "/?" + "x" * 300, base_url="https://localhost")
    assert status.startswith("414")
    assert ran == []


class _CountingShield(Shield):
    """A shield with a prepare step and a before step, counting their calls."""

    name = "counting"
    order = 5

    def __init__(self):
        self.prepared = 0
        self.before_calls = 0

    def configure(self, app=None):
        pass

    def prepare_step(self):
        def step(environ):
            self.prepared += 1

        return step

    def steps_for(self, endpoint, view):
        def before(request):
            self.before_calls += 1

        return before, None


@pytest.mark.parametrize("hooked", [False, True])
def test_prepare_and_before_steps_run_once_on_either_path(hooked, monkeypatch):
    answered = _spy(monkeypatch)
    app = _app()
    counting = _CountingShield()
    app.shields.add(counting)
    if hooked:
        # A hook of the app's own: the plain path declines, the general runs.
        app.before_request(lambda: None)
    for _ in range(3):
        assert _serve(app, "/", base_url="https://localhost")[0] == "200 OK"
    assert answered == [not hooked] * 3
    assert counting.prepared == 3
    assert counting.before_calls == 3


def test_a_view_replaced_after_the_first_request_gets_its_own_steps(monkeypatch):
    answered = _spy(monkeypatch)
    app = _app()
    assert "X-Frame-Options" in dict(_serve(app, "/", base_url="https://localhost")[1])
    replacement = hermetic.security.exempt("headers")(lambda: "replaced")
    app.view_functions["hello"] = replacement
    status, headers, body, _ = _serve(app, "/", base_url="https://localhost")
    assert body == b"replaced"
    assert "X-Frame-Options" not in dict(headers)
    assert answered == [True, True]


@pytest.mark.parametrize(
    ("path", "kwargs", "quiet"),
    [
        ("/", {}, True),
        ("/" + "a" * 199, {}, True),
        ("/" + "a" * 200, {}, False),
        ("/?q=1", {}, False),
        ("/", {"data": b"x" * 10}, False),
        ("/", {"environ_base": {"wsgi.input_terminated": True}}, False),
        ("/form", {"method": "POST"}, False),  # the CSRF step has no description
    ],
)
def test_the_input_limits_step_is_skipped_only_where_it_has_nothing_to_do(
    path, kwargs, quiet, monkeypatch
):
    # Shield.quiet_before: a GET without query string or body, whose path is
    # no longer than LIMITS_MAX_URL_LENGTH, is one the limits step lets pass.
    from hermetic.security.input_limits import InputLimitsShield

    calls = []
    real = InputLimitsShield.before

    def counted(self, request):
        calls.append(request.path)
        return real(self, request)

    monkeypatch.setattr(InputLimitsShield, "before", counted)
    app = _app()
    steps = app.shields._steps("hello")
    assert steps.quiet_before["GET"] == 200
    _serve(app, path, base_url="https://localhost", **kwargs)
    assert (calls == []) is quiet


def test_a_limits_shield_with_its_own_before_is_not_skipped():
    from hermetic.security.input_limits import InputLimitsShield

    class Stricter(InputLimitsShield):
        def before(self, request):
            return super().before(request)

    assert Stricter().quiet_before("hello", None) is None
    shield = InputLimitsShield()
    assert shield.quiet_before("hello", None) > 10**9  # no URL limit set


def _token_app():
    app = _app()

    @app.get("/token")
    def token():
        from hermetic.security.csrf import csrf_token

        return csrf_token()

    @app.post("/save")
    def save():
        return redirect("/", 303)

    return app


def _post_with_token(app, base_url):
    """GET a CSRF token as a browser would, then POST a form carrying it."""
    from tests._wsgi import serve as call

    status, headers, token = call(app, create_environ("/token", base_url=base_url))
    cookie = next(v for k, v in headers if k == "Set-Cookie").partition(";")[0]
    return _serve(
        app,
        "/save",
        base_url=base_url,
        method="POST",
        data={"csrf_token": token.decode(), "title": "x"},
        headers={"Cookie": cookie, "Sec-Fetch-Site": "same-origin"},
    )


@pytest.mark.parametrize("failure", [None, "store", "bug"])
@pytest.mark.parametrize("base_url", ["https://localhost", "http://localhost"])
def test_a_response_with_an_opened_session_is_finalized_as_the_general_methods_do(
    base_url, failure, monkeypatch
):
    # The CSRF check opened the session: the response (a redirect) gets the
    # after steps and the session is saved, as finalize_request does; a
    # store failure while saving is the 503 it is there, any other error a 500.
    from hermetic.security.sessions import EncryptedSessionInterface
    from hermetic.security.stores import StoreError

    monkeypatch.setattr("secrets.token_hex", lambda n=32: "r" * 2 * n)  # request ids
    if failure is not None:
        error = StoreError("down") if failure == "store" else ValueError("bug")
        real_save = EncryptedSessionInterface.save_session

        def failing_save(self, app, session, response):
            if request.method == "POST":  # the GET that gives the token saves
                raise error
            real_save(self, app, session, response)

        monkeypatch.setattr(EncryptedSessionInterface, "save_session", failing_save)
    finalized = []
    real = app_module.Flask.finalize_request
    monkeypatch.setattr(
        app_module.Flask,
        "finalize_request",
        lambda self, *a, **k: finalized.append(1) or real(self, *a, **k),
    )
    plain = _post_with_token(_token_app(), base_url)
    # (An error's 500 is finalized by handle_exception, on either path.)
    assert (finalized == []) is (failure != "bug")
    with monkeypatch.context() as m:
        _general(m)
        general = _post_with_token(_token_app(), base_url)
    assert finalized
    assert plain == general
    expected = {None: "303", "store": "503", "bug": "500"}[failure]
    assert plain[0].startswith(expected)
    if failure is None:
        assert ("Vary", "Cookie") in plain[1]
        assert "X-Frame-Options" in dict(plain[1])
