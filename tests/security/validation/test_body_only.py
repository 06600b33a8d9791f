"""@validate's body-only route path against its general path (same answers, same counts).

A route whose only model is its JSON body (the usual create route) skips the
path and query steps; every request below must get the same status, headers,
body and counted failure reason from both paths.
"""

from __future__ import annotations

import typing as t

import pytest

pytest.importorskip("pydantic", reason="validation needs the 'validation' extra (pydantic)")

from pydantic import BaseModel, Field  # noqa: E402

from hermetic import Flask  # noqa: E402
from hermetic.security.validation import _decorator, validate  # noqa: E402


class ItemIn(BaseModel):
    name: str = Field(max_length=20)
    price: float = Field(gt=0)
    tags: list[str] = []


class ItemOut(BaseModel):
    id: int
    name: str
    price: float
    tags: list[str]


class _Metrics:
    """Records the validation failures the decorator counts."""

    def __init__(self) -> None:
        self.failures: list[tuple[str | None, str]] = []

    def count_validation_failure(self, rule: str | None, reason: str) -> None:
        self.failures.append((rule, reason))


def _app(general: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[Flask, _Metrics]:
    if general:
        original = _decorator._Validator.__init__

        def init(self: t.Any, models: t.Any) -> None:
            original(self, models)
            self.body_only = False

        monkeypatch.setattr(_decorator._Validator, "__init__", init)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 200
    metrics = app.extensions["hermetic.metrics"] = _Metrics()

    @app.post("/items")
    @validate(response=ItemOut, status=201)
    def create(body: ItemIn) -> dict[str, t.Any]:
        return {"id": 1, "secret": "x", **body.model_dump()}

    @app.post("/named")
    @validate(body=ItemIn)
    def named(body: t.Any) -> tuple[dict[str, t.Any], int, dict[str, str]]:
        return {"name": body.name}, 202, {"X-Kind": "named"}

    # The other answers of a body-only route: a model, a tuple, a dict the
    # response model refuses, a status Werkzeug has no phrase for, no model.
    @app.post("/model")
    @validate(response=ItemOut)
    def model(body: ItemIn) -> ItemOut:
        return ItemOut(id=2, **body.model_dump())

    @app.post("/tuple")
    @validate(response=ItemOut, status=201)
    def as_tuple(body: ItemIn) -> tuple[dict[str, t.Any], int]:
        return {"id": 3, **body.model_dump()}, 200

    @app.post("/refused")
    @validate(response=ItemOut)
    def refused(body: ItemIn) -> dict[str, t.Any]:
        return {"id": "not a number", **body.model_dump()}

    @app.post("/odd-status")
    @validate(response=ItemOut, status=299)
    def odd_status(body: ItemIn) -> dict[str, t.Any]:
        return {"id": 4, **body.model_dump()}

    @app.post("/plain")
    @validate
    def plain(body: ItemIn) -> dict[str, t.Any]:
        return {"name": body.name, "extra": True}

    monkeypatch.undo()
    return app, metrics


REQUESTS: list[tuple[str, bytes | str, str]] = [
    ("valid", b'{"name": "gadget", "price": 3.25, "tags": ["new"]}', "application/json"),
    ("valid-charset", b'{"name": "g", "price": 1}', "application/json; charset=utf-8"),
    ("valid-plus-json", b'{"name": "g", "price": 1}', "application/vnd.api+json"),
    ("invalid-fields", b'{"name": "' + b"n" * 30 + b'", "price": -1}', "application/json"),
    ("missing-field", b'{"price": 2}', "application/json"),
    ("wrong-type", b'{"name": 5, "price": "x", "tags": "no"}', "application/json"),
    ("not-an-object", b"[1, 2]", "application/json"),
    ("malformed", b'{"name": ', "application/json"),
    ("empty", b"", "application/json"),
    ("too-deep", b"[" * 40 + b"]" * 40, "application/json"),
    ("too-large", b'{"name": "' + b"a" * 300 + b'"}', "application/json"),
    ("form", b"name=g&price=1", "application/x-www-form-urlencoded"),
    ("no-content-type", b'{"name": "g", "price": 1}', ""),
    ("bad-utf8", b'{"name": "\xff", "price": 1}', "application/json"),
]


PATHS = ["/items", "/named", "/model", "/tuple", "/refused", "/odd-status", "/plain"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("case", "data", "content_type"), REQUESTS, ids=[r[0] for r in REQUESTS])
def test_body_only_path_matches_general(
    path: str, case: str, data: bytes, content_type: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcomes = []
    for general in (False, True):
        app, metrics = _app(general, monkeypatch)
        response = app.test_client().post(path, data=data, content_type=content_type)
        outcomes.append(
            (
                response.status_code,
                sorted(response.headers.items()),
                response.get_data(),
                metrics.failures,
            )
        )
    assert outcomes[0] == outcomes[1]


def test_only_body_routes_take_the_body_only_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # Otherwise the comparison above would compare one path with itself.
    seen: list[bool] = []
    original = _decorator._Validator.__init__

    def init(self: t.Any, models: t.Any) -> None:
        original(self, models)
        seen.append(self.body_only)

    monkeypatch.setattr(_decorator._Validator, "__init__", init)

    class Page(BaseModel):
        limit: int = 10

    app = Flask(__name__)

    @app.post("/a")
    @validate
    def a(body: ItemIn) -> str:
        return "a"

    @app.post("/b/<int:shop>")
    @validate
    def b(shop: int, body: ItemIn) -> str:
        return "b"

    @app.post("/c")
    @validate(query=Page)
    def c(body: ItemIn, query: Page) -> str:
        return "c"

    @app.get("/d")
    @validate(query=Page)
    def d(query: Page) -> str:
        return "d"

    @app.post("/e")
    @validate(body=ItemIn)
    def e(body: t.Any) -> str:
        return "e"

    assert seen == [True, False, False, False, True]
    response = app.test_client().post("/a", json={"name": "g", "price": 1})
    assert response.status_code == 200 and response.data == b"a"


def test_json_answer_follows_each_app_and_its_response_class() -> None:
    # The validator remembers the last app's response maker: another app, or
    # a response class changed later, must still build its own responses.
    from hermetic.wrappers import Response

    class Tagged(Response):
        pass

    @validate(response=ItemOut, status=201)
    def create(body: ItemIn) -> dict[str, t.Any]:
        return {"id": 1, **body.model_dump()}

    plain, tagged = Flask(__name__), Flask(__name__)
    tagged.response_class = Tagged
    for app in (plain, tagged):
        app.add_url_rule("/items", view_func=create, methods=["POST"])
    item = {"name": "g", "price": 1}

    def built(app: Flask) -> tuple[type, int]:
        # The view's own answer: the app's finalize step would convert a
        # response of another class, hiding a maker of the wrong one.
        with app.test_request_context("/items", method="POST", json=item):
            response = app.view_functions["create"]()
        return type(response), response.status_code

    seen = [built(app) for app in (plain, tagged, tagged, plain)]
    plain.response_class = Tagged
    seen.append(built(plain))
    assert seen == [
        (Response, 201),
        (Tagged, 201),
        (Tagged, 201),
        (Response, 201),
        (Tagged, 201),
    ]


# -- read_json's read: get_data's fast first read without its frame -------------


def _read_outcome(cls: type, env: dict[str, t.Any], limit: int | None) -> tuple[t.Any, ...]:
    import io

    from hermetic.security.validation._body import read_json

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = limit
    original = env["wsgi.input"]
    with app.app_context():
        request = cls(env)
        try:
            got: t.Any = read_json(request)
        except Exception as e:
            got = (type(e).__name__, getattr(e, "code", None))
        cached = request.__dict__.get("_cached_data")
        try:
            stream = request.stream
            state: t.Any = (type(stream), getattr(stream, "limit", None), stream.read())
        except Exception as e:
            state = type(e).__name__
        again = request.get_data() if not isinstance(got, tuple) else None
    rest = original.read() if isinstance(original, io.BytesIO) else None
    return got, cached, state, type(env["wsgi.input"]).__name__, rest, again


@pytest.mark.parametrize(
    ("body", "length", "extra", "limit"),
    [
        (b'{"name": "g", "price": 1}', "25", {}, None),
        (b'{"name": "g", "price": 1}EXTRA', "25", {}, None),
        (b'{"name": "g"', "25", {}, None),
        (b'{"name": "g", "price": 1}', None, {}, None),
        (b'{"name": "g", "price": 1}', "25", {"HTTP_TRANSFER_ENCODING": "chunked"}, None),
        (b'{"name": "g", "price": 1}', "25", {}, 10),
        (b'{"name": "g", "price": 1}', "0", {}, None),
        (b'{"name": "g", "price": 1}', "25", {"wsgi.input_terminated": True}, None),
        (b'{"name": "g", "price": 1}', "25", {"wsgi.input_terminated": True}, 10),
        (b"[" * 40 + b"]" * 40, "80", {}, None),
    ],
    ids=[
        "exact",
        "longer",
        "shorter",
        "no-length",
        "chunked",
        "over-max",
        "zero",
        "terminated",
        "terminated-max",
        "too-deep",
    ],
)
def test_read_json_reads_as_get_data_does(
    body: bytes, length: str | None, extra: dict[str, t.Any], limit: int | None
) -> None:
    import io

    from werkzeug.test import create_environ

    from hermetic.wrappers import PLAIN_GET_DATA, Request

    class OwnGetData(Request):
        """Its own get_data (the same, through super): read_json must call it."""

        def get_data(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
            return super().get_data(*args, **kwargs)

    assert PLAIN_GET_DATA[Request] and not PLAIN_GET_DATA[OwnGetData]

    def environ() -> dict[str, t.Any]:
        env = create_environ("/", method="POST", content_type="application/json")
        env.pop("CONTENT_LENGTH", None)
        env["wsgi.input"] = io.BytesIO(body)
        if length is not None:
            env["CONTENT_LENGTH"] = length
        env.update(extra)
        return env

    fast = _read_outcome(Request, environ(), limit)
    general = _read_outcome(OwnGetData, environ(), limit)
    assert fast == general
