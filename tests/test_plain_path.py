"""The one-frame request path (hermetic/_plain_path.py) against the general one.

Three kinds of tests: the plain path answers exactly as the general path
(status, headers, body, what the view sees); every condition that rules it
out sends the request to the general methods (tested by behaviour that the
plain path would lose, including when the condition appears after the first
request); and the cases it hands over midway still get the general answer.
"""

from __future__ import annotations

import typing as t

import pytest
from tests._wsgi import serve
from werkzeug.test import create_environ

import hermetic.app as app_module
from hermetic import (
    Flask,
    Response,
    after_this_request,
    appcontext_popped,
    appcontext_pushed,
    appcontext_tearing_down,
    g,
    got_request_exception,
    request,
    request_finished,
    request_started,
    request_tearing_down,
    session,
)
from hermetic._plain_path import PATH_METHODS
from hermetic.globals import _cv_app, _cv_request


def _app(cls: type[Flask] = Flask) -> Flask:
    app = cls(__name__)
    app.secret_key = "test key"

    @app.get("/")
    def index() -> str:
        return "Hello, World!"

    @app.get("/hello/<name>")
    def hello(name: str) -> str:
        return f"Hello, {name}! \u00e9"

    @app.get("/empty")
    def empty() -> str:
        return ""

    @app.get("/json")
    def as_json() -> dict[str, int]:
        return {"n": 1}

    @app.get("/tuple")
    def as_tuple() -> tuple[str, int]:
        return "made", 201

    @app.get("/fail")
    def fail() -> str:
        raise ValueError("boom")

    @app.get("/none")
    def none() -> None:
        return None

    @app.get("/surrogate")
    def surrogate() -> str:
        return "\ud800"  # not encodable: a 500, from the response's making

    @app.route("/post", methods=["POST"])
    def post() -> str:
        return "posted"

    return app


class _Spy:
    """Record whether the plain path answered each request."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answers: list[bool] = []
        real = app_module.serve_plain

        def spy(
            app: Flask, environ: dict[str, t.Any], start_response: t.Any, shields: t.Any
        ) -> t.Any:
            answer = real(app, environ, start_response, shields)
            self.answers.append(answer is not None)
            return answer

        monkeypatch.setattr(app_module, "serve_plain", spy)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> _Spy:
    return _Spy(monkeypatch)


def _call(app: Flask, path: str = "/", **kwargs: t.Any) -> tuple[str, list[t.Any], bytes]:
    """Call the app as a WSGI server does; return status, headers and body."""
    return serve(app, create_environ(path, **kwargs))


def _general(app: Flask, monkeypatch: pytest.MonkeyPatch, path: str, **kwargs: t.Any) -> t.Any:
    with monkeypatch.context() as m:
        m.setattr(app_module, "serve_plain", lambda *args: None)
        return _call(app, path, **kwargs)


# -- the same answer -------------------------------------------------------

CASES = [
    ("/", {}),
    ("/hello/bench", {}),
    ("/hello/%C3%A9t%C3%A9", {}),
    ("/empty", {}),
    ("/surrogate", {}),
    ("/json", {}),
    ("/tuple", {}),
    ("/fail", {}),
    ("/none", {}),
    ("/missing", {}),
    ("/post", {}),
    ("/post", {"method": "POST"}),
    ("/", {"method": "HEAD"}),
    ("/", {"method": "OPTIONS"}),
    ("/", {"method": "DELETE"}),
    ("/", {"headers": {"Cookie": "session=garbage"}}),
    ("/", {"query_string": "a=1"}),
    ("//", {}),
    ("/hello/bench/", {}),
]


@pytest.mark.parametrize(("path", "kwargs"), CASES)
def test_same_answer_as_the_general_path(
    monkeypatch: pytest.MonkeyPatch, path: str, kwargs: dict[str, t.Any]
) -> None:
    app = _app()
    assert _call(app, path, **kwargs) == _general(app, monkeypatch, path, **kwargs)


@pytest.mark.parametrize("path", ["/", "/hello/bench", "/json", "/tuple"])
def test_plain_path_answers_the_common_requests(spy: _Spy, path: str) -> None:
    app = _app()
    _call(app, path)
    assert spy.answers == [True]


def test_the_view_sees_the_same_contexts(monkeypatch: pytest.MonkeyPatch, spy: _Spy) -> None:
    app = _app()
    seen: list[dict[str, t.Any]] = []

    @app.get("/look")
    def look() -> str:
        req_ctx = _cv_request.get()
        app_ctx = _cv_app.get()
        g.value = 1
        seen.append(
            {
                "request_ctx": sorted(vars(req_ctx)),
                "app_ctx": sorted(vars(app_ctx)),
                "ctx_type": (type(req_ctx), type(app_ctx)),
                "request": (request.path, request.endpoint, request.view_args, request.method),
                "g": g.get("value"),
                "app": app_ctx.app is app and req_ctx.app is app,
                "tokens": (len(req_ctx._cv_tokens), len(app_ctx._cv_tokens)),
            }
        )
        return "ok"

    _call(app, "/look")
    _general(app, monkeypatch, "/look")
    assert spy.answers == [True]
    assert seen[0] == seen[1]
    assert _cv_request.get(None) is None and _cv_app.get(None) is None


def test_an_existing_app_context_of_the_same_app_is_reused(spy: _Spy) -> None:
    app = _app()
    seen: list[t.Any] = []

    @app.get("/ctx")
    def ctx() -> str:
        seen.append(_cv_app.get())
        return "ok"

    with app.app_context() as outer:
        _call(app, "/ctx")
        assert _cv_app.get() is outer
    assert seen == [outer]
    assert spy.answers == [True]


def test_the_request_is_unbound_after_the_answer(spy: _Spy) -> None:
    app = _app()
    environ = create_environ("/")
    b"".join(app(environ, lambda *args: None))
    assert environ["werkzeug.request"] is None
    assert _cv_request.get(None) is None and _cv_app.get(None) is None


# -- every disqualifying condition takes the general path --------------------


class _Override(Flask):
    pass


def _record_calls(target: t.Any, name: str, seen: list[str]) -> t.Callable[..., t.Any]:
    real = getattr(target, name)

    def record(*args: t.Any, **kwargs: t.Any) -> t.Any:
        seen.append(name)
        return real(*args, **kwargs)

    return record


@pytest.mark.parametrize("name", sorted(PATH_METHODS))
def test_a_method_overridden_on_the_class_is_called(spy: _Spy, name: str) -> None:
    seen: list[str] = []
    cls = type("Custom", (Flask,), {})
    real = getattr(Flask, name)

    def record(self: Flask, *args: t.Any, **kwargs: t.Any) -> t.Any:
        seen.append(name)
        return real(self, *args, **kwargs)

    setattr(cls, name, record)
    app = _app(cls)
    assert _call(app, "/")[2] == b"Hello, World!"
    assert name in seen
    assert spy.answers == [False]


class _EqualWrapper:
    """A wrapper that compares equal to what it wraps, as wrapt's proxies do."""

    def __init__(self, wrapped: t.Any, seen: list[str]) -> None:
        self.wrapped = wrapped
        self.seen = seen

    def __eq__(self, other: object) -> bool:
        return other is self.wrapped or other is self

    __hash__ = object.__hash__

    def __get__(self, instance: t.Any, owner: type | None = None) -> t.Any:
        if instance is None:
            return self  # read on the class, as a function gives itself
        bound = self.wrapped.__get__(instance, owner)

        def call(*args: t.Any, **kwargs: t.Any) -> t.Any:
            self.seen.append(self.wrapped.__name__)
            return bound(*args, **kwargs)

        return call


@pytest.mark.parametrize("name", sorted(PATH_METHODS))
def test_a_method_wrapped_on_flask_at_start_up_is_called(
    monkeypatch: pytest.MonkeyPatch, spy: _Spy, name: str
) -> None:
    # What an APM agent does before the app serves: wrap Flask's method on
    # the class, with a proxy that compares equal to the original.
    seen: list[str] = []
    monkeypatch.setattr(Flask, name, _EqualWrapper(getattr(Flask, name), seen))
    fresh = type("Fresh", (Flask,), {})  # a class that has not served yet
    assert _call(_app(fresh), "/")[2] == b"Hello, World!"
    assert name in seen
    assert spy.answers == [False]


@pytest.mark.parametrize("name", sorted(PATH_METHODS))
def test_a_method_replaced_on_the_instance_after_the_first_request_is_called(
    spy: _Spy, name: str
) -> None:
    app = _app()
    _call(app, "/")
    seen: list[str] = []
    setattr(app, name, _record_calls(app, name, seen))
    assert _call(app, "/")[2] == b"Hello, World!"
    assert name in seen
    assert spy.answers == [True, False]


def test_middleware_on_wsgi_app_keeps_the_plain_path(spy: _Spy) -> None:
    app = _app()
    seen: list[str] = []
    inner = app.wsgi_app

    def middleware(environ: dict[str, t.Any], start_response: t.Any) -> t.Any:
        seen.append("middleware")
        return inner(environ, start_response)

    app.wsgi_app = middleware  # type: ignore[method-assign]
    assert _call(app, "/")[2] == b"Hello, World!"
    assert seen == ["middleware"]
    assert spy.answers == [True]


def _hooks_after_first_request(app: Flask, seen: list[str]) -> None:
    app.before_request_funcs.setdefault(None, []).append(lambda: seen.append("before"))

    def after(response: Response) -> Response:
        seen.append("after")
        return response

    app.after_request_funcs.setdefault(None, []).append(after)
    app.teardown_request_funcs.setdefault(None, []).append(lambda exc: seen.append("teardown"))
    app.teardown_appcontext_funcs.append(lambda exc: seen.append("appcontext"))
    app.url_value_preprocessors.setdefault(None, []).append(
        lambda endpoint, values: seen.append("url_value")
    )


@pytest.mark.parametrize(
    ("hook", "expected"),
    [
        ("before_request_funcs", "before"),
        ("after_request_funcs", "after"),
        ("teardown_request_funcs", "teardown"),
        ("url_value_preprocessors", "url_value"),
        ("teardown_appcontext_funcs", "appcontext"),
    ],
)
def test_a_hook_registered_after_the_first_request_runs(
    spy: _Spy, hook: str, expected: str
) -> None:
    app = _app()
    _call(app, "/")
    seen: list[str] = []
    scratch = _app()
    _hooks_after_first_request(scratch, seen)
    # Move only the one hook under test onto the app.
    if hook == "teardown_appcontext_funcs":
        app.teardown_appcontext_funcs.extend(scratch.teardown_appcontext_funcs)
    else:
        getattr(app, hook)[None] = getattr(scratch, hook)[None]
    _call(app, "/")
    assert seen == [expected]
    assert spy.answers == [True, False]


@pytest.mark.parametrize(
    "register",
    [
        lambda app, f: app.before_request(f),
        lambda app, f: app.after_request(f),
        lambda app, f: app.teardown_request(f),
        lambda app, f: app.teardown_appcontext(f),
        lambda app, f: app.url_value_preprocessor(f),
    ],
)
def test_an_app_with_hooks_takes_the_general_path(
    spy: _Spy, register: t.Callable[..., t.Any]
) -> None:
    app = _app()
    calls: list[int] = []

    def hook(*args: t.Any) -> t.Any:
        calls.append(1)
        return args[0] if args and isinstance(args[0], Response) else None

    register(app, hook)
    assert _call(app, "/")[2] == b"Hello, World!"
    assert calls == [1]
    assert spy.answers == [False]


# Active shields (``Hermetic``): tests/security/test_shielded_plain_path.py.


SIGNALS = [
    request_started,
    request_finished,
    request_tearing_down,
    appcontext_tearing_down,
    appcontext_pushed,
    appcontext_popped,
]


@pytest.mark.parametrize("signal", SIGNALS, ids=lambda s: s.name)
def test_signal_receivers_are_sent_to(spy: _Spy, signal: t.Any) -> None:
    app = _app()
    _call(app, "/")
    seen: list[t.Any] = []

    def receiver(sender: t.Any, **kwargs: t.Any) -> None:
        seen.append(sender)

    with signal.connected_to(receiver, app):
        assert _call(app, "/")[2] == b"Hello, World!"
    assert seen == [app]


def test_all_signals_in_the_general_order(monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app()
    orders: list[list[str]] = []

    def run(call: t.Callable[[], t.Any]) -> None:
        order: list[str] = []
        receivers = [(s, lambda sender, s=s, **kw: order.append(s.name)) for s in SIGNALS]
        for s, r in receivers:
            s.connect(r, app)
        try:
            call()
        finally:
            for s, r in receivers:
                s.disconnect(r, app)
        orders.append(order)

    run(lambda: _call(app, "/"))
    run(lambda: _general(app, monkeypatch, "/"))
    assert orders[0] == orders[1]
    assert orders[0][0] == "appcontext-pushed"


# -- cases handed over midway ------------------------------------------------


def test_after_this_request_runs(spy: _Spy) -> None:
    app = _app()

    @app.get("/later")
    def later() -> str:
        @after_this_request
        def add(response: Response) -> Response:
            response.headers["X-Later"] = "yes"
            return response

        return "ok"

    _, headers, body = _call(app, "/later")
    assert ("X-Later", "yes") in headers and body == b"ok"
    assert spy.answers == [True]


def test_a_used_session_is_saved(spy: _Spy) -> None:
    app = _app()

    @app.get("/login")
    def login() -> str:
        session["user"] = "ann"
        return "ok"

    _, headers, _ = _call(app, "/login")
    assert any(k == "Set-Cookie" and v.startswith("session=") for k, v in headers)
    assert ("Vary", "Cookie") in headers


def test_a_permanent_session_cookie_is_refreshed_without_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = _app()

    @app.get("/login")
    def login() -> str:
        session.permanent = True
        session["user"] = "ann"
        return "ok"

    client = app.test_client()
    client.get("/login")
    cookie = client.get_cookie("session")
    assert cookie is not None
    headers = {"Cookie": f"session={cookie.value}"}
    fast = _call(app, "/", headers=headers)
    general = _general(app, monkeypatch, "/", headers=headers)
    assert any(k == "Set-Cookie" for k, _ in fast[1])
    assert [k for k, _ in fast[1]] == [k for k, _ in general[1]]


def test_a_response_class_with_its_own_wsgi_call_is_used(spy: _Spy) -> None:
    class Custom(Response):
        def get_wsgi_headers(self, environ: t.Any) -> t.Any:
            headers = super().get_wsgi_headers(environ)
            headers["X-Custom"] = "1"
            return headers

    app = _app()
    app.response_class = Custom
    _, headers, body = _call(app, "/")
    assert ("X-Custom", "1") in headers and body == b"Hello, World!"


def test_errors_reach_the_error_handlers(spy: _Spy) -> None:
    app = _app()

    @app.errorhandler(ValueError)
    def handle(e: ValueError) -> tuple[str, int]:
        return f"handled {e}", 418

    @app.errorhandler(404)
    def missing(e: Exception) -> str:
        return "no such page"

    assert _call(app, "/fail")[::2] == ("418 I'M A TEAPOT", b"handled boom")
    assert _call(app, "/missing")[2] == b"no such page"


def test_teardown_sees_the_error_of_an_unhandled_exception() -> None:
    app = _app()
    app.config["PROPAGATE_EXCEPTIONS"] = True
    errors: list[t.Any] = []

    def receiver(sender: t.Any, exc: t.Any = None, **kwargs: t.Any) -> None:
        errors.append(exc)

    with request_tearing_down.connected_to(receiver, app):
        with pytest.raises(ValueError, match="boom"):
            _call(app, "/fail")
    assert [type(e) for e in errors] == [ValueError]
    assert _cv_request.get(None) is None and _cv_app.get(None) is None


def test_a_context_left_pushed_by_the_view_is_popped_as_the_general_path_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = _app()

    @app.get("/leak")
    def leak() -> str:
        app.app_context().push()
        return "ok"

    with pytest.raises(AssertionError, match="Popped wrong app context"):
        _call(app, "/leak")
    assert _cv_request.get(None) is None and _cv_app.get(None) is None
    with pytest.raises(AssertionError, match="Popped wrong app context"):
        _general(app, monkeypatch, "/leak")
    assert _cv_request.get(None) is None and _cv_app.get(None) is None


def test_the_test_client_keeps_the_context(spy: _Spy) -> None:
    app = _app()
    with app.test_client() as client:
        assert client.get("/hello/ann").data == "Hello, ann! \u00e9".encode()
        assert request.path == "/hello/ann"
        assert request.view_args == {"name": "ann"}
    assert spy.answers == [True]


def test_a_request_context_left_pushed_by_the_view_is_reported_as_the_general_path_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = _app()

    @app.get("/leak")
    def leak() -> str:
        app.test_request_context("/other").push()
        return "ok"

    for call in (_call, lambda app, path: _general(app, monkeypatch, path)):
        with pytest.raises(AssertionError, match="Popped wrong request context"):
            call(app, "/leak")
        assert _cv_request.get(None) is None and _cv_app.get(None) is None


def test_an_after_request_function_registered_by_the_view_runs(spy: _Spy) -> None:
    app = _app()

    @app.get("/register")
    def register() -> str:
        def after(response: Response) -> Response:
            response.headers["X-After"] = "1"
            return response

        app.after_request_funcs.setdefault(None, []).append(after)
        return "ok"

    assert ("X-After", "1") in _call(app, "/register")[1]
    assert spy.answers == [True]


# -- the text answer against Werkzeug ----------------------------------------

TEXTS = ["", "Hello, World!", "caf\u00e9 \u2603 \U0001f600", "a\r\nb", "<p>x</p>" * 1000]


@pytest.mark.parametrize("text", TEXTS)
def test_the_text_answer_is_what_werkzeug_sends(text: str) -> None:
    from hermetic._response_makers import _make_text_answer

    answer = _make_text_answer(Response)
    assert answer is not None
    general: list[t.Any] = []
    status, headers, body = answer(text)
    sent = Response(text)(create_environ("/"), lambda *args: general.append(args))
    assert general == [(status, headers)]
    assert body == list(sent)


def test_no_text_answer_for_a_class_with_its_own_constructor() -> None:
    from hermetic._response_makers import _make_text_answer

    class Upper(Response):
        def __init__(self, response: t.Any = None, *args: t.Any, **kwargs: t.Any) -> None:
            super().__init__(response.upper() if isinstance(response, str) else response)

    assert _make_text_answer(Upper) is None
    app = _app()
    app.response_class = Upper
    assert _call(app, "/")[2] == b"HELLO, WORLD!"


def test_no_text_answer_for_a_class_with_its_own_wsgi_methods() -> None:
    class Custom(Response):
        def get_app_iter(self, environ: t.Any) -> t.Any:
            return [b"replaced"]

    app = _app()
    app.response_class = Custom
    assert app._text_answer() is None
    assert _call(app, "/")[2] == b"replaced"


def test_an_error_of_start_response_is_not_handled_by_the_app(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = _app()
    handled: list[t.Any] = []
    torn: list[t.Any] = []

    def on_exception(sender: t.Any, exception: t.Any = None, **kwargs: t.Any) -> None:
        handled.append(exception)

    def on_teardown(sender: t.Any, exc: t.Any = None, **kwargs: t.Any) -> None:
        torn.append(exc)

    def refuse(*args: t.Any) -> t.NoReturn:
        raise OSError("the client left")

    def run(call: t.Callable[..., t.Any]) -> None:
        with got_request_exception.connected_to(on_exception, app):
            with pytest.raises(OSError, match="the client left"):
                call(app.wsgi_app, create_environ("/"), refuse)

    run(lambda wsgi, environ, sr: wsgi(environ, sr))
    with monkeypatch.context() as m:
        m.setattr(app_module, "serve_plain", lambda *args: None)
        run(lambda wsgi, environ, sr: wsgi(environ, sr))
    assert handled == []
    with request_tearing_down.connected_to(on_teardown, app):
        with pytest.raises(OSError):
            app(create_environ("/"), refuse)
    assert torn == [None]
    assert _cv_request.get(None) is None and _cv_app.get(None) is None


@pytest.mark.parametrize("returned", ["text", "json", "tuple"])
@pytest.mark.parametrize("condition", ["after_this_request", "session", "finished", "after_hook"])
def test_what_the_view_sets_up_still_runs_whatever_it_returns(
    spy: _Spy, returned: str, condition: str
) -> None:
    app = _app()
    seen: list[str] = []

    def after(response: Response) -> Response:
        seen.append("after")
        return response

    def finished(sender: t.Any, response: t.Any = None, **kwargs: t.Any) -> None:
        seen.append("finished")

    @app.get("/setup")
    def setup() -> t.Any:
        if condition == "after_this_request":
            after_this_request(after)
        elif condition == "session":
            session["user"] = "ann"
        elif condition == "finished":
            request_finished.connect(finished, app)
        else:
            app.after_request_funcs.setdefault(None, []).append(after)
        return {"text": "ok", "json": {"ok": True}, "tuple": ("ok", 201)}[returned]

    try:
        _, headers, _ = _call(app, "/setup")
    finally:
        request_finished.disconnect(finished, app)
    if condition == "session":
        assert any(k == "Set-Cookie" for k, _ in headers)
    else:
        assert seen == [{"finished": "finished"}.get(condition, "after")]
    assert spy.answers == [True]
