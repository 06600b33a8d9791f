"""The application: routing, responses, errors, hooks, URLs, files, run()."""

from __future__ import annotations

import io
import logging

import pytest
import werkzeug.serving
from werkzeug.exceptions import BadRequest, Forbidden, HTTPException, NotFound
from werkzeug.http import parse_set_header
from werkzeug.routing import BuildError, Rule
from werkzeug.wrappers import Response as WerkzeugResponse

import hermetic
from hermetic import (
    Blueprint,
    abort,
    after_this_request,
    g,
    make_response,
    redirect,
    request,
    send_file,
    send_from_directory,
    url_for,
)
from hermetic.globals import request_ctx


def allow(rv):
    return sorted(parse_set_header(rv.headers["Allow"]))


# --- registration ------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_method_shortcut_registers_only_that_method(app, client, method):
    getattr(app, method)("/thing")(lambda: f"{request.method} done")

    rv = client.open("/thing", method=method.upper())
    assert rv.status_code == 200
    assert rv.get_data(as_text=True) == f"{method.upper()} done"

    other = "PUT" if method != "put" else "POST"
    assert client.open("/thing", method=other).status_code == 405


def test_method_shortcut_rejects_methods_argument(app):
    with pytest.raises(TypeError, match="route"):
        app.post("/x", methods=["GET"])


def test_route_accepts_several_methods(app, client):
    @app.route("/multi", methods=["get", "POST"])
    def multi():
        return request.method

    assert client.get("/multi").data == b"GET"
    assert client.post("/multi").data == b"POST"
    assert client.delete("/multi").status_code == 405


def test_methods_as_string_is_a_type_error(app):
    with pytest.raises(TypeError, match="list of strings"):
        app.add_url_rule("/x", "x", lambda: "", methods="POST")


def test_endpoint_overwrite_is_an_assertion_error(app):
    def first():
        return "1"

    def second():
        return "2"

    app.add_url_rule("/a", "same", first)
    # Registering the same function again for the endpoint is allowed.
    app.add_url_rule("/a2", "same", first)
    with pytest.raises(AssertionError, match="overwriting an existing endpoint function: same"):
        app.add_url_rule("/b", "same", second)


def test_missing_endpoint_and_view_is_an_assertion_error(app):
    with pytest.raises(AssertionError, match="expected view func if endpoint is not provided"):
        app.add_url_rule("/x")


def test_endpoint_decorator_binds_view_to_rule(app, client):
    app.add_url_rule("/late", "late")

    @app.endpoint("late")
    def late():
        return "late view"

    assert client.get("/late").data == b"late view"


def test_automatic_options_lists_allowed_methods(app, client):
    @app.route("/", methods=["GET", "POST"])
    def index():
        return "never for OPTIONS"

    rv = client.open("/", method="OPTIONS")
    assert rv.status_code == 200
    assert rv.data == b""
    assert allow(rv) == ["GET", "HEAD", "OPTIONS", "POST"]


def test_automatic_options_off_for_the_rule(app, client):
    app.add_url_rule("/", "index", lambda: "x", provide_automatic_options=False)
    rv = client.open("/", method="OPTIONS")
    assert rv.status_code == 405
    assert "OPTIONS" not in allow(rv)


def test_automatic_options_off_by_config(app, client):
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.add_url_rule("/", "index", lambda: "x")
    assert client.open("/", method="OPTIONS").status_code == 405


def test_view_handling_options_itself(app, client):
    @app.route("/", methods=["GET", "OPTIONS"])
    def index():
        return f"own {request.method}"

    assert client.open("/", method="OPTIONS").data == b"own OPTIONS"


def test_view_func_attributes_set_methods_and_options(app, client):
    def view():
        return request.method

    view.methods = ["POST"]
    view.required_methods = ["PUT"]
    view.provide_automatic_options = False
    app.add_url_rule("/", "view", view)

    assert client.post("/").data == b"POST"
    assert client.put("/").data == b"PUT"
    assert client.get("/").status_code == 405
    assert client.open("/", method="OPTIONS").status_code == 405


def test_unknown_method_is_405_with_allow(app, client):
    app.get("/only-get", endpoint="only_get")(lambda: "x")
    rv = client.open("/only-get", method="BREW")
    assert rv.status_code == 405
    assert allow(rv) == ["GET", "HEAD", "OPTIONS"]


def test_unknown_url_is_404(app, client):
    app.get("/", endpoint="root")(lambda: "x")
    rv = client.get("/nope")
    assert rv.status_code == 404
    assert b"Not Found" in rv.data


def test_defaults_and_canonical_redirect(app, client):
    @app.route("/page/", defaults={"n": 1})
    @app.route("/page/<int:n>")
    def page(n):
        return f"page {n}"

    assert client.get("/page/").data == b"page 1"
    assert client.get("/page/3").data == b"page 3"
    # The URL equal to the defaults redirects to the canonical rule.
    rv = client.get("/page/1")
    assert rv.status_code == 308
    assert rv.headers["Location"].endswith("/page/")


def test_strict_slashes_redirect(app, client):
    app.get("/dir/", endpoint="dir")(lambda: "dir")
    app.add_url_rule("/loose/", "loose", lambda: "loose", strict_slashes=False)
    app.get("/file", endpoint="file")(lambda: "file")

    rv = client.get("/dir?q=1")
    assert rv.status_code == 308
    assert rv.headers["Location"] == "http://localhost/dir/?q=1"
    assert client.get("/dir/").data == b"dir"
    assert client.get("/loose").data == b"loose"
    assert client.get("/file/").status_code == 404


def test_redirect_to_rule(app, client):
    app.add_url_rule("/old/<int:n>", "old", redirect_to="/new/<n>")
    app.get("/new/<int:n>", endpoint="new_int_n")(lambda n: f"new {n}")

    rv = client.get("/old/5")
    assert rv.status_code == 308
    assert rv.headers["Location"].endswith("/new/5")
    assert client.get("/old/5", follow_redirects=True).data == b"new 5"


def test_host_matching_with_static_host(tmp_path):
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "a.txt").write_text("static a")
    app = hermetic.Flask(
        "hosted", root_path=str(tmp_path), host_matching=True, static_host="cdn.test"
    )
    app.testing = True
    app.add_url_rule("/", "index", lambda: url_for("static", filename="a.txt"), host="www.test")
    client = app.test_client()

    assert client.get("/", base_url="http://www.test").data == b"http://cdn.test/static/a.txt"
    assert client.get("/", base_url="http://other.test").status_code == 404
    rv = client.get("/static/a.txt", base_url="http://cdn.test")
    assert rv.data == b"static a"
    rv.close()
    assert client.get("/static/a.txt", base_url="http://www.test").status_code == 404


@pytest.mark.parametrize(("host_matching", "static_host"), [(True, None), (False, "cdn.test")])
def test_static_host_requires_host_matching(host_matching, static_host):
    with pytest.raises(AssertionError, match="static_host"):
        hermetic.Flask("bad", host_matching=host_matching, static_host=static_host)


def test_host_matching_without_static_folder_is_allowed():
    app = hermetic.Flask("nostatic", host_matching=True, static_folder=None)
    assert "static" not in app.view_functions


def test_subdomain_matching():
    app = hermetic.Flask("subs", subdomain_matching=True, static_folder=None)
    app.config.update(TESTING=True, SERVER_NAME="example.test")
    app.get("/", subdomain="api", endpoint="api_root")(lambda: "api root")
    app.get("/", endpoint="root")(lambda: "main root")

    @app.get("/user", subdomain="<user>")
    def user_home(user):
        return f"home of {user}"

    client = app.test_client()
    assert client.get("/", base_url="http://api.example.test").data == b"api root"
    assert client.get("/", base_url="http://example.test").data == b"main root"
    assert client.get("/user", base_url="http://ann.example.test").data == b"home of ann"
    with app.app_context():
        assert url_for("user_home", user="bob") == "http://bob.example.test/user"


def test_server_name_does_not_restrict_hosts_without_subdomain_matching(app, client):
    app.config["SERVER_NAME"] = "example.test"
    app.get("/", endpoint="root")(lambda: request.host)
    assert client.get("/", base_url="http://other.test").data == b"other.test"


def test_external_url_uses_server_name_for_any_request_host(app, client):
    app.config["SERVER_NAME"] = "example.test"
    app.get("/", endpoint="root")(lambda: url_for("root", _external=True))
    assert client.get("/", base_url="http://example.test").data == b"http://example.test/"
    assert client.get("/", base_url="http://other.test").data == b"http://example.test/"


# --- make_response --------------------------------------------------------------


def view_returning(app, value):
    app.add_url_rule("/", "index", lambda: value)
    return app.test_client().get("/")


def test_string_return_is_html(app):
    rv = view_returning(app, "héllo")
    assert rv.status_code == 200
    assert rv.mimetype == "text/html"
    assert rv.content_type == "text/html; charset=utf-8"
    assert rv.get_data(as_text=True) == "héllo"


def test_bytes_return(app):
    rv = view_returning(app, b"\x00raw")
    assert rv.data == b"\x00raw"


@pytest.mark.parametrize("value", [{"a": [1, 2]}, [1, "two", None]])
def test_dict_and_list_return_json(app, value):
    rv = view_returning(app, value)
    assert rv.mimetype == "application/json"
    assert rv.get_json() == value


@pytest.mark.parametrize(
    ("value", "status", "headers"),
    [
        (("made", 201), 201, {}),
        (("made", "202 ACCEPTED"), 202, {}),
        (("made", {"X-A": "1"}), 200, {"X-A": "1"}),
        (("made", [("X-A", "1")]), 200, {"X-A": "1"}),
        (("made", 203, {"X-A": "1"}), 203, {"X-A": "1"}),
        (("made", 418, [("X-A", "1"), ("X-B", "2")]), 418, {"X-A": "1", "X-B": "2"}),
    ],
)
def test_tuple_returns(app, value, status, headers):
    rv = view_returning(app, value)
    assert rv.data == b"made"
    assert rv.status_code == status
    for key, val in headers.items():
        assert rv.headers[key] == val


def test_tuple_with_dict_body_and_status(app):
    rv = view_returning(app, ({"ok": False}, 400))
    assert rv.status_code == 400
    assert rv.get_json() == {"ok": False}


def test_response_object_return_is_kept_and_tuple_overrides(app, client):
    response = app.response_class("resp", status=202, headers={"X-Kept": "yes"})
    app.add_url_rule("/", "index", lambda: response)
    app.add_url_rule("/over", "over", lambda: (response, 404, {"X-New": "1"}))

    rv = client.get("/")
    assert (rv.status_code, rv.data, rv.headers["X-Kept"]) == (202, b"resp", "yes")
    rv = client.get("/over")
    assert (rv.status_code, rv.headers["X-New"]) == (404, "1")


def test_generator_return_streams(app, client):
    def gen():
        yield "a"
        yield "b"

    app.add_url_rule("/", "index", lambda: gen())
    app.add_url_rule("/iter", "iter", lambda: iter([b"x", b"y"]))
    assert client.get("/").data == b"ab"
    assert client.get("/iter").data == b"xy"


def test_wsgi_callable_return(app, client):
    def wsgi(environ, start_response):
        start_response("201 CREATED", [("Content-Type", "text/plain")])
        return [b"from wsgi ", environ["PATH_INFO"].encode()]

    app.add_url_rule("/", "index", lambda: wsgi)
    rv = client.get("/")
    assert rv.status_code == 201
    assert rv.data == b"from wsgi /"
    assert rv.mimetype == "text/plain"


def test_werkzeug_response_converted_to_response_class(app):
    with app.test_request_context():
        rv = app.make_response(WerkzeugResponse("w", status=207))
    assert isinstance(rv, app.response_class)
    assert (rv.status_code, rv.data) == (207, b"w")


def test_none_return_is_a_type_error(app):
    app.add_url_rule("/", "nothing", lambda: None)
    with pytest.raises(TypeError, match="'nothing' did not return a valid response"):
        app.test_client().get("/")


@pytest.mark.parametrize("value", [42, 1.5, object()])
def test_invalid_return_type(app, value):
    with app.test_request_context():
        with pytest.raises(TypeError, match=f"it was a {type(value).__name__}"):
            app.make_response(value)


def test_invalid_tuple_length(app):
    with app.test_request_context():
        with pytest.raises(TypeError, match="valid response tuple"):
            app.make_response(("a", 200, {}, "extra"))


def test_make_response_helper(app):
    with app.test_request_context():
        empty = make_response()
        assert isinstance(empty, app.response_class)
        assert empty.data == b""
        rv = make_response("body", 404)
        assert (rv.status_code, rv.data) == (404, b"body")
        rv = make_response(({"k": 1}, 201, {"X": "y"}))
        assert (rv.status_code, rv.get_json(), rv.headers["X"]) == (201, {"k": 1}, "y")


# --- error handling ---------------------------------------------------------------


class ParentError(Exception):
    pass


class ChildError(ParentError):
    pass


def test_error_handler_by_code(app, client):
    @app.errorhandler(404)
    def not_found(e):
        assert isinstance(e, NotFound)
        return "custom missing", 404

    @app.errorhandler(403)
    def forbidden(e):
        return "custom forbidden", 403

    app.get("/secret", endpoint="secret")(lambda: abort(403))

    rv = client.get("/nope")
    assert (rv.status_code, rv.data) == (404, b"custom missing")
    rv = client.get("/secret")
    assert (rv.status_code, rv.data) == (403, b"custom forbidden")


def raise_child():
    raise ChildError()


def test_error_handler_by_class_follows_mro(app, client):
    @app.errorhandler(ParentError)
    def parent(e):
        return f"parent handled {type(e).__name__}", 500

    app.get("/child")(raise_child)
    assert client.get("/child").data == b"parent handled ChildError"


def test_most_specific_error_handler_wins(app, client):
    app.register_error_handler(ChildError, lambda e: ("child handled", 500))
    app.register_error_handler(ParentError, lambda e: ("parent handled", 500))
    app.register_error_handler(Exception, lambda e: ("exception handled", 500))
    app.get("/child")(raise_child)
    app.get("/other", endpoint="other")(lambda: 1 / 0)
    assert client.get("/child").data == b"child handled"
    assert client.get("/other").data == b"exception handled"


def test_http_exception_base_handler_catches_all_codes(app, client):
    @app.errorhandler(HTTPException)
    def any_http(e):
        return f"http {e.code}", e.code

    app.get("/x", endpoint="x")(lambda: "x")
    assert client.get("/missing").data == b"http 404"
    assert client.post("/x").data == b"http 405"


def test_specific_code_beats_http_exception_handler(app, client):
    app.register_error_handler(HTTPException, lambda e: ("generic", e.code))
    app.register_error_handler(404, lambda e: ("specific", 404))
    assert client.get("/missing").data == b"specific"


def test_blueprint_error_handler_precedence(app, client):
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.errorhandler(403)
    def bp_forbidden(e):
        return "bp forbidden", 403

    @bp.errorhandler(ParentError)
    def bp_parent(e):
        return "bp parent", 500

    @bp.get("/deny")
    def deny():
        abort(403)

    @bp.get("/child")
    def child():
        raise ChildError()

    app.register_error_handler(403, lambda e: ("app forbidden", 403))
    app.register_error_handler(ChildError, lambda e: ("app child", 500))
    app.register_blueprint(bp)
    app.get("/deny", endpoint="deny")(lambda: abort(403))

    assert client.get("/bp/deny").data == b"bp forbidden"
    assert client.get("/deny").data == b"app forbidden"
    # The blueprint's handler for a base class wins over the app's exact one.
    assert client.get("/bp/child").data == b"bp parent"


def test_blueprint_404_handler_does_not_see_unmatched_urls(app, client):
    bp = Blueprint("bp", __name__, url_prefix="/bp")
    bp.register_error_handler(404, lambda e: ("bp 404", 404))
    bp.get("/", endpoint="root")(lambda: "bp index")
    app.register_error_handler(404, lambda e: ("app 404", 404))
    app.register_blueprint(bp)
    assert client.get("/bp/nope").data == b"app 404"


@pytest.mark.parametrize(
    ("key", "error", "message"),
    [
        (999, ValueError, "not a recognized HTTP error code"),
        (ParentError(), TypeError, "is an instance, not a class"),
        (str, ValueError, "is not a subclass of Exception"),
    ],
)
def test_invalid_error_handler_keys(app, key, error, message):
    with pytest.raises(error, match=message):
        app.register_error_handler(key, lambda e: "")


def test_error_handler_for_500_gets_original_exception(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.errorhandler(500)
    def server_error(e):
        return f"500 from {type(e.original_exception).__name__}", 500

    app.get("/", endpoint="root")(lambda: 1 / 0)
    rv = client.get("/")
    assert (rv.status_code, rv.data) == (500, b"500 from ZeroDivisionError")


def test_exceptions_propagate_when_testing(app, client):
    app.get("/", endpoint="root")(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        client.get("/")


def test_propagate_exceptions_false_overrides_testing(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.get("/", endpoint="root")(lambda: 1 / 0)
    assert client.get("/").status_code == 500


def test_propagate_exceptions_true_without_testing(app, client):
    app.testing = False
    app.config["PROPAGATE_EXCEPTIONS"] = True
    app.get("/", endpoint="root")(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        client.get("/")


def test_unhandled_error_is_500_without_traceback_and_logged(app, client, caplog):
    app.testing = False
    secret = "internal detail 1234"

    @app.get("/boom")
    def boom():
        raise RuntimeError(secret)

    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        rv = client.get("/boom")

    assert rv.status_code == 500
    body = rv.get_data(as_text=True)
    assert "Internal Server Error" in body
    assert secret not in body
    assert "Traceback" not in body
    records = [r for r in caplog.records if r.name == app.logger.name]
    assert len(records) == 1
    assert records[0].getMessage() == "Exception on /boom [GET]"
    assert records[0].exc_info[0] is RuntimeError
    assert secret in caplog.text


def test_trap_http_exceptions(app, client):
    app.get("/", endpoint="root")(lambda: abort(404))
    assert client.get("/").status_code == 404
    app.config["TRAP_HTTP_EXCEPTIONS"] = True
    with pytest.raises(NotFound):
        client.get("/")


def test_bad_request_key_error_hidden_outside_debug(app, client):
    app.post("/", endpoint="root")(lambda: request.form["missing_field"])
    rv = client.post("/")
    assert rv.status_code == 400
    assert b"missing_field" not in rv.data


def test_bad_request_key_error_trapped_in_debug(app, client):
    app.debug = True
    app.post("/", endpoint="root")(lambda: request.form["missing_field"])
    with pytest.raises(KeyError, match="missing_field"):
        client.post("/")


def test_trap_bad_request_errors_false_in_debug_shows_key(app, client):
    app.debug = True
    app.config["TRAP_BAD_REQUEST_ERRORS"] = False
    app.post("/", endpoint="root")(lambda: request.form["missing_field"])
    rv = client.post("/")
    assert rv.status_code == 400
    assert b"missing_field" in rv.data


def test_trap_bad_request_errors_true_traps_all_bad_requests(app, client):
    app.config["TRAP_BAD_REQUEST_ERRORS"] = True
    app.get("/", endpoint="root")(lambda: abort(400))
    app.get("/forbidden", endpoint="forbidden")(lambda: abort(403))
    with pytest.raises(BadRequest):
        client.get("/")
    assert client.get("/forbidden").status_code == 403


# --- hooks ------------------------------------------------------------------------


def test_hook_order(app, client):
    calls = []

    @app.before_request
    def before1():
        calls.append("before1")

    @app.before_request
    def before2():
        calls.append("before2")

    @app.after_request
    def after1(response):
        calls.append("after1")
        return response

    @app.after_request
    def after2(response):
        calls.append("after2")
        response.headers["X-After"] = "2"
        return response

    @app.teardown_request
    def teardown1(exc):
        calls.append(("teardown1", exc))

    @app.teardown_request
    def teardown2(exc):
        calls.append(("teardown2", exc))

    @app.get("/")
    def index():
        calls.append("view")
        return "ok"

    rv = client.get("/")
    assert rv.headers["X-After"] == "2"
    assert calls == [
        "before1",
        "before2",
        "view",
        "after2",
        "after1",
        ("teardown2", None),
        ("teardown1", None),
    ]


def test_nested_blueprint_hook_order(app, client):
    log = []
    parent = Blueprint("parent", __name__, url_prefix="/p")
    child = Blueprint("child", __name__, url_prefix="/c")
    for who, scaffold in (("app", app), ("parent", parent), ("child", child)):
        scaffold.url_value_preprocessor(lambda ep, values, who=who: log.append(f"uvp {who}"))
        scaffold.before_request(lambda who=who: log.append(f"before {who}"))
        scaffold.after_request(lambda r, who=who: log.append(f"after {who}") or r)
        scaffold.teardown_request(lambda exc, who=who: log.append(f"teardown {who}"))
        scaffold.url_defaults(lambda ep, values, who=who: log.append(f"defaults {who}"))
    parent.before_app_request(lambda: log.append("before app from parent"))

    @child.get("/<int:n>")
    def view(n):
        log.append("view")
        return url_for(".view", n=n + 1)

    parent.register_blueprint(child)
    app.register_blueprint(parent)
    app.get("/top", endpoint="top")(lambda: "top")

    assert client.get("/p/c/1").data == b"/p/c/2"
    assert log == [
        "uvp app",
        "uvp parent",
        "uvp child",
        "before app",
        "before app from parent",
        "before parent",
        "before child",
        "view",
        "defaults app",
        "defaults parent",
        "defaults child",
        "after child",
        "after parent",
        "after app",
        "teardown child",
        "teardown parent",
        "teardown app",
    ]
    log.clear()
    # Outside the blueprints only the app's hooks (and app-wide ones) run.
    client.get("/top")
    assert log == [
        "uvp app",
        "before app",
        "before app from parent",
        "after app",
        "teardown app",
    ]


def test_before_request_return_short_circuits(app, client):
    calls = []
    app.before_request(lambda: "from before")
    app.before_request(lambda: calls.append("second before"))

    @app.after_request
    def after(response):
        calls.append("after")
        return response

    @app.get("/")
    def index():
        calls.append("view")
        return "view"

    assert client.get("/").data == b"from before"
    assert calls == ["after"]


def test_teardown_receives_the_error(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    seen = []
    app.teardown_request(seen.append)
    app.get("/", endpoint="root")(lambda: 1 / 0)
    assert client.get("/").status_code == 500
    assert len(seen) == 1
    assert isinstance(seen[0], ZeroDivisionError)


def test_after_this_request(app, client):
    @app.get("/")
    def index():
        @after_this_request
        def add_header(response):
            response.headers["X-This"] = "once"
            return response

        return "ok"

    app.get("/other", endpoint="other")(lambda: "other")
    assert client.get("/").headers["X-This"] == "once"
    assert "X-This" not in client.get("/other").headers


def test_after_this_request_runs_before_after_request(app, client):
    order = []

    @app.after_request
    def after(response):
        order.append("app after")
        return response

    @app.get("/")
    def index():
        after_this_request(lambda r: order.append("this request") or r)
        return "ok"

    client.get("/")
    assert order == ["this request", "app after"]


def test_after_this_request_outside_request(app_ctx):
    with pytest.raises(RuntimeError, match="after_this_request"):
        after_this_request(lambda r: r)


def test_url_value_preprocessor_and_url_defaults(app, client):
    @app.url_value_preprocessor
    def pull_lang(endpoint, values):
        g.lang = values.pop("lang", None)

    @app.url_defaults
    def add_lang(endpoint, values):
        if "lang" in values or not app.url_map.is_endpoint_expecting(endpoint, "lang"):
            return
        values["lang"] = g.lang

    @app.get("/<lang>/page")
    def page():
        return f"{g.lang} {url_for('page')} {url_for('about')}"

    app.get("/about", endpoint="about")(lambda: "about")
    assert client.get("/de/page").data == b"de /de/page /about"


# --- url_for ----------------------------------------------------------------------


@pytest.fixture
def url_app(app):
    app.get("/", endpoint="root")(lambda: "index")
    app.get("/item/<int:id>", endpoint="item")(lambda id: str(id))
    app.add_url_rule("/form", "form_get", lambda: "", methods=["GET"])
    app.add_url_rule("/form-post", "form_get", methods=["POST"])
    return app


def test_url_for_in_request(url_app):
    with url_app.test_request_context("/"):
        assert url_for("item", id=3) == "/item/3"
        assert url_for("item", id=3, q="a b") == "/item/3?q=a+b"
        assert url_for("item", id=3, _external=True) == "http://localhost/item/3"
        assert url_for("item", id=3, _anchor="x y/z") == "/item/3#x%20y/z"
        assert url_for("item", id=3, _scheme="https") == "https://localhost/item/3"
        assert url_for("form_get", _method="POST") == "/form-post"
        assert url_for("form_get", _method="GET") == "/form"


def test_url_for_calls_an_overridden_inject_url_defaults():
    class App(hermetic.Flask):
        def inject_url_defaults(self, endpoint, values):
            values.setdefault("id", 7)

    app = App(__name__)
    app.get("/item/<int:id>", endpoint="item")(lambda id: "")
    with app.test_request_context("/"):
        assert url_for("item") == "/item/7"


def test_url_for_scheme_without_external_is_value_error(url_app):
    with url_app.test_request_context("/"):
        with pytest.raises(ValueError, match="_external"):
            url_for("item", id=1, _scheme="https", _external=False)


def test_url_for_relative_endpoint_in_blueprint(app, client):
    bp = Blueprint("shop", __name__, url_prefix="/shop")

    @bp.get("/")
    def index():
        return f"{url_for('.index')} {url_for('.cart')} {url_for('index')}"

    bp.get("/cart", endpoint="cart")(lambda: "cart")
    app.register_blueprint(bp)

    @app.get("/")
    def index():  # noqa: F811 -- the app's own "index" endpoint
        return url_for(".index")

    assert client.get("/shop/").data == b"/shop/ /shop/cart /"
    assert client.get("/").data == b"/"


def test_url_for_build_error(url_app):
    with url_app.test_request_context("/"):
        with pytest.raises(BuildError):
            url_for("missing")
        with pytest.raises(BuildError):
            url_for("item")


def test_url_build_error_handlers(url_app):
    seen = []

    def declines(error, endpoint, values):
        seen.append(("declines", endpoint))
        return None

    def reraises(error, endpoint, values):
        seen.append(("reraises", endpoint))
        raise error

    def answers(error, endpoint, values):
        if endpoint == "external":
            return f"https://elsewhere.test/{values['page']}"
        return None

    url_app.url_build_error_handlers.extend([declines, answers])
    with url_app.test_request_context("/"):
        assert url_for("external", page="p") == "https://elsewhere.test/p"
        with pytest.raises(BuildError):
            url_for("still_missing")
    assert seen == [("declines", "external"), ("declines", "still_missing")]

    url_app.url_build_error_handlers[:] = [reraises]
    with url_app.test_request_context("/"):
        with pytest.raises(BuildError, match="external"):
            url_for("external")


def test_url_for_outside_request_uses_server_name(url_app):
    url_app.config.update(
        SERVER_NAME="example.test:8080", APPLICATION_ROOT="/root", PREFERRED_URL_SCHEME="https"
    )
    with url_app.app_context():
        assert url_for("item", id=1) == "https://example.test:8080/root/item/1"
        assert url_for("item", id=1, _external=False) == "/root/item/1"


def test_url_for_outside_request_without_server_name(url_app):
    with url_app.app_context():
        with pytest.raises(RuntimeError, match="SERVER_NAME"):
            url_for("item", id=1)


def test_url_for_without_app_context():
    with pytest.raises(RuntimeError, match="application context"):
        url_for("index")


# --- bound URL adapters (kept per host, scheme and script name) ------------------


def _adapter_state(adapter):
    return {
        name: getattr(adapter, name)
        for name in (
            "map",
            "server_name",
            "script_name",
            "subdomain",
            "url_scheme",
            "path_info",
            "default_method",
            "query_args",
            "websocket",
        )
    }


@pytest.mark.parametrize(
    ("path", "base_url", "method", "headers"),
    [
        ("/item/1?a=b", "http://localhost/", "GET", {}),
        ("/item/2", "https://Example.TEST:443/", "POST", {}),
        ("/item/3?x=%C3%A9", "http://example.test:8080/app/", "PUT", {}),
        ("/caf\u00e9/\u00fc", "http://b\u00fccher.test/", "GET", {}),
        ("/", "http://localhost/", "GET", {"Connection": "Upgrade", "Upgrade": "websocket"}),
    ],
)
def test_cached_bind_matches_werkzeug(url_app, path, base_url, method, headers):
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path, base_url, method=method, headers=headers).get_environ()
    expected = _adapter_state(url_app.url_map.bind_to_environ(environ, subdomain=""))
    for _ in range(2):  # the first bind fills the cache, the second reuses it
        request = url_app.request_class(environ)
        assert _adapter_state(url_app.create_url_adapter(request)) == expected


@pytest.mark.parametrize(
    ("server_name", "root", "scheme"),
    [
        ("example.test", "/", "http"),
        ("Example.TEST:8443", "/app", "https"),
        ("b\u00fccher.test", None, "http"),
    ],
)
def test_cached_bind_to_server_name_matches_werkzeug(url_app, server_name, root, scheme):
    url_app.config.update(
        SERVER_NAME=server_name, APPLICATION_ROOT=root, PREFERRED_URL_SCHEME=scheme
    )
    expected = _adapter_state(
        url_app.url_map.bind(server_name, script_name=root, url_scheme=scheme)
    )
    for _ in range(2):
        assert _adapter_state(url_app.create_url_adapter(None)) == expected


def test_websocket_bind_is_not_reused_for_plain_requests(url_app):
    from werkzeug.test import EnvironBuilder

    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket"}
    schemes = []
    for headers in (upgrade, {}, upgrade, {}):
        environ = EnvironBuilder("/", headers=headers).get_environ()
        schemes.append(url_app.create_url_adapter(url_app.request_class(environ)).url_scheme)
    assert schemes == ["ws", "http", "ws", "http"]


def test_each_request_gets_its_own_adapter(url_app):
    seen = []

    @url_app.post("/record")
    def record():
        adapter = request_ctx.url_adapter
        seen.append((adapter, adapter.path_info, adapter.query_args, adapter.default_method))
        return url_for("item", id=1, _external=True)

    url_app.get("/record/<name>")(lambda name: record())
    client = url_app.test_client()
    assert client.post("/record?a=1").data == b"http://localhost/item/1"
    assert client.get("/record/x?b=2").data == b"http://localhost/item/1"
    (first, *state1), (second, *state2) = seen
    assert first is not second
    assert state1 == ["/record", "a=1", "POST"]
    assert state2 == ["/record/x", "b=2", "GET"]
    # A request's adapter is its own: changing it leaves the next one alone.
    second.path_info = "/changed"
    assert client.get("/record/y").status_code == 200
    assert seen[2][1] == "/record/y"


def test_cached_bind_follows_the_host(url_app):
    client = url_app.test_client()
    url_app.get("/where")(lambda: url_for("root", _external=True))
    for host in ("a.test", "b.test:8080", "a.test"):
        assert client.get("/where", headers={"Host": host}).data == f"http://{host}/".encode()
    assert client.get("/where", base_url="https://a.test").data == b"https://a.test/"


def test_adapter_cache_is_bounded(url_app):
    from hermetic.routing import _ADAPTER_CACHE_SIZE

    url_app.get("/where")(lambda: url_for("root", _external=True))
    client = url_app.test_client()
    for i in range(_ADAPTER_CACHE_SIZE * 3):
        host = f"h{i}.test"
        assert client.get("/where", headers={"Host": host}).data == f"http://{host}/".encode()
        assert len(url_app._url_adapters) <= _ADAPTER_CACHE_SIZE
    long_host = "a." * 150 + "test"
    assert client.get("/where", headers={"Host": long_host}).data == f"http://{long_host}/".encode()
    assert all(long_host not in key for key in url_app._url_adapters)


def test_trusted_hosts_checked_on_every_request(url_app):
    url_app.config["TRUSTED_HOSTS"] = ["good.test"]
    client = url_app.test_client()
    assert client.get("/item/1", headers={"Host": "good.test"}).status_code == 200
    assert client.get("/item/1", headers={"Host": "evil.test"}).status_code == 400
    assert client.get("/item/1", headers={"Host": "good.test"}).status_code == 200
    assert client.get("/item/1", headers={"Host": "evil.test"}).status_code == 400


def test_cached_bind_follows_a_new_url_map_and_config(url_app):
    with url_app.test_request_context("/"):
        assert url_for("item", id=1) == "/item/1"
    url_app.url_map = url_app.url_map_class()
    url_app.url_map.add(Rule("/other/<int:id>", endpoint="item"))
    with url_app.test_request_context("/"):
        assert url_for("item", id=1) == "/other/1"

    url_app.config.update(SERVER_NAME="one.test", PREFERRED_URL_SCHEME="https")
    with url_app.app_context():
        assert url_for("item", id=1) == "https://one.test/other/1"
    url_app.config.update(SERVER_NAME="two.test", APPLICATION_ROOT="/r")
    with url_app.app_context():
        assert url_for("item", id=1) == "https://two.test/r/other/1"
    with url_app.app_context() as first, url_app.app_context() as second:
        assert first.url_adapter is not second.url_adapter


def test_server_name_mismatch_warns_on_every_request():
    app = hermetic.Flask(__name__, subdomain_matching=True)
    app.config["SERVER_NAME"] = "example.test"
    app.get("/")(lambda: "")
    client = app.test_client()
    for _ in range(2):
        with pytest.warns(UserWarning, match="doesn't match configured server name"):
            assert client.get("/", base_url="http://other.test").status_code == 404


# --- setup and dispatch --------------------------------------------------------


def test_setup_after_first_request_is_an_assertion_error(app, client):
    app.get("/", endpoint="root")(lambda: "x")
    client.get("/")
    with pytest.raises(AssertionError, match="'route' can no longer be called"):
        app.route("/late")
    with pytest.raises(AssertionError, match="'before_request' can no longer"):
        app.before_request(lambda: None)
    with pytest.raises(AssertionError, match="add_url_rule"):
        app.add_url_rule("/late", "late", lambda: "")


def test_head_response_has_no_body(app, client):
    app.get("/", endpoint="root")(lambda: "some content")
    get = client.get("/")
    head = client.head("/")
    assert head.status_code == 200
    assert head.data == b""
    assert head.headers["Content-Length"] == get.headers["Content-Length"] == "12"


def test_async_view_and_hooks(app, client):
    @app.before_request
    async def before():
        g.before = "async before"

    @app.get("/")
    async def index():
        return f"{g.before} + async view"

    @app.errorhandler(ParentError)
    async def handle(e):
        return "async handler", 409

    @app.get("/err")
    async def err():
        raise ParentError()

    assert client.get("/").data == b"async before + async view"
    rv = client.get("/err")
    assert (rv.status_code, rv.data) == (409, b"async handler")


def test_bad_json_is_400(app, client):
    app.post("/", endpoint="root")(lambda: str(request.get_json()))
    rv = client.post("/", data="{not json", content_type="application/json")
    assert rv.status_code == 400


def test_get_json_wrong_content_type(app, client):
    app.post("/", endpoint="root")(lambda: str(request.get_json()))
    app.post("/silent", endpoint="silent")(lambda: str(request.get_json(silent=True)))
    app.post("/force", endpoint="force")(lambda: request.get_json(force=True))

    assert client.post("/", data='{"a": 1}', content_type="text/plain").status_code == 415
    assert client.post("/silent", data='{"a": 1}', content_type="text/plain").data == b"None"
    assert client.post("/force", data='{"a": 1}', content_type="text/plain").get_json() == {"a": 1}
    assert client.post("/", json={"a": 1}).data == b"{'a': 1}"


def test_max_content_length_is_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 10
    app.post("/", endpoint="root")(lambda: request.get_data())
    app.post("/form", endpoint="form")(lambda: request.form.get("a", "none"))
    assert client.post("/", data=b"x" * 10).data == b"x" * 10
    assert client.post("/", data=b"x" * 11).status_code == 413
    assert client.post("/form", data={"a": "y" * 20}).status_code == 413


# --- files --------------------------------------------------------------------------


@pytest.fixture
def file_app(tmp_path):
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "hello.txt").write_text("hello static")
    (tmp_path / "secret.txt").write_text("top secret")
    app = hermetic.Flask("files", root_path=str(tmp_path))
    app.testing = True
    return app


def test_static_file(file_app):
    client = file_app.test_client()
    rv = client.get("/static/hello.txt")
    assert rv.status_code == 200
    assert rv.data == b"hello static"
    assert rv.mimetype == "text/plain"
    assert "max-age" not in rv.headers.get("Cache-Control", "")
    rv.close()
    assert client.get("/static/missing.txt").status_code == 404


@pytest.mark.parametrize("path", ["/static/../secret.txt", "/static/%2e%2e/secret.txt"])
def test_static_path_traversal_is_404(file_app, path):
    rv = file_app.test_client().get(path)
    assert rv.status_code == 404
    assert b"top secret" not in rv.data


def test_static_max_age_from_config(file_app):
    file_app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 60
    rv = file_app.test_client().get("/static/hello.txt")
    assert rv.cache_control.max_age == 60
    rv.close()


def test_static_url_path_and_folder(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "x.css").write_text("body{}")
    app = hermetic.Flask(
        "assets", root_path=str(tmp_path), static_folder="assets", static_url_path="/s"
    )
    with app.test_request_context():
        assert url_for("static", filename="x.css") == "/s/x.css"
    rv = app.test_client().get("/s/x.css")
    assert (rv.status_code, rv.mimetype) == (200, "text/css")
    rv.close()


def test_send_from_directory_traversal(file_app):
    with file_app.test_request_context():
        with pytest.raises(NotFound):
            send_from_directory(file_app.static_folder, "../secret.txt")
        rv = send_from_directory(file_app.static_folder, "hello.txt")
        rv.direct_passthrough = False
        assert rv.get_data() == b"hello static"
        rv.close()


def test_send_file_path_and_file_object(file_app):
    with file_app.test_request_context():
        # A relative path is relative to the app's root path.
        rv = send_file("secret.txt", as_attachment=True)
        rv.direct_passthrough = False
        assert rv.get_data() == b"top secret"
        assert rv.headers["Content-Disposition"] == "attachment; filename=secret.txt"
        assert isinstance(rv, file_app.response_class)
        rv.close()

        rv = send_file(io.BytesIO(b"in memory"), download_name="data.json")
        rv.direct_passthrough = False
        assert rv.mimetype == "application/json"
        assert rv.get_data() == b"in memory"
        rv.close()

        with pytest.raises(TypeError):
            send_file(io.BytesIO(b"no name"))


def test_send_file_conditional(file_app):
    file_app.get("/", endpoint="root")(lambda: send_file("secret.txt"))
    client = file_app.test_client()
    rv = client.get("/")
    etag = rv.headers["ETag"]
    rv.close()
    rv = client.get("/", headers={"If-None-Match": etag})
    assert rv.status_code == 304
    assert rv.data == b""
    rv.close()


# --- redirect and abort -----------------------------------------------------------


def test_redirect_helper(app):
    with app.app_context():
        rv = redirect("/target")
        assert isinstance(rv, app.response_class)
        assert (rv.status_code, rv.headers["Location"]) == (302, "/target")
        assert redirect("/moved", 301).status_code == 301
    rv = redirect("/outside", code=307)
    assert not isinstance(rv, hermetic.Response)
    assert (rv.status_code, rv.headers["Location"]) == (307, "/outside")


def test_redirect_uses_app_redirect():
    class MyApp(hermetic.Flask):
        def redirect(self, location, code=302):
            return super().redirect(f"/prefixed{location}", code)

    custom = MyApp("custom")
    with custom.app_context():
        assert redirect("/x").headers["Location"] == "/prefixed/x"


def test_abort_helper(app, client):
    app.get("/code", endpoint="code")(lambda: abort(418))
    app.get("/described", endpoint="described")(lambda: abort(403, description="no entry here"))
    app.get("/response", endpoint="response")(lambda: abort(make_response("exact body", 429)))

    assert client.get("/code").status_code == 418
    rv = client.get("/described")
    assert rv.status_code == 403
    assert b"no entry here" in rv.data
    rv = client.get("/response")
    assert (rv.status_code, rv.data) == (429, b"exact body")


def test_abort_outside_app_context():
    with pytest.raises(Forbidden):
        abort(403)
    with pytest.raises(LookupError):
        abort(999)


def test_abort_uses_app_aborter(app):
    class Teapot(HTTPException):
        code = 599
        description = "custom"

    app.aborter.mapping[599] = Teapot
    with app.app_context():
        with pytest.raises(Teapot):
            abort(599)


# --- run ----------------------------------------------------------------------------


@pytest.fixture
def run_calls(monkeypatch):
    calls = []

    def fake_run_simple(host, port, application, **options):
        calls.append((host, port, application, options))

    monkeypatch.setattr(werkzeug.serving, "run_simple", fake_run_simple)
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.delenv("HERMETIC_DEBUG", raising=False)
    return calls


def test_run_defaults(app, run_calls):
    app.run(load_dotenv=False)
    ((host, port, application, options),) = run_calls
    assert (host, port, application) == ("127.0.0.1", 5000, app)
    assert options == {"use_reloader": False, "use_debugger": False, "threaded": True}


@pytest.mark.parametrize(
    ("server_name", "kwargs", "expected"),
    [
        ("example.test:8080", {}, ("example.test", 8080)),
        ("example.test", {}, ("example.test", 5000)),
        ("example.test:8080", {"host": "0.0.0.0", "port": 9000}, ("0.0.0.0", 9000)),
        (None, {"port": "7000"}, ("127.0.0.1", 7000)),
        (None, {"port": 0}, ("127.0.0.1", 0)),
        ("example.test:8080", {"port": 0}, ("example.test", 0)),
    ],
)
def test_run_host_and_port(app, run_calls, server_name, kwargs, expected):
    app.config["SERVER_NAME"] = server_name
    app.run(load_dotenv=False, **kwargs)
    assert run_calls[0][:2] == expected


def test_run_debug_and_options(app, run_calls):
    app.run(debug=True, load_dotenv=False, use_reloader=False, threaded=False, extra=1)
    options = run_calls[0][3]
    assert app.debug is True
    assert options == {
        "use_reloader": False,
        "use_debugger": True,
        "threaded": False,
        "extra": 1,
    }


def test_run_resets_first_request_flag(app, run_calls):
    app._got_first_request = True
    app.run(load_dotenv=False)
    assert app._got_first_request is False


def test_run_from_cli_is_ignored(app, run_calls, monkeypatch, capsys):
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")
    app.run()
    assert run_calls == []
    out, err = capsys.readouterr()
    assert "Ignoring a call to 'app.run()'" in out + err
