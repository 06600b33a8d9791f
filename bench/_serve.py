"""The WSGI app a server loads for ``http_load.py``: ``_serve:app``.

``BENCH_FRAMEWORK`` names the framework (``hermetic``, ``hermetic-secure``,
``flask``, ``bottle``, ``falcon``); the routes are those of ``wsgi_hello.py``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from wsgi_hello import BUILDERS, HELLO, PAYLOAD  # noqa: E402

SECRET_KEY = "bench-http-6c0f2a9e4b7d1358e2a6c9f0b3d7e1a5"


def build_hermetic_secure():  # type: ignore[no-untyped-def]
    """The same routes on ``Hermetic``: every default shield on."""
    import hermetic

    os.environ.setdefault("HERMETIC_SECRET_KEY", SECRET_KEY)
    app = hermetic.Hermetic(__name__)

    @app.get("/")
    def hello() -> str:
        return HELLO

    @app.get("/json")
    def as_json() -> dict[str, object]:
        return dict(PAYLOAD)

    @app.get("/user/<int:user_id>")
    def user(user_id: int) -> str:
        return f"User {user_id}"

    return app


_builders = dict(BUILDERS, **{"hermetic-secure": build_hermetic_secure})
app = _builders[os.environ.get("BENCH_FRAMEWORK", "hermetic")]()
