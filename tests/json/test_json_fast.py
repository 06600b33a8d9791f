"""The default provider's response encodes as ``dumps`` does.

``DefaultJSONProvider.response`` keeps one encoder per settings instead of
letting ``json.dumps`` build one per call, and for compact output of a dict
or list calls the C encoder directly. Property-style: many generated values
(nested, non-ASCII, floats, dates, unsortable or non-string keys, circular
structures, unknown types) under every setting (``sort_keys``,
``ensure_ascii``, ``compact``, debug, a replaced ``default``), each encoded
by ``response()`` and by the general path (``dumps`` with the same
arguments, then ``response_class``); the bodies and headers, or the errors,
must be equal.
"""

from __future__ import annotations

import datetime
import decimal
import itertools
import json
import random
import uuid

import pytest

import hermetic
from hermetic.json.provider import DefaultJSONProvider

SCALARS = [
    0,
    -7,
    2**70,
    9.5,
    -0.0,
    1e300,
    float("nan"),
    float("inf"),
    True,
    None,
    "",
    "plain",
    "caf\u00e9",
    "\u2028\U0001f600",
    '"quote" \\ \n',
    decimal.Decimal("1.10"),
    uuid.UUID(int=7),
    datetime.date(2024, 2, 29),
    datetime.datetime(2024, 2, 29, 12, 30, tzinfo=datetime.timezone.utc),
]
KEYS = ["a", "b", "\u00e9", "Z", "", 1, 2.5, None, True]


class Unknown:
    pass


def random_value(rng: random.Random, depth: int = 0) -> object:
    roll = rng.random()
    if depth > 2 or roll < 0.4:
        return rng.choice(SCALARS)
    if roll < 0.7:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if roll < 0.72:
        return Unknown()
    keys = rng.sample(KEYS, rng.randrange(4))
    return {key: random_value(rng, depth + 1) for key in keys}


def general(app: hermetic.Flask, provider: DefaultJSONProvider, obj: object) -> object:
    """What response() computes without the shortcut: dumps, then response_class."""
    compact = provider.compact
    if compact is None:
        compact = not app.debug
    layout = {"separators": (",", ":")} if compact else {"indent": 2}
    try:
        text = provider.dumps(obj, **layout)
    except Exception as e:
        return ("error", type(e), str(e))
    return outcome(lambda: app.response_class(f"{text}\n", mimetype=provider.mimetype))


def outcome(build, *args: object) -> object:
    try:
        rv = build(*args)
    except Exception as e:
        return ("error", type(e), str(e))
    return rv.status, rv.headers.to_wsgi_list(), rv.get_data()


SETTINGS = list(itertools.product((True, False), (True, False), (None, True, False), (False, True)))


@pytest.mark.parametrize(("sort_keys", "ensure_ascii", "compact", "debug"), SETTINGS)
def test_response_matches_dumps(sort_keys, ensure_ascii, compact, debug):
    app = hermetic.Flask(__name__)
    app.debug = debug
    provider = app.json
    assert isinstance(provider, DefaultJSONProvider)
    provider.sort_keys = sort_keys
    provider.ensure_ascii = ensure_ascii
    provider.compact = compact
    rng = random.Random(f"{sort_keys}{ensure_ascii}{compact}{debug}")
    with app.app_context():
        for _ in range(150):
            obj = random_value(rng)
            assert outcome(provider.response, obj) == general(app, provider, obj), obj


def test_circular_structures_fail_alike():
    app = hermetic.Flask(__name__)
    loop: list[object] = []
    loop.append(loop)
    table: dict[str, object] = {}
    table["self"] = table
    provider = app.json
    with app.app_context():
        for obj in (loop, table):
            fast = outcome(provider.response, obj)
            assert fast == general(app, provider, obj)
            assert fast[:2] == ("error", ValueError)
        # The encoder keeps no state from the failed call.
        assert provider.response({"a": [1]}).get_data() == b'{"a":[1]}\n'


@pytest.mark.parametrize(
    "default",
    [
        lambda o: "known",
        lambda o: o,  # returns the object itself: a circular reference
        None,  # json's own default: a TypeError naming the type
    ],
)
def test_replaced_default_is_used(default):
    app = hermetic.Flask(__name__)
    app.json.default = default  # type: ignore[assignment, method-assign]
    with app.app_context():
        for obj in ({"x": Unknown()}, [Unknown()], {"ok": 1}):
            assert outcome(app.json.response, obj) == general(app, app.json, obj)


def test_overridden_dumps_and_response_are_called():
    class Loud(DefaultJSONProvider):
        def dumps(self, obj, **kwargs):
            return json.dumps({"wrapped": obj}, **kwargs)

    app = hermetic.Flask(__name__)
    app.json = Loud(app)

    @app.get("/")
    def index():
        return {"a": 1}

    assert app.test_client().get("/").data == b'{"wrapped":{"a":1}}\n'
    app.json.response = lambda obj: app.response_class("own", mimetype="text/plain")  # type: ignore[method-assign]
    response = app.test_client().get("/")
    assert response.data == b"own" and response.mimetype == "text/plain"


def test_view_returning_dict_or_list_matches_json_response():
    app = hermetic.Flask(__name__)
    values = {"/d": {"b": 1, "a": "\u00e9"}, "/l": [1, "x", None]}
    for path, value in values.items():
        app.add_url_rule(path, path, lambda value=value: value)
    client = app.test_client()
    for path, value in values.items():
        response = client.get(path)
        with app.app_context():
            expected = app.json.response(value)
        assert response.headers.to_wsgi_list() == expected.headers.to_wsgi_list()
        assert response.data == expected.get_data()
        assert response.status == "200 OK"
