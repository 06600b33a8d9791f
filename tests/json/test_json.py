from __future__ import annotations

import dataclasses
import datetime
import decimal
import io
import uuid

import pytest
from markupsafe import Markup
from werkzeug.http import http_date

from hermetic import json
from hermetic.json.provider import DefaultJSONProvider, JSONProvider


class FakeResponse:
    def __init__(self, body, mimetype=None):
        self.body = body
        self.mimetype = mimetype


class FakeApp:
    """The two attributes a provider reads from the app."""

    response_class = FakeResponse

    def __init__(self, debug=False):
        self.debug = debug


# Without an app context: plain json plus the extra types.


def test_dumps_without_app_keeps_order_and_handles_extra_types():
    assert json.dumps({"b": 1, "a": "é"}) == '{"b": 1, "a": "\\u00e9"}'
    assert json.dumps(decimal.Decimal("0.003")) == '"0.003"'
    u = uuid.UUID(int=5)
    assert json.dumps(u) == f'"{u}"'
    assert json.dumps(Markup("<p>")) == '"<p>"'
    assert json.dumps({"a": 1}, sort_keys=True, indent=1) == '{\n "a": 1\n}'


def test_dumps_dates_as_http_dates():
    d = datetime.date(1975, 1, 5)
    dt = datetime.datetime(1973, 3, 11, 6, 30, 45)
    assert json.loads(json.dumps([d, dt])) == [http_date(d), http_date(dt)]

    pst = datetime.timezone(datetime.timedelta(hours=-8))
    aware = datetime.datetime(2017, 1, 1, 12, 34, 56, tzinfo=pst)
    assert json.dumps(aware) == '"Sun, 01 Jan 2017 20:34:56 GMT"'


def test_dumps_dataclass():
    @dataclasses.dataclass
    class Point:
        x: int
        y: list

    assert json.loads(json.dumps(Point(1, [2]))) == {"x": 1, "y": [2]}

    with pytest.raises(TypeError, match="Object of type type is not JSON serializable"):
        json.dumps(Point)


def test_dumps_unknown_type_raises():
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        json.dumps(object())


def test_file_round_trip_without_app():
    out = io.StringIO()
    json.dump({"when": datetime.date(2020, 1, 2)}, out)
    out.seek(0)
    assert json.load(out) == {"when": "Thu, 02 Jan 2020 00:00:00 GMT"}
    assert json.loads(b'{"a": [1]}') == {"a": [1]}


def test_jsonify_needs_app_context():
    with pytest.raises(RuntimeError, match="Working outside of application context"):
        json.jsonify(a=1)


# The providers in isolation.


def test_base_provider_is_abstract():
    p = JSONProvider(FakeApp())

    with pytest.raises(NotImplementedError):
        p.dumps(1)

    with pytest.raises(NotImplementedError):
        p.loads("1")


def test_provider_holds_weak_reference():
    import gc

    app = FakeApp()
    p = DefaultJSONProvider(app)
    assert p._app.debug is False
    del app
    gc.collect()

    with pytest.raises(ReferenceError):
        p._app.debug  # noqa: B018


def test_default_provider_settings():
    p = DefaultJSONProvider(FakeApp())
    assert p.dumps({"b": 1, "a": "\u2603"}) == '{"a": "\\u2603", "b": 1}'
    p.ensure_ascii = False
    p.sort_keys = False
    assert p.dumps({"b": 1, "a": "\u2603"}) == '{"b": 1, "a": "\u2603"}'
    assert p.dumps({"b": 1, "a": 2}, sort_keys=True) == '{"a": 2, "b": 1}'
    assert DefaultJSONProvider.mimetype == "application/json"
    assert DefaultJSONProvider.compact is None


def test_default_can_be_replaced_per_instance():
    class X:
        pass

    def default(o):
        if isinstance(o, X):
            return "x!"
        return DefaultJSONProvider.default(o)

    p = DefaultJSONProvider(FakeApp())
    p.default = default
    assert p.dumps([X(), decimal.Decimal("1.5")]) == '["x!", "1.5"]'
    assert DefaultJSONProvider(FakeApp()).default is DefaultJSONProvider.default


def test_provider_file_methods():
    p = DefaultJSONProvider(FakeApp())
    out = io.StringIO()
    p.dump({"b": 1, "a": 2}, out)
    assert out.getvalue() == '{"a": 2, "b": 1}'
    out.seek(0)
    assert p.load(out) == {"a": 2, "b": 1}


@pytest.mark.parametrize(
    ("args", "kwargs", "body"),
    [
        ((), {}, "null\n"),
        ((1,), {}, "1\n"),
        (([1, 2],), {}, "[1,2]\n"),
        ((1, 2), {}, "[1,2]\n"),
        ((), {"b": 1, "a": [1, 2]}, '{"a":[1,2],"b":1}\n'),
    ],
)
def test_response_compact(args, kwargs, body):
    app = FakeApp()  # the provider only holds a weak reference
    rv = DefaultJSONProvider(app).response(*args, **kwargs)
    assert rv.body == body
    assert rv.mimetype == "application/json"


def test_response_rejects_args_and_kwargs():
    app = FakeApp()

    with pytest.raises(TypeError, match="either args or kwargs, not both"):
        DefaultJSONProvider(app).response(1, a=2)


def test_response_pretty_in_debug():
    app = FakeApp(debug=True)
    p = DefaultJSONProvider(app)
    assert p.response(a=[1, {"b": 2}]).body == (
        '{\n  "a": [\n    1,\n    {\n      "b": 2\n    }\n  ]\n}\n'
    )
    p.compact = True
    assert p.response(a=[1]).body == '{"a":[1]}\n'

    app = FakeApp(debug=False)
    p = DefaultJSONProvider(app)
    p.compact = False
    assert p.response(a=1).body == '{\n  "a": 1\n}\n'


def test_response_uses_provider_mimetype():
    class Custom(DefaultJSONProvider):
        mimetype = "application/vnd.api+json"

    app = FakeApp()
    assert Custom(app).response([]).mimetype == "application/vnd.api+json"


def test_base_provider_response_uses_dumps():
    class Minimal(JSONProvider):
        def dumps(self, obj, **kwargs):
            return f"<{obj!r}>"

        def loads(self, s, **kwargs):
            return s

    app = FakeApp(debug=True)
    rv = Minimal(app).response(1, 2)
    assert rv.body == "<(1, 2)>"
    assert rv.mimetype == "application/json"


# With an app; needs the core.


def test_module_functions_use_app_provider(app):
    with app.app_context():
        assert json.dumps({"b": 1, "a": 2}) == '{"a": 2, "b": 1}'
        app.json.ensure_ascii = False
        assert json.dumps("\u2603") == '"\u2603"'

        out = io.StringIO()
        json.dump({"x": 1}, out)
        out.seek(0)
        assert json.load(out) == {"x": 1}


def test_jsonify_response(app):
    app.add_url_rule("/kw", "kw", lambda: json.jsonify(b=1, a=None))
    app.add_url_rule("/args", "args", lambda: json.jsonify(1, "x"))
    app.add_url_rule("/when", "when", lambda: json.jsonify(datetime.date(1975, 1, 5)))
    client = app.test_client()

    rv = client.get("/kw")
    assert rv.mimetype == "application/json"
    assert rv.data == b'{"a":null,"b":1}\n'
    assert client.get("/args").data == b'[1,"x"]\n'
    assert client.get("/when").json == "Sun, 05 Jan 1975 00:00:00 GMT"

    app.debug = True
    assert client.get("/kw").data == b'{\n  "a": null,\n  "b": 1\n}\n'


def test_replace_app_json(app):
    class Loud(DefaultJSONProvider):
        def dumps(self, obj, **kwargs):
            return super().dumps(obj, **kwargs).upper()

        def loads(self, s, **kwargs):
            return {"loaded": super().loads(s, **kwargs)}

    app.json = Loud(app)

    @app.post("/")
    def index():
        from hermetic import request

        return json.jsonify(request.get_json())

    rv = app.test_client().post("/", data='"abc"', content_type="application/json")
    assert rv.data == b'{"LOADED":"ABC"}\n'


def test_json_provider_class(app):
    from hermetic import Flask

    class MyProvider(DefaultJSONProvider):
        sort_keys = False

    class MyFlask(Flask):
        json_provider_class = MyProvider

    custom = MyFlask(__name__)
    assert isinstance(custom.json, MyProvider)
    assert isinstance(app.json, DefaultJSONProvider)
    with custom.app_context():
        assert json.dumps({"b": 1, "a": 2}) == '{"b": 1, "a": 2}'
