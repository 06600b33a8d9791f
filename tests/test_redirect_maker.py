"""The redirect maker builds what Werkzeug's ``redirect`` builds.

``app.redirect`` (and so ``hermetic.redirect`` in an app) makes the usual
redirect -- a ``str`` location, a common redirect code -- with a maker
proved equal for the response class (``_make_redirect_maker``); anything
else goes to Werkzeug's ``redirect``. Property-style: drawn locations
(markup characters, quotes, non-ASCII, lone surrogates, CR and LF, values
that are not ``str``) and codes (the maker's own, others, ones that are not
``int``), each made both ways; the responses must be identical, or both
ways must raise the same exception with the same message. Then whole
requests through a plain ``Flask`` app and a ``Hermetic`` app, against the
same apps with the maker switched off.
"""

from __future__ import annotations

import secrets
import typing as t

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup
from tests._wsgi import serve
from werkzeug.test import create_environ
from werkzeug.utils import redirect as werkzeug_redirect
from werkzeug.wrappers import Response as WerkzeugResponse

import hermetic
from hermetic import _app_urls
from hermetic._response_makers import _REDIRECT_CODES, _make_redirect_maker, _state
from hermetic.wrappers import Response

_PIECES = ["/", "a", "é", "€", "\U0001f600", " ", "\t", '"', "'", "<", ">", "&", "?", "#", "%20"]
_PIECES += [
    "\r",
    "\n",
    "\x00",
    "\x7f",
    "\x85",
    "\u2028",
    "\ud800",
    "&amp;",
    "HermeticRedirectTarget",
]

locations = st.one_of(
    st.lists(st.sampled_from(_PIECES), max_size=8).map("".join),
    st.text(max_size=20),
    st.sampled_from([b"/bytes", None, 7, Markup("<b>x</b>"), Markup("/a&b")]),
)
codes = st.one_of(
    st.sampled_from([*_REDIRECT_CODES, 300, 304, 305, 200, 404, 999, 0, -1]),
    st.sampled_from(["303", 303.0, True, None, b"302"]),
)


def _made(make: t.Callable[[], t.Any]) -> t.Any:
    try:
        return _state(make())
    except Exception as e:
        return ("error", type(e), str(e))


class _OwnInit(Response):
    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.headers["X-Own"] = "1"


class _OwnSetData(Response):
    def set_data(self, value: t.Any) -> None:
        super().set_data(value.upper() if isinstance(value, bytes) else value)


class _OwnSetAttr(Response):
    def __setattr__(self, name: str, value: t.Any) -> None:
        super().__setattr__(name, value)


class _OtherMimetype(Response):
    default_mimetype = "text/plain"  # a redirect names its own type: the maker still fits


@pytest.mark.parametrize("cls", [Response, WerkzeugResponse, _OtherMimetype])
@settings(max_examples=300, deadline=None)
@given(location=locations, code=codes)
def test_the_maker_builds_what_werkzeug_builds(cls: type, location: t.Any, code: t.Any) -> None:
    make = _make_redirect_maker(cls)
    assert make is not None
    fast = _made(lambda: make(location, code))
    assert fast == _made(lambda: werkzeug_redirect(location, code=code, Response=cls))
    if isinstance(fast, dict):
        assert type(make(location, code)) is cls


@pytest.mark.parametrize("cls", [_OwnInit, _OwnSetData, _OwnSetAttr])
def test_a_class_that_changes_the_construction_keeps_werkzeugs_way(cls: type) -> None:
    assert _make_redirect_maker(cls) is None
    app = hermetic.Flask(__name__)
    app.response_class = cls
    with app.test_request_context():
        response = hermetic.redirect("/notes", 303)
    assert type(response) is cls
    assert _state(response) == _state(werkzeug_redirect("/notes", 303, Response=cls))
    if cls is _OwnInit:
        assert response.headers["X-Own"] == "1"


def test_the_usual_redirect_is_made_without_werkzeug(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[t.Any] = []

    def spy(*args: t.Any, **kwargs: t.Any) -> t.Any:
        calls.append(args)
        return werkzeug_redirect(*args, **kwargs)

    monkeypatch.setattr("werkzeug.utils.redirect", spy)
    make = _make_redirect_maker(Response)
    assert make is not None
    calls.clear()  # the maker's own probes
    for code in _REDIRECT_CODES:
        make("/caf\u00e9?a=<b>&c='d'", code)
    assert calls == []
    for location, code in [
        ("/x\r\nSet-Cookie: a=b", 302),
        ("/x", 300),
        ("/x", "302"),
        (b"/x", 302),
        ("/\ud800", 303),  # a lone surrogate: Werkzeug's encoding error
    ]:
        _made(lambda location=location, code=code: make(location, code))
    assert len(calls) == 5
    with pytest.raises(ValueError, match="newline"):
        make("/x\nSet-Cookie: a=b", 303)


def test_the_app_keeps_one_maker_per_response_class() -> None:
    app = hermetic.Flask(__name__)
    with app.test_request_context():
        first = hermetic.redirect("/a")
        hermetic.redirect("/b", 301)
        app.response_class = _OwnInit
        other = hermetic.redirect("/c")
    assert type(first) is Response and type(other) is _OwnInit
    makers = {
        key[0]: maker
        for key, maker in app._text_makers.items()
        if key[1:] == (_make_redirect_maker,)
    }
    assert set(makers) == {Response, _OwnInit}
    assert makers[Response] is not None and makers[_OwnInit] is None


_KEY = secrets.token_urlsafe(48)


def _no_redirect_maker(cls: type) -> None:
    return None


def _redirecting(app: t.Any) -> t.Any:
    @app.get("/go/<int:code>")
    def go(code: int) -> t.Any:
        return hermetic.redirect(hermetic.request.args.get("to", "/"), code)

    @app.get("/notes")
    def notes() -> t.Any:
        return hermetic.redirect(hermetic.url_for("notes", page=2, q="caf\u00e9 <&>"), 303)

    return app


_REQUESTS = [
    ("/go/303", ""),
    ("/go/302", "to=/notes%3Fpage%3D2"),
    ("/go/301", "to=https://example.com/a%20b%22c%22"),
    ("/go/307", "to=/caf%C3%A9/%3Cx%3E%26%27"),
    ("/go/308", "to="),
    ("/go/300", "to=/x"),
    ("/go/303", "to=/a%0D%0ASet-Cookie:%20x=y"),
    ("/notes", ""),
]


@pytest.mark.parametrize("build", [hermetic.Flask, hermetic.Hermetic])
def test_whole_requests_answer_as_with_werkzeugs_redirect(
    build: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_app = _redirecting(build("fast"))
    general_app = _redirecting(build("general"))
    for app in (fast_app, general_app):
        app.config.update(SECRET_KEY=_KEY, SERVER_NAME="localhost")
    for path, query in _REQUESTS:
        environ = create_environ(path, "https://localhost/", query_string=query)
        fast = serve(fast_app, dict(environ))
        with monkeypatch.context() as m:
            m.setattr(_app_urls, "_make_redirect_maker", _no_redirect_maker)
            general = serve(general_app, dict(environ))
        assert fast == general, (path, query)
        if path == "/go/303" and "0D" in query:
            assert fast[0].startswith("500")
        else:
            assert fast[0][:3] == (path[4:] if path.startswith("/go/") else "303"), fast
            assert ("Location", dict(fast[1])["Location"]) in fast[1]
            assert b"Redirecting..." in fast[2]
    assert any(maker for maker in fast_app._text_makers.values())
    assert not any(
        maker for key, maker in general_app._text_makers.items() if _no_redirect_maker in key
    )
