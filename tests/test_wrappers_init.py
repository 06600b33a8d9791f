"""hermetic's Request constructor gives what Werkzeug's gives.

Property-style: many generated environs (missing keys, non-ASCII paths and
script names, odd ports, bytes where a server should have put str), each
given to hermetic's constructor and to Werkzeug's; every attribute Werkzeug's
constructor sets must read the same. hermetic computes most of them on first
read, so an environ Werkzeug refuses must be refused alike when they are read
(in the order Werkzeug's constructor computes them).
"""

from __future__ import annotations

import itertools
import random

import pytest
from werkzeug.datastructures import EnvironHeaders
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request as WerkzeugRequest

from hermetic.wrappers import Request

CHOICES = {
    "REQUEST_METHOD": [None, "GET", "post", "PATCH", "\u00e9", b"GET"],
    "wsgi.url_scheme": [None, "http", "https"],
    "SERVER_NAME": [None, "localhost", "example.test", ""],
    "SERVER_PORT": [None, "80", "8443", "", "x", "-1", " 7 "],
    "SCRIPT_NAME": [None, "", "/app", "/app/", "/caf\u00c3\u00a9", "/\u00ff", b"/app"],
    "PATH_INFO": [None, "", "/", "/a/b", "//a", "a", "/caf\u00c3\u00a9", "/\u00ff/", b"/x"],
    "QUERY_STRING": [None, "", "a=1&b=2", "x=\u00e9", "\u20ac", b"a=1"],
    "REMOTE_ADDR": [None, "127.0.0.1", "::1"],
    "HTTP_HOST": [None, "localhost:8000"],
}


def random_environ(rng: random.Random) -> dict[str, object]:
    environ: dict[str, object] = {}
    for key, values in CHOICES.items():
        value = rng.choice(values)
        if value is not None:
            environ[key] = value
    return environ


#: What Werkzeug's constructor sets, in the order it computes them.
ATTRIBUTES = (
    "method",
    "scheme",
    "server",
    "root_path",
    "path",
    "query_string",
    "headers",
    "remote_addr",
    "environ",
    "shallow",
)


def state(request: object) -> dict[str, object]:
    out = {name: getattr(request, name) for name in ATTRIBUTES}
    environ = dict(out.pop("environ"))
    # Each environ points at its own request: compare that it does, not the object.
    out["environ"] = environ, environ.pop("werkzeug.request", None) is request
    headers = out.pop("headers")
    assert type(headers) is EnvironHeaders
    out["headers"] = (headers.environ is request.environ, dict(vars(headers), environ=None))
    return out


def build(cls: type, environ: dict[str, object], use_werkzeug: bool, **kwargs: object):
    request = object.__new__(cls)
    try:
        if use_werkzeug:
            WerkzeugRequest.__init__(request, environ, **kwargs)
        else:
            cls.__init__(request, environ, **kwargs)
        return state(request)
    except Exception as e:
        return ("error", type(e))


@pytest.mark.parametrize("seed", range(10))
def test_request_constructor_matches_werkzeug(seed):
    rng = random.Random(seed)
    for _ in range(200):
        environ = random_environ(rng)
        for populate, shallow in itertools.product((True, False), repeat=2):
            kwargs = {"populate_request": populate, "shallow": shallow}
            ours_env, theirs_env = dict(environ), dict(environ)
            ours = build(Request, ours_env, False, **kwargs)
            theirs = build(Request, theirs_env, True, **kwargs)
            assert ours == theirs, environ
            if not isinstance(ours, tuple):
                assert ("werkzeug.request" in ours_env) == ("werkzeug.request" in theirs_env)


def test_attributes_are_computed_on_first_read_then_kept():
    environ = {"REQUEST_METHOD": "get", "PATH_INFO": "/a", "QUERY_STRING": "q=1"}
    request = Request(environ)
    assert request.method == "GET"
    assert "path" not in vars(request) and "headers" not in vars(request)
    headers = request.headers
    assert request.headers is headers and request.path == "/a"
    assert vars(request)["path"] == "/a"
    # Assignment works as on Werkzeug's request, before and after a read.
    request.path = "/b"
    request.query_string = b"x=2"
    assert request.path == "/b" and request.args["x"] == "2"
    assert Request.path.name == "path"  # the class attribute is the descriptor


def test_subclass_with_its_own_attribute_gets_werkzeugs_constructor():
    # Werkzeug's constructor sets the instance attribute over the class's.
    class Fixed(Request):
        scheme = "https"

    request = Fixed({"REQUEST_METHOD": "GET", "wsgi.url_scheme": "http"})
    assert request.scheme == "http" and vars(request)["scheme"] == "http"


def test_fast_constructor_is_used_and_subclasses_keep_it():
    class Sub(Request):
        pass

    class Mixin:
        def __init__(self, *args, **kwargs):
            self.mixed = True
            super().__init__(*args, **kwargs)

    class Mixed(Mixin, Request):
        pass

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/x", "SERVER_NAME": "h", "SERVER_PORT": "80"}
    assert Sub(dict(environ)).path == "/x"
    mixed = Mixed(dict(environ))
    assert mixed.mixed and mixed.path == "/x"
    from hermetic.wrappers import _FAST_INIT

    assert _FAST_INIT[Sub] and _FAST_INIT[Mixed]


def test_unusual_mro_uses_werkzeugs_constructor():
    calls = []

    class Between(WerkzeugRequest):
        def __init__(self, *args, **kwargs):
            calls.append("between")
            super().__init__(*args, **kwargs)

    class Odd(Request, Between):
        pass

    Odd({"REQUEST_METHOD": "GET"})
    assert calls == ["between"]


#: What the bytes and status makers are compared with the class on.
_MAKER_STATUSES = [*HTTP_STATUS_CODES, 299, 999, "201 CREATED", True, 200.0]
_MAKER_TYPES = ["application/json", "application/problem+json", "text/plain; charset=utf-8", "a\nb"]
_MAKER_BODIES = [b"", b"{}", b'{"a": "\xc3\xa9"}', bytearray(b"x"), "text"]


def _made(build, *args, **kwargs):
    """What ``build(*args, **kwargs)`` makes (attributes, header list), or the error it raises."""
    try:
        rv = build(*args, **kwargs)
    except Exception as e:
        return ("error", type(e))
    out = dict(vars(rv))
    out["headers"] = rv.headers.to_wsgi_list()
    return out


@pytest.mark.parametrize("seed", range(3))
def test_bytes_maker_matches_the_response_class(seed):
    from hermetic._response_makers import _make_bytes_maker
    from hermetic.wrappers import Response

    make = _make_bytes_maker(Response)
    assert make is not None
    rng = random.Random(seed)
    for _ in range(300):
        status, ctype, body = (
            rng.choice(_MAKER_STATUSES),
            rng.choice(_MAKER_TYPES),
            rng.choice(_MAKER_BODIES),
        )
        fast = _made(make, body, status, ctype)
        slow = _made(Response, body, status=status, content_type=ctype)
        assert fast == slow, (status, ctype, body)


@pytest.mark.parametrize("seed", range(3))
def test_status_maker_matches_the_response_class(seed):
    # make(data) for one status and content type, as the class builds it.
    from hermetic._response_makers import _make_status_maker
    from hermetic.wrappers import Response

    rng = random.Random(seed)
    made = 0
    for _ in range(300):
        status, ctype, body = (
            rng.choice(_MAKER_STATUSES),
            rng.choice(_MAKER_TYPES),
            rng.choice(_MAKER_BODIES),
        )
        make = _make_status_maker(Response, status, ctype)
        if make is None:
            # Only what the bytes maker hands to the class itself is refused.
            assert type(status) is not int or status not in HTTP_STATUS_CODES or "\n" in ctype
            continue
        made += 1
        fast = _made(make, body)
        slow = _made(Response, body, status=status, content_type=ctype)
        assert fast == slow, (status, ctype, body)
    assert made > 100


def test_status_maker_refuses_a_class_with_its_own_constructor():
    from hermetic._response_makers import _make_status_maker
    from hermetic.wrappers import Response

    class Own(Response):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.headers["X-Own"] = "1"

    assert _make_status_maker(Own, 201, "application/json") is None
    assert _make_status_maker(Response, 201, "application/json") is not None
