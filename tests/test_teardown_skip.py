"""A pop skips the teardown call only when it would do nothing: every way of
making teardown do something (a function, a signal receiver, an override on
the class or the instance) still runs, including after the first request."""

from __future__ import annotations

import typing as t

from hermetic import Flask, appcontext_tearing_down, request_tearing_down


def _app(cls: type[Flask] = Flask) -> Flask:
    app = cls(__name__)

    @app.get("/")
    def index() -> str:
        return "ok"

    return app


def test_functions_registered_after_the_first_request_run() -> None:
    app = _app()
    client = app.test_client()
    client.get("/")
    seen: list[str] = []
    app.teardown_request_funcs.setdefault(None, []).append(lambda exc: seen.append("request"))
    app.teardown_appcontext_funcs.append(lambda exc: seen.append("appcontext"))
    client.get("/")
    assert seen == ["request", "appcontext"]


def test_signal_receivers_run() -> None:
    app = _app()
    seen: list[str] = []

    def on_request(sender: t.Any, **kw: t.Any) -> None:
        seen.append("request")

    def on_app(sender: t.Any, **kw: t.Any) -> None:
        seen.append("appcontext")

    client = app.test_client()
    client.get("/")
    with request_tearing_down.connected_to(on_request, app):
        with appcontext_tearing_down.connected_to(on_app, app):
            client.get("/")
    assert seen == ["request", "appcontext"]


def test_overrides_on_the_class_run() -> None:
    seen: list[str] = []

    class Custom(Flask):
        def do_teardown_request(self, exc: t.Any = None) -> None:
            seen.append("request")

        def do_teardown_appcontext(self, exc: t.Any = None) -> None:
            seen.append("appcontext")

    _app(Custom).test_client().get("/")
    assert seen == ["request", "appcontext"]


def test_overrides_on_the_instance_run() -> None:
    app = _app()
    seen: list[str] = []
    app.do_teardown_request = lambda exc=None: seen.append("request")  # type: ignore[method-assign]
    app.do_teardown_appcontext = lambda exc=None: seen.append("appcontext")  # type: ignore[method-assign]
    app.test_client().get("/")
    assert seen == ["request", "appcontext"]


def test_error_reaches_teardown() -> None:
    app = _app()
    got: list[t.Any] = []

    @app.get("/boom")
    def boom() -> str:
        raise ValueError("x")

    app.teardown_request(lambda exc: got.append(type(exc).__name__))
    app.teardown_appcontext(lambda exc: got.append(type(exc).__name__))
    assert app.test_client().get("/boom").status_code == 500
    assert got == ["ValueError", "ValueError"]
