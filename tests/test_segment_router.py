"""The segment table answers exactly as Werkzeug's matcher, or not at all.

Property-style: many generated rule sets (whole-segment variables with every
built-in converter, plain segments, and the rules the table must leave to
Werkzeug: ``path`` converters, partial segments, trailing slashes, defaults,
several methods) and many generated paths (Unicode digits, empty segments,
``//``, trailing slashes); wherever the table answers, Werkzeug's bound
adapter must give the same rule and the same values.
"""

from __future__ import annotations

import random

import pytest
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, RequestRedirect, Rule

import hermetic
from hermetic import request
from hermetic._segment_router import SegmentTable

WORDS = ["a", "b", "hello", "items", "static", "12", "x-1"]
VARIABLES = [
    "<name>",
    "<int:n>",
    "<float:f>",
    "<uuid:u>",
    "<string(length=2):s>",
    "<string(maxlength=3):m>",
    "<any(a, b, hello):k>",
    "<int(fixed_digits=2):d>",
    "<int(min=5):lo>",
    "<int(max=20):hi>",
    "<int(signed=True):sn>",
]
# Rules the table must not answer for, and that must block paths they may match.
OTHER_RULES = [
    "/static/<path:filename>",
    "/hello/x-<int:n>.txt",
    "/items/",
    "/a/<name>/",
    "/<path:rest>",
    "/b//c",
    "/",
]
PATH_SEGMENTS = [
    "a",
    "b",
    "hello",
    "items",
    "static",
    "12",
    "7",
    "007",
    "\u0663\u0664",  # Arabic-Indic digits: \d matches them, int() reads them
    "1.5",
    "-3",
    "ab",
    "abcd",
    "x-1",
    "x-1.txt",
    "550e8400-e29b-41d4-a716-446655440000",
    "caf\u00e9",
    "",
    "a b",
    "9" * 30,
]
METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"]


def random_rule_string(rng: random.Random) -> str:
    if rng.random() < 0.12:
        return rng.choice(OTHER_RULES)
    used: set[str] = set()
    parts = []
    for _ in range(rng.randint(1, 4)):
        if rng.random() < 0.5:
            parts.append(rng.choice(WORDS))
        else:
            choice = rng.choice(VARIABLES)
            name = choice.rsplit(":", 1)[-1].strip("<>")
            if name in used:
                parts.append(rng.choice(WORDS))
                continue
            used.add(name)
            parts.append(choice)
    return "/" + "/".join(parts)


def random_map(rng: random.Random) -> Map:
    url_map = Map()
    for i in range(rng.randint(1, 12)):
        rule = random_rule_string(rng)
        methods = rng.choice([None, ["GET"], ["POST"], ["GET", "POST"], ["PUT"]])
        options: dict[str, object] = {}
        if rng.random() < 0.1:
            options["defaults"] = {"extra": 1}
        endpoint = f"e{rng.randint(0, 6)}" if rng.random() < 0.5 else f"r{i}"
        url_map.add(Rule(rule, endpoint=endpoint, methods=methods, **options))
    return url_map


def random_path(rng: random.Random, url_map: Map) -> str:
    rules = [r.rule for r in url_map.iter_rules()]
    if rules and rng.random() < 0.6:
        # Fill a rule's variables with candidate segments: hits are likely.
        base = rng.choice(rules)
        out = []
        for seg in base.split("/")[1:]:
            out.append(rng.choice(PATH_SEGMENTS) if "<" in seg else seg)
        path = "/" + "/".join(out)
    else:
        path = "/" + "/".join(rng.choice(PATH_SEGMENTS) for _ in range(rng.randint(0, 4)))
    if rng.random() < 0.05:
        path += "/"
    if rng.random() < 0.03:
        path = "/" + path
    return path


def werkzeug_answer(url_map: Map, path: str, method: str) -> object:
    adapter = url_map.bind("localhost")
    try:
        return adapter.match(path, method, return_rule=True)
    except RequestRedirect as e:
        return ("redirect", e.new_url)
    except HTTPException as e:
        return ("error", e.code)


@pytest.mark.parametrize("seed", range(20))
def test_segment_table_agrees_with_werkzeug(seed):
    rng = random.Random(seed)
    answered = 0
    for _ in range(10):
        url_map = random_map(rng)
        table = SegmentTable.for_map(url_map)
        for _ in range(60):
            path = random_path(rng, url_map)
            method = rng.choice(METHODS)
            fast = table.match(path, method)
            if fast is None:
                continue
            answered += 1
            expected = werkzeug_answer(url_map, path, method)
            assert fast == expected, (sorted(r.rule for r in url_map.iter_rules()), path, method)
    # Guard against a table that never answers (the comparison would be empty).
    assert answered > 0


def test_segment_table_answers_the_common_cases():
    url_map = Map(
        [
            Rule("/hello/<name>", endpoint="hello"),
            Rule("/api/items/<int:item_id>", endpoint="item", methods=["GET"]),
            Rule("/api/items/<int:item_id>", endpoint="delete", methods=["DELETE"]),
            Rule("/static/<path:filename>", endpoint="static"),
        ]
    )
    table = SegmentTable.for_map(url_map)
    rule, values = table.match("/hello/bob", "GET")
    assert (rule.endpoint, values) == ("hello", {"name": "bob"})
    rule, values = table.match("/api/items/42", "GET")
    assert (rule.endpoint, values) == ("item", {"item_id": 42})
    rule, values = table.match("/api/items/42", "DELETE")
    assert (rule.endpoint, values) == ("delete", {"item_id": 42})
    # Left to Werkzeug: a 405, a 404, a blocked prefix, a redirect.
    assert table.match("/api/items/42", "POST") is None
    assert table.match("/api/items/x", "GET") is None
    assert table.match("/static/a", "GET") is None
    assert table.match("/hello//bob", "GET") is None
    assert table.match("/hello/bob/", "GET") is None


def test_segment_table_leaves_ambiguity_to_werkzeug():
    url_map = Map([Rule("/u/<int:n>", endpoint="num"), Rule("/u/<name>", endpoint="name")])
    table = SegmentTable.for_map(url_map)
    # Both rules match "/u/3": Werkzeug's weights choose, not the table.
    assert table.match("/u/3", "GET") is None
    assert table.match("/u/bob", "GET")[0].endpoint == "name"


def test_catch_all_rule_blocks_the_table():
    url_map = Map([Rule("/<path:rest>", endpoint="all"), Rule("/hello/<name>", endpoint="h")])
    assert SegmentTable.for_map(url_map).match("/hello/bob", "GET") is None


def item_app(fast):
    app = hermetic.Flask("segment_router_tests", static_folder=None)
    app.testing = True

    @app.get("/hello/<name>")
    def hello(name):
        return f"Hello {name} {request.url_rule.rule}"

    @app.get("/items/<int:item_id>")
    def item(item_id):
        return {"id": item_id}

    @app.get("/page/", defaults={"n": 1})
    @app.get("/page/<int:n>")
    def page(n):
        return str(n)

    if not fast:
        app._fast_router = None
    return app


@pytest.mark.parametrize(
    "path",
    [
        "/hello/bob",
        "/hello/caf%C3%A9",
        "/hello/%FF",
        "/hello/",
        "/hello//bob",
        "/items/3",
        "/items/%D9%A3",
        "/items/-1",
        "/items/3/",
        "/page/1",
        "/page/2",
        "/page/",
    ],
)
def test_app_with_segment_table_agrees_with_werkzeug(path):
    fast = item_app(True).test_client().get(path)
    slow = item_app(False).test_client().get(path)
    assert (fast.status_code, fast.get_data(), fast.headers.get("Location")) == (
        slow.status_code,
        slow.get_data(),
        slow.headers.get("Location"),
    )
