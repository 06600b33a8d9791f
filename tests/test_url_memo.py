"""url_for's remembered URLs (hermetic/_url_memo.py) against Werkzeug's build."""

from __future__ import annotations

import pytest
from werkzeug.routing import BuildError, Map, MapAdapter, Rule
from werkzeug.test import EnvironBuilder

import hermetic
from hermetic import _url_memo, url_for
from hermetic.ctx import _sentinel
from hermetic.globals import request_ctx


def make_app(**options):
    app = hermetic.Flask(__name__, **options)
    app.get("/", endpoint="root")(lambda: "root")
    app.get("/item/<int:id>", endpoint="item")(lambda id: str(id))
    app.add_url_rule("/form", "form", lambda: "", methods=["GET"])
    app.add_url_rule("/form-post", "form", methods=["POST"])
    app.add_url_rule("/page", "paged", lambda page: "", defaults={"page": 1})
    app.add_url_rule("/pages/<int:page>", "paged")
    app.add_url_rule("/fixed-default", "fixed_default", lambda: "", defaults={"x": 1})
    app.add_url_rule("/ws", "ws", lambda: "", websocket=True)
    return app


ENDPOINTS = ["root", "form", "paged", "fixed_default", "ws"]


def werkzeug_url(app, environ, endpoint):
    """What Werkzeug builds for ``url_for(endpoint)`` in a request of ``environ``."""
    adapter = app.url_map.bind_to_environ(environ, server_name=None, subdomain="")
    return adapter.build(endpoint, {}, method=None, url_scheme=None, force_external=False)


@pytest.mark.parametrize("method", ["GET", "POST", "HEAD", "get"])
@pytest.mark.parametrize(
    ("base_url", "headers"),
    [
        ("http://localhost/", {}),
        ("https://example.test:8443/app", {}),
        ("http://a.test/", {"Host": "b.test"}),
    ],
)
def test_remembered_urls_are_werkzeugs(method, base_url, headers):
    app = make_app()
    environ = EnvironBuilder("/", base_url, method=method, headers=headers).get_environ()
    expected = {e: werkzeug_url(app, environ, e) for e in ENDPOINTS}
    for _ in range(3):  # the first request remembers, the next ones read
        with app.request_context(environ.copy()):
            assert {e: url_for(e) for e in ENDPOINTS} == expected


def test_the_methods_rule_is_chosen_per_request_method():
    app = make_app()
    for _ in range(2):
        with app.test_request_context("/", method="POST"):
            assert url_for("form") == "/form-post"
        with app.test_request_context("/", method="GET"):
            assert url_for("form") == "/form"


def test_a_remembered_url_is_read_without_an_adapter(monkeypatch):
    app = make_app()
    with app.test_request_context("/"):
        # The second call is remembered too: the adapter is the bind's own.
        assert url_for("root") == "/"
        assert url_for("form") == "/form"

    def refuse(*args, **kwargs):
        raise AssertionError("built by Werkzeug")

    monkeypatch.setattr(MapAdapter, "build", refuse)
    with app.test_request_context("/"):
        assert url_for("root") == "/"
        assert url_for("form") == "/form"
        assert request_ctx._adapter is _sentinel  # never bound
        # Werkzeug counts a rule's defaults among its arguments: built every time.
        with pytest.raises(AssertionError, match="built by Werkzeug"):
            url_for("fixed_default")
        # An endpoint with variables is built by Werkzeug every time.
        with pytest.raises(AssertionError, match="built by Werkzeug"):
            url_for("item", id=1)


def _calls_of_build(monkeypatch):
    calls = []
    original = MapAdapter.build

    def spy(self, endpoint, *args, **kwargs):
        calls.append(endpoint)
        return original(self, endpoint, *args, **kwargs)

    monkeypatch.setattr(MapAdapter, "build", spy)
    return calls


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: url_for("root", q="a"), "/?q=a"),
        (lambda: url_for("root", _anchor="top"), "/#top"),
        (lambda: url_for("root", _external=True), "http://localhost/"),
        (lambda: url_for("root", _scheme="https", _external=True), "https://localhost/"),
        (lambda: url_for("form", _method="POST"), "/form-post"),
        (lambda: url_for("paged", page=2), "/pages/2"),
    ],
    ids=["values", "anchor", "external", "scheme", "method", "variables"],
)
def test_other_calls_are_built_by_werkzeug(monkeypatch, call, expected):
    app = make_app()
    with app.test_request_context("/"):
        url_for("root"), url_for("form"), url_for("paged")  # remembered
    calls = _calls_of_build(monkeypatch)
    for _ in range(2):
        with app.test_request_context("/"):
            assert call() == expected
    assert len(calls) == 2


def test_endpoint_with_a_variable_rule_is_not_remembered(monkeypatch):
    app = make_app()
    calls = _calls_of_build(monkeypatch)
    for _ in range(2):
        with app.test_request_context("/"):
            assert url_for("paged") == "/page"  # the rule with defaults; the other has a variable
    assert calls == ["paged", "paged"]


def test_relative_endpoint_in_a_blueprint():
    app = make_app()
    bp = hermetic.Blueprint("bp", __name__)
    bp.get("/here", endpoint="here")(lambda: url_for(".here"))
    app.register_blueprint(bp, url_prefix="/bp")
    client = app.test_client()
    assert client.get("/bp/here").data == b"/bp/here"
    assert client.get("/bp/here").data == b"/bp/here"


def test_url_defaults_are_applied_not_remembered():
    app = make_app()
    state = {"lang": "en"}

    @app.url_defaults
    def add_lang(endpoint, values):
        values["lang"] = state["lang"]

    with app.test_request_context("/"):
        assert url_for("root") == "/?lang=en"
    state["lang"] = "de"
    with app.test_request_context("/"):
        assert url_for("root") == "/?lang=de"


def test_an_overridden_create_url_adapter_is_used():
    class App(hermetic.Flask):
        def create_url_adapter(self, request):
            adapter = super().create_url_adapter(request)
            if adapter is not None and request is not None:
                adapter.script_name = "/mounted/"
            return adapter

    app = App(__name__)
    app.get("/", endpoint="root")(lambda: "")
    for _ in range(2):
        with app.test_request_context("/"):
            assert url_for("root") == "/mounted/"


def test_an_adapter_set_by_code_is_used():
    app = make_app()
    with app.test_request_context("/"):
        assert url_for("root") == "/"
    with app.test_request_context("/"):
        request_ctx.url_adapter = app.url_map.bind("localhost", script_name="/elsewhere")
        assert url_for("root") == "/elsewhere/"
    with app.test_request_context("/"):
        assert url_for("root") == "/"


def test_trusted_hosts_still_checked():
    app = make_app()
    app.config["TRUSTED_HOSTS"] = ["good.test"]
    app.get("/link")(lambda: url_for("root"))
    client = app.test_client()
    for _ in range(2):
        assert client.get("/link", headers={"Host": "good.test"}).data == b"/"
        assert client.get("/link", headers={"Host": "evil.test"}).status_code == 400


def test_a_plain_werkzeug_map_is_built_by_werkzeug(monkeypatch):
    class App(hermetic.Flask):
        url_map_class = Map

    app = App(__name__)
    app.get("/", endpoint="root")(lambda: "")
    calls = _calls_of_build(monkeypatch)
    for _ in range(2):
        with app.test_request_context("/"):
            assert url_for("root") == "/"
    assert calls == ["root", "root"]


def test_a_rule_added_later_is_seen():
    app = make_app()
    with app.test_request_context("/"):
        assert url_for("root") == "/"
    # Werkzeug prefers a rule with defaults: the endpoint now builds to it.
    app.url_map.add(Rule("/home", endpoint="root", defaults={"tab": "all"}))
    environ = EnvironBuilder("/").get_environ()
    with app.request_context(environ.copy()):
        assert url_for("root") == werkzeug_url(app, environ, "root") == "/home"


def test_a_new_url_map_is_seen():
    app = make_app()
    with app.test_request_context("/"):
        assert url_for("root") == "/"
    app.url_map = app.url_map_class()
    app.url_map.add(Rule("/new-root", endpoint="root"))
    with app.test_request_context("/"):
        assert url_for("root") == "/new-root"


def test_unknown_endpoint_raises_every_time():
    app = make_app()
    for _ in range(2):
        with app.test_request_context("/"), pytest.raises(BuildError):
            url_for("nowhere")


def test_remembered_urls_per_bind_are_bounded():
    app = make_app()
    count = _url_memo.MAX_URLS_PER_BIND + 20
    for n in range(count):
        app.add_url_rule(f"/n{n}", f"n{n}", lambda: "")
    with app.test_request_context("/"):
        urls = [url_for(f"n{n}") for n in range(count)]
    with app.test_request_context("/"):
        assert [url_for(f"n{n}") for n in range(count)] == urls == [f"/n{n}" for n in range(count)]
    (entry,) = app._url_adapters.values()
    assert len(entry[6]) == _url_memo.MAX_URLS_PER_BIND


def test_host_matching_and_subdomains_as_werkzeug():
    app = hermetic.Flask(__name__, host_matching=True, static_host="static.test")
    app.get("/", endpoint="root", host="a.test")(lambda: "")
    app.get("/b", endpoint="b", host="b.test")(lambda: "")
    for host in ("a.test", "b.test", "a.test"):
        environ = EnvironBuilder("/", f"http://{host}/").get_environ()
        adapter = app.url_map.bind_to_environ(environ, server_name=None)
        expected = [adapter.build(e, {}) for e in ("root", "b")]
        with app.request_context(environ.copy()):
            assert [url_for("root"), url_for("b")] == expected

    app = hermetic.Flask(__name__, subdomain_matching=True)
    app.config["SERVER_NAME"] = "example.test"
    app.get("/", endpoint="root", subdomain="api")(lambda: "")
    for _ in range(2):
        with app.test_request_context("/", "http://api.example.test/"):
            assert url_for("root") == "/"
        with app.test_request_context("/", "http://example.test/"):
            assert url_for("root") == "http://api.example.test/"
