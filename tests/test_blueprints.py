"""Blueprints: prefixes, names, nesting, hooks, handlers, files and commands."""

from __future__ import annotations

import os

import click
import pytest

import hermetic
from hermetic import Blueprint, request, url_for


@pytest.mark.parametrize(
    ("prefix", "rule", "expected"),
    [
        ("/bp", "/page", "/bp/page"),
        ("/bp/", "/page", "/bp/page"),
        ("/bp/", "page", "/bp/page"),
        ("/bp", "page", "/bp/page"),
        ("/bp", "", "/bp"),
        ("/bp/", "/", "/bp/"),
        ("/bp", "/", "/bp/"),
    ],
)
def test_url_prefix_joins_with_one_slash(app, client, prefix, rule, expected):
    bp = Blueprint("bp", __name__, url_prefix=prefix)
    bp.add_url_rule(rule, "page", lambda: "page")
    app.register_blueprint(bp)

    assert client.get(expected).data == b"page"
    with app.test_request_context():
        assert url_for("bp.page") == expected


def test_register_url_prefix_overrides_blueprint_prefix(app, client):
    bp = Blueprint("bp", __name__, url_prefix="/old")
    bp.add_url_rule("/x", "x", lambda: "x")
    app.register_blueprint(bp, url_prefix="/new")

    assert client.get("/new/x").data == b"x"
    assert client.get("/old/x").status_code == 404


def test_subdomain_from_blueprint_and_from_registration(app, client):
    app.subdomain_matching = True
    app.config["SERVER_NAME"] = "example.test"
    api = Blueprint("api", __name__, subdomain="api")
    api.add_url_rule("/", "index", lambda: "api index")
    admin = Blueprint("admin", __name__)
    admin.add_url_rule("/", "index", lambda: "admin index")
    app.register_blueprint(api)
    app.register_blueprint(admin, subdomain="admin")

    assert client.get("/", "http://api.example.test/").data == b"api index"
    assert client.get("/", "http://admin.example.test/").data == b"admin index"
    assert client.get("/", "http://example.test/").status_code == 404
    with app.app_context():
        assert url_for("api.index") == "http://api.example.test/"
        assert url_for("admin.index") == "http://admin.example.test/"


def test_nested_blueprints_join_names_and_prefixes(app, client):
    parent = Blueprint("parent", __name__, url_prefix="/parent")
    child = Blueprint("child", __name__, url_prefix="/child/")
    grandchild = Blueprint("grandchild", __name__, url_prefix="grandchild")

    @grandchild.route("/")
    def index():
        return f"{request.endpoint} {request.blueprint} {request.blueprints}"

    child.register_blueprint(grandchild)
    parent.register_blueprint(child)
    app.register_blueprint(parent)

    rv = client.get("/parent/child/grandchild/")
    assert rv.data == (
        b"parent.child.grandchild.index parent.child.grandchild"
        b" ['parent.child.grandchild', 'parent.child', 'parent']"
    )
    assert set(app.blueprints) == {"parent", "parent.child", "parent.child.grandchild"}
    with app.test_request_context():
        assert url_for("parent.child.grandchild.index") == "/parent/child/grandchild/"


def test_nested_blueprint_registration_prefix_overrides_child_prefix(app, client):
    parent = Blueprint("parent", __name__, url_prefix="/p")
    child = Blueprint("child", __name__, url_prefix="/ignored")
    child.add_url_rule("/x", "x", lambda: "x")
    parent.register_blueprint(child, url_prefix="/c")
    app.register_blueprint(parent)

    assert client.get("/p/c/x").data == b"x"
    assert client.get("/p/ignored/x").status_code == 404


def test_nested_blueprint_subdomains_are_merged(app, client):
    app.subdomain_matching = True
    app.config["SERVER_NAME"] = "example.test"
    parent = Blueprint("parent", __name__, subdomain="parent")
    child = Blueprint("child", __name__, subdomain="child")
    plain = Blueprint("plain", __name__)
    child.add_url_rule("/child", "index", lambda: "child")
    plain.add_url_rule("/plain", "index", lambda: "plain")
    parent.register_blueprint(child)
    parent.register_blueprint(plain)
    app.register_blueprint(parent)

    assert client.get("/child", "http://child.parent.example.test/").data == b"child"
    # A child without its own subdomain inherits the parent's.
    assert client.get("/plain", "http://parent.example.test/").data == b"plain"
    assert client.get("/plain", "http://example.test/").status_code == 404
    with app.app_context():
        assert url_for("parent.child.index") == "http://child.parent.example.test/child"


def test_register_twice_with_different_names(app, client):
    bp = Blueprint("bp", __name__)

    @bp.route("/")
    def index():
        return request.blueprint

    app.register_blueprint(bp, url_prefix="/one")
    app.register_blueprint(bp, url_prefix="/two", name="alt")

    assert client.get("/one/").data == b"bp"
    assert client.get("/two/").data == b"alt"
    assert app.blueprints == {"bp": bp, "alt": bp}
    with app.test_request_context():
        assert url_for("alt.index") == "/two/"


def test_register_same_blueprint_twice_same_name_is_an_error(app):
    bp = Blueprint("bp", __name__)
    app.register_blueprint(bp)

    with pytest.raises(ValueError) as exc_info:
        app.register_blueprint(bp)
    message = str(exc_info.value)
    assert "The name 'bp' is already registered for this blueprint." in message
    assert "Use 'name=' to provide a unique name." in message


def test_different_blueprint_with_same_name_is_an_error(app):
    app.register_blueprint(Blueprint("bp", __name__))

    with pytest.raises(ValueError, match="already registered for a different blueprint"):
        app.register_blueprint(Blueprint("bp", __name__))


def test_nested_duplicate_name_reports_the_full_dotted_name(app):
    parent = Blueprint("parent", __name__)
    child = Blueprint("child", __name__)
    parent.register_blueprint(child)
    parent.register_blueprint(child)

    with pytest.raises(
        ValueError,
        match=r"The name 'child' is already registered for this blueprint 'parent\.child'",
    ):
        app.register_blueprint(parent)


@pytest.mark.parametrize("name", ["a.b", ".a", "a."])
def test_names_with_dots_are_rejected(name):
    with pytest.raises(ValueError, match="'name' may not contain a dot"):
        Blueprint(name, __name__)


def test_empty_name_is_rejected():
    with pytest.raises(ValueError, match="'name' may not be empty"):
        Blueprint("", __name__)


def test_endpoint_and_view_names_with_dots_are_rejected():
    bp = Blueprint("bp", __name__)

    with pytest.raises(ValueError, match="'endpoint' may not contain a dot"):
        bp.add_url_rule("/", "a.b", lambda: "")

    def view():
        return ""

    view.__name__ = "a.b"
    with pytest.raises(ValueError, match="'view_func' name may not contain a dot"):
        bp.add_url_rule("/", view_func=view)


def test_blueprint_cannot_be_registered_on_itself():
    bp = Blueprint("bp", __name__)
    with pytest.raises(ValueError, match="Cannot register a blueprint on itself"):
        bp.register_blueprint(bp)


def test_blueprint_static_folder(app, client, tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "style.css").write_text("body {}")
    bp = Blueprint(
        "bp", __name__, root_path=str(tmp_path), static_folder="assets", url_prefix="/bp"
    )
    app.register_blueprint(bp)

    rv = client.get("/bp/assets/style.css")
    assert rv.status_code == 200
    assert rv.data == b"body {}"
    assert rv.mimetype == "text/css"
    rv.close()
    assert client.get("/bp/assets/missing.css").status_code == 404
    with app.test_request_context():
        assert url_for("bp.static", filename="style.css") == "/bp/assets/style.css"


def test_blueprint_static_url_path(app, client, tmp_path):
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "a.txt").write_text("A")
    bp = Blueprint(
        "bp",
        __name__,
        root_path=str(tmp_path),
        static_folder="static",
        static_url_path="/files",
        url_prefix="/bp",
    )
    app.register_blueprint(bp)

    rv = client.get("/bp/files/a.txt")
    assert rv.data == b"A"
    rv.close()


def test_blueprint_without_static_folder_has_no_static_route(app):
    bp = Blueprint("bp", __name__)
    app.register_blueprint(bp)
    assert "bp.static" not in app.view_functions
    assert not bp.has_static_folder
    with pytest.raises(RuntimeError, match="'static_folder' must be set"):
        bp.send_static_file("x")


def test_blueprint_template_folder(app, client, tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "bp_only.html").write_text("from bp: {{ value }}")
    bp = Blueprint("bp", __name__, root_path=str(tmp_path), template_folder="templates")

    @bp.route("/")
    def index():
        return hermetic.render_template("bp_only.html", value=42)

    app.register_blueprint(bp)
    assert client.get("/").data == b"from bp: 42"


def test_app_templates_take_precedence_over_blueprint_templates(tmp_path):
    (tmp_path / "app" / "templates").mkdir(parents=True)
    (tmp_path / "app" / "templates" / "page.html").write_text("app")
    (tmp_path / "bp" / "templates").mkdir(parents=True)
    (tmp_path / "bp" / "templates" / "page.html").write_text("blueprint")
    app = hermetic.Flask("app", root_path=str(tmp_path / "app"))
    bp = Blueprint("bp", __name__, root_path=str(tmp_path / "bp"), template_folder="templates")

    @bp.route("/")
    def index():
        return hermetic.render_template("page.html")

    app.register_blueprint(bp)
    assert app.test_client().get("/").data == b"app"


def test_blueprint_request_hooks_are_scoped(app, client):
    calls = []
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.before_request
    def bp_before():
        calls.append("bp before")

    @bp.after_request
    def bp_after(response):
        calls.append("bp after")
        return response

    @bp.teardown_request
    def bp_teardown(exc):
        calls.append("bp teardown")

    @bp.route("/")
    def bp_index():
        return "bp"

    @app.route("/")
    def app_index():
        return "app"

    app.register_blueprint(bp)

    client.get("/")
    assert calls == []
    client.get("/bp/")
    assert calls == ["bp before", "bp after", "bp teardown"]


def test_blueprint_app_wide_hooks_apply_to_every_request(app, client):
    calls = []
    bp = Blueprint("bp", __name__)

    @bp.before_app_request
    def before():
        calls.append("before")

    @bp.after_app_request
    def after(response):
        calls.append("after")
        response.headers["X-Hooked"] = "yes"
        return response

    @bp.teardown_app_request
    def teardown(exc):
        calls.append("teardown")

    @bp.app_context_processor
    def inject():
        return {"injected": "value"}

    @app.route("/")
    def index():
        return hermetic.render_template_string("{{ injected }}")

    app.register_blueprint(bp)

    rv = client.get("/")
    assert rv.data == b"value"
    assert rv.headers["X-Hooked"] == "yes"
    assert calls == ["before", "after", "teardown"]


def test_blueprint_before_request_response_short_circuits_only_its_views(app, client):
    bp = Blueprint("bp", __name__, url_prefix="/bp")
    bp.before_request(lambda: "blocked")
    bp.add_url_rule("/", "index", lambda: "view")
    app.add_url_rule("/", "index", lambda: "app view")
    app.register_blueprint(bp)

    assert client.get("/bp/").data == b"blocked"
    assert client.get("/").data == b"app view"


def test_blueprint_context_processor_is_scoped(app, client):
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.context_processor
    def inject():
        return {"who": "bp"}

    template = "{{ who | default('nobody') }}"
    bp.add_url_rule("/", "index", lambda: hermetic.render_template_string(template))
    app.add_url_rule("/", "index", lambda: hermetic.render_template_string(template))
    app.register_blueprint(bp)

    assert client.get("/bp/").data == b"bp"
    assert client.get("/").data == b"nobody"


def test_blueprint_error_handler_takes_precedence_over_app_handler(app, client):
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.errorhandler(KeyError)
    def bp_key_error(e):
        return "bp handled", 400

    @app.errorhandler(KeyError)
    def app_key_error(e):
        return "app handled", 400

    @bp.route("/")
    def bp_view():
        raise KeyError("x")

    @app.route("/")
    def app_view():
        raise KeyError("x")

    app.register_blueprint(bp)

    assert client.get("/bp/").data == b"bp handled"
    assert client.get("/").data == b"app handled"


def test_blueprint_http_error_handler_precedence(app, client):
    bp = Blueprint("bp", __name__, url_prefix="/bp")
    bp.register_error_handler(403, lambda e: ("bp forbidden", 403))
    app.register_error_handler(403, lambda e: ("app forbidden", 403))
    bp.add_url_rule("/", "index", lambda: hermetic.abort(403))
    app.add_url_rule("/", "index", lambda: hermetic.abort(403))
    app.register_blueprint(bp)

    assert client.get("/bp/").data == b"bp forbidden"
    assert client.get("/").data == b"app forbidden"


def test_nested_blueprint_error_handler_falls_back_to_parent(app, client):
    parent = Blueprint("parent", __name__, url_prefix="/parent")
    child = Blueprint("child", __name__, url_prefix="/child")

    @parent.errorhandler(ValueError)
    def parent_handler(e):
        return "parent handled"

    @child.route("/")
    def child_view():
        raise ValueError

    parent.register_blueprint(child)
    app.register_blueprint(parent)

    assert client.get("/parent/child/").data == b"parent handled"


def test_blueprint_404_handler_does_not_catch_unmatched_urls(app, client):
    bp = Blueprint("bp", __name__, url_prefix="/bp")
    bp.register_error_handler(404, lambda e: ("bp 404", 404))
    bp.add_url_rule("/", "index", lambda: "index")
    app.register_blueprint(bp)

    # Routing failed, so no blueprint is known for the request.
    rv = client.get("/bp/missing")
    assert rv.status_code == 404
    assert rv.data != b"bp 404"


def test_app_errorhandler_applies_app_wide(app, client):
    bp = Blueprint("bp", __name__)

    @bp.app_errorhandler(404)
    def not_found(e):
        return "app wide 404", 404

    @bp.app_errorhandler(ZeroDivisionError)
    def zero(e):
        return "division", 500

    app.add_url_rule("/div", "div", lambda: 1 // 0)
    app.register_blueprint(bp)

    rv = client.get("/nowhere")
    assert (rv.status_code, rv.data) == (404, b"app wide 404")
    assert client.get("/div").data == b"division"


def test_blueprint_url_defaults_and_value_preprocessor(app, client):
    bp = Blueprint("bp", __name__, url_prefix="/<lang>")

    @bp.url_defaults
    def add_lang(endpoint, values):
        values.setdefault("lang", hermetic.g.lang)

    @bp.url_value_preprocessor
    def pull_lang(endpoint, values):
        hermetic.g.lang = values.pop("lang")

    @bp.route("/page")
    def page():
        return f"{hermetic.g.lang} {url_for('.page')}"

    app.register_blueprint(bp)

    assert client.get("/fr/page").data == b"fr /fr/page"


def test_blueprint_url_defaults_do_not_apply_to_other_endpoints(app):
    bp = Blueprint("bp", __name__)
    seen = []
    bp.url_defaults(lambda endpoint, values: seen.append(endpoint))
    bp.add_url_rule("/b", "b", lambda: "")
    app.add_url_rule("/a", "a", lambda: "")
    app.register_blueprint(bp)

    with app.test_request_context():
        url_for("a")
        url_for("bp.b")
    assert seen == ["bp.b"]


def test_app_url_value_preprocessor_and_defaults(app, client):
    bp = Blueprint("bp", __name__)

    @bp.app_url_value_preprocessor
    def pre(endpoint, values):
        if values is not None and "v" in values:
            values["v"] = values["v"].upper()

    @bp.app_url_defaults
    def defaults(endpoint, values):
        values.setdefault("v", "dflt")

    @app.route("/v/<v>")
    def show(v):
        return f"{v} {url_for('show')}"

    app.register_blueprint(bp)
    assert client.get("/v/abc").data == b"ABC /v/dflt"


def test_blueprint_url_defaults_argument(app, client):
    bp = Blueprint("bp", __name__, url_defaults={"page": 1})

    @bp.route("/list")
    def listing(page):
        return str(page)

    app.register_blueprint(bp, url_prefix="/one")
    app.register_blueprint(bp, url_prefix="/two", name="two", url_defaults={"page": 2})

    assert client.get("/one/list").data == b"1"
    assert client.get("/two/list").data == b"2"


def test_dot_endpoint_resolves_inside_blueprint(app, client):
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.route("/")
    def index():
        return url_for(".other")

    @bp.route("/other")
    def other():
        return "other"

    @app.route("/other")
    def app_other():
        return url_for(".app_other")

    app.register_blueprint(bp)

    assert client.get("/bp/").data == b"/bp/other"
    # Outside a blueprint, ".name" is the app-level endpoint "name".
    assert client.get("/other").data == b"/other"


def test_dot_endpoint_in_nested_blueprint(app, client):
    parent = Blueprint("parent", __name__, url_prefix="/p")
    child = Blueprint("child", __name__, url_prefix="/c")
    child.add_url_rule("/", "index", lambda: url_for(".second"))
    child.add_url_rule("/2", "second", lambda: "")
    parent.register_blueprint(child)
    app.register_blueprint(parent)

    assert client.get("/p/c/").data == b"/p/c/2"


def test_blueprint_app_template_filter_test_and_global(app, client):
    bp = Blueprint("bp", __name__)

    @bp.app_template_filter()
    def shout(s):
        return s.upper()

    @bp.app_template_filter("rev")
    def reverse(s):
        return s[::-1]

    @bp.app_template_test("even")
    def is_even(n):
        return n % 2 == 0

    @bp.app_template_global()
    def answer():
        return 42

    app.register_blueprint(bp)

    @app.route("/")
    def index():
        return hermetic.render_template_string(
            "{{ 'a' | shout }} {{ 'ab' | rev }} {{ 4 is even }} {{ answer() }}"
        )

    assert client.get("/").data == b"A ba True 42"


def _cli_blueprint(**kwargs):
    bp = Blueprint("bp", __name__, **kwargs)

    @bp.cli.command("hello")
    def hello():
        click.echo("hello from bp")

    return bp


def test_blueprint_cli_group_defaults_to_blueprint_name(app):
    app.register_blueprint(_cli_blueprint())
    runner = app.test_cli_runner()

    result = runner.invoke(args=["bp", "hello"])
    assert result.exit_code == 0, result.output
    assert result.output == "hello from bp\n"
    assert runner.invoke(args=["hello"]).exit_code != 0


def test_blueprint_cli_group_none_merges_commands_into_app(app):
    app.register_blueprint(_cli_blueprint(cli_group=None))
    runner = app.test_cli_runner()

    result = runner.invoke(args=["hello"])
    assert result.exit_code == 0, result.output
    assert result.output == "hello from bp\n"
    assert runner.invoke(args=["bp", "hello"]).exit_code != 0


def test_blueprint_cli_group_custom_name(app):
    app.register_blueprint(_cli_blueprint(cli_group="custom"))
    runner = app.test_cli_runner()

    result = runner.invoke(args=["custom", "hello"])
    assert result.exit_code == 0, result.output
    assert result.output == "hello from bp\n"


def test_blueprint_cli_group_given_at_registration(app):
    app.register_blueprint(_cli_blueprint(), cli_group="late")
    result = app.test_cli_runner().invoke(args=["late", "hello"])
    assert result.output == "hello from bp\n"


def test_blueprint_without_commands_adds_no_group(app):
    app.register_blueprint(Blueprint("bp", __name__))
    assert "bp" not in app.cli.commands


def test_record_runs_on_every_registration_and_record_once_on_the_first(app):
    bp = Blueprint("bp", __name__)
    every = []
    once = []

    @bp.record
    def on_register(state):
        every.append((state.name, state.url_prefix, state.first_registration, state.app))

    @bp.record_once
    def on_first(state):
        once.append(state.name)

    app.register_blueprint(bp, url_prefix="/a")
    app.register_blueprint(bp, url_prefix="/b", name="b")

    assert every == [("bp", "/a", True, app), ("b", "/b", False, app)]
    assert once == ["bp"]


def test_record_once_runs_again_on_another_app(app):
    bp = Blueprint("bp", __name__)
    apps = []
    bp.record_once(lambda state: apps.append(state.app))
    other = hermetic.Flask("other")

    app.register_blueprint(bp)
    other.register_blueprint(bp)

    assert apps == [app, other]


def test_setup_state_exposes_options_and_blueprint(app):
    bp = Blueprint("bp", __name__, subdomain="sub", url_defaults={"a": 1})
    states = []
    bp.record(states.append)
    app.register_blueprint(bp, url_prefix="/x", url_defaults={"b": 2}, custom="option")

    (state,) = states
    assert state.blueprint is bp
    assert state.subdomain == "sub"
    assert state.url_prefix == "/x"
    assert state.url_defaults == {"a": 1, "b": 2}
    assert state.options["custom"] == "option"


@pytest.mark.parametrize(
    "setup",
    [
        lambda bp: bp.route("/late")(lambda: ""),
        lambda bp: bp.before_request(lambda: None),
        lambda bp: bp.errorhandler(404)(lambda e: ""),
        lambda bp: bp.record(lambda state: None),
        lambda bp: bp.before_app_request(lambda: None),
        lambda bp: bp.register_blueprint(Blueprint("late", __name__)),
    ],
)
def test_setup_after_registration_raises(app, setup):
    bp = Blueprint("bp", __name__)
    app.register_blueprint(bp)

    with pytest.raises(AssertionError) as exc_info:
        setup(bp)
    message = str(exc_info.value)
    assert "can no longer be called on the blueprint 'bp'" in message
    assert "already been registered at least once" in message


def test_blueprint_open_resource(tmp_path):
    (tmp_path / "data.txt").write_text("résumé", encoding="utf-8")
    bp = Blueprint("bp", __name__, root_path=str(tmp_path))

    with bp.open_resource("data.txt") as f:
        assert f.read() == "résumé".encode()
    with bp.open_resource("data.txt", "r") as f:
        assert f.read() == "résumé"
    with pytest.raises(ValueError, match="only be opened for reading"):
        bp.open_resource("data.txt", "w")


def test_blueprint_repr_and_root_path():
    bp = Blueprint("bp", __name__)
    assert repr(bp) == "<Blueprint 'bp'>"
    assert bp.root_path == os.path.dirname(__file__)


@pytest.mark.parametrize("on_blueprint", [False, True])
def test_template_decorators_work_bare_empty_and_named(on_blueprint):
    app = hermetic.Flask(__name__)
    owner = hermetic.Blueprint("bp", __name__) if on_blueprint else app
    prefix = "app_" if on_blueprint else ""
    filter_ = getattr(owner, f"{prefix}template_filter")
    test = getattr(owner, f"{prefix}template_test")
    global_ = getattr(owner, f"{prefix}template_global")

    @filter_
    def shout(s):
        return s.upper()

    @filter_()
    def whisper(s):
        return s.lower()

    @filter_("twice")
    def double(s):
        return s * 2

    @test
    def short(s):
        return len(s) < 3

    @global_("answer")
    def forty_two():
        return 42

    assert shout("x") == "X"  # the decorators return the function itself
    if on_blueprint:
        app.register_blueprint(owner)
    with app.app_context():
        rendered = hermetic.render_template_string(
            "{{ 'a'|shout }}{{ 'B'|whisper }}{{ 'c'|twice }}{{ 'ab' is short }}{{ answer() }}"
        )
    assert rendered == "AbccTrue42"
