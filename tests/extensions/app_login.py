"""Flask-Login on hermetic: sessions, login_required, remember cookie, logout, signals.

Run as ``python app_login.py TMPDIR``; see ``__init__.py``.
"""

from __future__ import annotations

import sys

from hermetic.compat import install_as_flask

# First: the extension runs `from flask import ...` at import time.
install_as_flask()

import flask  # noqa: E402
from _harness import check, run  # noqa: E402
from flask_login import (  # noqa: E402
    LoginManager,
    UserMixin,
    current_user,
    fresh_login_required,
    login_required,
    login_user,
    logout_user,
    user_logged_in,
    user_logged_out,
)


class User(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


USERS = {"alice": User("alice"), "bob": User("bob")}

app = flask.Flask(__name__, instance_path=sys.argv[1])
app.config.update(TESTING=True, SECRET_KEY="extension test key")
login_manager = LoginManager(app)
login_manager.login_view = "login"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return USERS.get(user_id)


@app.route("/login", methods=["GET", "POST"])
def login():
    if flask.request.method == "GET":
        return "please log in"
    user = USERS.get(flask.request.form["username"])
    if user is None:
        flask.abort(401)
    login_user(user, remember=flask.request.form.get("remember") == "yes")
    return flask.redirect(flask.request.args.get("next") or flask.url_for("index"))


@app.route("/")
@login_required
def index():
    return f"hello {current_user.id}"


@app.route("/whoami")
def whoami():
    return "anonymous" if current_user.is_anonymous else current_user.id


@app.route("/settings")
@fresh_login_required
def settings():
    return "settings"


@app.route("/logout")
@login_required
def logout():
    logout_user()
    return "bye"


# A blueprint with its own login view (LoginManager.blueprint_login_views).
admin = flask.Blueprint("admin", __name__, url_prefix="/admin")


@admin.get("/login")
def admin_login():
    return "admin login"


@admin.get("/")
@login_required
def admin_index():
    return f"admin {current_user.id}"


app.register_blueprint(admin)
login_manager.blueprint_login_views = {"admin": "admin.admin_login"}


def new_client():
    return app.test_client()


@check()
def login_required_redirects_to_login_view() -> None:
    response = new_client().get("/")
    assert response.status_code == 302, response.status
    assert response.headers["Location"] == "/login?next=%2F", response.headers["Location"]
    assert new_client().get("/whoami").text == "anonymous"


@check()
def blueprint_login_view() -> None:
    response = new_client().get("/admin/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/login?next=%2Fadmin%2F", response.headers
    client = new_client()
    client.post("/login", data={"username": "bob"})
    assert client.get("/admin/").text == "admin bob"


@check()
def login_user_then_current_user() -> None:
    client = new_client()
    response = client.post("/login?next=/", data={"username": "alice"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get_cookie("session") is not None
    assert client.get_cookie("remember_token") is None
    assert client.get("/").text == "hello alice"
    assert client.get("/whoami").text == "alice"
    # A fresh login is fresh: fresh_login_required lets it through.
    assert client.get("/settings").text == "settings"


@check()
def follow_redirect_after_login() -> None:
    client = new_client()
    response = client.post("/login", data={"username": "bob"}, follow_redirects=True)
    assert response.status_code == 200 and response.text == "hello bob"
    assert [r.status_code for r in response.history] == [302]


@check()
def unknown_user_is_refused() -> None:
    client = new_client()
    assert client.post("/login", data={"username": "mallory"}).status_code == 401
    assert client.get("/whoami").text == "anonymous"


@check()
def remember_cookie_restores_user_without_session() -> None:
    client = new_client()
    client.post("/login", data={"username": "alice", "remember": "yes"})
    remember = client.get_cookie("remember_token")
    assert remember is not None, "remember_token cookie not set"
    assert remember.http_only
    assert remember.expires is not None  # a persistent cookie, not a session one

    # A new browser with only the remember cookie: the user comes back, not fresh.
    other = new_client()
    other.set_cookie("remember_token", remember.value)
    assert other.get("/").text == "hello alice"
    assert other.get("/settings").status_code == 401  # no refresh_view: abort(401)


@check()
def logout_clears_user_and_remember_cookie() -> None:
    client = new_client()
    client.post("/login", data={"username": "alice", "remember": "yes"})
    response = client.get("/logout")
    assert response.text == "bye"
    cleared = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token=")]
    assert cleared and "Expires=Thu, 01 Jan 1970" in cleared[0], cleared
    assert client.get_cookie("remember_token") is None
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@check()
def login_signals_carry_the_app() -> None:
    seen: list[tuple[str, object, str]] = []

    def on_in(sender, user, **extra):
        seen.append(("in", sender, user.id))

    def on_out(sender, user, **extra):
        seen.append(("out", sender, user.id))

    with user_logged_in.connected_to(on_in), user_logged_out.connected_to(on_out):
        client = new_client()
        client.post("/login", data={"username": "bob"})
        client.get("/logout")
    assert seen == [("in", app, "bob"), ("out", app, "bob")], seen


@check()
def login_user_in_test_request_context() -> None:
    with app.test_request_context("/"):
        assert current_user.is_anonymous
        login_user(USERS["bob"])
        assert current_user.id == "bob"
        assert flask.session["_user_id"] == "bob"
        logout_user()
        assert current_user.is_anonymous


if __name__ == "__main__":
    run(app)
