"""The fast static matcher must answer exactly as Werkzeug's matcher does."""

from __future__ import annotations

import warnings

import pytest
from werkzeug.routing import Map, Rule

import hermetic
from hermetic import request
from hermetic.ctx import _sentinel
from hermetic.globals import request_ctx


def echo(**kwargs):
    """Describe the matched rule and arguments, so bodies show what matched."""
    rule = request.url_rule
    return f"{rule.endpoint} {rule.rule} {sorted(kwargs.items())}"


def add(app, rule, endpoint, **options):
    app.add_url_rule(rule, endpoint, echo, **options)


# Each scenario: a setup function, the requests as (method, path, base_url),
# and optionally a function run after the first request.


def static_rules(app):
    add(app, "/", "index")
    add(app, "/a", "a")
    add(app, "/a/b", "a_b", methods=["GET", "POST"])
    add(app, "/Static", "upper")
    add(app, "/a b", "space")
    add(app, "/only-post", "only_post", methods=["POST"])


def static_and_dynamic(app):
    add(app, "/user/me", "me")
    add(app, "/user/<name>", "user")
    add(app, "/x", "x_get")
    add(app, "/<name>", "catch_post", methods=["POST"])
    add(app, "/files/<path:p>", "files")
    add(app, "/files/readme", "readme")


def same_path_methods(app):
    add(app, "/res", "res_get", methods=["GET"])
    add(app, "/res", "res_post", methods=["POST"])
    add(app, "/res", "res_put", methods=["PUT"], provide_automatic_options=False)


def slashes(app):
    add(app, "/dir/", "dir")
    add(app, "/loose/", "loose", strict_slashes=False)
    add(app, "/file", "file")
    add(app, "/nofile", "nofile", strict_slashes=False)
    add(app, "/both", "both_plain")
    add(app, "/both/", "both_slash")
    add(app, "/a/b", "ab")


def map_not_strict(app):
    app.url_map.strict_slashes = False
    add(app, "/dir/", "dir")
    add(app, "/file", "file")


def defaults(app):
    add(app, "/page/", "page", defaults={"n": 1})
    add(app, "/page/<int:n>", "page")
    add(app, "/solo", "solo", defaults={"x": 5})
    add(app, "/p", "pq", defaults={"n": 1})
    add(app, "/q", "pq")


def redirects(app):
    app.add_url_rule("/old", "old", redirect_to="/new")
    app.add_url_rule("/old/<int:n>", "old_n", redirect_to="/new/<n>")
    add(app, "/new", "new")
    add(app, "/new/<int:n>", "new_n")


def special_rules(app):
    add(app, "/plain", "plain")
    app.url_map.add(Rule("/built", endpoint="built", build_only=True))
    app.view_functions["built"] = echo


def subdomains(app):
    app.subdomain_matching = True
    app.config["SERVER_NAME"] = "example.test"
    add(app, "/", "api_root", subdomain="api")
    add(app, "/", "root")
    add(app, "/me", "sub_me", subdomain="<user>")
    add(app, "/only-api", "only_api", subdomain="api")
    add(app, "/plain", "plain")


def subdomain_rule_without_matching(app):
    app.config["SERVER_NAME"] = "example.test"
    add(app, "/", "api_root", subdomain="api")
    add(app, "/plain", "plain")


def default_subdomain(app):
    app.url_map.default_subdomain = "www"
    add(app, "/", "root")


def host_matching(app):
    app.url_map.host_matching = True
    add(app, "/", "www_root", host="www.test")
    add(app, "/", "api_root", host="api.test")
    add(app, "/only", "only", host="www.test")
    add(app, "/<user>", "user", host="<name>.test")


def non_ascii(app):
    add(app, "/café", "cafe")
    add(app, "/日本", "japan")
    add(app, "/日本/<name>", "japan_name")


def trusted_hosts(app):
    app.config["TRUSTED_HOSTS"] = ["good.test"]
    add(app, "/", "index")
    add(app, "/a", "a")


def late_rule(app):
    add(app, "/x", "x")
    add(app, "/y", "y")


def add_late_rules(app):
    # Not setup methods: Werkzeug's map is changed directly.
    app.url_map.add(Rule("/late", endpoint="late", methods=["GET"]))
    app.url_map.add(Rule("/x", endpoint="x_post", methods=["POST"]))
    app.url_map.add(Rule("/y/", endpoint="y_slash", methods=["GET"]))
    app.view_functions.update(late=echo, x_post=echo, y_slash=echo)


COMMON = [
    ("GET", "/", None),
    ("GET", "/missing", None),
    ("GET", "//", None),
    ("GET", "/a//b", None),
]

SCENARIOS = {
    "static": (
        static_rules,
        [
            ("GET", "/a", None),
            ("HEAD", "/a", None),
            ("OPTIONS", "/a", None),
            ("POST", "/a", None),
            ("BREW", "/a", None),
            ("POST", "/a/b", None),
            ("GET", "/a/", None),
            ("GET", "/A", None),
            ("GET", "/Static", None),
            ("GET", "/a b", None),
            ("GET", "/a%20b", None),
            ("GET", "/only-post", None),
            ("POST", "/only-post", None),
            ("GET", "/a?x=1", None),
            ("GET", "/a", "http://localhost/prefix/"),
            ("GET", "/a", "https://other.test:8443"),
        ],
        None,
    ),
    "static_and_dynamic": (
        static_and_dynamic,
        [
            ("GET", "/user/me", None),
            ("GET", "/user/you", None),
            ("GET", "/x", None),
            ("POST", "/x", None),
            ("PUT", "/x", None),
            ("GET", "/files/readme", None),
            ("GET", "/files/a/b", None),
        ],
        None,
    ),
    "same_path_methods": (
        same_path_methods,
        [
            ("GET", "/res", None),
            ("POST", "/res", None),
            ("PUT", "/res", None),
            ("DELETE", "/res", None),
            ("OPTIONS", "/res", None),
            ("HEAD", "/res", None),
        ],
        None,
    ),
    "slashes": (
        slashes,
        [
            ("GET", "/dir", None),
            ("GET", "/dir/", None),
            ("POST", "/dir", None),
            ("GET", "/dir?q=1", None),
            ("GET", "/loose", None),
            ("GET", "/loose/", None),
            ("GET", "/file/", None),
            ("GET", "/nofile", None),
            ("GET", "/nofile/", None),
            ("GET", "/both", None),
            ("GET", "/both/", None),
        ],
        None,
    ),
    "map_not_strict": (
        map_not_strict,
        [("GET", "/dir", None), ("GET", "/dir/", None), ("GET", "/file/", None)],
        None,
    ),
    "defaults": (
        defaults,
        [
            ("GET", "/page/", None),
            ("GET", "/page/1", None),
            ("GET", "/page/2", None),
            ("GET", "/page", None),
            ("GET", "/solo", None),
            ("GET", "/p", None),
            ("GET", "/q", None),
        ],
        None,
    ),
    "redirects": (
        redirects,
        [
            ("GET", "/old", None),
            ("POST", "/old", None),
            ("GET", "/old/3", None),
            ("GET", "/new", None),
        ],
        None,
    ),
    "special_rules": (
        special_rules,
        [("GET", "/plain", None), ("GET", "/built", None)],
        None,
    ),
    "subdomains": (
        subdomains,
        [
            ("GET", "/", "http://api.example.test"),
            ("GET", "/", "http://example.test"),
            ("GET", "/me", "http://ann.example.test"),
            ("GET", "/me", "http://example.test"),
            ("GET", "/", "http://unrelated.test"),
            ("GET", "/only-api", "http://api.example.test"),
            ("GET", "/only-api", "http://example.test"),
            ("GET", "/plain", "http://example.test"),
            ("GET", "/plain", "http://api.example.test"),
            ("GET", "/plain", "http://unrelated.test"),
        ],
        None,
    ),
    "subdomain_rule_without_matching": (
        subdomain_rule_without_matching,
        [
            ("GET", "/", "http://api.example.test"),
            ("GET", "/plain", "http://api.example.test"),
            ("GET", "/plain", "http://other.test"),
        ],
        None,
    ),
    "default_subdomain": (
        default_subdomain,
        [("GET", "/", "http://www.example.test"), ("GET", "/", None)],
        None,
    ),
    "host_matching": (
        host_matching,
        [
            ("GET", "/", "http://www.test"),
            ("GET", "/", "http://api.test"),
            ("GET", "/", "http://other.example"),
            ("GET", "/only", "http://www.test"),
            ("GET", "/only", "http://api.test"),
            ("GET", "/bob", "http://ann.test"),
        ],
        None,
    ),
    "non_ascii": (
        non_ascii,
        [
            ("GET", "/café", None),
            ("GET", "/caf%C3%A9", None),
            ("GET", "/cafe", None),
            ("GET", "/日本", None),
            ("GET", "/日本/東京", None),
            ("POST", "/日本", None),
        ],
        None,
    ),
    "trusted_hosts": (
        trusted_hosts,
        [
            ("GET", "/", "http://good.test"),
            ("GET", "/a", "http://good.test"),
            ("GET", "/a", "http://evil.test"),
            ("GET", "/missing", "http://evil.test"),
        ],
        None,
    ),
    "late_rule": (
        late_rule,
        [
            ("GET", "/late", None),
            ("GET", "/x", None),
            ("POST", "/x", None),
            ("GET", "/y", None),
            ("GET", "/y/", None),
        ],
        add_late_rules,
    ),
}


def make_app(setup, fast):
    app = hermetic.Flask("routing_tests", static_folder=None)
    app.testing = True
    setup(app)
    if not fast:
        app._fast_router = None
    seen = []

    @app.after_request
    def record(response):
        rule = request.url_rule
        seen.append(
            None
            if rule is None
            else (rule.rule, rule.endpoint, sorted(rule.methods or ()), request.view_args)
        )
        return response

    return app, seen


def outcome(app, seen, method, path, base_url, headers=None):
    kwargs = {} if base_url is None else {"base_url": base_url}
    if headers is not None:
        kwargs["headers"] = headers
    seen.clear()
    # Werkzeug warns about a host outside SERVER_NAME: both must warn alike.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rv = app.test_client().open(path, method=method, **kwargs)
    result = (
        rv.status_code,
        rv.get_data(),
        rv.headers.get("Location"),
        sorted(rv.allow),
        list(seen),
        [str(w.message) for w in caught],
    )
    rv.close()
    return result


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_fast_router_agrees_with_werkzeug(name):
    setup, requests, after_first = SCENARIOS[name]
    fast_app, fast_seen = make_app(setup, fast=True)
    slow_app, slow_seen = make_app(setup, fast=False)
    assert fast_app._fast_router is not None

    for app, seen in ((fast_app, fast_seen), (slow_app, slow_seen)):
        outcome(app, seen, "GET", "/", None)
        if after_first is not None:
            after_first(app)

    for method, path, base_url in COMMON + requests:
        fast = outcome(fast_app, fast_seen, method, path, base_url)
        slow = outcome(slow_app, slow_seen, method, path, base_url)
        assert fast == slow, (method, path, base_url)


def test_fast_router_agrees_on_websocket_upgrade():
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket"}
    fast_app, fast_seen = make_app(static_rules, fast=True)
    slow_app, slow_seen = make_app(static_rules, fast=False)
    slow = outcome(slow_app, slow_seen, "GET", "/a", None, upgrade)
    assert slow[0] == 400
    assert outcome(fast_app, fast_seen, "GET", "/a", None, upgrade) == slow


def default_subdomain_after_rules(app):
    add(app, "/", "root")
    add(app, "/a", "a")
    # Rules added before keep an empty subdomain; the adapter is bound to "www".
    app.url_map.default_subdomain = "www"


@pytest.mark.parametrize("base_url", [None, "http://www.localhost"])
def test_fast_router_agrees_on_default_subdomain_set_late(base_url):
    fast_app, fast_seen = make_app(default_subdomain_after_rules, fast=True)
    slow_app, slow_seen = make_app(default_subdomain_after_rules, fast=False)
    slow = outcome(slow_app, slow_seen, "GET", "/a", base_url)
    assert slow[0] == 404
    assert outcome(fast_app, fast_seen, "GET", "/a", base_url) == slow


def test_scenarios_exercise_both_paths():
    # Guard against an equivalence test that only ever compares 404s.
    app, seen = make_app(static_rules, fast=True)
    assert outcome(app, seen, "GET", "/a", None)[0] == 200
    assert outcome(app, seen, "GET", "/a", None)[4] == [("/a", "a", ["GET", "HEAD", "OPTIONS"], {})]
    app, seen = make_app(late_rule, fast=True)
    outcome(app, seen, "GET", "/x", None)
    add_late_rules(app)
    assert outcome(app, seen, "GET", "/late", None)[:2] == (200, b"late /late []")
    assert outcome(app, seen, "POST", "/x", None)[:2] == (200, b"x_post /x []")


def adapter_state_app(fast):
    app = hermetic.Flask("routing_tests", static_folder=None)
    app.testing = True
    states = []

    @app.get("/plain")
    def plain():
        states.append(request_ctx._adapter is _sentinel)
        return "plain"

    @app.get("/item/<int:n>")
    def item(n):
        states.append(request_ctx._adapter is _sentinel)
        return str(n)

    @app.get("/url")
    def url():
        # Building a URL still binds the adapter on demand.
        rv = hermetic.url_for("item", n=2, _external=True)
        states.append(request_ctx._adapter is _sentinel)
        return rv

    if not fast:
        app._fast_router = None
    return app, states


def test_fast_router_skips_binding_the_adapter():
    app, states = adapter_state_app(fast=True)
    client = app.test_client()
    assert client.get("/plain").data == b"plain"
    assert client.get("/item/3").data == b"3"
    assert client.get("/url").data == b"http://localhost/item/2"
    # Dynamic rules use the matcher directly too; url_for binds on demand.
    assert states == [True, True, False]


def test_without_fast_router_the_adapter_is_bound():
    app, states = adapter_state_app(fast=False)
    assert app.test_client().get("/plain").data == b"plain"
    assert states == [False]


def test_options_on_fast_path_lists_methods():
    app = hermetic.Flask("routing_tests", static_folder=None)
    app.add_url_rule("/p", "p", echo, methods=["GET", "PUT"])
    rv = app.test_client().options("/p")
    assert rv.status_code == 200
    assert sorted(rv.allow) == ["GET", "HEAD", "OPTIONS", "PUT"]


def test_replacing_url_map_after_setup_is_honoured():
    app = hermetic.Flask("routing_tests", static_folder=None)
    app.testing = True
    add(app, "/old", "old")
    client = app.test_client()
    assert client.get("/old").status_code == 200

    app.url_map = Map([Rule("/new", endpoint="new"), Rule("/also", endpoint="also")])
    app.view_functions.update(new=echo, also=echo)
    assert client.get("/old").status_code == 404
    assert client.get("/new").data == b"new /new []"
    assert client.get("/also").data == b"also /also []"


def test_replacing_url_map_with_same_rule_count():
    app = hermetic.Flask("routing_tests", static_folder=None)
    app.testing = True
    add(app, "/one", "one")
    client = app.test_client()
    assert client.get("/one").status_code == 200

    app.url_map = Map([Rule("/two", endpoint="two")])
    app.view_functions["two"] = echo
    assert client.get("/one").status_code == 404
    assert client.get("/two").data == b"two /two []"
