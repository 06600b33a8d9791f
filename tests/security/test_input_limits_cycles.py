"""Input limits: a request with a body is freed at once, and deep JSON stays a 400.

The shield used to hang a per-request override on every request with a
body (``on_json_loading_failed``, a partial holding the request): a
reference cycle, so each such request waited for the garbage collector.
Hermetic's request re-raises the shield's errors itself and needs none;
a request class of the app's own still gets the override.
"""

from __future__ import annotations

import gc

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Response

from hermetic import Flask, Hermetic, request
from hermetic.security.input_limits import InputLimitsShield, _reraises_client_errors
from hermetic.wrappers import Request

KEY = "cycl3s-k3y-0123456789-abcdefghijklmnopqrstuvwxyz"


def make_app(kind, request_class=None):
    app = Hermetic(__name__) if kind == "Hermetic" else Flask(__name__)
    if request_class is not None:
        app.request_class = request_class
    app.config.update(SECRET_KEY=KEY, LIMITS_JSON_MAX_DEPTH=4, CSRF_ENABLED=False)
    if kind == "Flask":
        InputLimitsShield().init_app(app)

    @app.post("/json")
    def json_view():
        return {"type": type(request.get_json()).__name__}

    @app.post("/form")
    def form_view():
        return {"fields": len(request.form)}

    return app


@pytest.fixture(params=["Flask", "Hermetic"])
def kind(request):
    return request.param


@pytest.fixture
def events(audit_events):
    return audit_events


def garbage_after(app, path, **builder):
    """Serve one request; return the objects only the garbage collector would free."""
    environ = EnvironBuilder(path=path, method="POST", **builder).get_environ()
    app(environ, lambda *a: None)  # warm: first-request set-up is not the request's
    gc.collect()
    previous = gc.get_debug()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        environ = EnvironBuilder(path=path, method="POST", **builder).get_environ()
        body = app(environ, lambda *a: None)
        b"".join(body)
        getattr(body, "close", lambda: None)()
        del body, environ
        gc.collect()
        found = list(gc.garbage)
    finally:
        gc.set_debug(previous)
        gc.garbage.clear()
    return found


def test_a_form_post_leaves_no_reference_cycle(kind):
    app = make_app(kind)
    found = garbage_after(app, "/form", data={"title": "x"})
    assert [type(o).__name__ for o in found if isinstance(o, Request)] == []


def test_a_json_post_leaves_no_reference_cycle(kind):
    app = make_app(kind)
    found = garbage_after(app, "/json", json=[1])
    assert [type(o).__name__ for o in found if isinstance(o, Request)] == []


def test_hermetic_request_needs_no_override():
    assert _reraises_client_errors(Request)

    class Subclass(Request):
        pass

    assert _reraises_client_errors(Subclass)


class OwnHandling(Request):
    """A request class whose JSON errors are its own (an app may define one)."""

    def on_json_loading_failed(self, e):
        from werkzeug.exceptions import BadRequest

        raise BadRequest("own handling")


def test_own_request_class_gets_the_override():
    assert not _reraises_client_errors(OwnHandling)


def test_deep_json_is_refused_with_an_own_request_class(kind, events):
    app = make_app(kind, OwnHandling)
    r = app.test_client().post("/json", data="[" * 6 + "]" * 6, content_type="application/json")
    assert r.status_code == 400
    assert "LIMITS_JSON_MAX_DEPTH" in r.get_data(as_text=True)
    assert [e["reason"] for e in events() if e["event"] == "limit"] == ["json_too_deep"]


def test_invalid_json_goes_to_the_own_request_class(kind, events):
    app = make_app(kind, OwnHandling)
    r = app.test_client().post("/json", data="[1,", content_type="application/json")
    assert r.status_code == 400
    assert "own handling" in r.get_data(as_text=True)


def test_deep_json_is_refused_with_hermetic_request(kind, events):
    app = make_app(kind)
    r = app.test_client().post("/json", data="[" * 6 + "]" * 6, content_type="application/json")
    assert r.status_code == 400
    assert "LIMITS_JSON_MAX_DEPTH" in r.get_data(as_text=True)
    assert [e["reason"] for e in events() if e["event"] == "limit"] == ["json_too_deep"]


# -- Content-Length read without Werkzeug's calls for plain digits ----------


@pytest.mark.parametrize(
    "raw",
    [
        "0",
        "5",
        "6",
        "0006",
        "123456789",
        "1" * 19,
        # Longer than int() reads (4,300 digits): Werkzeug takes it as 0.
        "9" * 5000,
        "0" * 5000,
        " 6",
        "6 ",
        "+6",
        "-6",
        "6.0",
        "1_0",
        "\uff16",
        "\u00b2",
        "x",
    ],
    ids=lambda raw: repr(raw) if len(raw) < 20 else f"{raw[0]}x{len(raw)}",
)
@pytest.mark.parametrize("encoding", [None, "chunked", "gzip"])
def test_content_length_as_werkzeug_reads_it(raw, encoding):
    from werkzeug.sansio.utils import get_content_length

    from hermetic.security.errors import PayloadTooLarge

    app = make_app("Flask")
    app.config["MAX_CONTENT_LENGTH"] = 5
    shield = app.shields.get("limits")
    app.shields.configure_pending()
    headers = {} if encoding is None else {"Transfer-Encoding": encoding}
    environ = EnvironBuilder(path="/form", method="POST", headers=headers).get_environ()
    environ["CONTENT_LENGTH"] = raw
    expected = get_content_length(raw, encoding)
    with app.request_context(environ) as ctx:
        try:
            shield.before(ctx.request)
        except PayloadTooLarge:
            refused = True
        else:
            refused = False
        installed = ctx.request.__dict__.get("form_data_parser_class") is not None
    assert refused == (expected is not None and expected > 5)
    # A body to read (a length, or a chunked stream the server ends) gets the limits.
    assert refused or installed == bool(expected)


@pytest.mark.parametrize("terminated", [False, True])
@pytest.mark.parametrize(
    "raw", ["9" * 5000, "0" * 5000, "1" * 4300], ids=["9x5000", "0x5000", "1x4300"]
)
def test_a_content_length_of_thousands_of_digits_is_never_a_500(raw, terminated):
    # The attack: a Content-Length no int() reads. The defence: it is read
    # as Werkzeug reads it (0, or a length over MAX_CONTENT_LENGTH), never
    # an exception.
    app = make_app("Hermetic")
    environ = EnvironBuilder(path="/form", method="POST", data=b"title=x").get_environ()
    environ["CONTENT_LENGTH"] = raw
    if terminated:
        environ["wsgi.input_terminated"] = True
    r = Response.from_app(app, environ, buffered=True)
    assert r.status_code < 500
