"""Input limits: bodies, forms, files, JSON depth, query strings and URLs."""

from __future__ import annotations

import io
import json

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Response

from hermetic import Flask, request
from hermetic.security._input_parsers import DepthLimitedJSON as _DepthLimitedJSON
from hermetic.security.input_limits import InputLimitsShield
from hermetic.security.shields import exempt


@pytest.fixture
def events(audit_events):
    return audit_events


STRONG_KEY = "l1m1ts-k3y-0123456789-abcdefghijklmnopqrstuvwxyz"


@pytest.fixture(params=["Flask", "Hermetic"])
def kind(request):
    """Both app kinds: a plain app with the shield added, and ``Hermetic``."""
    return request.param


def make_app(kind, **config):
    if kind == "Hermetic":
        from hermetic import Hermetic

        app = Hermetic(__name__)
    else:
        app = Flask(__name__)
    app.config.update(
        TESTING=True,
        SECRET_KEY=STRONG_KEY,
        MAX_CONTENT_LENGTH=10_000,
        MAX_FORM_MEMORY_SIZE=1_000,
        MAX_FORM_PARTS=20,
        LIMITS_MAX_FILES=3,
        LIMITS_JSON_MAX_DEPTH=8,
    )
    app.config.update(config)
    if kind == "Flask":
        InputLimitsShield().init_app(app)

    @app.post("/form")
    def form():
        return {"fields": len(request.form), "files": len(request.files)}

    @app.post("/files")
    def files():
        return {name: len(f.read()) for name, f in request.files.items()}

    @app.post("/json")
    def json_view():
        return {"type": type(request.get_json()).__name__}

    @app.post("/json-force")
    def json_force():
        return {"type": type(request.get_json(force=True)).__name__}

    @app.post("/json-silent")
    def json_silent():
        return {"value": request.get_json(silent=True)}

    @app.post("/raw")
    def raw():
        return {"size": len(request.get_data())}

    @app.get("/search")
    def search():
        return {"params": len(request.args)}

    @app.post("/upload")
    @exempt("limits")
    def upload():
        return {"files": len(request.files)}

    return app


@pytest.fixture
def app(kind):
    # Local: an app per body kind with the input-limit routes.
    return make_app(kind)


@pytest.fixture
def big_client(kind):
    """A client whose body limit lets a 100k-deep JSON document through."""
    return make_app(kind, MAX_CONTENT_LENGTH=1_000_000).test_client()


def limit_events(events):
    return [e for e in events() if e["event"] == "limit"]


def assert_refused(response, status, limit, events, reason):
    assert response.status_code == status, response.get_data(as_text=True)
    assert limit in response.get_data(as_text=True)
    found = limit_events(events)
    assert len(found) == 1, found
    assert found[0]["limit"] == limit
    assert found[0]["reason"] == reason


def call(app, builder_kwargs, *, terminated=True, keep_length=False, protocol=None):
    """Send a raw environ, without the test client's rebuilding (no Content-Length
    unless ``keep_length``), as a server that ends the stream itself when ``terminated``."""
    environ = EnvironBuilder(**{"method": "POST", **builder_kwargs}).get_environ()
    if not keep_length:
        environ.pop("CONTENT_LENGTH", None)
    if terminated:
        environ["wsgi.input_terminated"] = True
    if protocol is not None:
        environ["SERVER_PROTOCOL"] = protocol
    return Response.from_app(app, environ, buffered=True)


def deep(n: int) -> str:
    return "[" * n + "]" * n


def multipart(fields=(), files=()):
    data = dict(fields)
    for i, (name, content) in enumerate(files):
        data[name] = (io.BytesIO(content), f"f{i}.txt")
    return data


# -- raw bodies -----------------------------------------------------------


def test_body_over_max_content_length_with_content_length(client, events):
    r = client.post("/raw", data=b"x" * 10_001)
    assert_refused(r, 413, "MAX_CONTENT_LENGTH", events, "body_too_large")


def test_declared_length_is_refused_before_the_view_reads(app, events):
    seen = []

    @app.post("/never")
    def never():
        seen.append(1)
        return "read nothing"

    r = app.test_client().post("/never", data=b"x" * 10_001)
    assert r.status_code == 413
    assert seen == []


def test_declared_length_is_refused_before_the_view_on_a_terminating_server(app, events):
    # granian and gunicorn mark every input stream terminated; a declared
    # Content-Length over the limit is still refused before the view reads.
    seen = []

    @app.post("/never-terminated")
    def never_terminated():
        seen.append(1)
        return "read nothing"

    r = call(app, dict(path="/never-terminated", data=b"x" * 10_001), keep_length=True)
    assert_refused(r, 413, "MAX_CONTENT_LENGTH", events, "body_too_large")
    assert seen == []


def test_get_without_body_on_a_terminating_server_reads_empty(app, events):
    @app.get("/body-size")
    def body_size():
        return {"size": len(request.get_data()), "form": len(request.form)}

    r = call(app, dict(method="GET", path="/body-size"))
    assert r.status_code == 200
    assert r.get_json() == {"size": 0, "form": 0}
    assert limit_events(events) == []


@pytest.mark.parametrize("protocol", ["HTTP/2", "HTTP/3"])
def test_http2_body_without_length_is_counted_while_read(app, events, protocol):
    # HTTP/2 and 3 frame the body themselves: no Content-Length, no
    # Transfer-Encoding, yet a body. It is still bounded by MAX_CONTENT_LENGTH.
    r = call(app, dict(path="/raw", data=b"x" * 50_000), protocol=protocol)
    assert_refused(r, 413, "MAX_CONTENT_LENGTH", events, "body_too_large")


def test_http2_json_without_length_keeps_the_depth_limit(app, events):
    body = dict(path="/json", data=deep(40), content_type="application/json")
    r = call(app, body, protocol="HTTP/2")
    assert_refused(r, 400, "LIMITS_JSON_MAX_DEPTH", events, "json_too_deep")


def test_chunked_body_without_content_length_is_counted_while_read(app, events):
    chunked = {"Transfer-Encoding": "chunked"}
    r = call(app, dict(path="/raw", input_stream=io.BytesIO(b"x" * 50_000), headers=chunked))
    assert_refused(r, 413, "MAX_CONTENT_LENGTH", events, "body_too_large")


def test_chunked_body_within_limit_is_read(app, events):
    chunked = {"Transfer-Encoding": "chunked"}
    r = call(app, dict(path="/raw", input_stream=io.BytesIO(b"x" * 5_000), headers=chunked))
    assert r.status_code == 200
    assert json.loads(r.get_data()) == {"size": 5_000}
    assert limit_events(events) == []


def test_chunked_body_exactly_at_the_limit_is_read(app, events):
    chunked = {"Transfer-Encoding": "chunked"}
    r = call(app, dict(path="/raw", input_stream=io.BytesIO(b"x" * 10_000), headers=chunked))
    assert json.loads(r.get_data()) == {"size": 10_000}


def test_chunked_multipart_over_limit(app, events):
    builder = EnvironBuilder(method="POST", data=multipart(files=[("f", b"x" * 20_000)]))
    environ = builder.get_environ()
    body = environ["wsgi.input"].read()
    r = call(
        app,
        dict(
            path="/files",
            input_stream=io.BytesIO(body),
            content_type=environ["CONTENT_TYPE"],
            headers={"Transfer-Encoding": "chunked"},
        ),
    )
    builder.close()
    assert_refused(r, 413, "MAX_CONTENT_LENGTH", events, "body_too_large")


def test_chunked_form_over_limit(app, events):
    body = b"&".join(b"f%d=%s" % (i, b"v" * 900) for i in range(19))
    r = call(
        app,
        dict(
            path="/form",
            input_stream=io.BytesIO(body),
            content_type="application/x-www-form-urlencoded",
            headers={"Transfer-Encoding": "chunked"},
        ),
    )
    assert_refused(r, 413, "MAX_CONTENT_LENGTH", events, "body_too_large")


def test_body_without_length_or_terminated_stream_reads_as_empty(app, events):
    r = call(app, dict(path="/raw", input_stream=io.BytesIO(b"x" * 50_000)), terminated=False)
    assert json.loads(r.get_data()) == {"size": 0}


def test_body_at_the_limit_is_accepted(client, events):
    r = client.post("/raw", data=b"x" * 10_000)
    assert r.json == {"size": 10_000}
    assert limit_events(events) == []


# -- url-encoded forms ----------------------------------------------------


def test_urlencoded_too_many_fields(client, events):
    r = client.post("/form", data={f"f{i}": "v" for i in range(21)})
    assert_refused(r, 413, "MAX_FORM_PARTS", events, "too_many_fields")


def test_urlencoded_many_empty_separators_are_not_fields(client, events):
    r = client.post(
        "/form", data="a=1" + "&" * 100, content_type="application/x-www-form-urlencoded"
    )
    assert r.json == {"fields": 1, "files": 0}


def test_urlencoded_field_too_large(client, events):
    r = client.post("/form", data={"big": "v" * 1_001})
    assert_refused(r, 413, "MAX_FORM_MEMORY_SIZE", events, "field_too_large")


def test_urlencoded_within_limits(client, events):
    r = client.post("/form", data={f"f{i}": "v" * 400 for i in range(20)})
    assert r.json == {"fields": 20, "files": 0}
    assert limit_events(events) == []


# -- multipart ------------------------------------------------------------


def test_multipart_too_many_parts(client, events):
    r = client.post(
        "/form",
        data={f"f{i}": "v" for i in range(21)},
        content_type="multipart/form-data",
    )
    assert_refused(r, 413, "MAX_FORM_PARTS", events, "too_many_fields")


def test_multipart_field_too_large(client, events):
    r = client.post("/form", data={"big": "v" * 1_500}, content_type="multipart/form-data")
    assert_refused(r, 413, "MAX_FORM_MEMORY_SIZE", events, "field_too_large")


def test_multipart_too_many_files(client, events):
    r = client.post("/files", data=multipart(files=[(f"f{i}", b"x") for i in range(4)]))
    assert_refused(r, 413, "LIMITS_MAX_FILES", events, "too_many_files")


def test_multipart_files_within_count(client, events):
    r = client.post("/files", data=multipart(files=[(f"f{i}", b"xy") for i in range(3)]))
    assert r.json == {"f0": 2, "f1": 2, "f2": 2}
    assert limit_events(events) == []


def test_multipart_file_over_max_content_length(client, events):
    r = client.post("/files", data=multipart(files=[("f", b"x" * 20_000)]))
    assert_refused(r, 413, "MAX_CONTENT_LENGTH", events, "body_too_large")


def test_file_larger_than_field_limit_is_accepted(kind, events):
    # Files are bounded by MAX_CONTENT_LENGTH (and LIMITS_MAX_FILE_SIZE), not
    # by the field limit, even when the parser reads in large chunks.
    app = make_app(kind, MAX_CONTENT_LENGTH=1_000_000, MAX_FORM_MEMORY_SIZE=64 * 1024)
    # Line breaks make Werkzeug's decoder carry bytes over between chunks.
    r = app.test_client().post("/files", data=multipart(files=[("f", b"\r\n-" * 100_000)]))
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.json == {"f": 300_000}


def test_multipart_file_over_max_file_size(kind, events):
    app = make_app(kind, LIMITS_MAX_FILE_SIZE=1_000)
    client = app.test_client()
    r = client.post("/files", data=multipart(files=[("f", b"x" * 1_001)]))
    assert_refused(r, 413, "LIMITS_MAX_FILE_SIZE", events, "file_too_large")


def test_multipart_file_at_max_file_size(kind, events):
    app = make_app(kind, LIMITS_MAX_FILE_SIZE=1_000)
    r = app.test_client().post("/files", data=multipart(files=[("f", b"x" * 1_000)]))
    assert r.json == {"f": 1_000}


def test_multipart_large_file_in_many_chunks_is_counted(kind, events):
    app = make_app(kind, MAX_CONTENT_LENGTH=1_000_000, LIMITS_MAX_FILE_SIZE=100_000)
    r = app.test_client().post("/files", data=multipart(files=[("f", b"x" * 300_000)]))
    assert_refused(r, 413, "LIMITS_MAX_FILE_SIZE", events, "file_too_large")


# -- JSON -----------------------------------------------------------------


def test_very_deep_json_is_a_400_not_a_500(big_client, events):
    r = big_client.post("/json", data=deep(100_000), content_type="application/json")
    assert_refused(r, 400, "LIMITS_JSON_MAX_DEPTH", events, "json_too_deep")


def test_json_one_level_too_deep(client, events):
    r = client.post("/json", data=deep(9), content_type="application/json")
    assert_refused(r, 400, "LIMITS_JSON_MAX_DEPTH", events, "json_too_deep")


def test_deep_objects_are_counted_too(client, events):
    doc = '{"a":' * 9 + "1" + "}" * 9
    r = client.post("/json", data=doc, content_type="application/json")
    assert_refused(r, 400, "LIMITS_JSON_MAX_DEPTH", events, "json_too_deep")


def test_json_at_the_depth_limit_works(client, events):
    r = client.post("/json", data=deep(8), content_type="application/json")
    assert r.json == {"type": "list"}
    assert limit_events(events) == []


def test_wide_json_with_many_brackets_works(client, events):
    doc = json.dumps([[{"a": [1]}] for _ in range(300)])
    r = client.post("/json", data=doc, content_type="application/json")
    assert r.json == {"type": "list"}


def test_brackets_inside_strings_do_not_count(client, events):
    r = client.post("/json", json={"s": "[[[[[[[[[[[[[[[["}, content_type="application/json")
    assert r.json == {"type": "dict"}


def test_deep_json_with_force_is_refused(big_client, events):
    r = big_client.post("/json-force", data=deep(100_000), content_type="text/plain")
    assert_refused(r, 400, "LIMITS_JSON_MAX_DEPTH", events, "json_too_deep")


def test_deep_json_with_silent_is_none_and_audited(big_client, events):
    r = big_client.post("/json-silent", data=deep(100_000), content_type="application/json")
    assert r.json == {"value": None}
    assert [e["reason"] for e in limit_events(events)] == ["json_too_deep"]


def test_invalid_json_is_still_a_plain_400(client, events):
    r = client.post("/json", data="[1,", content_type="application/json")
    assert r.status_code == 400
    assert limit_events(events) == []


def test_problem_json_names_the_limit(client, events):
    r = client.post(
        "/json",
        data=deep(50),
        content_type="application/json",
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 400
    problem = r.json
    assert problem["reason"] == "json_too_deep"
    assert "LIMITS_JSON_MAX_DEPTH is 8" in problem["detail"]


# -- query strings and URLs -----------------------------------------------


def test_too_many_query_params(client, events):
    r = client.get("/search?" + "&".join(f"p{i}=1" for i in range(201)))
    assert_refused(r, 400, "LIMITS_MAX_QUERY_PARAMS", events, "too_many_query_params")


def test_query_params_at_the_limit(client, events):
    r = client.get("/search?" + "&".join(f"p{i}=1" for i in range(200)))
    assert r.json == {"params": 200}


def test_query_string_not_utf8_is_a_400(app, events):
    environ = EnvironBuilder(path="/search").get_environ()
    environ["QUERY_STRING"] = "q=\x80"  # the raw byte 0x80, as a WSGI server passes it
    r = Response.from_app(app, environ, buffered=True)
    assert r.status_code == 400
    assert [e["reason"] for e in limit_events(events)] == ["query_not_utf8"]


def test_query_string_utf8_is_accepted(app, events):
    environ = EnvironBuilder(path="/search").get_environ()
    environ["QUERY_STRING"] = "q=\u00e9".encode().decode("latin-1")
    r = Response.from_app(app, environ, buffered=True)
    assert json.loads(r.get_data()) == {"params": 1}


def test_url_too_long(client, events):
    r = client.get("/search?q=" + "x" * 9000)
    assert_refused(r, 414, "LIMITS_MAX_URL_LENGTH", events, "url_too_long")


def test_long_path_on_unknown_route_is_414(client, events):
    r = client.get("/" + "a" * 9000)
    assert r.status_code == 414


# -- configuration and exemption -------------------------------------------


def test_limits_are_per_app(kind, events):
    strict = make_app(kind, LIMITS_MAX_FILES=1, LIMITS_MAX_QUERY_PARAMS=2)
    lax = make_app(kind, LIMITS_MAX_FILES=5, LIMITS_MAX_QUERY_PARAMS=None)
    files = [(f"f{i}", b"x") for i in range(2)]
    assert strict.test_client().post("/files", data=multipart(files=files)).status_code == 413
    assert lax.test_client().post("/files", data=multipart(files=files)).status_code == 200
    assert strict.test_client().get("/search?a=1&b=2&c=3").status_code == 400
    assert lax.test_client().get("/search?" + "&a=1" * 500).status_code == 200


def test_limits_off_with_none(kind, events):
    app = make_app(kind, LIMITS_JSON_MAX_DEPTH=None, LIMITS_MAX_URL_LENGTH=None)
    r = app.test_client().post("/json", data=deep(50), content_type="application/json")
    assert r.json == {"type": "list"}
    assert app.test_client().get("/search?q=" + "x" * 9000).status_code == 200


def test_bad_setting_is_a_configuration_error(kind):
    from hermetic.security.errors import ConfigurationError

    app = make_app(kind, LIMITS_MAX_FILES="ten")
    app.testing = True
    with pytest.raises(ConfigurationError, match="LIMITS_MAX_FILES"):
        app.test_client().get("/search")


def test_exempt_route_gets_only_werkzeug_limits(client, events):
    r = client.post("/upload", data=multipart(files=[(f"f{i}", b"x") for i in range(5)]))
    assert r.json == {"files": 5}
    r = client.post("/upload", data=b"x" * 10_001)
    assert r.status_code == 413  # Werkzeug still applies MAX_CONTENT_LENGTH.
    assert limit_events(events) == []


def test_request_without_body_is_left_alone(client, events):
    app = client.application
    app.shields.configure(app)
    with app.test_request_context("/search"):
        req = request._get_current_object()
        app.shields.get("limits").before(req)
        assert not isinstance(req.json_module, _DepthLimitedJSON)
        assert "form_data_parser_class" not in vars(req)


# -- the bodyless fast path -------------------------------------------------------


@pytest.mark.parametrize("length", [None, "", "0"])
def test_bodyless_request_stops_early_without_installing_parsers(app, length):
    shield = next(s for s in app.shields if s.name == "limits")
    app.shields.configure(app)
    environ = EnvironBuilder(method="GET", path="/search", query_string="a=1").get_environ()
    environ.pop("CONTENT_LENGTH", None)
    if length is not None:
        environ["CONTENT_LENGTH"] = length
    with app.request_context(environ) as ctx:
        shield.before(ctx.request)
        # No body will be read: the limited parsers are not even installed.
        assert not isinstance(ctx.request.json_module, _DepthLimitedJSON)
        assert "form_data_parser_class" not in ctx.request.__dict__


def test_get_with_a_body_is_still_limited(app, events):
    r = app.test_client().open("/search", method="GET", data=b"x" * 10_001)
    assert_refused(r, 413, "MAX_CONTENT_LENGTH", events, "body_too_large")


@pytest.mark.parametrize("length", ["abc", "-5", " 7"])
def test_odd_content_lengths_take_the_werkzeug_path(app, events, length):
    # Not a plain length: decided by Werkzeug's own reading, as before.
    environ = EnvironBuilder(method="POST", path="/raw", data=b"x" * 7).get_environ()
    environ["CONTENT_LENGTH"] = length
    r = Response.from_app(app, environ, buffered=True)
    assert r.status_code == 200
    assert limit_events(events) == []


def test_query_checks_still_run_on_bodyless_requests(client, events):
    r = client.get("/search?" + "&".join(f"p{i}=1" for i in range(201)))
    assert_refused(r, 400, "LIMITS_MAX_QUERY_PARAMS", events, "too_many_query_params")
    assert client.get("/search?q=%FF").status_code == 200
    bad = EnvironBuilder(method="GET", path="/search").get_environ()
    bad["QUERY_STRING"] = b"q=\xff".decode("latin-1")
    assert Response.from_app(client.application, bad, buffered=True).status_code == 400
