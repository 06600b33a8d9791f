"""Class-based views: View and MethodView."""

from __future__ import annotations

import functools

import pytest
from werkzeug.http import parse_set_header

import hermetic
from hermetic.views import MethodView, View


def allowed(client, path="/"):
    return sorted(parse_set_header(client.options(path).headers["Allow"]))


# --- as_view, no app needed ----------------------------------------------------


def test_as_view_copies_class_attributes():
    class Greeting(View):
        """Say hello."""

        methods = ["GET", "POST"]
        provide_automatic_options = False

        def dispatch_request(self):
            return "hi"

    view = Greeting.as_view("greet")
    assert view.view_class is Greeting
    assert view.__name__ == "greet"
    assert view.__doc__ == "Say hello."
    assert view.__module__ == __name__
    assert view.methods == ["GET", "POST"]
    assert view.provide_automatic_options is False


def test_view_defaults():
    assert View.methods is None
    assert View.provide_automatic_options is None
    assert View.decorators == []
    assert View.init_every_request is True
    with pytest.raises(NotImplementedError):
        View().dispatch_request()


def test_decorators_see_final_name_and_wrap_in_order():
    seen = []

    def deco(tag):
        def decorator(f):
            seen.append((tag, f.__name__))

            @functools.wraps(f)
            def wrapper(**kwargs):
                return f"{tag}({f(**kwargs)})"

            return wrapper

        return decorator

    class Index(View):
        decorators = [deco("inner"), deco("outer")]

        def dispatch_request(self):
            return "x"

    view = Index.as_view("index")
    assert seen == [("inner", "index"), ("outer", "index")]
    assert view.view_class is Index
    assert view.__name__ == "index"


def test_method_view_collects_methods():
    class Base(MethodView):
        def get(self):
            return "get"

    class Child(Base):
        def post(self):
            return "post"

    class Extra(MethodView):
        methods = ["GET", "PROPFIND"]

    class FromBase(Extra):
        def get(self):
            return "get"

        def propfind(self):
            return "propfind"

    class Explicit(Child):
        methods = ["GET"]

    assert MethodView.methods is None
    assert Base.methods == {"GET"}
    assert Child.methods == {"GET", "POST"}
    assert FromBase.methods == {"GET", "PROPFIND"}
    assert Explicit.methods == ["GET"]


def test_method_view_without_handlers_keeps_no_methods():
    class Empty(MethodView):
        pass

    assert Empty.methods is None


# --- through the app -------------------------------------------------------------


def test_view_dispatches_with_url_arguments(app, client):
    class Item(View):
        methods = ["GET", "POST"]

        def dispatch_request(self, item_id):
            return f"{hermetic.request.method} {item_id}"

    app.add_url_rule("/items/<int:item_id>", view_func=Item.as_view("item"))
    assert client.get("/items/3").text == "GET 3"
    assert client.post("/items/4").text == "POST 4"
    assert client.put("/items/4").status_code == 405


def test_constructor_arguments_and_new_instance_per_request(app, client):
    instances = []

    class Echo(View):
        def __init__(self, word, *, times):
            self.word = word
            self.times = times
            instances.append(self)

        def dispatch_request(self):
            return self.word * self.times

    app.add_url_rule("/", view_func=Echo.as_view("echo", "ab", times=2))
    assert instances == []
    assert client.get("/").text == "abab"
    assert client.get("/").text == "abab"
    assert len(instances) == 2
    assert instances[0] is not instances[1]


def test_init_once_shares_one_instance(app, client):
    instances = []

    class Counter(View):
        init_every_request = False

        def __init__(self):
            instances.append(self)
            self.hits = 0

        def dispatch_request(self):
            self.hits += 1
            return str(self.hits)

    view = Counter.as_view("count")
    assert len(instances) == 1
    app.add_url_rule("/", view_func=view)
    assert client.get("/").text == "1"
    assert client.get("/").text == "2"
    assert len(instances) == 1


def test_replacing_view_class_takes_effect(app, client):
    class Original(View):
        decorators = [lambda f: f]

        def dispatch_request(self):
            return "original"

    class Replacement(Original):
        def dispatch_request(self):
            return "replacement"

    view = Original.as_view("index")
    view.view_class = Replacement
    app.add_url_rule("/", view_func=view)
    assert client.get("/").text == "replacement"


def test_decorators_apply_to_requests(app, client):
    def add_header(f):
        def wrapper(**kwargs):
            response = hermetic.make_response(f(**kwargs))
            response.headers["X-Deco"] = "yes"
            return response

        return wrapper

    class Index(View):
        decorators = [add_header]

        def dispatch_request(self):
            return "body"

    app.add_url_rule("/", view_func=Index.as_view("index"))
    rv = client.get("/")
    assert rv.text == "body"
    assert rv.headers["X-Deco"] == "yes"


def test_provide_automatic_options(app, client):
    class NoOptions(View):
        provide_automatic_options = False

        def dispatch_request(self):
            return "x"

    class Default(View):
        def dispatch_request(self):
            return "x"

    app.add_url_rule("/no", view_func=NoOptions.as_view("no"))
    app.add_url_rule("/default", view_func=Default.as_view("default"))
    assert client.options("/no").status_code == 405
    assert "OPTIONS" in client.options("/default").allow


def test_method_view_dispatch(app, client):
    class Resource(MethodView):
        def get(self, name):
            return f"get {name}"

        def delete(self, name):
            return f"delete {name}"

    app.add_url_rule("/<name>", view_func=Resource.as_view("resource"))
    assert client.get("/a").text == "get a"
    assert client.delete("/b").text == "delete b"
    assert client.post("/c").status_code == 405
    assert allowed(client, "/a") == ["DELETE", "GET", "HEAD", "OPTIONS"]


def test_head_falls_back_to_get(app, client):
    class Index(MethodView):
        def get(self):
            return hermetic.Response("body", headers={"X-Method": hermetic.request.method})

    app.add_url_rule("/", view_func=Index.as_view("index"))
    rv = client.head("/")
    assert rv.data == b""
    assert rv.headers["X-Method"] == "HEAD"


def test_explicit_head_wins(app, client):
    class Index(MethodView):
        def get(self):
            return "get"

        def head(self):
            return hermetic.Response("", headers={"X-Head": "1"})

    app.add_url_rule("/", view_func=Index.as_view("index"))
    assert client.head("/").headers["X-Head"] == "1"


def test_unimplemented_method_is_an_assertion(app, client):
    class Index(MethodView):
        methods = ["GET", "PATCH"]

        def get(self):
            return "get"

    app.add_url_rule("/", view_func=Index.as_view("index"))
    with pytest.raises(AssertionError, match="Unimplemented method 'PATCH'"):
        client.patch("/")


def test_async_handlers(app, client):
    pytest.importorskip("asgiref")

    class Index(MethodView):
        async def get(self):
            return "async get"

    class Plain(View):
        async def dispatch_request(self):
            return "async dispatch"

    app.add_url_rule("/", view_func=Index.as_view("index"))
    app.add_url_rule("/plain", view_func=Plain.as_view("plain"))
    assert client.get("/").text == "async get"
    assert client.get("/plain").text == "async dispatch"
