"""The ``Hermetic`` app the raw-socket fuzz test serves with gunicorn and granian.

Loaded by the servers as ``fuzz_app:app``. Login, CSRF, sessions (encrypted
cookie, or server-side on Redis when ``FUZZ_REDIS_URL`` is set, under the
key prefix ``FUZZ_STORE_PREFIX``), a ``@validate``d JSON route, an upload
route, a rate limit, and a route for every way of reading a body.
"""

from __future__ import annotations

import os
import typing as t

from pydantic import BaseModel, Field

from hermetic import Hermetic, request, session
from hermetic.security import csrf_token
from hermetic.security.auth import UserMixin, login_required, login_user
from hermetic.security.ratelimit import rate_limit
from hermetic.security.shields import exempt
from hermetic.security.validation import validate

SECRET_KEY = "fuzz-s3rv3r-k3y-0123456789-abcdefghijklmnopqrstuvwxyz-ABC"
USERS = {"alice": "wonderland"}


class User(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


class Item(BaseModel):
    name: str = Field(max_length=50)
    count: int = Field(ge=0, le=1000)
    tags: list[str] = Field(default_factory=list, max_length=10)


def make_app() -> Hermetic:
    app = Hermetic("fuzz_app")
    app.config.update(
        SECRET_KEY=SECRET_KEY,
        PROPAGATE_EXCEPTIONS=False,
        TRUSTED_HOSTS=["127.0.0.1", "localhost"],
        MAX_CONTENT_LENGTH=64 * 1024,
        MAX_FORM_MEMORY_SIZE=8 * 1024,
        MAX_FORM_PARTS=50,
        LIMITS_MAX_FILES=3,
        RATELIMIT_STORAGE_URI="memory://",
    )
    redis_url = os.environ.get("FUZZ_REDIS_URL")
    if redis_url:
        app.config.update(
            SESSION_SERVER_SIDE=True,
            HERMETIC_REDIS_URL=redis_url,
            HERMETIC_STORE_PREFIX=os.environ["FUZZ_STORE_PREFIX"],
        )

    @app.login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        return User(user_id) if user_id in USERS else None

    @app.get("/")
    def index() -> str:
        return f"hello {session.get('n', 0)}"

    @app.get("/csrf")
    def token() -> t.Any:
        session["seen"] = True
        return {"csrf_token": csrf_token()}

    @app.post("/login")
    def login() -> t.Any:
        name = request.form.get("user", "")
        if USERS.get(name) == request.form.get("password"):
            login_user(User(name))
            return {"user": name}
        return {"error": "bad credentials"}, 401

    @app.get("/me")
    @login_required
    def me() -> t.Any:
        return {"n": session.get("n", 0)}

    @app.post("/form")
    def form() -> t.Any:
        session["n"] = session.get("n", 0) + 1
        return {"fields": len(request.form), "files": len(request.files)}

    @app.post("/api/items")
    @exempt("csrf")
    @validate
    def create_item(body: Item) -> t.Any:
        return {"name": body.name, "count": body.count}, 201

    @app.post("/upload")
    @exempt("csrf")
    def upload() -> t.Any:
        return {name: len(f.read()) for name, f in request.files.items()}

    @app.post("/json")
    @exempt("csrf")
    def json_body() -> t.Any:
        return {"type": type(request.get_json()).__name__}

    @app.post("/raw")
    @exempt("csrf")
    def raw() -> t.Any:
        return {"size": len(request.get_data())}

    @app.post("/stream")
    @exempt("csrf")
    def stream() -> t.Any:
        return {"size": sum(len(line) for line in request.stream)}

    @app.get("/limited")
    @rate_limit("20/second")
    def limited() -> str:
        return "ok"

    @app.get("/item/<int:item_id>")
    def item(item_id: int) -> t.Any:
        return {"id": item_id, "q": len(request.args)}

    return app


app = make_app()
