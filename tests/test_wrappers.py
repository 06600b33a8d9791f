"""Request and Response: limits from the config, routing info, JSON, cookies."""

from __future__ import annotations

import pytest
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType

import hermetic
from hermetic import Blueprint, request
from hermetic.debughelpers import DebugFilesKeyError
from hermetic.json.provider import DefaultJSONProvider
from hermetic.wrappers import Request, Response

# --- body limits ----------------------------------------------------------------


def test_limits_follow_the_app_config(app):
    app.config.update(MAX_CONTENT_LENGTH=10, MAX_FORM_MEMORY_SIZE=20, MAX_FORM_PARTS=30)
    with app.test_request_context():
        assert request.max_content_length == 10
        assert request.max_form_memory_size == 20
        assert request.max_form_parts == 30
        app.config["MAX_CONTENT_LENGTH"] = 11
        # The config is read on each access, not copied at request start.
        assert request.max_content_length == 11


def test_limits_without_app_are_werkzeugs():
    req = Request.from_values()
    assert req.max_content_length is None
    assert req.max_form_memory_size == 500_000
    assert req.max_form_parts == 1_000


def test_default_config_limits(app):
    with app.test_request_context():
        assert request.max_content_length is None
        assert request.max_form_memory_size == 500_000
        assert request.max_form_parts == 1_000


def test_max_content_length_is_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 100

    @app.post("/")
    def upload():
        return str(len(request.form["field"]))

    assert client.post("/", data={"field": "x" * 50}).data == b"50"
    assert client.post("/", data={"field": "x" * 200}).status_code == 413


MULTIPART = "multipart/form-data"


def test_max_form_memory_size_is_413(app, client):
    # Werkzeug checks the limit against each chunk it buffers, so the whole
    # (small) body must fit under it.
    app.config["MAX_FORM_MEMORY_SIZE"] = 1000

    @app.post("/")
    def upload():
        return str(len(request.form["field"]))

    ok = client.post("/", data={"field": "y" * 100}, content_type=MULTIPART)
    assert ok.data == b"100"
    too_big = client.post("/", data={"field": "y" * 2000}, content_type=MULTIPART)
    assert too_big.status_code == 413


def test_max_form_parts_is_413(app, client):
    app.config["MAX_FORM_PARTS"] = 3

    @app.post("/")
    def upload():
        return str(len(request.form))

    def parts(n):
        return {f"f{i}": "x" for i in range(n)}

    assert client.post("/", data=parts(3), content_type=MULTIPART).data == b"3"
    assert client.post("/", data=parts(5), content_type=MULTIPART).status_code == 413


def test_per_request_override_beats_config(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 10

    @app.before_request
    def widen():
        if request.path == "/big":
            request.max_content_length = 1000
        elif request.path == "/small":
            request.max_content_length = 2

    app.post("/big", endpoint="big")(lambda: str(len(request.get_data())))
    app.post("/small", endpoint="small")(lambda: str(len(request.get_data())))
    app.post("/default", endpoint="default")(lambda: str(len(request.get_data())))

    assert client.post("/big", data=b"x" * 500).data == b"500"
    assert client.post("/small", data=b"x" * 5).status_code == 413
    assert client.post("/default", data=b"x" * 5).data == b"5"
    assert client.post("/default", data=b"x" * 11).status_code == 413


def test_per_request_form_overrides(app):
    app.config.update(MAX_FORM_MEMORY_SIZE=10, MAX_FORM_PARTS=1)
    data = {"a": "x" * 100, "b": "y"}
    with app.test_request_context(method="POST", data=data, content_type=MULTIPART):
        request.max_form_memory_size = 10_000
        request.max_form_parts = 5
        assert request.max_form_memory_size == 10_000
        assert request.form["a"] == "x" * 100
    with app.test_request_context(method="POST", data=data, content_type=MULTIPART):
        with pytest.raises(RequestEntityTooLarge):
            request.form  # noqa: B018


# --- routing information ------------------------------------------------------------


def test_endpoint_and_blueprints(app, client):
    parent = Blueprint("parent", __name__, url_prefix="/p")
    child = Blueprint("child", __name__, url_prefix="/c")

    def describe():
        return f"{request.endpoint}|{request.blueprint}|{','.join(request.blueprints)}"

    child.add_url_rule("/", "view", describe)
    parent.add_url_rule("/", "view", describe)
    parent.register_blueprint(child)
    app.register_blueprint(parent)
    app.add_url_rule("/", "top", describe)

    assert client.get("/").data == b"top|None|"
    assert client.get("/p/").data == b"parent.view|parent|parent"
    assert client.get("/p/c/").data == b"parent.child.view|parent.child|parent.child,parent"


def test_endpoint_is_none_without_match(app):
    with app.test_request_context("/nowhere"):
        assert request.url_rule is None
        assert request.view_args is None
        assert request.endpoint is None
        assert request.blueprint is None
        assert request.blueprints == []
        assert request.routing_exception.code == 404


def test_view_args_and_rule_after_match(app):
    app.add_url_rule("/item/<int:n>", "item", lambda n: "")
    with app.test_request_context("/item/4"):
        assert request.url_rule.rule == "/item/<int:n>"
        assert request.view_args == {"n": 4}
        assert request.routing_exception is None


# --- JSON -------------------------------------------------------------------------------


def test_bad_json_message_hidden_outside_debug(app):
    with app.test_request_context(data="{bad", content_type="application/json"):
        with pytest.raises(BadRequest) as info:
            request.get_json()
    assert "Failed to decode JSON object" not in info.value.description
    assert info.value.description == BadRequest.description


def test_bad_json_message_shown_in_debug(app):
    app.debug = True
    with app.test_request_context(data="{bad", content_type="application/json"):
        with pytest.raises(BadRequest, match="Failed to decode JSON object"):
            request.get_json()


def test_bad_json_in_client_response(app, client):
    app.post("/")(lambda: str(request.json))
    rv = client.post("/", data="{bad", content_type="application/json")
    assert rv.status_code == 400
    assert b"Failed to decode" not in rv.data


def test_bad_json_without_app_context():
    req = Request.from_values(data="{bad", content_type="application/json")
    with pytest.raises(BadRequest) as info:
        req.get_json()
    assert "Failed to decode" not in info.value.description


def test_json_wrong_content_type_is_415(app):
    with app.test_request_context(data="{}", content_type="text/plain"):
        with pytest.raises(UnsupportedMediaType, match="Content-Type"):
            request.get_json()
        assert request.get_json(silent=True) is None


def test_request_uses_app_json_provider(app):
    class Tagged(DefaultJSONProvider):
        def loads(self, s, **kwargs):
            return {"tagged": super().loads(s, **kwargs)}

    app.json = Tagged(app)
    with app.test_request_context(json=[1]):
        assert request.get_json() == {"tagged": [1]}


# --- forms in debug ------------------------------------------------------------------


def test_missing_file_explained_in_debug(app, client):
    app.debug = True
    app.post("/")(lambda: request.files["upload"].filename)
    with pytest.raises(DebugFilesKeyError, match="enctype"):
        client.post("/", data={"upload": "name.txt"})


def test_missing_file_plain_key_error_outside_debug(app, client):
    app.post("/")(lambda: request.files["upload"].filename)
    assert client.post("/", data={"upload": "name.txt"}).status_code == 400


# --- Response ---------------------------------------------------------------------------


def test_response_defaults():
    rv = Response("body")
    assert rv.mimetype == "text/html"
    assert rv.content_type == "text/html; charset=utf-8"
    assert rv.status_code == 200
    assert hermetic.Response is Response


def test_relative_location_is_kept(app, client):
    app.get("/")(lambda: hermetic.redirect("relative/path"))
    assert client.get("/").headers["Location"] == "relative/path"


def test_response_json(app):
    with app.app_context():
        rv = Response('{"a": 1}', mimetype="application/json")
        assert rv.json == {"a": 1}


def test_max_cookie_size_from_config(app):
    assert Response().max_cookie_size == 4093
    app.config["MAX_COOKIE_SIZE"] = 100
    with app.app_context():
        rv = Response()
        assert rv.max_cookie_size == 100
        with pytest.warns(UserWarning, match="cookie is too large"):
            rv.set_cookie("big", "x" * 150)
        rv.set_cookie("small", "x" * 10)


def test_max_cookie_size_zero_disables_warning(app):
    app.config["MAX_COOKIE_SIZE"] = 0
    with app.app_context():
        Response().set_cookie("big", "x" * 10_000)


def test_custom_response_class(app, client):
    class TextResponse(Response):
        default_mimetype = "text/plain"

    app.response_class = TextResponse
    app.get("/")(lambda: "plain")
    rv = client.get("/")
    assert rv.mimetype == "text/plain"


def test_query_string_that_is_not_utf8_is_a_400(app):
    from werkzeug.test import EnvironBuilder

    @app.get("/q")
    def q():
        return dict(hermetic.request.args)

    environ = EnvironBuilder("/q").get_environ()
    environ["QUERY_STRING"] = "a=\xff"
    statuses = []
    body = b"".join(app(environ, lambda status, headers, exc=None: statuses.append(status)))
    assert statuses == ["400 BAD REQUEST"]
    assert b"not valid UTF-8" in body


def test_json_errors_that_are_http_errors_keep_their_status(app):
    with app.test_request_context(method="POST", data="{}", content_type="application/json"):
        with pytest.raises(RequestEntityTooLarge):
            hermetic.request.on_json_loading_failed(RequestEntityTooLarge())


# -- the fast text response ----------------------------------------------------
# (its headers come from hermetic._headers.headers_from_pairs, whose reliance on
# Werkzeug's Headers layout is pinned by tests/test_headers_helper.py)


def test_text_response_fast_path_equals_the_constructor(app):
    # The fast text response (headers from headers_from_pairs) is the same
    # response the constructor makes.
    app.add_url_rule("/text", "text", lambda: "héllo")
    with app.test_request_context("/text"):
        fast = app.make_response("héllo")
    slow = Response("héllo")
    assert fast.headers == slow.headers
    assert fast.get_data() == slow.get_data()
    assert fast.status == slow.status
