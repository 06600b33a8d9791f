"""What ``Hermetic``'s request path keeps between requests, kept current.

``Hermetic.wsgi_app`` tests one flag (checked, followed by Flask's
``wsgi_app``) and the pipeline's ``active_unprepared`` before the plain
path; the fused after steps test up to two guard keys without a loop
(``security/_quiet_after.py``), and the plain path applies a text answer's
(``QuietText``) in its own frame, after the view it dispatches.
Each case here is one where that kept state or shortcut could go stale or
answer where the steps must: a guard key in the environ (at each position,
and a third one), a check failing then passing, a ``wsgi_app`` of another
class after Hermetic's, shields added or removed at runtime, a view
replaced by a before step or a replaced ``view_functions``.
"""

from __future__ import annotations

import logging

import pytest
from tests._wsgi import serve
from tests.security._shield_app import comparable
from werkzeug.datastructures import Headers
from werkzeug.test import create_environ

import hermetic
import hermetic.app as app_module
import hermetic.security.profile as profile_module
from hermetic.security._quiet_after import QuietAfter, QuietText, fuse, fuse_text
from hermetic.security._route_steps import RouteSteps
from hermetic.security.errors import ConfigurationError
from hermetic.security.shields import Shield
from hermetic.wrappers import Request, Response

SECRET = "shield-path-state-test-8e2a4c6f1b3d5079a2c4e6f8b1d3a5c7"
THIRD = "test.third_guard"


def _request(environ_base=None):
    return Request(create_environ("/", "https://localhost", environ_base=environ_base))


def _bare():
    response = Response("x")
    return response


@pytest.mark.parametrize("guards", [(), ("a",), ("a", "b"), ("a", "b", "c")])
def test_the_fused_step_hands_over_for_each_guard_key(guards):
    step = fuse([QuietAfter(marks=(("m", 1),), blocks=((("X-Q", "1"),),) * 2, guards=guards)])
    for key in guards:
        request = _request({key: "1"})
        assert step(request, _bare()) is None, key
        assert "m" not in request.environ
    request = _request({"other": "1"})
    response = step(request, _bare())
    assert response is not None
    assert response.headers["X-Q"] == "1"
    assert request.environ["m"] == 1


@pytest.mark.parametrize("guards", [(), ("a",), ("a", "b")])
def test_a_text_plan_is_made_for_up_to_two_guard_keys(guards):
    text = fuse_text([QuietAfter(blocks=((("X-Q", "1"),), (("X-Q", "2"),)), guards=guards)])
    assert isinstance(text, QuietText)
    assert [key for key in (text.first, text.second) if key in guards] == list(guards)
    # The padding is a key no environ holds.
    environ = create_environ("/")
    padded = [key for key in (text.first, text.second) if key not in guards]
    assert not any(key in environ for key in padded)
    assert (text.plain, text.secure) == ((("X-Q", "1"),), (("X-Q", "2"),))


def test_no_text_plan_for_three_guard_keys():
    assert fuse_text([QuietAfter(guards=("a", "b", "c"))]) is None


def test_route_steps_replace_copies_with_the_changes():
    steps = RouteSteps("e", None, (), (), {}, None, None, {"GET": 1})
    changed = steps._replace(quiet_before={})
    assert changed is not steps
    assert (changed.endpoint, changed.quiet_before) == ("e", {})
    assert steps.quiet_before == {"GET": 1}
    # The GET entry kept apart follows the change (the differential test relies on it).
    assert (steps.quiet_get, changed.quiet_get) == (1, None)
    with pytest.raises(ValueError):
        steps._replace(nonesuch=1)


class _ThirdGuardShield(Shield):
    """An after step adding ``X-Q`` always and ``X-Third`` when its key is in the environ."""

    name = "third"
    order = 95

    def configure(self, app=None):
        pass

    def after(self, request, response):
        response.headers.add("X-Q", "1")
        if THIRD in request.environ:
            response.headers.add("X-Third", request.environ[THIRD])
        return response

    def quiet_after(self, endpoint, view):
        return QuietAfter(blocks=((("X-Q", "1"),),) * 2, guards=(THIRD,), redirects=True)


def _app(**config):
    app = hermetic.Hermetic(__name__)
    app.config.update(SECRET_KEY=SECRET, **config)

    @app.get("/", endpoint="hello")
    def hello():
        return "hello"

    @app.get("/go")
    def go():
        return hermetic.redirect("/", 303)

    return app


def _general(monkeypatch):
    monkeypatch.setattr(app_module, "serve_plain", lambda *args: None)
    monkeypatch.setattr(profile_module, "serve_plain", lambda *args: None)


def _same_both_ways(monkeypatch, answer):
    """``answer()`` on the plain path, then on the general one: the two must agree."""
    plain = answer()
    with monkeypatch.context() as m:
        _general(m)
        general = answer()
    assert plain == general
    return plain


@pytest.mark.parametrize("path", ["/", "/go"])
@pytest.mark.parametrize("third", [None, "seen"])
@pytest.mark.parametrize(
    ("order", "keep_headers"),
    [
        (95, True),  # the third guard key of three: no text plan
        (95, False),  # the first of two (its after step runs first)
        (1, False),  # the second of two
    ],
)
def test_a_guard_key_of_another_shield_reaches_the_steps_as_on_the_general_path(
    path, third, order, keep_headers, monkeypatch
):
    environ_base = {THIRD: third} if third is not None else {}

    def answer():
        app = _app()
        shield = _ThirdGuardShield()
        shield.order = order
        shield.init_app(app)
        if not keep_headers:
            app.shields.remove("headers")
        app.security_check()
        text = app.shields._steps("hello").quiet_text
        if keep_headers:
            assert text is None
        else:
            assert text is not None
            assert (text.first if order == 95 else text.second) == THIRD
        environ = create_environ(path, "https://localhost", environ_base=environ_base)
        status, headers, body = serve(app, environ)
        return status, comparable(headers), body

    plain = _same_both_ways(monkeypatch, answer)
    names = [name for name, _ in plain[1]]
    assert "X-Q" in names
    assert ("Strict-Transport-Security" in names) is keep_headers
    assert ("X-Third" in names) is (third is not None)


def test_a_failed_check_is_made_again_until_it_passes():
    app = _app()
    app.config["SECRET_KEY"] = "short"
    client = app.test_client()
    for _ in range(2):
        with pytest.raises(ConfigurationError):
            client.get("/", base_url="https://localhost")
    app.config["SECRET_KEY"] = SECRET
    rv = client.get("/", base_url="https://localhost")
    assert rv.status_code == 200 and rv.headers["X-Frame-Options"] == "DENY"


class _Recording(hermetic.Flask):
    """A ``wsgi_app`` after Hermetic's in the MRO, recording each call."""

    calls: list[str]

    def wsgi_app(self, environ, start_response):
        self.calls.append(environ["wsgi.url_scheme"])
        return super().wsgi_app(environ, start_response)


class _RecordedHermetic(hermetic.Hermetic, _Recording):
    pass


def test_a_wsgi_app_after_hermetics_runs_on_every_request(caplog):
    app = _RecordedHermetic(__name__)
    app.config.update(SECRET_KEY=SECRET)
    app.calls = []

    @app.get("/")
    def hello():
        response = hermetic.make_response("hi")
        response.set_cookie("pref", "1", secure=True)
        return response

    caplog.set_level(logging.WARNING, logger=app.logger.name)
    client = app.test_client()
    for base_url in ("https://192.168.1.20/", "http://192.168.1.20/", "http://192.168.1.20/"):
        assert client.get("/", base_url=base_url).status_code == 200
    assert app.calls == ["https", "http", "http"]
    assert app._checked_before_flask is False
    # The Secure cookie on plain HTTP was watched for on this path too, and logged once.
    assert [r for r in caplog.records if "Secure cookie" in r.getMessage()] != []
    assert len([r for r in caplog.records if "Secure cookie" in r.getMessage()]) == 1
    assert app._watch_insecure_cookies is False


def test_shields_added_and_removed_at_runtime_count_on_the_next_request():
    app = _app()
    client = app.test_client()
    assert "X-Q" not in client.get("/", base_url="https://localhost").headers
    _ThirdGuardShield().init_app(app)
    assert client.get("/", base_url="https://localhost").headers["X-Q"] == "1"
    app.shields.remove("third")
    app.shields.remove("headers")
    rv = client.get("/", base_url="https://localhost")
    assert "X-Q" not in rv.headers and "X-Frame-Options" not in rv.headers


class _ReplacingShield(Shield):
    """A before step replacing the route's view: the replacement is dispatched."""

    name = "replacing"
    order = 5

    def configure(self, app=None):
        pass

    def before(self, request):
        request.environ["hermetic.test.app"].view_functions["hello"] = lambda: "replaced"


@pytest.mark.parametrize("replace_dict", [False, True])
def test_the_view_dispatched_is_the_general_paths(replace_dict, monkeypatch):
    def answer():
        app = _app()
        if replace_dict:
            # A new dict: dispatch reads it, the pipeline keeps its own.
            app.view_functions = dict(app.view_functions, hello=lambda: "new dict")
        else:
            _ReplacingShield().init_app(app)
        app.security_check()
        environ = create_environ("/", "https://localhost")
        environ["hermetic.test.app"] = app
        status, headers, body = serve(app, environ)
        return status, comparable(headers), body

    plain = _same_both_ways(monkeypatch, answer)
    assert plain[2] == (b"new dict" if replace_dict else b"replaced")


def test_a_headers_subclass_is_not_extended_by_the_fused_step():
    step = fuse([QuietAfter(blocks=((("X-Q", "1"),),) * 2)])
    response = _bare()
    response.headers = type("Sub", (Headers,), {})(response.headers)
    assert step(_request(), response) is None
    assert "X-Q" not in response.headers


def test_live_items_declines_headers_without_their_list():
    from hermetic._headers import live_items

    missing = Headers([("X-A", "1")])
    del missing._list
    assert live_items(missing) is None
    other = Headers()
    other._list = (("X-A", "1"),)  # type: ignore[assignment]
    assert live_items(other) is None


@pytest.mark.parametrize(
    ("extra", "redirects", "answered"),
    [
        ([], False, True),
        ([("Location", "/")], True, True),
        ([("Location", "/")], False, False),  # the steps do more to a redirect
        ([("X-Other", "1")], True, False),
        ([("Location", "/"), ("X-Other", "1")], True, False),
    ],
)
def test_the_fused_step_answers_only_the_usual_headers(extra, redirects, answered):
    step = fuse([QuietAfter(blocks=((("X-Q", "1"),),) * 2, redirects=redirects)])
    response = _bare()
    for name, value in extra:
        response.headers.add(name, value)
    before = response.headers.to_wsgi_list()
    assert (step(_request(), response) is not None) is answered
    after = response.headers.to_wsgi_list()
    assert after == (before + [("X-Q", "1")] if answered else before)


def test_the_fused_step_wants_the_makers_two_headers_first():
    step = fuse([QuietAfter(blocks=((("X-Q", "1"),),) * 2)])
    response = _bare()
    response.headers._list.reverse()  # Content-Length, then Content-Type
    assert step(_request(), response) is None
    response = _bare()
    response.headers._list[1] = ("X-Other", "1")  # Content-Type, then another
    assert step(_request(), response) is None
