"""ensure_sync for before/after/teardown hooks: remembered with the default,
called every time when a subclass (or the instance) overrides it, as Flask does."""

from __future__ import annotations

import typing as t

from hermetic import Flask, after_this_request


def _app(cls: type[Flask]) -> tuple[Flask, list[str]]:
    app = cls(__name__)
    ran: list[str] = []

    @app.before_request
    def before() -> None:
        ran.append("before")

    @app.after_request
    def after(response: t.Any) -> t.Any:
        ran.append("after")
        return response

    @app.teardown_request
    def teardown_req(exc: BaseException | None) -> None:
        ran.append("teardown_request")

    @app.teardown_appcontext
    def teardown_app(exc: BaseException | None) -> None:
        ran.append("teardown_appcontext")

    @app.get("/")
    def index() -> str:
        @after_this_request
        def once(response: t.Any) -> t.Any:
            ran.append("once")
            return response

        return "ok"

    return app, ran


class _Counting(Flask):
    seen: list[str]

    def ensure_sync(self, func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        self.seen.append(func.__name__)
        return super().ensure_sync(func)


def test_overridden_ensure_sync_sees_every_hook_on_every_request() -> None:
    app, ran = _app(_Counting)
    app.seen = []  # type: ignore[attr-defined]
    client = app.test_client()
    for _ in range(3):
        assert client.get("/").data == b"ok"
    hooks = ["before", "once", "after", "teardown_req", "teardown_app"]
    for name in hooks:
        assert app.seen.count(name) == 3, (name, app.seen)  # type: ignore[attr-defined]
    assert ran.count("before") == ran.count("after") == ran.count("once") == 3


def test_instance_override_is_honoured_too() -> None:
    app, ran = _app(Flask)
    seen: list[str] = []

    def wrapping(func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        seen.append(func.__name__)
        return func

    app.ensure_sync = wrapping  # type: ignore[method-assign]
    client = app.test_client()
    client.get("/")
    client.get("/")
    assert seen.count("before") == 2 and seen.count("teardown_app") == 2


def test_default_hooks_run_and_are_remembered_once() -> None:
    app, ran = _app(Flask)
    client = app.test_client()
    client.get("/")
    client.get("/")
    assert ran.count("before") == ran.count("after") == ran.count("teardown_request") == 2
    assert ran.count("teardown_appcontext") >= 2
    names = {getattr(f, "__name__", None) for f in app._sync_views}
    assert {"before", "after", "teardown_req", "teardown_app"} <= names
    # after_this_request closures are new on every request: never kept.
    assert "once" not in names
