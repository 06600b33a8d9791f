from __future__ import annotations

from datetime import datetime, timezone
from uuid import UUID, uuid4

import pytest
from markupsafe import Markup

from hermetic.json.tag import (
    JSONTag,
    PassDict,
    PassList,
    TagBytes,
    TagDateTime,
    TagDict,
    TaggedJSONSerializer,
    TagMarkup,
    TagTuple,
    TagUUID,
)

WHEN = datetime(2015, 10, 21, 7, 28, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "data",
    [
        {" t": (1, 2, 3)},
        {" t__": b"a"},
        {" di": " di"},
        {"x": (1, 2, 3), "y": 4},
        (1, 2, 3),
        [(1, 2, 3)],
        [[{" b": 1}]],
        b"\xff",
        Markup("<html>"),
        uuid4(),
        datetime.now(tz=timezone.utc).replace(microsecond=0),
        {"nested": {"deep": [(b"x", WHEN)]}},
        "plain",
        None,
        {},
    ],
)
def test_round_trip(data):
    s = TaggedJSONSerializer()
    assert s.loads(s.dumps(data)) == data


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ((1, 2), '{" t":[1,2]}'),
        (b"\xff", '{" b":"/w=="}'),
        (Markup("<b>"), '{" m":"<b>"}'),
        (UUID(int=1), '{" u":"00000000000000000000000000000001"}'),
        (WHEN, '{" d":"Wed, 21 Oct 2015 07:28:00 GMT"}'),
        ({" t": "x"}, '{" di":{" t__":"x"}}'),
        ({" other": "x"}, '{" other":"x"}'),
        ([{"a": (1,)}], '[{"a":{" t":[1]}}]'),
        ("é", '"\\u00e9"'),
        ({"b": 1, "a": 2}, '{"b":1,"a":2}'),  # insertion order without an app
    ],
)
def test_exact_output(value, expected):
    assert TaggedJSONSerializer().dumps(value) == expected


def test_builtin_tag_order_and_keys():
    s = TaggedJSONSerializer()
    assert [type(tag) for tag in s.order] == [
        TagDict,
        PassDict,
        TagTuple,
        PassList,
        TagBytes,
        TagMarkup,
        TagUUID,
        TagDateTime,
    ]
    assert list(s.tags) == [" di", " t", " b", " m", " u", " d"]
    assert all(tag.serializer is s for tag in s.order)


def test_untag_leaves_unknown_objects():
    s = TaggedJSONSerializer()
    assert s.untag({" zz": 1}) == {" zz": 1}
    assert s.untag({" t": [1], "x": 2}) == {" t": [1], "x": 2}
    assert s.untag({" t": [1]}) == (1,)
    assert s.loads('{" t":[{" b":"/w=="}]}') == (b"\xff",)


def test_markup_tag_accepts_html_objects():
    class HTML:
        def __html__(self):
            return "<i>x</i>"

    s = TaggedJSONSerializer()
    out = s.loads(s.dumps(HTML()))
    assert isinstance(out, Markup)
    assert out == Markup("<i>x</i>")


def test_duplicate_tag():
    class TagDict2(JSONTag):
        key = " d"

    s = TaggedJSONSerializer()

    with pytest.raises(KeyError, match="already registered"):
        s.register(TagDict2)

    s.register(TagDict2, force=True, index=0)
    assert isinstance(s.tags[" d"], TagDict2)
    assert isinstance(s.order[0], TagDict2)


def test_custom_tag():
    class Foo:
        def __init__(self, data):
            self.data = data

    class TagFoo(JSONTag):
        __slots__ = ()
        key = " f"

        def check(self, value):
            return isinstance(value, Foo)

        def to_json(self, value):
            return self.serializer.tag(value.data)

        def to_python(self, value):
            return Foo(value)

    s = TaggedJSONSerializer()
    s.register(TagFoo)
    assert s.dumps(Foo((1,))) == '{" f":{" t":[1]}}'
    assert s.loads(s.dumps(Foo("bar"))).data == "bar"

    # A registered key is escaped when it appears as a real one-key dict.
    assert s.loads(s.dumps({" f": 1})) == {" f": 1}


def test_tag_interface():
    t = JSONTag(None)

    for method in (t.check, t.to_json, t.to_python):
        with pytest.raises(NotImplementedError):
            method(None)


def test_tag_order():
    class Tag1(JSONTag):
        key = " 1"

    class Tag2(JSONTag):
        key = " 2"

    s = TaggedJSONSerializer()
    s.register(Tag1, index=-1)
    assert isinstance(s.order[-2], Tag1)
    s.register(Tag2, index=None)
    assert isinstance(s.order[-1], Tag2)


def test_keyless_tag_is_not_indexed():
    class Upper(JSONTag):
        __slots__ = ()

        def check(self, value):
            return isinstance(value, str)

        def to_json(self, value):
            return value.upper()

        tag = to_json

    s = TaggedJSONSerializer()
    s.register(Upper, index=0)
    assert "" not in s.tags
    assert s.dumps(["a", {"k": "v"}]) == '["A",{"k":"V"}]'


def test_session_cookie_format_in_app_context():
    """In an app context keys are sorted by the app's provider, like Flask's cookies."""
    from hermetic import Flask

    app = Flask(__name__)
    s = TaggedJSONSerializer()
    value = {"b": (1, 2), "a": b"\xff", " t": "x", "_flashes": [("message", "hi")]}

    with app.app_context():
        out = s.dumps(value)

    assert out == (
        '{" t":"x","_flashes":[{" t":["message","hi"]}],"a":{" b":"/w=="},"b":{" t":[1,2]}}'
    )
    assert s.loads(out) == value
