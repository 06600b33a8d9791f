"""The CSRF check's and the input limits' short ways, against their general paths on drawn requests.

Four short ways: three switched by a table per request class -- the form
content type read from the environ (``_input_parsers.sends_form``), the
usual body's length check (``InputLimitsShield.before``), the CSRF check's
form read (``csrf._FORM_AS_WERKZEUG``) -- and the CSRF check's cookie lookup
in a known scan of the header (``known_scan``, switched off by answering
``None``). Form, JSON and raw bodies of a logged-in visitor near the limits
go to two identical ``Hermetic`` apps, one as it runs and one with every
short way off, and must give the same status, headers and body; the
differential suite (tests/security/test_fast_paths_differential.py) sends
its drawn requests the same way, with these short ways among its switches.
Planted faults caught here: the usual body left without the depth-limited
JSON module or the limited form parser, a Content-Length one byte over
MAX_CONTENT_LENGTH let through, a wrong content type kept, a kept scan read
as holding no auth cookie; tests/security/test_input_limits_fast_body.py,
test_csrf_content_type.py and
test_csrf_short_reads.py test each short way on its own.
"""

from __future__ import annotations

import collections
import io
import typing as t
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.security.test_fast_paths_differential import (
    _SETTINGS,
    _answer,
    _default_app,
    _NoClassIsOurs,
    _shielded_app,
    _shown,
    reaching_views,
    seen_lengths,
)
from tests.security.test_fuzz_requests import fixture

from hermetic import _body, request
from hermetic.security import _cookie_scan, csrf, input_limits


class _Counting(dict[type, bool]):
    """The real table, counting the requests it lets take the short way."""

    def __init__(self, real: dict[type, bool], counter: collections.Counter[str], name: str):
        super().__init__()
        self.real, self.counter, self.name = real, counter, name

    def __missing__(self, cls: type) -> bool:
        ours = self.real[cls]
        self.counter[self.name] += ours
        return ours


def _counted_scans(counter: collections.Counter[str]) -> t.Callable[[t.Any], t.Any]:
    """The CSRF check's ``known_scan``, counting the scans it finds."""
    real = _cookie_scan.known_scan

    def known_scan(request: t.Any) -> t.Any:
        found = real(request)
        counter["cookie scan"] += found is not None
        return found

    return known_scan


def _general(m: pytest.MonkeyPatch) -> None:
    m.setattr(_body, "_CONTENT_TYPE_AS_WERKZEUG", _NoClassIsOurs())
    m.setattr(input_limits, "_REQUEST_CLASSES_AS_OURS", _NoClassIsOurs())
    m.setattr(csrf, "_FORM_AS_WERKZEUG", _NoClassIsOurs())
    m.setattr(csrf, "known_scan", lambda request: None)


def _with_content_type_route(app: t.Any) -> t.Any:
    """``app`` with a route showing the content type as the view reads it."""

    @app.route("/kind", methods=["POST", "PUT"])
    def kind() -> t.Any:
        return {
            "mimetype": request.mimetype,
            "params": request.mimetype_params,
            "form": sorted(request.form.items(multi=True)),
        }

    return app


@cache
def _pair(kind: str) -> tuple[t.Any, t.Any]:
    build = {"default": _default_app, "hermetic": _shielded_app}[kind]
    return _with_content_type_route(build()), _with_content_type_route(build())


def _both(kind: str, environ: dict[str, t.Any]) -> tuple[t.Any, t.Any]:
    short, general_app = _pair(kind)
    body = environ["wsgi.input"].getvalue()
    with pytest.MonkeyPatch.context() as m:
        m.setattr(input_limits, "_LENGTHS", seen_lengths(environ))
        fast = _answer(short, environ, body)
    with pytest.MonkeyPatch.context() as m:
        _general(m)
        general = _answer(general_app, environ, body)
    return fast, general


_FORM = "application/x-www-form-urlencoded"


@st.composite
def usual_bodies(draw: st.DrawFn) -> dict[str, t.Any]:
    """Form, JSON and raw POSTs of a logged-in visitor, near the limits the routes set.

    ``_routed`` sets ``MAX_CONTENT_LENGTH`` 64 KiB, ``MAX_FORM_PARTS`` 20,
    ``MAX_FORM_MEMORY_SIZE`` 8 KiB; ``LIMITS_JSON_MAX_DEPTH`` is 32.
    """
    fx = fixture()
    kind = draw(st.sampled_from(["form", "form", "json", "raw"]))
    token_in_form = kind == "form" and draw(st.booleans())
    if kind == "form":
        fields = [f"f{i}=v" for i in range(draw(st.sampled_from([0, 1, 19, 20, 21, 40])))]
        fields.append("big=" + "x" * draw(st.sampled_from([0, 8 * 1024 - 4, 8 * 1024 + 1])))
        if token_in_form:
            fields.append("csrf_token=" + draw(st.sampled_from([fx.csrf_tokens[0], "A" * 86])))
        body = "&".join(fields).encode()
        content_type = draw(st.sampled_from([_FORM, _FORM, _FORM + "; charset=utf-8", None]))
        paths = ["/fields", "/form", "/raw", "/kind"]
    elif kind == "json":
        depth = draw(st.sampled_from([1, 31, 32, 33, 40]))
        body = ("[" * depth + "1" + "]" * depth).encode()
        content_type = draw(st.sampled_from(["application/json", "application/json", _FORM]))
        paths = ["/api", "/api/silent", "/raw", "/kind"]
    else:
        body = b"x" * draw(st.sampled_from([0, 1, 64 * 1024, 64 * 1024 + 1]))
        content_type = draw(st.sampled_from([None, "application/octet-stream", _FORM]))
        paths = ["/raw", "/fields", "/api/silent"]
    environ: dict[str, t.Any] = {
        "REQUEST_METHOD": draw(st.sampled_from(["POST", "POST", "POST", "PUT"])),
        "SCRIPT_NAME": "",
        "PATH_INFO": draw(st.sampled_from(paths)),
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_ORIGIN": "https://localhost",
        "HTTP_SEC_FETCH_SITE": draw(st.sampled_from(["same-origin"] * 5 + ["cross-site"])),
        "HTTP_COOKIE": f"__Host-session={fx.session_cookies[0]}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    if not token_in_form:
        environ["HTTP_X_CSRF_TOKEN"] = fx.csrf_tokens[0]
    environ["CONTENT_LENGTH"] = draw(
        st.sampled_from([str(len(body))] * 4 + [str(len(body) + 1), "0" + str(len(body)), ""])
    )
    if draw(st.integers(0, 5)) == 0:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    return environ


@settings(_SETTINGS, max_examples=300)
@given(environ=usual_bodies())
def test_usual_bodies_are_answered_as_on_the_general_paths(environ: dict[str, t.Any]) -> None:
    fast, general = _both("default", environ)
    assert fast == general, _shown(environ)


def test_the_drawn_requests_take_both_short_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison means something: drawn requests do take the short ways."""
    taken: collections.Counter[str] = collections.Counter()
    app = _default_app()  # not the pair's: their state must stay the same

    @settings(_SETTINGS, max_examples=200)
    @given(environ=st.one_of(reaching_views(), usual_bodies()))
    def send(environ: dict[str, t.Any]) -> None:
        # A fresh counting table per request: each lookup is counted.
        with pytest.MonkeyPatch.context() as m:
            m.setattr(input_limits, "_LENGTHS", seen_lengths(environ))
            m.setattr(
                _body,
                "_CONTENT_TYPE_AS_WERKZEUG",
                _Counting(_body._CONTENT_TYPE_AS_WERKZEUG, taken, "content type"),
            )
            m.setattr(
                input_limits,
                "_REQUEST_CLASSES_AS_OURS",
                _Counting(input_limits._REQUEST_CLASSES_AS_OURS, taken, "body"),
            )
            m.setattr(csrf, "_FORM_AS_WERKZEUG", _Counting(csrf._FORM_AS_WERKZEUG, taken, "form"))
            m.setattr(csrf, "known_scan", _counted_scans(taken))
            _answer(app, environ, environ["wsgi.input"].getvalue())

    send()
    assert taken["content type"] >= 1 and taken["body"] >= 1, taken
    assert taken["form"] >= 1 and taken["cookie scan"] >= 1, taken
