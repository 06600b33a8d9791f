"""The shields pipeline: order, per-route exemption, steps, and the request path."""

from __future__ import annotations

import pytest

from hermetic.security.errors import CSRFError
from hermetic.security.shields import Shield, ShieldPipeline, exempt, pipeline_for


class Recorder(Shield):
    def __init__(self, name: str, order: int, log: list[str]) -> None:
        self.name = name  # type: ignore[misc]
        self.order = order  # type: ignore[misc]
        self.log = log

    def prepare(self, environ):  # type: ignore[override]
        self.log.append(f"prepare:{self.name}")

    def before(self, request):  # type: ignore[override]
        self.log.append(f"before:{self.name}")

    def after(self, request, response):  # type: ignore[override]
        self.log.append(f"after:{self.name}")
        response.headers[f"X-{self.name}"] = "1"
        return response


def test_plain_flask_app_has_no_pipeline(app):
    assert app.shields is None


def test_steps_run_in_order_around_the_app_hooks(app):
    log: list[str] = []
    Recorder("second", 20, log).init_app(app)
    Recorder("first", 10, log).init_app(app)

    @app.before_request
    def hook():
        log.append("before_request")

    @app.after_request
    def after_hook(response):
        log.append("after_request")
        return response

    @app.get("/")
    def index():
        log.append("view")
        return "ok"

    response = app.test_client().get("/")
    assert response.headers["X-first"] == "1"
    assert log == [
        "prepare:first",
        "prepare:second",
        "before:first",
        "before:second",
        "before_request",
        "view",
        "after_request",
        "after:second",
        "after:first",
    ]


def test_exempt_decorator_and_route_option_skip_a_shield(app):
    log: list[str] = []
    Recorder("csrf", 50, log).init_app(app)
    Recorder("headers", 90, log).init_app(app)

    @app.post("/hook")
    @exempt("csrf")
    def hook():
        return "ok"

    @app.post("/other")
    def other():
        return "ok"

    app.shields.exempt_route("other", ["headers"])
    client = app.test_client()
    response = client.post("/hook")
    assert "X-csrf" not in response.headers
    assert response.headers["X-headers"] == "1"
    response = client.post("/other")
    assert response.headers["X-csrf"] == "1"
    assert "X-headers" not in response.headers
    assert app.shields.describe("hook") == "headers"
    assert app.shields.describe("other") == "csrf"


def test_exempt_needs_a_name():
    with pytest.raises(TypeError, match="Name the shields"):
        exempt()


def test_a_shield_that_cannot_be_exempted_still_runs(app):
    log: list[str] = []

    class Always(Recorder):
        exemptable = False

    Always("authz", 70, log).init_app(app)

    @app.get("/")
    @exempt("authz")
    def index():
        return "ok"

    assert app.test_client().get("/").headers["X-authz"] == "1"


def test_a_refusal_is_a_4xx_through_the_error_handlers(app):
    class Refuse(Shield):
        name = "refuse"

        def before(self, request):  # type: ignore[override]
            raise CSRFError(reason="test_reason")

    Refuse().init_app(app)
    log: list[str] = []
    Recorder("headers", 90, log).init_app(app)

    @app.post("/")
    def index():
        raise AssertionError("the view must not run")

    response = app.test_client().post("/", headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert response.json["reason"] == "test_reason"
    # The after steps still run on the error response (security headers).
    assert response.headers["X-headers"] == "1"
    html = app.test_client().post("/")
    assert html.status_code == 403 and html.mimetype == "text/html"
    assert "Traceback" not in html.text


def test_a_refusal_goes_through_the_apps_error_handlers(app):
    class Refuse(Shield):
        name = "refuse"

        def before(self, request):  # type: ignore[override]
            raise CSRFError(reason="test_reason")

    Refuse().init_app(app)

    @app.errorhandler(CSRFError)
    def custom(e):
        return f"custom {e.reason}", 419

    @app.post("/")
    def index():
        raise AssertionError("the view must not run")

    response = app.test_client().post("/")
    assert response.status_code == 419
    assert response.text == "custom test_reason"


def test_a_before_step_may_answer_the_request(app):
    class Answer(Shield):
        name = "answer"

        def before(self, request):  # type: ignore[override]
            return "answered by the shield"

    Answer().init_app(app)

    @app.get("/")
    def index():
        raise AssertionError("the view must not run")

    assert app.test_client().get("/").text == "answered by the shield"


def test_unmatched_routes_run_every_shield(app):
    log: list[str] = []
    Recorder("headers", 90, log).init_app(app)
    response = app.test_client().get("/missing")
    assert response.status_code == 404
    assert response.headers["X-headers"] == "1"


def test_adding_a_shield_of_the_same_name_replaces_it(app):
    log: list[str] = []
    Recorder("x", 10, log).init_app(app)
    Recorder("x", 20, log).init_app(app)
    assert [s.order for s in app.shields] == [20]
    app.shields.remove("x")
    assert len(app.shields) == 0


def test_a_shield_needs_a_name(app):
    with pytest.raises(ValueError, match="needs a 'name'"):
        ShieldPipeline(app).add(Shield())


def test_pipeline_for_creates_once(app):
    first = pipeline_for(app)
    assert pipeline_for(app) is first
    assert app.shields is first


# -- per-route steps ------------------------------------------------------------------


class Picky(Shield):
    """Run a step only on views marked ``picky``, bound to the mark's value."""

    name = "picky"

    def __init__(self, log: list[tuple[str | None, str]]) -> None:
        self.log = log
        self.asked: list[str | None] = []

    def steps_for(self, endpoint, view):  # type: ignore[override]
        self.asked.append(endpoint)
        mark = getattr(view, "picky", None)
        if mark is None:
            return None, None

        def before(request):
            self.log.append((request.endpoint, mark))

        return before, None


def test_a_shield_without_a_step_for_a_route_is_not_called(app):
    log: list[tuple[str | None, str]] = []
    shield = Picky(log)
    shield.init_app(app)

    @app.get("/plain")
    def plain():
        return "ok"

    def marked():
        return "ok"

    marked.picky = "m1"  # type: ignore[attr-defined]
    app.get("/marked")(marked)
    client = app.test_client()
    for _ in range(3):
        client.get("/plain")
        client.get("/marked")
        client.get("/missing")
    assert log == [("marked", "m1")] * 3
    # Chosen once per endpoint, not per request.
    assert sorted(shield.asked, key=str) == [None, "marked", "plain"]
    assert app.shields._steps("plain").before == ()


def test_steps_follow_a_replaced_view_and_a_new_configuration(app):
    log: list[tuple[str | None, str]] = []
    shield = Picky(log)
    shield.init_app(app)

    @app.get("/")
    def index():
        return "ok"

    client = app.test_client()
    client.get("/")
    assert log == []

    def replaced():
        return "ok"

    replaced.picky = "m2"  # type: ignore[attr-defined]
    app.view_functions["index"] = replaced
    client.get("/")
    assert log == [("index", "m2")]
    asked = len(shield.asked)
    app.shields.configure(app)
    client.get("/")
    assert len(shield.asked) == asked + 1
    assert log == [("index", "m2")] * 2


def test_steps_for_defaults_to_the_shields_own_steps(app):
    log: list[str] = []
    recorder = Recorder("r", 10, log)
    assert recorder.steps_for("x", None) == (recorder.before, recorder.after)
    assert Shield().steps_for(None, None) == (None, None)


# -- a pipeline without steps -------------------------------------------------------


class Stepless(Shield):
    """Like ``LoginShield``: configured with the others, but no step on any route."""

    name = "stepless"

    def __init__(self) -> None:
        self.configured = 0

    def configure(self, app=None):  # type: ignore[override]
        self.configured += 1


def test_a_pipeline_without_steps_is_skipped_after_configuring(app, monkeypatch):
    shield = Stepless()
    shield.init_app(app)

    @app.get("/")
    def index():
        return "ok"

    pipeline = app.shields
    assert pipeline.active  # not configured yet: the first request configures it
    client = app.test_client()
    assert client.get("/").status_code == 200
    assert shield.configured == 1
    assert not pipeline.active

    def walked(*args):
        raise AssertionError("a pipeline without steps was walked")

    monkeypatch.setattr(pipeline, "prepare_steps", (walked,))
    monkeypatch.setattr(pipeline, "request_steps", walked)
    monkeypatch.setattr(pipeline, "before", walked)
    monkeypatch.setattr(pipeline, "after", walked)
    assert client.get("/").data == b"ok"
    assert client.get("/missing").status_code == 404


def test_a_login_manager_alone_adds_one_after_step_and_no_hook(app):
    from hermetic.security.auth import LoginManager

    manager = LoginManager(app)
    manager.user_loader(lambda user_id: None)

    @app.get("/")
    def index():
        return "ok"

    assert app.test_client().get("/").status_code == 200
    assert [s.name for s in app.shields] == ["login"]
    # The remember-me cookie is written by the pipeline's login step, not
    # by an after_request hook walked on every request.
    assert not app.after_request_funcs
    steps = app.shields._steps("index")
    assert steps.before == () and len(steps.after) == 1
    assert app.shields.describe("index") == ""


def test_a_shield_with_steps_makes_the_pipeline_run_again(app):
    log: list[str] = []
    Stepless().init_app(app)

    @app.get("/")
    def index():
        return "ok"

    client = app.test_client()
    client.get("/")
    assert not app.shields.active
    Recorder("rec", 10, log).init_app(app)
    assert app.shields.active
    assert client.get("/").headers["X-rec"] == "1"
    assert log == ["prepare:rec", "before:rec", "after:rec"]
    app.shields.remove("rec")
    assert not app.shields.active


def test_a_shield_with_route_steps_keeps_the_pipeline_active(app):
    log: list[tuple[str | None, str]] = []
    Picky(log).init_app(app)

    def marked():
        return "ok"

    marked.picky = "m"  # type: ignore[attr-defined]
    app.get("/marked")(marked)
    client = app.test_client()
    client.get("/marked")
    client.get("/marked")
    assert app.shields.active
    assert log == [("marked", "m")] * 2
