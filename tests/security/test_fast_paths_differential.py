"""Every fast path against the general one, on malformed and ordinary requests alike.

hermetic answers common requests through fast paths (the one-frame request
path of ``_plain_path.py``, the static router, the shields' fused and
skipped steps, the body's first read, the url-encoded form's read and
split, a browser form's content type as the CSRF check and the form read
take it, the input limits' usual-body check) and leaves every other case
to Flask's and Werkzeug's general code, which stays the authority. Each fast path has its own equivalence tests;
this one draws whole requests (the fuzz suite's strategy: lying
Content-Lengths, chunked bodies, broken multipart, tampered cookies, stray
CSRF tokens, odd hosts and paths) and sends each to two identical apps, one
as it runs and one with the fast paths switched off, and requires the same
status, headers and body from both.

Three pairs: the fuzz suite's ``Hermetic`` app (trusted hosts and proxies,
a user loader), ``Hermetic`` with its defaults, and a plain hermetic
``Flask`` app, the last two with routes that show what they read. Both apps of a pair see the same requests in the
same order, so their state (sessions, rate-limit counts) stays the same.
"""

from __future__ import annotations

import collections
import io
import re
import typing as t
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests._wsgi import serve
from tests.security.test_fuzz_requests import (
    STRONG_KEY,
    bodies,
    environs,
    fixture,
    make_app,
    query_strings,
)

import hermetic
import hermetic._app_urls as app_urls_module
import hermetic.app as app_module
import hermetic.security.csrf as csrf_module
import hermetic.security.profile as profile_module
import hermetic.security.shields as shields_module
import hermetic.security.validation._body as validation_body
import hermetic.wrappers as wrappers_module
from hermetic import _body, request, session
from hermetic.security import input_limits
from hermetic.security._route_steps import RouteSteps

# A Set-Cookie's value is sealed with a fresh nonce, and its date is the
# clock's: both are compared as their shape.
_COOKIE_VALUE = re.compile(r"^([^=;]*)=[^;]*")
_COOKIE_DATE = re.compile(r"(?i)(expires=)[^;]*")
# A page's CSRF token is masked afresh for every page.
_TOKEN_FIELD = re.compile(rb'(name=csrf_token value=")[^"]*')
# An error page names its request's id, drawn afresh for each request.
_REQUEST_ID = re.compile(rb"\b[0-9a-f]{24}\b")


def _without_quiet_steps(*args: t.Any) -> RouteSteps:
    """A route's steps with no fused or skipped step: each runs as written."""
    return _real_route_steps(*args)._replace(quiet_after=None, quiet_text=None, quiet_before={})


_real_route_steps = shields_module.route_steps


class _NoClassIsOurs(dict[type, bool]):
    """A per-request-class table of a short way, answering "not ours" for every class."""

    def __missing__(self, cls: type) -> bool:
        return False


def _general_paths(m: pytest.MonkeyPatch) -> None:
    """Switch every fast path off: each hands over to the general code."""
    m.setattr(_body, "_CONTENT_TYPE_AS_WERKZEUG", _NoClassIsOurs())
    m.setattr(input_limits, "_REQUEST_CLASSES_AS_OURS", _NoClassIsOurs())
    m.setattr(csrf_module, "_FORM_AS_WERKZEUG", _NoClassIsOurs())
    m.setattr(csrf_module, "known_scan", lambda request: None)
    m.setattr(shields_module, "route_steps", _without_quiet_steps)
    m.setattr(app_module, "serve_plain", lambda *args, **kwargs: None)
    m.setattr(profile_module, "serve_plain", lambda *args, **kwargs: None)
    m.setattr(wrappers_module, "read_body_fast", lambda request: None)
    m.setattr(validation_body, "read_body_fast", lambda request: None)
    m.setattr(_body, "read_form_fast", lambda request, parse: False)
    m.setattr(_body, "plain_form_pairs", lambda text: None)
    m.setattr(app_urls_module, "_make_redirect_maker", _no_redirect_maker)


def _no_redirect_maker(cls: type) -> None:
    """No redirect maker for any class: ``app.redirect`` calls Werkzeug's ``redirect``.

    One function for every switch, so an app keeps one such entry.
    """
    return None


def _add_body_routes(app: t.Any) -> None:
    """Routes that read the body each way: raw, stream first, form; and a
    redirect to the query's ``next`` (else a location carrying the raw query
    string) with its ``code``: quotes, markup, control characters, CR and LF,
    made by the redirect maker, by Werkzeug's redirect, or refused."""

    @app.route("/back", methods=["GET", "POST"])
    def back() -> t.Any:
        raw = "/login?" + request.query_string.decode("latin-1")
        return hermetic.redirect(
            request.args.get("next", raw), request.args.get("code", 303, type=int)
        )

    @app.route("/raw", methods=["POST", "PUT", "PATCH"])
    def raw() -> t.Any:
        return {"data": repr(request.get_data()[:60]), "stream": request.stream.read() == b""}

    @app.route("/stream", methods=["POST", "PUT", "PATCH"])
    def stream() -> t.Any:
        return {"stream": repr(request.stream.read()[:60]), "data": repr(request.get_data())}

    @app.route("/fields", methods=["POST", "PUT", "PATCH"])
    def fields() -> t.Any:
        return {
            "form": sorted(request.form.items(multi=True)),
            "files": sorted(request.files),
            "data": repr(request.get_data()[:60]),
        }


def _routed(app: t.Any) -> t.Any:
    """``app`` with routes like the fuzz suite's, each showing what it read."""
    app.config.update(
        SECRET_KEY=STRONG_KEY,  # the fuzz suite's: its session cookies and tokens
        MAX_CONTENT_LENGTH=64 * 1024,
        MAX_FORM_MEMORY_SIZE=8 * 1024,
        MAX_FORM_PARTS=20,
    )

    @app.route("/", methods=["GET", "POST"])
    def index() -> str:
        return f"hello {session.get('n', 0)} {request.args.get('q', '')!r}"

    @app.route("/form", methods=["GET", "POST"])
    def form() -> t.Any:
        if request.method == "POST":
            session["n"] = session.get("n", 0) + 1
            return {
                "fields": sorted(request.form.items(multi=True)),
                "files": sorted(request.files),
            }
        return "<form method=post>"

    @app.post("/api")
    def api() -> t.Any:
        return {"type": type(request.get_json()).__name__}

    @app.post("/api/silent")
    def api_silent() -> t.Any:
        return {"value": repr(request.get_json(silent=True, force=True))[:50]}

    _add_body_routes(app)

    @app.post("/login")
    def login() -> t.Any:
        return {"data": repr(request.get_data()[:60]), "stream": request.stream.read() == b""}

    @app.get("/me")
    def me() -> t.Any:
        return hermetic.redirect("/login", 303)

    @app.get("/item/<int:item_id>/<path:rest>")
    def item(item_id: int, rest: str) -> str:
        return f"{item_id} {rest}"

    return app


def _plain_app() -> hermetic.Flask:
    """A plain hermetic ``Flask`` app: no shield."""
    return t.cast(hermetic.Flask, _routed(hermetic.Flask("plain")))


def _default_app() -> hermetic.Hermetic:
    """``Hermetic`` with its defaults: every fast path a shielded app can take."""
    return t.cast(hermetic.Hermetic, _routed(hermetic.Hermetic("default")))


def _shielded_app() -> hermetic.Hermetic:
    """The fuzz suite's ``Hermetic`` app, with a route that reads the raw body twice."""
    app = make_app()
    _add_body_routes(app)
    return app


@cache
def pair(kind: str) -> tuple[t.Any, t.Any]:
    build = {"hermetic": _shielded_app, "default": _default_app, "plain": _plain_app}[kind]
    fast, general = build(), build()
    general._fast_router = None  # every URL matched by Werkzeug's map
    return fast, general


def _comparable(answer: tuple[str, list[tuple[str, str]], bytes]) -> t.Any:
    status, headers, body = answer
    shown = []
    for name, value in headers:
        if name.lower() == "set-cookie":
            value = _COOKIE_DATE.sub(r"\1<date>", _COOKIE_VALUE.sub(r"\1=<value>", value))
        shown.append((name, value))
    body = _REQUEST_ID.sub(b"<id>", _TOKEN_FIELD.sub(rb"\1<token>", body))
    return status, shown, body


def _answer(app: t.Any, environ: dict[str, t.Any], body: bytes) -> t.Any:
    call = dict(environ)
    call["wsgi.input"] = io.BytesIO(body)
    call["wsgi.errors"] = io.StringIO()
    return _comparable(serve(app, call))


def seen_lengths(environ: dict[str, t.Any]) -> dict[str, int]:
    """The Content-Length memo with the request's own length in it (as the
    general path keeps a length of digits): the input limits' short way is
    open to each request, not only to a length an earlier example had."""
    seen = {str(n): n for n in range(64)}
    length = environ.get("CONTENT_LENGTH")
    if isinstance(length, str) and 0 < len(length) < 19 and length.isascii() and length.isdigit():
        seen[length] = int(length)
    return seen


def _both(kind: str, environ: dict[str, t.Any]) -> tuple[t.Any, t.Any]:
    fast_app, general_app = pair(kind)
    body = environ["wsgi.input"].getvalue()
    with pytest.MonkeyPatch.context() as m:
        m.setattr(input_limits, "_LENGTHS", seen_lengths(environ))
        fast = _answer(fast_app, environ, body)
    with pytest.MonkeyPatch.context() as m:
        _general_paths(m)
        general = _answer(general_app, environ, body)
    return fast, general


_TARGET_PIECES = ["/", "a", "%C3%A9", "%E2%82%AC", "+", "%20", "%09", "%22", "%27", "%3C", "%3E"]
_TARGET_PIECES += ["%26", "%3F", "%23", "%00", "%7F", "%0D", "%0A", "%C2%85", "%FF", "%", ":"]


@st.composite
def redirect_queries(draw: st.DrawFn) -> str:
    """A query naming where ``/back`` redirects (escaped pieces, CR and LF too) and its code."""
    target = "".join(draw(st.lists(st.sampled_from(_TARGET_PIECES), max_size=8)))
    code = draw(st.sampled_from(["", "&code=301", "&code=302", "&code=307", "&code=308"]))
    return "next=" + target + draw(st.sampled_from([code, "&code=300", "&code=x"]))


_FORM_PIECES = ["a", "b", "é", "%41", "%zz", "%", "+", " ", "=", ";", "&", "%C3%A9", "%FF", "\x00"]


@st.composite
def forms(draw: st.DrawFn) -> tuple[bytes, str]:
    """A url-encoded form, well formed or nearly: escapes good and bad, repeats, blanks."""
    piece = st.lists(st.sampled_from(_FORM_PIECES), max_size=6).map("".join)
    fields = draw(st.lists(st.tuples(piece, st.sampled_from(["=", ""]), piece), max_size=8))
    body = "&".join(k + eq + v for k, eq, v in fields).encode("latin-1", "replace")
    content_type = draw(
        st.sampled_from(
            [
                "application/x-www-form-urlencoded",
                "application/x-www-form-urlencoded; charset=utf-8",
                "Application/X-WWW-Form-Urlencoded",
                "application/x-www-form-urlencoded; charset=latin-1",
            ]
        )
    )
    return body, content_type


@st.composite
def reaching_views(draw: st.DrawFn) -> dict[str, t.Any]:
    """Requests that get past the shields to a view, mostly one that reads the body.

    The fuzz suite's requests are refused early more often than not; these
    come from the trusted host over HTTPS with the same origin, a real
    anonymous session and its CSRF token (in the header or in the form), so
    that the body's readers run: ``get_data``, ``stream``, ``form``,
    ``files``, ``get_json``.
    """
    fx = fixture()
    body, content_type = draw(st.one_of(forms(), bodies()))
    if content_type and content_type.startswith("application/x-www") and draw(st.booleans()):
        body += b"&csrf_token=" + fx.csrf_tokens[0].encode()
    environ: dict[str, t.Any] = {
        "REQUEST_METHOD": draw(
            st.sampled_from(["POST", "POST", "POST", "PUT", "PATCH", "GET", "GET", "HEAD"])
        ),
        "SCRIPT_NAME": "",
        "PATH_INFO": draw(
            st.sampled_from(
                [
                    "/raw",
                    "/stream",
                    "/fields",
                    "/fields",
                    "/form",
                    "/api",
                    "/api/silent",
                    "/login",
                    "/",
                    "/me",
                    "/back",
                    "/item/7/x",
                    "/item/7/%C3%A9",
                ]
            )
        ),
        "QUERY_STRING": draw(st.one_of(st.just(""), query_strings())),
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": draw(st.sampled_from(["HTTP/1.1", "HTTP/1.0"])),
        "HTTP_HOST": "localhost",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if environ["PATH_INFO"] == "/back" and draw(st.integers(0, 3)):
        environ["QUERY_STRING"] = draw(redirect_queries())
    if environ["REQUEST_METHOD"] in ("GET", "HEAD") and draw(st.booleans()):
        # The usual GET: no body, often a path near LIMITS_MAX_URL_LENGTH (8192).
        environ["wsgi.input"] = io.BytesIO(b"")
        if draw(st.booleans()):
            size = draw(st.sampled_from([8192 - 9, 8192 - 8, 8192 - 7, 9000]))
            environ["PATH_INFO"] = "/item/7/" + "x" * size
        return environ
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    length = draw(st.sampled_from(["right", "right", "right", "none", "short", "long", "odd"]))
    if length == "right":
        environ["CONTENT_LENGTH"] = str(len(body))
    elif length == "short":
        environ["CONTENT_LENGTH"] = str(max(0, len(body) - draw(st.integers(1, 9))))
    elif length == "long":
        environ["CONTENT_LENGTH"] = str(len(body) + draw(st.sampled_from([1, 100, 10**9])))
    elif length == "odd":
        environ["CONTENT_LENGTH"] = draw(st.sampled_from(["", " 5", "+5", "05", "5 ", "1e3", "-1"]))
    if draw(st.integers(0, 4)) == 0:
        environ["wsgi.input_terminated"] = True
        if draw(st.booleans()):
            environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    if draw(st.integers(0, 5)):
        environ["HTTP_ORIGIN"] = "https://localhost"
        environ["HTTP_SEC_FETCH_SITE"] = draw(st.sampled_from(["same-origin", "none", "x"]))
    if draw(st.integers(0, 3)):
        name = draw(st.sampled_from(["__Host-session", "__Host-session", "session"]))
        environ["HTTP_COOKIE"] = f"{name}={fx.session_cookies[0]}"
    if draw(st.integers(0, 4)):
        environ["HTTP_X_CSRF_TOKEN"] = fx.csrf_tokens[0]
    return environ


def _shown(environ: dict[str, t.Any]) -> dict[str, t.Any]:
    return {k: (v.getvalue()[:200] if k == "wsgi.input" else v) for k, v in environ.items()}


_SETTINGS = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@_SETTINGS
@given(environ=environs())
def test_hermetic_answers_as_without_its_fast_paths(environ: dict[str, t.Any]) -> None:
    fast, general = _both("hermetic", environ)
    assert fast == general, _shown(environ)


@settings(_SETTINGS, max_examples=400)
@given(environ=reaching_views())
def test_hermetic_reading_bodies_answers_as_without_its_fast_paths(
    environ: dict[str, t.Any],
) -> None:
    fast, general = _both("hermetic", environ)
    assert fast == general, _shown(environ)


@settings(_SETTINGS, max_examples=400)
@given(environ=st.one_of(environs(), reaching_views()))
def test_default_hermetic_answers_as_without_its_fast_paths(environ: dict[str, t.Any]) -> None:
    fast, general = _both("default", environ)
    assert fast == general, _shown(environ)


@_SETTINGS
@given(environ=st.one_of(environs(), reaching_views()))
def test_plain_flask_answers_as_without_its_fast_paths(environ: dict[str, t.Any]) -> None:
    fast, general = _both("plain", environ)
    assert fast == general, _shown(environ)


def test_the_requests_reach_the_fast_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The drawn requests get the fast body and form reads to answer, not only to refuse."""
    answered: collections.Counter[str] = collections.Counter()
    real_read, real_form = wrappers_module.read_body_fast, _body.read_form_fast

    def spy_read(request: t.Any) -> t.Any:
        data = real_read(request)
        answered["body"] += data is not None
        return data

    def spy_form(request: t.Any, parse: t.Any) -> bool:
        done = real_form(request, parse)
        answered["form"] += done
        return done

    monkeypatch.setattr(wrappers_module, "read_body_fast", spy_read)
    monkeypatch.setattr(_body, "read_form_fast", spy_form)
    app = _shielded_app()  # not the pair's: their state must stay the same

    @settings(_SETTINGS, max_examples=400)
    @given(environ=reaching_views())
    def send(environ: dict[str, t.Any]) -> None:
        _answer(app, environ, environ["wsgi.input"].getvalue())

    send()
    assert answered["body"] >= 1 and answered["form"] >= 1, answered


def test_the_switches_reach_the_fast_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison means something: with the switches on, no fast path runs."""
    calls: list[str] = []
    real_plain, real_read = profile_module.serve_plain, wrappers_module.read_body_fast

    def spy_plain(*args: t.Any, **kwargs: t.Any) -> t.Any:
        calls.append("plain")
        return real_plain(*args, **kwargs)

    def spy_read(request: t.Any) -> t.Any:
        calls.append("read")
        return real_read(request)

    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/raw",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost",
        "HTTP_COOKIE": f"__Host-session={fixture().session_cookies[0]}",
        "HTTP_X_CSRF_TOKEN": fixture().csrf_tokens[0],
        "CONTENT_LENGTH": "3",
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(b"abc"),
    }
    app = _shielded_app()
    monkeypatch.setattr(profile_module, "serve_plain", spy_plain)
    monkeypatch.setattr(wrappers_module, "read_body_fast", spy_read)
    status, _, body = _answer(app, environ, b"abc")
    assert calls == ["plain", "read"] and status.startswith("200") and b"'abc'" in body
    calls.clear()
    with pytest.MonkeyPatch.context() as m:
        _general_paths(m)
        status, _, body = _answer(app, environ, b"abc")
    assert calls == [] and status.startswith("200") and b"'abc'" in body

    # A form with nothing to unquote: split without parse_qsl, or by parse_qsl
    # (in the input limits' parser, under Werkzeug's form loading) when switched off.
    parses: list[str] = []
    real_split, real_parse_qsl = _body.plain_form_pairs, _body.parse_qsl

    def spy_split(text: str) -> t.Any:
        parses.append("split")
        return real_split(text)

    def spy_parse_qsl(*args: t.Any, **kwargs: t.Any) -> t.Any:
        parses.append("parse_qsl")
        return real_parse_qsl(*args, **kwargs)

    form = b"title=Groceries&n=1"
    environ.update(
        PATH_INFO="/fields",
        CONTENT_TYPE="application/x-www-form-urlencoded",
        CONTENT_LENGTH=str(len(form)),
    )
    monkeypatch.setattr(_body, "plain_form_pairs", spy_split)
    monkeypatch.setattr(_body, "parse_qsl", spy_parse_qsl)
    fast = _answer(app, environ, form)
    assert parses == ["split"] and fast[0].startswith("200") and b"Groceries" in fast[2]
    parses.clear()
    with pytest.MonkeyPatch.context() as m:
        _general_paths(m)
        general = _answer(app, environ, form)
    assert parses == ["parse_qsl"] and general == fast

    # A plain app's browser form: its exact content type read from the
    # environ by the form read, or from Werkzeug's mimetype when switched off.
    exact: list[bool] = []
    real_exact = _body.urlencoded_exactly

    def spy_exact(request: t.Any, environ: t.Any) -> bool:
        exact.append(real_exact(request, environ))
        return exact[-1]

    monkeypatch.setattr(_body, "urlencoded_exactly", spy_exact)
    plain = _plain_app()
    fast = _answer(plain, environ, form)
    assert exact == [True] and fast[0].startswith("200") and b"Groceries" in fast[2]
    exact.clear()
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_body, "_CONTENT_TYPE_AS_WERKZEUG", _NoClassIsOurs())  # that switch alone
        assert _answer(plain, environ, form) == fast and exact == [False]
    exact.clear()
    with pytest.MonkeyPatch.context() as m:
        _general_paths(m)
        assert _answer(plain, environ, form) == fast and exact == []

    # A redirect: made by the redirect maker, or by Werkzeug's redirect when
    # switched off (the maker's key is the function that made it, so the
    # switch reaches an app that has made redirects before).
    made: list[str] = []
    real_maker = app_urls_module._make_redirect_maker

    def spy_maker(cls: type) -> t.Any:
        make = real_maker(cls)
        assert make is not None

        def spy_make(location: str, code: int) -> t.Any:
            made.append(location)
            return make(location, code)

        return spy_make

    monkeypatch.setattr(app_urls_module, "_make_redirect_maker", spy_maker)
    environ.update(REQUEST_METHOD="GET", PATH_INFO="/back", QUERY_STRING="a='b'&c=%3Cx%3E")
    environ.pop("CONTENT_TYPE")
    environ["CONTENT_LENGTH"] = "0"
    for app in (plain, _default_app(), _shielded_app()):
        made.clear()
        fast = _answer(app, environ, b"")
        assert made == ["/login?a='b'&c=%3Cx%3E"] and fast[0].startswith("303"), fast
        assert ("Location", made[0]) in fast[1] and b"&#39;b&#39;" in fast[2]
        made.clear()
        with pytest.MonkeyPatch.context() as m:
            _general_paths(m)
            assert _answer(app, environ, b"") == fast and made == []
