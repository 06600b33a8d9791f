"""Helpers used in views: flashing, streaming, responses, files, env flags."""

from __future__ import annotations

import io

import pytest
from markupsafe import Markup
from werkzeug.exceptions import NotFound

import hermetic
from hermetic import (
    flash,
    get_flashed_messages,
    make_response,
    request,
    session,
    stream_with_context,
)
from hermetic.helpers import get_debug_flag, get_load_dotenv

# -- flashing -------------------------------------------------------------


def test_flash_with_categories_and_filters(app):
    with app.test_request_context():
        flash("plain")
        flash("careful", "warning")
        flash("broken", "error")
        flash("again", "warning")

        assert get_flashed_messages() == ["plain", "careful", "broken", "again"]
        assert get_flashed_messages(with_categories=True) == [
            ("message", "plain"),
            ("warning", "careful"),
            ("error", "broken"),
            ("warning", "again"),
        ]
        assert get_flashed_messages(category_filter=["warning"]) == ["careful", "again"]
        assert get_flashed_messages(with_categories=True, category_filter=["error", "message"]) == [
            ("message", "plain"),
            ("error", "broken"),
        ]
        assert get_flashed_messages(category_filter=["nothing"]) == []


def test_flashed_markup_stays_markup_across_requests(app, client):
    @app.route("/set")
    def set_():
        flash(Markup("<b>bold</b>"))
        flash("<i>plain</i>")
        return ""

    @app.route("/get")
    def get():
        return hermetic.render_template_string(
            "{% for m in get_flashed_messages() %}{{ m }}|{% endfor %}"
        )

    client.get("/set")
    assert client.get("/get").text == "<b>bold</b>|&lt;i&gt;plain&lt;/i&gt;|"


def test_no_flashed_messages_is_an_empty_list(app):
    with app.test_request_context():
        assert get_flashed_messages() == []
        assert get_flashed_messages(with_categories=True) == []


def test_flashed_messages_survive_one_redirect_then_are_gone(app, client):
    @app.route("/submit")
    def submit():
        flash("saved", "success")
        flash("check the spelling", "warning")
        return hermetic.redirect("/show")

    @app.route("/show")
    def show():
        return repr(get_flashed_messages(with_categories=True))

    rv = client.get("/submit")
    assert rv.status_code == 302
    assert client.get("/show").text == "[('success', 'saved'), ('warning', 'check the spelling')]"
    assert client.get("/show").text == "[]"


def test_flashed_messages_are_kept_for_the_rest_of_the_request(app, client):
    @app.route("/set")
    def set_():
        flash("one")
        return ""

    @app.route("/get")
    def get():
        first = get_flashed_messages()
        second = get_flashed_messages()
        return f"{first} {second} {'_flashes' in session}"

    client.get("/set")
    assert client.get("/get").text == "['one'] ['one'] False"


def test_flashed_messages_not_read_are_kept(app, client):
    app.add_url_rule("/set", "set", lambda: flash("kept") or "")
    app.add_url_rule("/noop", "noop", lambda: "noop")
    app.add_url_rule("/get", "get", lambda: repr(get_flashed_messages()))

    client.get("/set")
    client.get("/noop")
    assert client.get("/get").text == "['kept']"


def test_flash_outside_a_request_is_an_error(app_ctx):
    with pytest.raises(RuntimeError):
        flash("nope")


# -- stream_with_context -------------------------------------------------


def test_stream_with_context_generator_form(app, client):
    @app.route("/")
    def index():
        def generate():
            yield "Hello "
            yield request.args["name"]
            yield "!"

        return hermetic.Response(stream_with_context(generate()))

    assert client.get("/?name=World").data == b"Hello World!"


def test_stream_with_context_decorator_form(app, client):
    @app.route("/")
    def index():
        @stream_with_context
        def generate(greeting):
            yield greeting
            yield request.args["name"]

        return hermetic.Response(generate("Hi "))

    assert client.get("/?name=you").data == b"Hi you"


def test_stream_with_context_decorator_keeps_the_function_name():
    def generate():
        yield ""

    assert stream_with_context(generate).__name__ == "generate"


def test_stream_without_context_loses_the_request(app, client):
    # The control case: without the helper the request is gone while streaming.
    @app.route("/")
    def index():
        def generate():
            yield str(hermetic.has_request_context())

        return hermetic.Response(generate())

    assert client.get("/").data == b"False"


def test_stream_keeps_session_and_g(app, client):
    @app.route("/")
    def index():
        session["who"] = "streamer"
        hermetic.g.value = "g-value"

        @stream_with_context
        def generate():
            yield session["who"]
            yield " "
            yield hermetic.g.value

        return hermetic.Response(generate())

    assert client.get("/").data == b"streamer g-value"


def test_stream_closes_the_wrapped_iterator_and_tears_down_after(app, client):
    events = []

    class Closing:
        def __init__(self):
            self.items = iter(["a", "b"])

        def __iter__(self):
            return self

        def __next__(self):
            return next(self.items)

        def close(self):
            events.append("closed")

    @app.teardown_request
    def teardown(exc):
        events.append("teardown")

    @app.route("/")
    def index():
        return hermetic.Response(stream_with_context(Closing()))

    rv = client.get("/")
    assert rv.data == b"ab"
    assert events.count("closed") == 1
    assert events[-1] == "teardown"


def test_stream_with_context_outside_a_request_is_an_error(app_ctx):
    def generate():
        yield "x"

    with pytest.raises(RuntimeError, match="can only be used when a request context is active"):
        stream_with_context(generate())


def test_stream_with_context_from_an_async_view(app, client):
    @app.route("/")
    async def index():
        session["test"] = "async"

        @stream_with_context
        def generate():
            yield session["test"]
            yield request.path

        return hermetic.Response(generate())

    # Closing without reading the stream must not leak the context.
    client.get("/").close()
    assert client.get("/").text == "async/"
    with client:
        assert client.get("/").text == "async/"


# -- get_template_attribute ----------------------------------------------


def test_get_template_attribute(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "macros.html").write_text(
        "{% macro hello(name) %}Hello {{ name }}!{% endmacro %}{% set answer = 42 %}"
    )
    app = hermetic.Flask("macros", root_path=str(tmp_path))

    with app.app_context():
        hello = hermetic.get_template_attribute("macros.html", "hello")
        assert hello("World") == "Hello World!"
        assert hermetic.get_template_attribute("macros.html", "answer") == 42
        with pytest.raises(AttributeError):
            hermetic.get_template_attribute("macros.html", "missing")


# -- make_response -------------------------------------------------------


def test_make_response_without_arguments(app):
    with app.test_request_context():
        rv = make_response()
        assert isinstance(rv, hermetic.Response)
        assert rv.status_code == 200
        assert rv.data == b""
        assert rv.mimetype == "text/html"


def test_make_response_forms(app):
    with app.test_request_context():
        rv = make_response("body")
        assert (rv.status_code, rv.data) == (200, b"body")

        rv = make_response("missing", 404)
        assert (rv.status_code, rv.data) == (404, b"missing")

        rv = make_response("teapot", "418 I AM A TEAPOT")
        assert rv.status == "418 I AM A TEAPOT"

        rv = make_response("with headers", {"X-Test": "1"})
        assert (rv.status_code, rv.headers["X-Test"]) == (200, "1")

        rv = make_response("all", 201, [("X-Test", "2")])
        assert (rv.status_code, rv.data, rv.headers["X-Test"]) == (201, b"all", "2")

        rv = make_response(("tuple", 202))
        assert (rv.status_code, rv.data) == (202, b"tuple")

        rv = make_response({"a": 1})
        assert rv.mimetype == "application/json"
        assert rv.json == {"a": 1}

        rv = make_response(iter([b"a", b"b"]))
        assert rv.data == b"ab"


def test_make_response_returns_an_existing_response_and_sets_status(app):
    with app.test_request_context():
        original = hermetic.Response("x")
        assert make_response(original) is original
        rv = make_response(hermetic.Response("y"), 400, {"X-A": "b"})
        assert (rv.status_code, rv.headers["X-A"]) == (400, "b")


def test_make_response_of_a_response_matches_the_general_path(app):
    # An instance of exactly response_class is answered first; a subclass's
    # instance and a Werkzeug response take the general path, as before.
    from werkzeug.wrappers import Response as WerkzeugResponse

    class Sub(hermetic.Response):
        pass

    with app.test_request_context():
        exact, sub = hermetic.Response("x"), Sub("y")
        assert app.make_response(exact) is exact
        assert app.make_response(sub) is sub
        converted = app.make_response(WerkzeugResponse("z", 202))
        assert type(converted) is hermetic.Response
        assert (converted.status_code, converted.data) == (202, b"z")


def test_make_response_in_a_view_lets_headers_be_added(app, client):
    @app.route("/")
    def index():
        rv = make_response("hello", 203)
        rv.headers["X-Extra"] = "yes"
        return rv

    rv = client.get("/")
    assert (rv.status_code, rv.data, rv.headers["X-Extra"]) == (203, b"hello", "yes")


def test_make_response_rejects_invalid_values(app):
    with app.test_request_context():
        with pytest.raises(TypeError, match="did not return a valid response"):
            make_response(None)
        with pytest.raises(TypeError, match="did not return a valid response tuple"):
            make_response(("a", 200, {}, "extra"))


def test_make_response_needs_an_app():
    with pytest.raises(RuntimeError, match="application context"):
        make_response("x")


# -- send_file / send_from_directory ------------------------------------


def test_send_file_bytesio_with_download_name(app):
    with app.test_request_context():
        rv = hermetic.send_file(
            io.BytesIO(b"a,b\n1,2\n"), download_name="report.csv", as_attachment=True
        )
        rv.direct_passthrough = False
        assert rv.data == b"a,b\n1,2\n"
        assert rv.mimetype == "text/csv"
        assert rv.headers["Content-Disposition"] == "attachment; filename=report.csv"
        rv.close()


def test_send_file_inline_with_unicode_download_name(app):
    with app.test_request_context():
        rv = hermetic.send_file(io.BytesIO(b"x"), download_name="Ñandú.txt")
        assert rv.headers["Content-Disposition"] == (
            "inline; filename=Nandu.txt; filename*=UTF-8''%C3%91and%C3%BA.txt"
        )
        rv.close()


def test_send_file_bytesio_without_a_mimetype_is_an_error(app):
    with app.test_request_context():
        with pytest.raises(TypeError):
            hermetic.send_file(io.BytesIO(b"x"))


def test_send_file_path_relative_to_root_and_max_age(app, tmp_path):
    (tmp_path / "hello.txt").write_text("hi")
    app.root_path = str(tmp_path)
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 60
    with app.test_request_context():
        rv = hermetic.send_file("hello.txt")
        rv.direct_passthrough = False
        assert rv.data == b"hi"
        assert rv.cache_control.max_age == 60
        assert rv.cache_control.public
        rv.close()


def test_send_from_directory_serves_inside_and_404s_outside(app, client, tmp_path):
    public = tmp_path / "public"
    public.mkdir()
    (public / "ok.txt").write_text("ok")
    (tmp_path / "secret.txt").write_text("secret")

    @app.route("/files/<path:name>")
    def files(name):
        return hermetic.send_from_directory(public, name)

    rv = client.get("/files/ok.txt")
    assert rv.data == b"ok"
    rv.close()
    assert client.get("/files/missing.txt").status_code == 404

    with app.test_request_context():
        for name in ("../secret.txt", "sub/../../secret.txt", str(tmp_path / "secret.txt")):
            with pytest.raises(NotFound):
                hermetic.send_from_directory(public, name)


# -- environment flags ----------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("FLASK_DEBUG", "HERMETIC_DEBUG", "FLASK_SKIP_DOTENV", "HERMETIC_SKIP_DOTENV"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("var", ["FLASK_DEBUG", "HERMETIC_DEBUG"])
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", False),
        ("0", False),
        ("false", False),
        ("False", False),
        ("No", False),
        ("1", True),
        ("true", True),
        ("yes", True),
    ],
)
def test_get_debug_flag(clean_env, var, value, expected):
    clean_env.setenv(var, value)
    assert get_debug_flag() is expected


def test_get_debug_flag_unset(clean_env):
    assert get_debug_flag() is False


def test_hermetic_debug_takes_precedence(clean_env):
    clean_env.setenv("FLASK_DEBUG", "1")
    clean_env.setenv("HERMETIC_DEBUG", "0")
    assert get_debug_flag() is False
    clean_env.setenv("FLASK_DEBUG", "0")
    clean_env.setenv("HERMETIC_DEBUG", "1")
    assert get_debug_flag() is True


def test_debug_flag_sets_app_debug(clean_env):
    clean_env.setenv("HERMETIC_DEBUG", "1")
    assert hermetic.Flask("dbg").debug is True
    clean_env.setenv("HERMETIC_DEBUG", "0")
    assert hermetic.Flask("dbg").debug is False


@pytest.mark.parametrize("var", ["FLASK_SKIP_DOTENV", "HERMETIC_SKIP_DOTENV"])
@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", True), ("false", True), ("No", True), ("1", False), ("true", False)],
)
def test_get_load_dotenv(clean_env, var, value, expected):
    clean_env.setenv(var, value)
    assert get_load_dotenv() is expected
    assert get_load_dotenv(default=False) is expected


@pytest.mark.parametrize("default", [True, False])
def test_get_load_dotenv_unset_or_empty_uses_default(clean_env, default):
    assert get_load_dotenv(default) is default
    clean_env.setenv("FLASK_SKIP_DOTENV", "")
    assert get_load_dotenv(default) is default
