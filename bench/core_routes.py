"""The routes of issue 13 for every framework, and the issue's target ratios.

``wsgi_hello.py`` adds these routes to each framework's app (each written
the way its own documentation shows):

- ``hello_name``: ``GET /hello/<name>``, text (a path parameter);
- ``item``: ``GET /api/items/<int:id>``, a JSON object;
- ``create``: ``POST /api/items`` with a JSON body validated by pydantic and
  answered 201 with the validated item (hermetic with ``@validate``; Falcon,
  Bottle and Flask with pydantic by hand, as their users write it).

``TARGETS`` are the issue's goals, each a ratio of two frameworks' figures in
one run; :func:`target_lines` prints them as ``target ... met/MISSED``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

NAME = "bench"
ITEM_ID = 42
ITEM = {"id": ITEM_ID, "name": "widget", "price": 9.5}
NEW_ITEM = {"name": "gadget", "price": 3.25, "tags": ["new", "sale"]}
CREATED = {"id": 1, **NEW_ITEM}
CREATE_BODY = json.dumps(NEW_ITEM).encode()


class ItemIn(BaseModel):
    """The body of ``POST /api/items``."""

    name: str
    price: float
    tags: list[str] = []


class ItemOut(BaseModel):
    """The answer of ``POST /api/items``."""

    id: int
    name: str
    price: float
    tags: list[str]


def hello_text(name: str) -> str:
    return f"Hello, {name}!"


def item_json(item_id: int) -> dict[str, Any]:
    return {"id": item_id, "name": "widget", "price": 9.5}


@dataclass(frozen=True)
class Target:
    """One goal of the issue: ``route``'s figure of ``framework`` over ``reference``'s."""

    route: str
    framework: str
    reference: str
    goal: float
    strict: bool = False  # "below" (<) rather than "at most" (<=)

    def line(self, best: dict[str, dict[str, float]]) -> str | None:
        results = best.get(self.route, {})
        if self.framework not in results or self.reference not in results:
            return None
        ratio = results[self.framework] / results[self.reference]
        met = ratio < self.goal if self.strict else ratio <= self.goal
        sign = "<" if self.strict else "\u2264"
        return (
            f"target {self.route:<10} {self.framework}/{self.reference:<7} ratio {ratio:.2f}"
            f" (goal {sign} {self.goal:.2f}) {'met' if met else 'MISSED'}"
        )


TARGETS = (
    Target("hello_name", "hermetic", "falcon", 2.0),
    Target("hello_name", "hermetic", "bottle", 1.0, strict=True),
    Target("hello", "hermetic", "falcon", 1.5),
    Target("item", "hermetic", "falcon", 1.5),
    Target("create", "hermetic", "falcon", 1.3),
)


def target_lines(best: dict[str, dict[str, float]]) -> list[str]:
    """Return one ``target ...`` line per goal whose two figures were measured."""
    return [line for target in TARGETS if (line := target.line(best)) is not None]


def check_created(body: bytes) -> bool:
    return json.loads(body) == CREATED


# -- the routes, per framework -----------------------------------------------


def add_hermetic(app: Any) -> None:
    from hermetic.security.validation import validate

    @app.get("/hello/<name>")
    def hello_name(name: str) -> str:
        return hello_text(name)

    @app.get("/api/items/<int:item_id>")
    def item(item_id: int) -> dict[str, Any]:
        return item_json(item_id)

    @app.post("/api/items")
    @validate(response=ItemOut, status=201)
    def create(body: ItemIn) -> dict[str, Any]:
        return {"id": 1, **body.model_dump()}


def add_flask(app: Any) -> None:
    import flask
    from pydantic import ValidationError

    @app.get("/hello/<name>")
    def hello_name(name: str) -> str:
        return hello_text(name)

    @app.get("/api/items/<int:item_id>")
    def item(item_id: int) -> dict[str, Any]:
        return item_json(item_id)

    @app.post("/api/items")
    def create() -> Any:
        try:
            data = ItemIn.model_validate_json(flask.request.get_data())
        except ValidationError as e:
            return {"errors": e.errors(include_url=False)}, 422
        out = ItemOut(id=1, **data.model_dump())
        return app.response_class(out.model_dump_json(), 201, mimetype="application/json")


def add_bottle(app: Any) -> None:
    import bottle
    from pydantic import ValidationError

    @app.get("/hello/<name>")
    def hello_name(name: str) -> str:
        return hello_text(name)

    @app.get("/api/items/<item_id:int>")
    def item(item_id: int) -> dict[str, Any]:
        return item_json(item_id)

    @app.post("/api/items")
    def create() -> Any:
        try:
            data = ItemIn.model_validate_json(bottle.request.body.read())
        except ValidationError as e:
            bottle.response.status = 422
            return {"errors": e.errors(include_url=False)}
        out = ItemOut(id=1, **data.model_dump())
        bottle.response.status = 201
        bottle.response.content_type = "application/json"
        return out.model_dump_json()


def add_falcon(app: Any) -> None:
    import falcon
    from pydantic import ValidationError

    class HelloName:
        def on_get(self, req: Any, resp: Any, name: str) -> None:
            resp.content_type = falcon.MEDIA_HTML
            resp.text = hello_text(name)

    class Item:
        def on_get(self, req: Any, resp: Any, item_id: int) -> None:
            resp.media = item_json(item_id)

    class Items:
        def on_post(self, req: Any, resp: Any) -> None:
            try:
                data = ItemIn.model_validate_json(req.bounded_stream.read())
            except ValidationError as e:
                raise falcon.HTTPUnprocessableEntity(
                    description=str(e.errors(include_url=False))
                ) from None
            out = ItemOut(id=1, **data.model_dump())
            resp.status = falcon.HTTP_201
            resp.content_type = falcon.MEDIA_JSON
            resp.data = out.model_dump_json().encode()

    app.add_route("/hello/{name}", HelloName())
    app.add_route("/api/items/{item_id:int}", Item())
    app.add_route("/api/items", Items())


ADDERS: dict[str, Callable[[Any], None]] = {
    "hermetic": add_hermetic,
    "flask": add_flask,
    "bottle": add_bottle,
    "falcon": add_falcon,
}
