"""The routes two equivalence suites serve on both of their paths.

``test_quiet_after.py`` (fused after steps against the steps) and
``test_shielded_plain_path.py`` (the one-frame path against the general
methods) compare the same usual and unusual answers of a ``Hermetic`` app;
each adds the routes of its own.
"""

from __future__ import annotations

import re
import typing as t

import hermetic
from hermetic import jsonify, redirect, render_template_string
from hermetic.security.auth import UserMixin, login_user


class User(UserMixin):
    def __init__(self, id: str) -> None:
        self.id = id


def shielded_app(secret: str, hello: str, **config: t.Any) -> hermetic.Hermetic:
    """A ``Hermetic`` app with a user loader and the shared routes.

    ``/`` (text), ``/json``, ``/nonce`` (a CSP nonce asked for), ``/own`` (a
    security header of the view's own), ``/go`` (a redirect) and
    ``/remember`` (a remember-me cookie to send).
    """
    app = hermetic.Hermetic(__name__)
    app.config.update(SECRET_KEY=secret, **config)
    app.login_manager.user_loader(lambda user_id: User(user_id))

    @app.get("/", endpoint="hello")
    def hello_view() -> str:
        return hello

    @app.get("/json")
    def data() -> t.Any:
        return jsonify(hello="world")

    @app.get("/nonce")
    def nonce() -> str:
        return render_template_string('<script nonce="{{ csp_nonce() }}"></script>')

    @app.get("/own")
    def own() -> t.Any:
        return "framed", {"X-Frame-Options": "SAMEORIGIN"}

    @app.get("/go")
    def go() -> t.Any:
        return redirect("/", 303)

    @app.get("/remember")
    def remember() -> str:
        login_user(User("7"), remember=True)
        return "in"

    return app


_EXPIRES = re.compile(r"(?i)(expires=)[^;]*")


def comparable(headers: t.Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The header list, each cookie's value and expiry date left out (a session
    holds the time; two apps compared may set a cookie either side of a second)."""
    items = []
    for name, value in headers:
        if name == "Set-Cookie":
            cookie, _, attributes = value.partition(";")
            attributes = _EXPIRES.sub(r"\1...", attributes)
            value = f"{cookie.partition('=')[0]}=...;{attributes}"
        items.append((name, value))
    return items
