"""The WSGI app a server loads for ``http_load.py``: ``_serve:app``.

``BENCH_FRAMEWORK`` names the framework (``hermetic``, ``hermetic-secure``,
``flask``, ``bottle``, ``falcon``); the routes are those of ``wsgi_hello.py``.
``web-hermetic`` and ``web-stack`` are the two sides of ``web_profile.py``
(the logged-in page), seen as behind a proxy that ends TLS.
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


def behind_tls_proxy(app):  # type: ignore[no-untyped-def]
    """The app as behind a proxy that ends TLS: it sees ``https`` requests.

    Both sides of the web profile get the same wrapper (what ProxyFix would
    do for a trusted ``X-Forwarded-Proto``), so their answers carry HSTS and
    their cookies stay ``Secure``, as in production.
    """

    def wsgi(environ, start_response):  # type: ignore[no-untyped-def]
        environ["wsgi.url_scheme"] = "https"
        return app(environ, start_response)

    return wsgi


def build_web(side: str):  # type: ignore[no-untyped-def]
    import web_profile

    web_profile.quiet_audit()
    web_profile.in_memory_only()
    return behind_tls_proxy(web_profile.BUILDERS[side]())


_builders = dict(
    BUILDERS,
    **{
        "hermetic-secure": build_hermetic_secure,
        "web-hermetic": lambda: build_web("hermetic"),
        "web-stack": lambda: build_web("stack"),
    },
)
app = _builders[os.environ.get("BENCH_FRAMEWORK", "hermetic")]()
