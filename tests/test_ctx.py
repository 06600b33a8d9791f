"""Application and request contexts, the proxies, and the lazy session."""

from __future__ import annotations

import threading

import pytest

import hermetic
from hermetic import (
    copy_current_request_context,
    current_app,
    g,
    has_app_context,
    has_request_context,
    request,
    session,
)
from hermetic.globals import app_ctx, request_ctx
from hermetic.sessions import SecureCookieSessionInterface

# --- application context -------------------------------------------------------


def test_app_context_binds_current_app(app):
    assert not has_app_context()
    with app.app_context() as ctx:
        assert has_app_context()
        assert not has_request_context()
        assert current_app._get_current_object() is app
        assert app_ctx._get_current_object() is ctx
        assert g._get_current_object() is ctx.g
    assert not has_app_context()


def test_each_app_context_has_its_own_g(app):
    with app.app_context():
        g.value = "outer"
        with app.app_context():
            assert "value" not in g
            g.value = "inner"
        assert g.value == "outer"


def test_request_context_reuses_pushed_app_context(app):
    with app.app_context():
        g.value = "shared"
        with app.test_request_context():
            assert g.value == "shared"


def test_request_context_pushes_app_context_of_its_app(app):
    other = hermetic.Flask("other")
    with other.app_context():
        with app.test_request_context():
            assert current_app._get_current_object() is app
        assert current_app._get_current_object() is other


def test_request_context_contents(app):
    assert not has_request_context()
    with app.test_request_context("/path?q=1", method="POST", data={"f": "v"}) as ctx:
        assert has_request_context()
        assert has_app_context()
        assert request_ctx._get_current_object() is ctx
        assert request._get_current_object() is ctx.request
        assert (request.path, request.method) == ("/path", "POST")
        assert request.args["q"] == "1"
        assert request.form["f"] == "v"
    assert not has_request_context()
    assert not has_app_context()


def test_request_environ_cycle_broken_on_pop(app):
    ctx = app.test_request_context()
    with ctx:
        assert ctx.request.environ["werkzeug.request"] is ctx.request
    assert ctx.request.environ["werkzeug.request"] is None


def test_ctx_repr(app):
    with app.test_request_context("/r", method="PUT") as ctx:
        assert repr(ctx) == "<RequestContext 'http://localhost/r' [PUT] of hermetic_tests>"


# --- g ------------------------------------------------------------------------------


def test_g_methods(app_ctx):
    assert g.get("missing") is None
    assert g.get("missing", 3) == 3
    with pytest.raises(AttributeError, match="missing"):
        g.missing  # noqa: B018
    g.a = 1
    assert "a" in g
    assert g.setdefault("a", 2) == 1
    assert g.setdefault("b", 2) == 2
    assert sorted(g) == ["a", "b"]
    assert g.pop("a") == 1
    assert "a" not in g
    assert g.pop("a", "default") == "default"
    with pytest.raises(KeyError):
        g.pop("a")
    del g.b
    with pytest.raises(AttributeError):
        del g.b
    assert list(g) == []


def test_g_repr(app_ctx):
    assert repr(g) == "<flask.g of 'hermetic_tests'>"


# --- proxies outside contexts -----------------------------------------------------


@pytest.mark.parametrize(
    ("proxy", "message"),
    [
        (current_app, "Working outside of application context."),
        (g, "Working outside of application context."),
        (app_ctx, "Working outside of application context."),
        (request, "Working outside of request context."),
        (session, "Working outside of request context."),
        (request_ctx, "Working outside of request context."),
    ],
    ids=["current_app", "g", "app_ctx", "request", "session", "request_ctx"],
)
def test_unbound_proxies(proxy, message):
    with pytest.raises(RuntimeError, match=message):
        proxy._get_current_object()
    with pytest.raises(RuntimeError, match=message):
        proxy.anything  # noqa: B018


def test_request_unbound_inside_app_context_only(app_ctx):
    assert current_app.name == "hermetic_tests"
    with pytest.raises(RuntimeError, match="request context"):
        request.path  # noqa: B018


# --- copy_current_request_context ---------------------------------------------------


def test_copy_current_request_context_in_thread(app, client):
    results = {}

    @app.get("/start")
    def start():
        session["who"] = "ann"
        g.marker = "view g"

        @copy_current_request_context
        def work(suffix):
            results["path"] = request.path + suffix
            results["who"] = session["who"]
            results["app"] = current_app.name

        worker = threading.Thread(target=work, args=("!",))
        worker.start()
        worker.join()
        return "started"

    assert client.get("/start?x=1").data == b"started"
    assert results == {"path": "/start!", "who": "ann", "app": "hermetic_tests"}


def test_copy_current_request_context_shares_unopened_session(app, client):
    @app.get("/start")
    def start():
        # The session is not touched before the copy is made.
        @copy_current_request_context
        def work():
            session["from_thread"] = "yes"

        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
        return "started"

    app.get("/read", endpoint="read")(lambda: str(session.get("from_thread")))
    assert "Set-Cookie" in client.get("/start").headers
    assert client.get("/read").data == b"yes"


def test_copy_current_request_context_keeps_function_metadata(app):
    with app.test_request_context():

        @copy_current_request_context
        def documented():
            """Doc."""
            return request.path

        assert documented.__name__ == "documented"
        assert documented.__doc__ == "Doc."
        assert documented() == "/"


def test_copy_current_request_context_outside_request(app_ctx):
    with pytest.raises(RuntimeError, match="copy_current_request_context"):
        copy_current_request_context(lambda: None)


# --- teardown -----------------------------------------------------------------------


def test_teardown_appcontext_without_error(app):
    seen = []
    app.teardown_appcontext(seen.append)
    with app.app_context():
        pass
    assert seen == [None]


def test_teardown_appcontext_with_error(app):
    seen = []
    app.teardown_appcontext(seen.append)
    with pytest.raises(ZeroDivisionError):
        with app.app_context():
            1 / 0  # noqa: B018
    assert len(seen) == 1
    assert isinstance(seen[0], ZeroDivisionError)


def test_teardown_appcontext_after_failed_request(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    seen = []
    app.teardown_appcontext(seen.append)
    app.get("/", endpoint="root")(lambda: 1 / 0)
    assert client.get("/").status_code == 500
    assert len(seen) == 1
    assert isinstance(seen[0], ZeroDivisionError)


def test_teardown_order_request_then_app(app, client):
    order = []
    app.teardown_request(lambda exc: order.append("request"))
    app.teardown_appcontext(lambda exc: order.append("app"))
    app.get("/", endpoint="root")(lambda: "ok")
    client.get("/")
    assert order == ["request", "app"]


def test_teardown_appcontext_runs_in_reverse_order(app):
    order = []
    app.teardown_appcontext(lambda exc: order.append(1))
    app.teardown_appcontext(lambda exc: order.append(2))
    with app.app_context():
        pass
    assert order == [2, 1]


# --- nested pushes ------------------------------------------------------------------


def test_nested_request_context_push_tears_down_once(app):
    seen = []
    app.teardown_request(seen.append)
    ctx = app.test_request_context()
    ctx.push()
    ctx.push()
    ctx.pop()
    assert seen == []
    assert has_request_context()
    ctx.pop()
    assert seen == [None]
    assert not has_request_context()
    assert not has_app_context()


def test_nested_app_context_push_tears_down_once(app):
    seen = []
    app.teardown_appcontext(seen.append)
    ctx = app.app_context()
    ctx.push()
    ctx.push()
    ctx.pop()
    assert seen == []
    ctx.pop()
    assert seen == [None]
    assert not has_app_context()


def test_popping_wrong_app_context(app):
    first = app.app_context()
    second = app.app_context()
    first.push()
    second.push()
    with pytest.raises(AssertionError, match="Popped wrong app context"):
        first.pop()
    # The misplaced pop reset the variable to its state before ``first``.
    assert not has_app_context()


def test_popping_wrong_request_context(app):
    first = app.test_request_context("/first")
    second = app.test_request_context("/second")
    first.push()
    second.push()
    with pytest.raises(AssertionError, match="Popped wrong request context"):
        first.pop()
    while has_request_context():
        request_ctx.pop()
    assert not has_app_context()


def test_request_context_copy_shares_request(app):
    with app.test_request_context("/c") as ctx:
        copied = ctx.copy()
        assert copied.request is ctx.request
    with copied:
        assert request.path == "/c"


# --- the session --------------------------------------------------------------------


class CountingSerializerInterface(SecureCookieSessionInterface):
    """The default interface, counting how often it builds its serializer."""

    def __init__(self):
        self.calls = 0

    def get_signing_serializer(self, app):
        self.calls += 1
        return super().get_signing_serializer(app)


def test_session_not_opened_when_unused(app, client):
    interface = CountingSerializerInterface()
    app.session_interface = interface
    states = []

    @app.get("/")
    def index():
        states.append(request_ctx._session_obj)
        return "no session"

    app.teardown_request(lambda exc: states.append(request_ctx._session_obj))
    rv = client.get("/")
    assert rv.data == b"no session"
    assert states == [None, None]
    assert interface.calls == 0
    assert "Set-Cookie" not in rv.headers
    assert "Vary" not in rv.headers


def test_session_opened_on_use(app, client):
    interface = CountingSerializerInterface()
    app.session_interface = interface

    @app.get("/")
    def index():
        session["n"] = 1
        return "used"

    rv = client.get("/")
    assert interface.calls >= 1
    assert "session=" in rv.headers["Set-Cookie"]
    assert rv.headers["Vary"] == "Cookie"


def test_custom_session_interface_opened_at_push(app, client):
    opened = []

    class Custom(SecureCookieSessionInterface):
        def open_session(self, app, request):
            opened.append(request.path)
            return super().open_session(app, request)

    app.session_interface = Custom()
    app.get("/", endpoint="root")(lambda: "untouched")
    client.get("/")
    assert opened == ["/"]
    with app.test_request_context("/push"):
        assert opened == ["/", "/push"]


def test_custom_session_interface_errors_at_push(app, client):
    class Broken(SecureCookieSessionInterface):
        def open_session(self, app, request):
            raise LookupError("backend down")

    app.session_interface = Broken()
    app.get("/", endpoint="root")(lambda: "untouched")
    with pytest.raises(LookupError, match="backend down"):
        client.get("/")


def test_custom_session_interface_returning_none_gives_null_session(app):
    class Nothing(SecureCookieSessionInterface):
        def open_session(self, app, request):
            return None

    app.session_interface = Nothing()
    with app.test_request_context():
        assert app.session_interface.is_null_session(session._get_current_object())
        with pytest.raises(RuntimeError, match="no secret key"):
            session["x"] = 1


def test_no_secret_key_only_fails_when_session_is_written(app, client):
    app.secret_key = None
    app.get("/", endpoint="root")(lambda: "fine")

    @app.get("/write")
    def write():
        session["x"] = 1
        return "never"

    @app.get("/read")
    def read():
        return str(session.get("x"))

    assert client.get("/").data == b"fine"
    assert client.get("/read").data == b"None"
    with pytest.raises(RuntimeError, match="no secret key"):
        client.get("/write")


def test_vary_cookie_only_when_session_read(app, client):
    @app.get("/set")
    def set_value():
        session["v"] = "x"
        return "set"

    app.get("/read", endpoint="read")(lambda: session.get("v", "none"))
    app.get("/ignore", endpoint="ignore")(lambda: "ignored")

    client.get("/set")
    rv = client.get("/read")
    assert rv.data == b"x"
    assert rv.headers["Vary"] == "Cookie"
    assert "Set-Cookie" not in rv.headers
    rv = client.get("/ignore")
    assert "Vary" not in rv.headers
    assert "Set-Cookie" not in rv.headers


def test_permanent_session_refreshed_each_request(app, client):
    @app.get("/login")
    def login():
        session.permanent = True
        session["user"] = "ann"
        return "in"

    app.get("/ignore", endpoint="ignore")(lambda: "ignored")
    app.get("/user", endpoint="user")(lambda: session.get("user", "nobody"))

    assert "Expires=" in client.get("/login").headers["Set-Cookie"]
    rv = client.get("/ignore")
    assert "session=" in rv.headers["Set-Cookie"]
    assert "Expires=" in rv.headers["Set-Cookie"]
    assert client.get("/user").data == b"ann"


def test_permanent_session_not_refreshed_when_disabled(app, client):
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False

    @app.get("/login")
    def login():
        session.permanent = True
        session["user"] = "ann"
        return "in"

    app.get("/ignore", endpoint="ignore")(lambda: "ignored")
    assert "Set-Cookie" in client.get("/login").headers
    assert "Set-Cookie" not in client.get("/ignore").headers


def test_non_permanent_session_not_refreshed(app, client):
    @app.get("/set")
    def set_value():
        session["user"] = "ann"
        return "set"

    app.get("/ignore", endpoint="ignore")(lambda: "ignored")
    client.get("/set")
    assert "Set-Cookie" not in client.get("/ignore").headers


def test_emptied_session_deletes_cookie(app, client):
    @app.get("/set")
    def set_value():
        session["user"] = "ann"
        return "set"

    @app.get("/clear")
    def clear():
        session.clear()
        return "cleared"

    client.get("/set")
    rv = client.get("/clear")
    cookie = rv.headers["Set-Cookie"]
    assert cookie.startswith("session=;")
    assert "Expires=Thu, 01 Jan 1970" in cookie
    assert client.get_cookie("session") is None


def test_g_is_made_on_first_use_and_assignable(app):
    ctx = app.app_context()
    assert "g" not in vars(ctx)
    first = ctx.g
    assert isinstance(first, app.app_ctx_globals_class) and ctx.g is first
    replacement = app.app_ctx_globals_class()
    ctx.g = replacement
    with ctx:
        assert g._get_current_object() is replacement


def test_g_uses_the_apps_globals_class(app):
    class Custom(app.app_ctx_globals_class):
        pass

    app.app_ctx_globals_class = Custom
    with app.app_context():
        assert type(g._get_current_object()) is Custom
        g.x = 1
        assert g.x == 1


def test_flashes_default_is_per_context(app):
    with app.test_request_context() as ctx:
        assert ctx.flashes is None
        ctx.flashes = [("message", "hi")]
    with app.test_request_context() as other:
        assert other.flashes is None
