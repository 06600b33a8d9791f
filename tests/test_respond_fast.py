"""The app's WSGI send of a buffered response equals Werkzeug's.

``Flask._respond`` hands the common response (one ``bytes`` chunk, a
``Content-Length``, no ``Location``) to the server without Werkzeug's header
fix-ups, which would leave it unchanged. Property-style: generated responses
(statuses, header names in several spellings, bodies of several shapes,
``HEAD``, close callbacks, a subclass with its own WSGI headers), each sent
through ``_respond`` and through the response's own WSGI call; the status,
headers and body must be equal.
"""

from __future__ import annotations

import random

import pytest
from tests._wsgi import serve, spy_on_send_loop
from werkzeug.datastructures import Headers

import hermetic
from hermetic.wrappers import Response

HEADERS = [
    ("Content-Length", None),
    ("content-length", None),
    ("CONTENT-LENGTH", None),
    ("Location", "/caf\u00e9"),
    ("location", "/x y"),
    ("Location", "/notes?page=2#top"),
    ("Location", "https://example.com/a%20b?q=1"),
    ("Location", "/x y"),
    ("Location", "https://b\u00fccher.example/"),
    ("Content-Location", "/\u00e9"),
    ("X-Other", "1"),
    ("Vary", "Cookie"),
    ("Strict-Transport-Security", "max-age=63072000"),
    ("Content-Type", "text/plain"),
]
STATUSES = [100, 200, 201, 204, 301, 304, 404, 500]


class OwnHeaders(Response):
    def get_wsgi_headers(self, environ):
        headers = super().get_wsgi_headers(environ)
        headers["X-Own"] = "yes"
        return headers


def send(call, environ):
    return serve(call, dict(environ))


def random_response(rng: random.Random) -> Response:
    cls = rng.choice([Response, Response, OwnHeaders])
    shape = rng.random()
    if shape < 0.6:
        body: object = [rng.choice([b"", b"hello", "caf\u00e9".encode()])]
    elif shape < 0.8:
        body = [b"a", b"b"]
    else:
        body = iter([b"x"])
    response = cls(body, status=rng.choice(STATUSES))
    response.headers = Headers()
    for name, value in rng.sample(HEADERS, rng.randint(0, 4)):
        if value is None:
            value = str(rng.choice([0, 5, 7]))
        response.headers.add(name, value)
    if rng.random() < 0.1:
        response.call_on_close(lambda: None)
    if rng.random() < 0.1:
        response.direct_passthrough = True
    if rng.random() < 0.2:
        response.autocorrect_location_header = True
    return response


@pytest.mark.parametrize("seed", range(5))
def test_respond_matches_the_response_wsgi_call(seed):
    app = hermetic.Flask(__name__)
    rng = random.Random(seed)
    for _ in range(300):
        method = rng.choice(["GET", "HEAD", "POST"])
        environ = {
            "REQUEST_METHOD": method,
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "80",
            "wsgi.url_scheme": "http",
            "HTTP_HOST": "localhost",
        }
        state = rng.getstate()
        ours = send(lambda e, sr: app._respond(random_response(rng), e, sr), environ)
        rng.setstate(state)
        theirs = send(random_response(rng), environ)
        assert ours == theirs, (seed, method)


def test_the_common_response_skips_werkzeugs_send():
    app = hermetic.Flask(__name__)

    calls = []

    class Counted(Response):
        def __call__(self, environ, start_response):
            calls.append(1)
            return super().__call__(environ, start_response)

    # A class with its own __call__ is not plain: its WSGI call runs.
    response = Counted(b"ok")
    assert send(lambda e, sr: app._respond(response, e, sr), {"REQUEST_METHOD": "GET"})[2] == b"ok"
    assert calls == [1]
    plain = Response(b"ok")
    status, headers, body = send(
        lambda e, sr: app._respond(plain, e, sr), {"REQUEST_METHOD": "GET"}
    )
    assert (status, body) == ("200 OK", b"ok")
    assert headers == [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", "2")]
    # The server gets a copy: changing it leaves the response's headers alone.
    headers.append(("X-Server", "1"))
    assert "X-Server" not in plain.headers


def test_a_redirect_to_a_plain_url_skips_werkzeugs_send(monkeypatch):
    from werkzeug.wrappers import Response as BaseResponse

    general = []
    werkzeug_call = BaseResponse.__call__

    def counted_call(self, environ, start_response):
        general.append(1)
        return werkzeug_call(self, environ, start_response)

    # Patched on Werkzeug's class: hermetic's Response still counts as plain.
    monkeypatch.setattr(BaseResponse, "__call__", counted_call)
    app = hermetic.Flask(__name__)
    for location, fast in [
        ("/notes", True),
        ("https://example.com/a?b=c", True),
        ("/caf\u00e9", False),
        ("/x y", False),
    ]:
        with app.test_request_context():
            response = hermetic.redirect(location, 303)
        expected = send(response, {"REQUEST_METHOD": "POST"})
        general.clear()
        ours = send(lambda e, sr, r=response: app._respond(r, e, sr), {"REQUEST_METHOD": "POST"})
        assert ours == expected
        assert general == ([] if fast else [1]), location


def test_the_location_memo_stays_bounded():
    from hermetic import _app_responses

    _app_responses._URI_AS_IS.clear()
    long = "/" + "a" * 600
    assert _app_responses._is_uri(long) is True
    assert long not in _app_responses._URI_AS_IS  # too long to keep
    for i in range(_app_responses._URI_AS_IS_MAX + 10):
        assert _app_responses._is_uri(f"/n{i}") is True
    assert len(_app_responses._URI_AS_IS) <= _app_responses._URI_AS_IS_MAX
    assert _app_responses._is_uri("/caf\u00e9") is False


#: After the makers' Content-Type and Content-Length: names the send loop
#: passes over (kind 0) and names it must look at.
KIND_0 = [
    ("X-Frame-Options", "DENY"),
    ("Vary", "Cookie"),
    ("RateLimit-Remaining", "9"),
    ("Set-Cookie", "a=b; Path=/"),
    ("Content-Security-Policy", "default-src 'self'"),
]
LOOKED_AT = [
    ("Location", "/caf\u00e9"),
    ("Location", "/plain"),
    ("content-length", "1"),
    ("Content-Location", "/x y"),
    ("X-Other", "1"),
]


@pytest.mark.parametrize("seed", range(3))
def test_headers_of_kind_0_after_the_makers_two_are_sent_as_werkzeug_sends_them(seed):
    app = hermetic.Flask(__name__)
    rng = random.Random(seed)
    environ = {"REQUEST_METHOD": "GET", "SERVER_NAME": "localhost", "SERVER_PORT": "80"}
    for _ in range(200):
        extra = rng.sample(KIND_0, rng.randint(1, len(KIND_0)))
        if rng.random() < 0.5:
            extra.insert(rng.randint(0, len(extra)), rng.choice(LOOKED_AT))
        results = []
        for call in ("ours", "werkzeug"):
            response = Response(b"body")
            response.headers._list.extend(extra)
            if call == "ours":
                results.append(send(lambda e, sr, r=response: app._respond(r, e, sr), environ))
            else:
                results.append(send(response, environ))
        assert results[0] == results[1], extra


def test_headers_of_kind_0_skip_the_send_loop(monkeypatch):
    # The loop reads _HEADER_KINDS for each name; names of kind 0 after the
    # makers' two, in any order, are checked as a set instead.
    looked_up = spy_on_send_loop(monkeypatch)
    app = hermetic.Flask(__name__)
    environ = {"REQUEST_METHOD": "GET"}
    response = Response(b"ok")
    response.headers._list.extend(reversed(KIND_0))
    send(lambda e, sr: app._respond(response, e, sr), environ)
    assert looked_up == []
    response = Response(b"ok")
    response.headers._list.extend([*KIND_0, ("X-Other", "1")])
    send(lambda e, sr: app._respond(response, e, sr), environ)
    assert looked_up


def test_a_redirect_with_headers_of_kind_0_after_skips_the_send_loop(monkeypatch):
    # What redirect builds, then the security headers and the session's Vary:
    # the Location third is the one header to check (a plain URL: sent as is).
    looked_up = spy_on_send_loop(monkeypatch)
    app = hermetic.Flask(__name__)
    environ = {"REQUEST_METHOD": "POST", "SERVER_NAME": "localhost", "SERVER_PORT": "80"}
    for location, as_is in [("/notes", True), ("/caf\u00e9", False)]:
        with app.test_request_context():
            response = hermetic.redirect(location, 303)
        response.headers._list.extend(KIND_0)
        expected = send(response, environ)
        ours = send(lambda e, sr, r=response: app._respond(r, e, sr), environ)
        assert ours == expected
        assert (ours[1][2] == ("Location", location)) is as_is
    assert looked_up == []
    # Another header after the Location: the loop looks at every name.
    with app.test_request_context():
        response = hermetic.redirect("/notes", 303)
    response.headers._list.extend([*KIND_0, ("X-Other", "1")])
    assert send(lambda e, sr: app._respond(response, e, sr), environ) == send(response, environ)
    assert looked_up
