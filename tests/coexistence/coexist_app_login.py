"""Flask-Login kept on a Hermetic app: Hermetic's session guarantees still hold.

Run as ``python coexist_app_login.py``; see ``conftest.py``.
"""

from __future__ import annotations

from _coexist_common import STARTUP, User, check, cookie, make_app, run, session_of

import flask  # isort: skip  (after the alias)
from flask_login import LoginManager, current_user, login_user, logout_user

import hermetic.security.auth as hermetic_auth
from hermetic.security.checks import run_checks
from hermetic.security.csrf import csrf_token


def build(**config: object) -> flask.Flask:
    app = make_app(**config)
    manager = LoginManager(app)

    @manager.user_loader
    def load_user(user_id: str) -> User | None:
        return User(user_id) if user_id in ("alice", "bob") else None

    @app.get("/visit")
    def visit():
        flask.session["cart"] = "book"
        return csrf_token()

    @app.post("/login")
    def login():
        login_user(User(flask.request.form.get("user", "alice")), remember=True)
        return "in"

    @app.get("/me")
    def me():
        return current_user.get_id() if current_user.is_authenticated else "anonymous"

    @app.get("/hermetic-me")
    def hermetic_me():
        user = hermetic_auth.current_user
        return user.get_id() if user.is_authenticated else "anonymous"

    @app.post("/logout")
    def logout():
        logout_user()
        return "out"

    return app


APP = build()


@check()
def startup_line_names_flask_login() -> None:
    APP.test_client().get("/me")
    lines = [m for m in STARTUP.messages() if m.startswith("Flask-Login loads the users")]
    assert len(lines) == 1, STARTUP.messages()
    assert "new session id" in lines[0] and "revoked on the server" in lines[0]
    assert "remember_token" in lines[0]
    findings = {f.id: f for f in run_checks(APP)}
    assert findings["flask_login"].level == "info", findings


@check()
def new_session_id_at_login() -> None:
    client = APP.test_client()
    client.get("/visit")
    before = cookie(client)
    client.post("/login")
    after = cookie(client)
    old, new = session_of(APP, before), session_of(APP, after)
    assert old["sid"] and new["sid"] and old["sid"] != new["sid"], (old, new)
    assert new["_user_id"] == "alice" and new["cart"] == "book"
    # The id planted before login was revoked with it: its cookie opens empty.
    assert "cart" not in session_of(APP, before)


@check()
def csrf_token_rotated_at_login() -> None:
    client = APP.test_client()
    client.get("/visit")
    before = session_of(APP, cookie(client))["_csrf"]
    client.post("/login")
    assert session_of(APP, cookie(client)).get("_csrf") not in (None, before)


@check()
def cookie_copied_before_logout_refused_after() -> None:
    client = APP.test_client()
    client.get("/visit")  # the session holds more than the login: it is not emptied
    client.post("/login")
    copied = cookie(client)
    assert client.get("/me").text == "alice"
    client.post("/logout")
    assert client.get("/me").text == "anonymous"
    thief = APP.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/me").text == "anonymous"


@check()
def cookie_copied_before_logout_refused_after_server_side() -> None:
    app = build(SESSION_SERVER_SIDE=True)
    client = app.test_client()
    client.get("/visit")
    client.post("/login")
    copied = cookie(client)
    client.post("/logout")
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/me").text == "anonymous"


@check()
def logout_still_deletes_the_remember_cookie() -> None:
    client = APP.test_client()
    client.post("/login")
    assert cookie(client, "remember_token")
    response = client.post("/logout")
    deleted = [
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token=;")
    ]
    assert deleted, response.headers.getlist("Set-Cookie")
    assert cookie(client, "remember_token") is None


@check()
def remember_cookie_stays_flask_logins() -> None:
    client = APP.test_client()
    client.post("/login")
    remember = cookie(client, "remember_token")
    other = APP.test_client()
    other.set_cookie("remember_token", remember)
    # Flask-Login restores the user; Hermetic's manager neither reads nor deletes the cookie.
    response = other.get("/hermetic-me")
    assert response.text == "alice", response.text
    assert not any(c.startswith("remember_token=") for c in response.headers.getlist("Set-Cookie"))


@check()
def hermetic_current_user_is_flask_logins_user() -> None:
    client = APP.test_client()
    client.post("/login", data={"user": "bob"})
    assert client.get("/hermetic-me").text == "bob"
    client.post("/logout")
    assert client.get("/hermetic-me").text == "anonymous"


@check()
def csrf_enforced_on_login_and_logout() -> None:
    client = APP.test_client(enforce_csrf=True)
    token = client.get("/visit").text
    assert client.post("/login").status_code == 403
    assert client.post("/login", data={"csrf_token": token}).status_code == 200
    # The token was rotated at login: the old one no longer works.
    assert client.post("/logout", data={"csrf_token": token}).status_code == 403
    token = client.get("/visit").text
    assert client.post("/logout", data={"csrf_token": token}).status_code == 200


run(APP)
