"""Templating: rendering, escaping, loaders, context, streaming and signals."""

from __future__ import annotations

import pytest
from jinja2 import DictLoader, TemplateNotFound, TemplatesNotFound
from markupsafe import Markup

import hermetic
from hermetic import templating


@pytest.fixture
def root(tmp_path):
    """Lay out an app root with a template folder and a blueprint's folder."""
    tpl = tmp_path / "templates"
    tpl.mkdir()
    (tpl / "page.html").write_text("{{ text }}|{{ html }}")
    (tpl / "page.txt").write_text("{{ text }}|{{ html }}")
    (tpl / "shared.html").write_text("from app")
    (tpl / "ctx.html").write_text("{{ value }}|{{ injected }}")
    (tpl / "signal.html").write_text("<h1>{{ whiskey }}</h1>")
    (tpl / "script.html").write_text("<script>const d = {{ data|tojson }};</script>")
    (tpl / "stream.html").write_text("{% for i in items %}{{ i }}{% endfor %}:{{ request.args.q }}")
    bp = tmp_path / "bp_templates"
    bp.mkdir()
    (bp / "shared.html").write_text("from blueprint")
    (bp / "only_bp.html").write_text("blueprint {{ bp_value }}")
    return tmp_path


@pytest.fixture
def app(root):
    # Local: root_path is the temporary template folder of the test.
    app = hermetic.Flask("templating_test", root_path=str(root))
    app.config.update(TESTING=True, SECRET_KEY="test key")
    return app


@pytest.fixture
def bp(root):
    return hermetic.Blueprint("bp", __name__, template_folder=str(root / "bp_templates"))


def test_html_autoescapes_and_markup_passes(app):
    with app.app_context():
        rv = hermetic.render_template("page.html", text="<b>", html=Markup("<i>"))
    assert rv == "&lt;b&gt;|<i>"


def test_txt_does_not_autoescape(app):
    with app.app_context():
        rv = hermetic.render_template("page.txt", text="<b>", html=Markup("<i>"))
    assert rv == "<b>|<i>"


def test_string_template_autoescapes(app):
    with app.app_context():
        assert hermetic.render_template_string("{{ v }}", v="<x>") == "&lt;x&gt;"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.html", True),
        ("a.htm", True),
        ("a.xml", True),
        ("a.xhtml", True),
        ("a.svg", True),
        ("a.txt", False),
        (None, True),
    ],
)
def test_select_jinja_autoescape(app, name, expected):
    assert app.select_jinja_autoescape(name) is expected


def test_tojson_escapes_script_end(app):
    with app.app_context():
        rv = hermetic.render_template("script.html", data={"s": "</script>&'"})
    assert "</script>&" not in rv.split("const d =")[1].split(";")[0]
    assert rv == ('<script>const d = {"s": "\\u003c/script\\u003e\\u0026\\u0027"};</script>')


def test_tojson_uses_app_json_provider(app):
    import datetime

    with app.app_context():
        rv = hermetic.render_template_string(
            "{{ d|tojson }}", d=datetime.datetime(2021, 2, 1, 7, 15)
        )
    assert rv == '"Mon, 01 Feb 2021 07:15:00 GMT"'


def test_missing_template_names_it(app):
    with app.app_context():
        with pytest.raises(TemplateNotFound) as exc:
            hermetic.render_template("nope.html")
    assert "nope.html" in str(exc.value)


def test_missing_templates_from_list_names_them(app):
    with app.app_context():
        with pytest.raises(TemplatesNotFound) as exc:
            hermetic.render_template(["a.html", "b.html"])
    assert "a.html" in str(exc.value) and "b.html" in str(exc.value)


def test_list_picks_first_existing(app):
    with app.app_context():
        assert hermetic.render_template(["nope.html", "shared.html"]) == "from app"


def test_render_outside_app_context_fails():
    with pytest.raises(RuntimeError, match="application context"):
        hermetic.render_template_string("x")


def test_filters_tests_and_globals(app):
    @app.template_filter()
    def rev(s):
        return s[::-1]

    @app.template_test("short")
    def is_short(s):
        return len(s) < 3

    @app.template_global()
    def answer():
        return 42

    app.add_template_filter(str.upper, "up")
    assert app.jinja_env.filters["rev"] is rev
    assert app.jinja_env.tests["short"] is is_short
    assert app.jinja_env.globals["answer"] is answer
    with app.app_context():
        rv = hermetic.render_template_string(
            "{{ 'abc'|rev|up }} {{ 'ab' is short }} {{ answer() }}"
        )
    assert rv == "CBA True 42"


def test_blueprint_filters_reach_app(app, bp):
    @bp.app_template_filter("twice")
    def twice(s):
        return s * 2

    app.register_blueprint(bp)
    with app.app_context():
        assert hermetic.render_template_string("{{ 'x'|twice }}") == "xx"


def test_standard_globals(app):
    @app.route("/")
    def index():
        hermetic.g.who = "g"
        hermetic.session["s"] = "sess"
        return hermetic.render_template_string(
            "{{ request.args.q }} {{ g.who }} {{ config.TESTING }} {{ session.s }}"
            " {{ url_for('index') }} {{ get_flashed_messages() }}"
        )

    assert app.test_client().get("/?q=1").data == b"1 g True sess / []"


def test_default_context_processor_without_request(app):
    with app.app_context():
        ctx = templating._default_template_ctx_processor()
        assert set(ctx) == {"g"}
        assert ctx["g"] is hermetic.g._get_current_object()
        # The globals still resolve lazily; request is simply unavailable.
        assert hermetic.render_template_string("{{ g is defined }}") == "True"
    with app.test_request_context():
        assert set(templating._default_template_ctx_processor()) == {"g", "request", "session"}


def test_context_processors_and_caller_wins(app):
    @app.context_processor
    def inject():
        return {"injected": 42, "value": "processor"}

    with app.app_context():
        assert hermetic.render_template("ctx.html", value=23) == "23|42"
        assert hermetic.render_template_string("{{ config }}", config=1) == "1"


def test_blueprint_context_processor_only_for_its_requests(app, bp):
    @bp.context_processor
    def inject():
        return {"bp_value": "yes"}

    @bp.route("/in")
    def inside():
        return hermetic.render_template("only_bp.html")

    app.register_blueprint(bp)

    @app.route("/out")
    def outside():
        return hermetic.render_template("only_bp.html")

    client = app.test_client()
    assert client.get("/in").data == b"blueprint yes"
    assert client.get("/out").data == b"blueprint "


def test_blueprint_template_folder_and_app_precedence(app, bp):
    app.register_blueprint(bp)
    with app.app_context():
        assert hermetic.render_template("only_bp.html", bp_value=1) == "blueprint 1"
        # The app's folder is searched before any blueprint's.
        assert hermetic.render_template("shared.html") == "from app"
    names = app.jinja_env.list_templates()
    assert "only_bp.html" in names and "page.html" in names
    assert names.count("shared.html") == 1


def test_loader_without_app_folder(root):
    app = hermetic.Flask("no_tpl", root_path=str(root), template_folder=None)
    assert app.jinja_loader is None
    bp = hermetic.Blueprint("bp", __name__, template_folder=str(root / "bp_templates"))
    app.register_blueprint(bp)
    with app.app_context():
        assert hermetic.render_template("shared.html") == "from blueprint"


def test_explain_template_loading(app, bp, monkeypatch):
    import hermetic.debughelpers as debughelpers

    calls = []
    monkeypatch.setattr(
        debughelpers,
        "explain_template_loading_attempts",
        lambda app, template, attempts: calls.append((app, template, attempts)),
    )
    app.register_blueprint(bp)
    app.config["EXPLAIN_TEMPLATE_LOADING"] = True
    with app.app_context():
        assert hermetic.render_template("shared.html") == "from app"
        with pytest.raises(TemplateNotFound):
            hermetic.render_template("nowhere.html")
    (a1, t1, found), (_, t2, missing) = calls
    assert a1 is app and t1 == "shared.html" and t2 == "nowhere.html"
    # Every loader is tried and reported, hit or miss.
    assert [owner for _, owner, _ in found] == [app, app.blueprints["bp"]]
    assert found[0][2] is not None and found[1][2] is not None
    assert [rv for _, _, rv in missing] == [None, None]


def test_stream_template_keeps_request(app):
    @app.route("/")
    def index():
        return hermetic.stream_template("stream.html", items=[1, 2, 3])

    @app.route("/s")
    def string():
        return hermetic.Response(
            hermetic.stream_template_string("{{ request.path }}{{ x }}", x="<>")
        )

    client = app.test_client()
    assert client.get("/?q=z").data == b"123:z"
    assert client.get("/s").data == b"/s&lt;&gt;"


def test_stream_without_request_is_plain_iterator(app):
    with app.app_context():
        rv = hermetic.stream_template_string("{% for i in range(3) %}{{ i }}{% endfor %}")
        assert "".join(rv) == "012"


def test_render_signals(app):
    seen = []

    def before(sender, template, context):
        context["whiskey"] = 43
        seen.append(("before", sender, template.name))

    def after(sender, template, context):
        seen.append(("after", sender, context["whiskey"]))

    with (
        hermetic.before_render_template.connected_to(before, app),
        hermetic.template_rendered.connected_to(after, app),
    ):
        with app.app_context():
            rv = hermetic.render_template("signal.html", whiskey=42)
    assert rv == "<h1>43</h1>"
    assert seen == [("before", app, "signal.html"), ("after", app, 43)]


def test_stream_sends_rendered_after_consumption(app):
    seen = []

    def after(sender, template, context):
        seen.append(context["x"])

    with hermetic.template_rendered.connected_to(after, app):
        with app.app_context():
            rv = hermetic.stream_template_string("{{ x }}", x=1)
            assert seen == []
            assert list(rv) == ["1"]
    assert seen == [1]


@pytest.mark.parametrize(
    ("debug", "setting", "expected"),
    [(False, None, False), (True, None, True), (True, False, False), (False, True, True)],
)
def test_templates_auto_reload(app, debug, setting, expected):
    app.config["DEBUG"] = debug
    app.config["TEMPLATES_AUTO_RELOAD"] = setting
    assert app.jinja_env.auto_reload is expected


def test_jinja_options_and_custom_environment(root):
    class CustomEnv(templating.Environment):
        pass

    class App(hermetic.Flask):
        jinja_environment = CustomEnv
        jinja_options = {"autoescape": False, "trim_blocks": True}

    app = App("custom", root_path=str(root))
    assert isinstance(app.jinja_env, CustomEnv)
    assert app.jinja_env.app is app
    assert app.jinja_env.trim_blocks is True
    with app.app_context():
        assert hermetic.render_template_string("{{ v }}", v="<x>") == "<x>"


def test_custom_global_loader():
    class App(hermetic.Flask):
        def create_global_jinja_loader(self):
            return DictLoader({"index.html": "custom"})

    app = App("custom_loader")
    with app.app_context():
        assert hermetic.render_template("index.html") == "custom"


def test_environment_keeps_given_loader(app):
    env = templating.Environment(app, loader=DictLoader({"a": "b"}))
    assert env.get_template("a").render() == "b"
    assert isinstance(templating.Environment(app).loader, templating.DispatchingJinjaLoader)


# --- the render path: no work a template does not need -----------------------------


@pytest.fixture
def counted_sessions(app):
    """Record each session opening of ``app`` (a lazy interface, like the default)."""
    from hermetic.sessions import SecureCookieSessionInterface

    opened = []

    class Interface(SecureCookieSessionInterface):
        open_lazily = True

        def open_session(self, app, request):
            opened.append(request.path)
            return super().open_session(app, request)

    app.session_interface = Interface()
    return opened


def test_rendering_does_not_open_an_unused_session(app, counted_sessions):
    app.get("/plain", endpoint="plain")(
        lambda: hermetic.render_template_string("{{ request.path }}")
    )
    app.get("/uses", endpoint="uses")(
        lambda: hermetic.render_template_string("{{ session.get('x', 'none') }}")
    )
    client = app.test_client()
    client.set_cookie("session", "anything")
    assert client.get("/plain").data == b"/plain"
    assert counted_sessions == []
    assert client.get("/uses").data == b"none"
    assert counted_sessions == ["/uses"]


def test_context_holds_the_session_itself_once_opened(app, counted_sessions):
    from werkzeug.local import LocalProxy

    seen = []

    def before(sender, template, context):
        seen.append((type(context["session"]), context["session"].get("a")))

    @app.get("/")
    def index():
        if hermetic.request.args.get("open"):
            hermetic.session["a"] = 1
        return hermetic.render_template_string("{{ session.get('a') }}")

    with hermetic.before_render_template.connected_to(before, app):
        client = app.test_client()
        assert client.get("/?open=1").data == b"1"
        assert client.get("/").data == b"1"
    assert seen[0][0] is not LocalProxy and seen[0][1] == 1
    # Not opened before rendering: the proxy, which opens it on first read.
    assert seen[1] == (LocalProxy, 1)


def test_overridden_update_template_context_is_called(root):
    class App(hermetic.Flask):
        def update_template_context(self, context):
            super().update_template_context(context)
            context["extra"] = "sub"

    app = App("templating_test", root_path=str(root))
    with app.test_request_context("/p"):
        assert hermetic.render_template_string("{{ extra }}|{{ request.path }}") == "sub|/p"
        assert hermetic.render_template("ctx.html", value=1) == "1|"


def test_update_template_context_set_on_the_app_is_called(app):
    def update(context):
        context["extra"] = "instance"

    app.context_processor(lambda: {"from_processor": "yes"})
    app.update_template_context = update
    with app.test_request_context():
        assert hermetic.render_template_string("{{ extra }}|{{ from_processor }}") == "instance|"


def test_update_template_context_matches_the_app_method(app, bp):
    @app.context_processor
    def app_values():
        return {"a": "app", "b": "app", "c": "app"}

    @bp.context_processor
    def bp_values():
        return {"b": "bp", "c": "bp"}

    @bp.get("/in")
    def inside():
        direct = {"c": "caller"}
        app.update_template_context(direct)
        fast = {"c": "caller"}
        templating.update_template_context(app, fast)
        assert fast == direct
        return f"{fast['a']} {fast['b']} {fast['c']}"

    app.register_blueprint(bp)
    assert app.test_client().get("/in").data == b"app bp caller"


def test_render_signals_connected_after_a_render(app):
    seen = []
    with app.app_context():
        assert hermetic.render_template("signal.html", whiskey=1) == "<h1>1</h1>"
        with (
            hermetic.before_render_template.connected_to(lambda s, **kw: seen.append("b"), app),
            hermetic.template_rendered.connected_to(lambda s, **kw: seen.append("a"), app),
        ):
            hermetic.render_template("signal.html", whiskey=2)
    assert seen == ["b", "a"]


async def _async_processor():
    return {"from_async": "yes"}


def test_async_context_processor(app):
    pytest.importorskip("asgiref")
    app.context_processor(_async_processor)
    with app.test_request_context():
        assert hermetic.render_template_string("{{ from_async }}") == "yes"


CALLER_CONTEXTS = [
    {},
    {"x": 1},
    {"g": "caller g", "x": 1},
    {"session": "caller session", "request": "caller request"},
    {"x": 1, "request": None, "g": None, "session": None, "y": 2},
]


@pytest.mark.parametrize("given", CALLER_CONTEXTS)
@pytest.mark.parametrize("where", ["app", "request", "request with session"])
def test_default_processor_shortcut_as_update_template_context(app, given, where):
    """An app with only the default processor: the same keys, order and values."""

    def both():
        shortcut, general = dict(given), dict(given)
        templating._update_context(app, shortcut)
        templating.update_template_context(app, general)
        assert list(shortcut.items()) == list(general.items())
        if "g" not in given:
            assert shortcut["g"] is hermetic.g._get_current_object()
        return shortcut

    if where == "app":
        with app.app_context():
            got = both()
            assert "request" not in got or "request" in given
    else:
        with app.test_request_context():
            if where == "request with session":
                hermetic.session["k"] = "v"
            got = both()
            if "session" not in given:
                opened = where == "request with session"
                assert (got["session"] is not hermetic.session) is opened


def test_other_processors_take_the_general_path(app, monkeypatch):
    calls = []
    monkeypatch.setattr(templating, "update_template_context", lambda a, c: calls.append(c))
    with app.app_context():
        templating._update_context(app, {})
        assert calls == []
        app.context_processor(lambda: {"extra": 1})
        templating._update_context(app, {})
        assert calls == [{}]


def test_render_template_uses_the_environment_jinja_env_gives(app):
    app.jinja_loader = DictLoader({"t.html": "{{ 1 + 1 }}"})
    with app.app_context():
        assert "jinja_env" not in app.__dict__  # made on the first render
        assert hermetic.render_template("t.html") == "2"
        first = app.__dict__["jinja_env"]
        assert first is app.jinja_env
        del app.jinja_env  # the cached property forgets it: a new one is made
        assert hermetic.render_template("t.html") == "2"
        assert app.__dict__["jinja_env"] is not first


def test_render_template_with_jinja_env_overridden_by_a_property(root):
    from jinja2 import Environment

    made = []

    class App(hermetic.Flask):
        @property
        def jinja_env(self):
            env = Environment(loader=DictLoader({"t.html": "own {{ x }}"}))
            made.append(env)
            return env

    app = App("templating_test", root_path=str(root))
    with app.app_context():
        assert hermetic.render_template("t.html", x=1) == "own 1"
        assert hermetic.render_template("t.html", x=2) == "own 2"
    assert len(made) == 2
