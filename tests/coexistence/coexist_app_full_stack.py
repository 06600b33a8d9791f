"""Flask-WTF, Flask-Login, Flask-Session, Flask-Talisman and Flask-Limiter together on Hermetic.

A request flow -- sign-up, login, a logged-in page, logout -- through the
test client with CSRF enforced, over HTTPS (Talisman redirects plain HTTP).
Each check asserts that the flow works and that a Hermetic guarantee holds.
Run as ``python coexist_app_full_stack.py``; see ``conftest.py``.
"""

from __future__ import annotations

import re

from _coexist_common import STARTUP, User, check, cookie, make_app, run

import flask  # isort: skip  (after the alias)
from cachelib import SimpleCache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_session import Session
from flask_talisman import Talisman
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from hermetic.security.auth import check_password, hash_password
from hermetic.security.checks import run_checks

HTTPS = "https://localhost"
FORM = "<form method=post>{{ form.hidden_tag() }}{{ form.username }}{{ form.password }}</form>"
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
PASSWORDS: dict[str, str] = {}


class Credentials(FlaskForm):
    username = StringField("Username", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


app = make_app(SESSION_TYPE="cachelib", SESSION_CACHELIB=SimpleCache())
CSRFProtect(app)
Session(app)
Talisman(app)
limiter = Limiter(get_remote_address, app=app, storage_uri="memory://")
login_manager = LoginManager(app)
login_manager.login_view = "login"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return User(user_id) if user_id in PASSWORDS else None


@app.route("/signup", methods=["GET", "POST"])
def signup():
    form = Credentials()
    if form.validate_on_submit():
        PASSWORDS[form.username.data] = hash_password(form.password.data)
        return flask.redirect(flask.url_for("login"))
    return flask.render_template_string(FORM, form=form)


@app.route("/login", methods=["GET", "POST"])
@limiter.limit("20/minute")
def login():
    form = Credentials()
    if form.validate_on_submit():
        stored = PASSWORDS.get(form.username.data)
        if stored is not None and check_password(stored, form.password.data).ok:
            login_user(User(form.username.data))
            return flask.redirect(flask.url_for("account"))
        flask.abort(401)
    return flask.render_template_string(FORM, form=form)


@app.get("/account")
@login_required
def account():
    return f"hello {current_user.id}"


@app.post("/logout")
@login_required
def logout():
    logout_user()
    return flask.redirect(flask.url_for("login"))


def token(client: flask.testing.FlaskClient, path: str) -> str:
    found = TOKEN.search(client.get(path, base_url=HTTPS).text)
    assert found, f"no CSRF field on {path}"
    return found.group(1)


def post(client: flask.testing.FlaskClient, path: str, **data: str) -> flask.Response:
    # Over HTTPS Flask-WTF also wants a same-origin Referer, as a browser sends.
    return client.post(path, base_url=HTTPS, data=data, headers={"Referer": HTTPS + path})


def signed_up(username: str) -> flask.testing.FlaskClient:
    client = app.test_client(enforce_csrf=True)
    response = post(
        client, "/signup", csrf_token=token(client, "/signup"), username=username, password="pw1"
    )
    assert response.status_code == 302, response.status_code
    return client


def logged_in(username: str) -> flask.testing.FlaskClient:
    client = signed_up(username)
    response = post(
        client, "/login", csrf_token=token(client, "/login"), username=username, password="pw1"
    )
    assert response.status_code == 302, response.text
    return client


@check()
def startup_names_each_extension() -> None:
    app.test_client().get("/login", base_url=HTTPS)
    starts = ("Flask-Login", "Flask-Session", "Flask-Talisman", "Flask-Limiter")
    for start in starts:
        assert any(m.startswith(start) for m in STARTUP.messages()), (start, STARTUP.messages())
    ids = {f.id for f in run_checks(app)}
    assert {"flask_login", "flask_session", "flask_talisman", "flask_limiter"} <= ids, ids


@check()
def flow_works() -> None:
    client = logged_in("alice")
    assert client.get("/account", base_url=HTTPS).text == "hello alice"
    response = post(client, "/logout", csrf_token=token(client, "/login"))
    assert response.status_code == 302
    assert client.get("/account", base_url=HTTPS).status_code == 302  # to the login page


@check()
def csrf_enforced_on_every_unsafe_request() -> None:
    # Refused by Hermetic's shield (403) or, with no session yet, by Flask-WTF (400).
    refused = (400, 403)
    client = app.test_client(enforce_csrf=True)
    assert post(client, "/signup", username="mallory", password="pw1").status_code in refused
    client.get("/signup", base_url=HTTPS)
    assert post(client, "/signup", username="mallory", password="pw1").status_code in refused
    assert "mallory" not in PASSWORDS
    client = signed_up("carol")
    assert post(client, "/login", username="carol", password="pw1").status_code in refused
    assert client.get("/account", base_url=HTTPS).status_code == 302
    client = logged_in("dave")
    assert post(client, "/logout").status_code in refused
    assert client.get("/account", base_url=HTTPS).text == "hello dave"


@check()
def new_session_id_at_login() -> None:
    client = signed_up("erin")
    planted = cookie(client)  # Flask-Session's cookie is the session id
    assert planted
    post(client, "/login", csrf_token=token(client, "/login"), username="erin", password="pw1")
    assert cookie(client) not in (None, planted)
    attacker = app.test_client()
    attacker.set_cookie("session", planted)
    assert attacker.get("/account", base_url=HTTPS).status_code == 302


@check()
def cookie_copied_before_logout_refused_after() -> None:
    client = logged_in("frank")
    copied = cookie(client)
    post(client, "/logout", csrf_token=token(client, "/login"))
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/account", base_url=HTTPS).status_code == 302


@check()
def one_copy_of_each_header() -> None:
    client = logged_in("grace")
    for response in (
        client.get("/account", base_url=HTTPS),
        client.get("/login", base_url=HTTPS),
        client.get("/missing", base_url=HTTPS),
    ):
        names = [name.lower() for name, _ in response.headers.items() if name != "Set-Cookie"]
        assert len(names) == len(set(names)), names


@check()
def flask_limiters_429_on_login() -> None:
    client = app.test_client()
    codes = {client.get("/login", base_url=HTTPS).status_code for _ in range(25)}
    assert codes == {200, 429}, codes


run(app)
