"""Flask-Session on a Hermetic app: id renewed at login, logout empties it, a dead store is a 503.

Run as ``python coexist_app_session.py``; see ``conftest.py``.
"""

from __future__ import annotations

from _coexist_common import STARTUP, User, check, cookie, make_app, run

import flask  # isort: skip  (after the alias)
import redis
from cachelib import SimpleCache
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_session import Session

from hermetic.security.checks import run_checks
from hermetic.security.csrf import csrf_token

#: A port nothing listens on: the app-owned Redis is down.
DEAD_PORT = 1


def build(**config: object) -> flask.Flask:
    app = make_app(**config)
    Session(app)
    manager = LoginManager(app)

    @manager.user_loader
    def load_user(user_id: str) -> User | None:
        return User(user_id) if user_id == "alice" else None

    @app.get("/visit")
    def visit():
        flask.session["cart"] = "book"
        return csrf_token()

    @app.get("/public")
    def public():
        return "public"

    @app.post("/login")
    def login():
        login_user(User("alice"))
        return "in"

    @app.get("/me")
    def me():
        return current_user.get_id() if current_user.is_authenticated else "anonymous"

    @app.post("/logout")
    def logout():
        logout_user()
        return "out"

    return app


APP = build(SESSION_TYPE="cachelib", SESSION_CACHELIB=SimpleCache())
DEAD = build(
    SESSION_TYPE="redis",
    SESSION_REDIS=redis.Redis(host="127.0.0.1", port=DEAD_PORT, socket_connect_timeout=0.5),
    PROPAGATE_EXCEPTIONS=False,
)


@check()
def startup_warning_names_what_is_lost() -> None:
    APP.test_client().get("/public")
    lines = [m for m in STARTUP.messages() if m.startswith("Flask-Session")]
    assert len(lines) == 1, STARTUP.messages()
    for lost in ("encryption", "SESSION_IDLE_TIMEOUT", "revoke_user_sessions()", "__Host-"):
        assert lost in lines[0], lost
    findings = {f.id: f for f in run_checks(APP)}
    assert findings["flask_session"].level == "warning"


@check()
def session_works() -> None:
    client = APP.test_client()
    client.get("/visit")
    with client.session_transaction() as session:
        assert session["cart"] == "book"


@check()
def new_session_id_at_login() -> None:
    client = APP.test_client()
    client.get("/visit")
    planted = cookie(client)  # Flask-Session's cookie is the session id
    client.post("/login")
    assert cookie(client) != planted
    attacker = APP.test_client()
    attacker.set_cookie("session", planted)
    assert attacker.get("/me").text == "anonymous"


@check()
def cookie_copied_before_logout_refused_after() -> None:
    client = APP.test_client()
    client.get("/visit")
    client.post("/login")
    copied = cookie(client)
    assert client.get("/me").text == "alice"
    client.post("/logout")
    thief = APP.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/me").text == "anonymous"


@check()
def csrf_enforced() -> None:
    client = APP.test_client(enforce_csrf=True)
    token = client.get("/visit").text
    assert client.post("/login").status_code == 403
    assert client.post("/login", data={"csrf_token": token}).status_code == 200


@check()
def dead_store_is_503_not_500() -> None:
    client = DEAD.test_client()
    response = client.get("/visit")
    assert response.status_code == 503, response.status_code
    assert b"Traceback" not in response.data and b"redis" not in response.data.lower()


@check()
def dead_store_with_a_cookie_is_503_not_500() -> None:
    client = DEAD.test_client()
    client.set_cookie("session", "some-session-id")
    response = client.get("/me")
    assert response.status_code == 503, response.status_code


@check()
def dead_store_public_page_works() -> None:
    assert DEAD.test_client().get("/public").status_code == 200


run(APP)
