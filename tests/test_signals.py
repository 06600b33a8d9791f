"""Every signal fires with the documented sender and arguments."""

from __future__ import annotations

import pytest

import hermetic
from hermetic import signals

ALL_SIGNALS = [
    "template_rendered",
    "before_render_template",
    "request_started",
    "request_finished",
    "request_tearing_down",
    "got_request_exception",
    "appcontext_tearing_down",
    "appcontext_pushed",
    "appcontext_popped",
    "message_flashed",
]


@pytest.fixture
def template_app(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "simple.html").write_text("{{ whiskey }}")
    app = hermetic.Flask("signals_app", root_path=str(tmp_path))
    app.config.update(TESTING=True, SECRET_KEY="test key")
    return app


@pytest.mark.parametrize("name", ALL_SIGNALS)
def test_signals_are_exported_and_named(name):
    signal = getattr(signals, name)
    assert getattr(hermetic, name) is signal
    assert signal.name == name.replace("_", "-")


def test_request_signals_order_sender_and_kwargs(app, client):
    events = []

    def started(sender, **kwargs):
        events.append(("started", sender, kwargs))

    def finished(sender, **kwargs):
        events.append(("finished", sender, kwargs))

    def tearing_down(sender, **kwargs):
        events.append(("tearing_down", sender, kwargs))

    @app.before_request
    def before():
        events.append("before_request")

    @app.after_request
    def after(response):
        events.append("after_request")
        response.headers["X-After"] = "1"
        return response

    @app.teardown_request
    def teardown(exc):
        events.append("teardown_request")

    @app.route("/")
    def index():
        events.append("view")
        return "stuff"

    with (
        signals.request_started.connected_to(started, app),
        signals.request_finished.connected_to(finished, app),
        signals.request_tearing_down.connected_to(tearing_down, app),
    ):
        rv = client.get("/")

    assert rv.data == b"stuff"
    assert events[0] == ("started", app, {})
    assert events[1:4] == ["before_request", "view", "after_request"]
    name, sender, kwargs = events[4]
    assert (name, sender) == ("finished", app)
    assert list(kwargs) == ["response"]
    assert kwargs["response"].headers["X-After"] == "1"
    assert kwargs["response"].data == b"stuff"
    assert events[5:] == ["teardown_request", ("tearing_down", app, {"exc": None})]


def test_request_tearing_down_gets_the_error(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    seen = []
    app.logger.disabled = True

    @app.route("/")
    def index():
        raise ZeroDivisionError("boom")

    with signals.request_tearing_down.connected_to(
        lambda sender, exc: seen.append((sender, exc)), app
    ):
        assert app.test_client().get("/").status_code == 500

    ((sender, exc),) = seen
    assert sender is app
    assert isinstance(exc, ZeroDivisionError)


def test_got_request_exception_for_unhandled_errors(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.logger.disabled = True
    seen = []

    @app.route("/")
    def index():
        raise ZeroDivisionError("boom")

    with signals.got_request_exception.connected_to(
        lambda sender, exception: seen.append((sender, exception)), app
    ):
        rv = app.test_client().get("/")

    assert rv.status_code == 500
    ((sender, exception),) = seen
    assert sender is app
    assert isinstance(exception, ZeroDivisionError)
    assert str(exception) == "boom"


def test_got_request_exception_sent_before_propagating(app, client):
    seen = []
    app.add_url_rule("/", "index", lambda: 1 // 0)

    with signals.got_request_exception.connected_to(
        lambda sender, exception: seen.append(type(exception)), app
    ):
        with pytest.raises(ZeroDivisionError):
            client.get("/")

    assert seen == [ZeroDivisionError]


def test_got_request_exception_not_sent_for_handled_errors(app, client):
    seen = []
    app.register_error_handler(KeyError, lambda e: ("handled", 400))
    app.add_url_rule("/key", "key", lambda: {}["x"])
    app.add_url_rule("/abort", "abort", lambda: hermetic.abort(404))

    with signals.got_request_exception.connected_to(lambda sender, **kw: seen.append(kw), app):
        assert client.get("/key").data == b"handled"
        assert client.get("/abort").status_code == 404
        assert client.get("/no-such-url").status_code == 404

    assert seen == []


def test_appcontext_signals(app):
    events = []

    def pushed(sender, **kwargs):
        events.append(("pushed", sender, kwargs, hermetic.current_app._get_current_object()))

    def tearing_down(sender, **kwargs):
        events.append(("tearing_down", sender, kwargs))

    def popped(sender, **kwargs):
        events.append(("popped", sender, kwargs))

    @app.teardown_appcontext
    def teardown(exc):
        events.append("teardown_appcontext")

    with (
        signals.appcontext_pushed.connected_to(pushed, app),
        signals.appcontext_tearing_down.connected_to(tearing_down, app),
        signals.appcontext_popped.connected_to(popped, app),
    ):
        with app.app_context():
            events.append("inside")

    assert events == [
        ("pushed", app, {}, app),
        "inside",
        "teardown_appcontext",
        ("tearing_down", app, {"exc": None}),
        ("popped", app, {}),
    ]


def test_appcontext_tearing_down_gets_the_error(app):
    seen = []

    with signals.appcontext_tearing_down.connected_to(lambda sender, exc: seen.append(exc), app):
        with pytest.raises(LookupError):
            with app.app_context():
                raise LookupError("gone")

    (exc,) = seen
    assert isinstance(exc, LookupError)


def test_request_pushes_and_pops_one_app_context(app, client):
    events = []
    app.add_url_rule("/", "index", lambda: "")

    with (
        signals.appcontext_pushed.connected_to(lambda s: events.append("pushed"), app),
        signals.appcontext_popped.connected_to(lambda s: events.append("popped"), app),
    ):
        client.get("/")

    assert events == ["pushed", "popped"]


def test_template_signals(template_app):
    events = []

    def before(sender, template, context):
        events.append(("before", sender, template, dict(context)))
        # The receiver may change what the template sees.
        context["whiskey"] = 43

    def rendered(sender, template, context):
        events.append(("rendered", sender, template, dict(context)))

    @template_app.route("/")
    def index():
        return hermetic.render_template("simple.html", whiskey=42)

    with (
        signals.before_render_template.connected_to(before, template_app),
        signals.template_rendered.connected_to(rendered, template_app),
    ):
        rv = template_app.test_client().get("/")

    assert rv.data == b"43"
    (name1, sender1, template1, context1), (name2, sender2, template2, context2) = events
    assert (name1, name2) == ("before", "rendered")
    assert sender1 is sender2 is template_app
    assert template1 is template2
    assert template1.name == "simple.html"
    assert context1["whiskey"] == 42
    assert context2["whiskey"] == 43
    # The context processors' variables are in the context.
    assert context1["request"].path == "/"
    assert "g" in context1 and "session" in context1


def test_template_signals_for_render_template_string_and_streams(app):
    rendered = []

    with signals.template_rendered.connected_to(
        lambda sender, template, context: rendered.append(context["x"]), app
    ):
        with app.test_request_context():
            assert hermetic.render_template_string("{{ x }}", x=1) == "1"
            assert "".join(hermetic.stream_template_string("{{ x }}", x=2)) == "2"

    assert rendered == [1, 2]


def test_message_flashed(app, client):
    seen = []

    @app.route("/")
    def index():
        hermetic.flash("This is a flash message", category="notice")
        hermetic.flash("plain")
        return ""

    with signals.message_flashed.connected_to(
        lambda sender, **kwargs: seen.append((sender, kwargs)), app
    ):
        client.get("/")

    assert seen == [
        (app, {"message": "This is a flash message", "category": "notice"}),
        (app, {"message": "plain", "category": "message"}),
    ]


def test_receivers_only_see_their_sender(app):
    other = hermetic.Flask("other")
    seen = []

    with signals.appcontext_pushed.connected_to(lambda sender: seen.append(sender), app):
        with other.app_context():
            pass
        with app.app_context():
            pass

    assert seen == [app]


def test_receiver_for_any_sender(app):
    other = hermetic.Flask("other")
    seen = []

    def receiver(sender):
        seen.append(sender)

    with signals.appcontext_pushed.connected_to(receiver):
        with other.app_context():
            pass
        with app.app_context():
            pass

    assert seen == [other, app]


def test_async_receiver_is_run_with_ensure_sync(app, client):
    seen = []

    async def receiver(sender, **kwargs):
        seen.append(sender)

    app.add_url_rule("/", "index", lambda: "")
    with signals.request_started.connected_to(receiver, app):
        client.get("/")

    assert seen == [app]


def test_receivers_are_disconnected_after_connected_to(app, client):
    seen = []
    app.add_url_rule("/", "index", lambda: "")

    with signals.request_started.connected_to(lambda sender: seen.append(1), app):
        client.get("/")
    client.get("/")

    assert seen == [1]
