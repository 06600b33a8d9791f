"""Hermetic's CSRF shield next to the real Flask-WTF (CSRFProtect, FlaskForm).

Not collected on its own (no ``test_`` prefix): ``test_flask_wtf_csrf.py`` runs
this file with pytest in a fresh interpreter, because the ``flask`` alias must
be installed before Flask-WTF is imported and it changes ``sys.modules`` for
good. Run it by hand with::

    .venv/bin/pytest -p no:cacheprovider tests/coexistence/flask_wtf_csrf_cases.py
"""

from __future__ import annotations

import http.cookiejar
import logging
import re
import threading
import urllib.error
import urllib.parse
import urllib.request

from hermetic.compat import install_as_flask

install_as_flask()  # before Flask-WTF runs `from flask import ...`

import flask  # noqa: E402
import pytest  # noqa: E402
from flask_wtf import FlaskForm  # noqa: E402
from flask_wtf.csrf import CSRFProtect  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402
from wtforms import PasswordField, StringField  # noqa: E402
from wtforms.validators import DataRequired  # noqa: E402

import hermetic  # noqa: E402
from hermetic import Hermetic  # noqa: E402
from hermetic.security import exempt, login_user  # noqa: E402
from hermetic.security.auth import UserMixin, current_user  # noqa: E402
from hermetic.security.checks import run_checks  # noqa: E402
from hermetic.security.csrf import csrf_token as hermetic_csrf_token  # noqa: E402

KEY = "wtf-coexistence-test-key-" + "q" * 40
EVIL = "https://evil.example"
PAGE = (
    """<form method="post">{{ form.hidden_tag() }}{{ form.username }}{{ form.password }}</form>"""
)
TOKEN_RE = re.compile(r'name="(?:[\w-]*csrf_token|wtf_token)" type="hidden" value="([^"]+)"')


class User(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


class SignupForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


def make_app(*, protect: bool = True, **config: object) -> tuple[Hermetic, CSRFProtect | None]:
    """A sign-up / login app on ``Hermetic`` with Flask-WTF, as a Flask app would have it."""
    app = Hermetic(__name__)
    app.config.update(SECRET_KEY=KEY, SESSION_COOKIE_SECURE=False, **config)
    csrf = CSRFProtect(app) if protect else None
    users: dict[str, str] = {}
    app.extensions["hermetic.login"].user_loader(lambda uid: User(uid) if uid in users else None)

    @app.route("/signup", methods=["GET", "POST"])
    def signup():
        form = SignupForm()
        if form.validate_on_submit():
            users[form.username.data] = form.password.data
            return flask.redirect("/login")
        if form.errors:
            return flask.jsonify(form.errors), 422
        return flask.render_template_string(PAGE, form=form)

    @app.route("/login", methods=["GET", "POST"])
    def login():
        form = LoginForm()
        if form.validate_on_submit():
            if users.get(form.username.data) != form.password.data:
                return "wrong password", 401
            login_user(User(form.username.data))
            return flask.redirect("/me")
        if form.errors:
            return flask.jsonify(form.errors), 422
        return flask.render_template_string(PAGE, form=form)

    @app.get("/me")
    def me():
        return f"user {current_user.get_id()}"

    @app.get("/token")
    def token():
        return flask.render_template_string("{{ csrf_token() }}")

    @app.get("/hermetic-token")
    def hermetic_token():
        return hermetic_csrf_token()

    @app.post("/api/notes")
    def notes():
        return {"ok": True}

    if csrf is not None:

        @app.errorhandler(400)
        def wtf_refusal(error):  # Flask-WTF's CSRFError is a 400
            return f"flask-wtf answered: {error.description}", 400

    return app, csrf


def form_token(client, path: str = "/signup") -> str:
    response = client.get(path)
    assert response.status_code == 200, response.text
    match = TOKEN_RE.search(response.text)
    assert match, response.text
    return match.group(1)


def sign_up(client, name: str = "ann", password: str = "pw") -> None:
    token = form_token(client)
    data = {"csrf_token": token, "username": name, "password": password}
    response = client.post("/signup", data=data)
    assert response.status_code == 302, response.text


@pytest.fixture
def audits(caplog):
    caplog.set_level(logging.INFO, logger="hermetic.security.audit")

    def events():
        return [r.audit for r in caplog.records if hasattr(r, "audit")]

    return events


@pytest.fixture
def wtf_app():
    return make_app()[0]


@pytest.fixture
def client(wtf_app):
    return wtf_app.test_client(enforce_csrf=True)


# -- The attacks: each refused with Hermetic's 4xx (never Flask-WTF's second answer).


def test_cross_site_post_with_a_valid_token_is_refused(client, audits):
    token = form_token(client)
    response = client.post(
        "/signup",
        data={"csrf_token": token, "username": "eve", "password": "x"},
        headers={"Sec-Fetch-Site": "cross-site", "Origin": EVIL},
    )
    assert response.status_code == 403
    assert "flask-wtf answered" not in response.text
    response = client.post("/api/notes", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403
    reasons = [e["reason"] for e in audits() if e["event"] == "csrf"]
    assert reasons == ["cross_site", "cross_site"]


def test_valid_flask_wtf_token_with_a_hostile_origin_is_refused(client, audits):
    token = form_token(client)
    response = client.post(
        "/signup",
        data={"csrf_token": token, "username": "eve", "password": "x"},
        headers={"Origin": EVIL},
    )
    assert response.status_code == 403
    assert [e["reason"] for e in audits() if e["event"] == "csrf"] == ["bad_origin"]


def test_post_without_a_token_is_one_refusal_from_hermetic(client, audits):
    form_token(client)  # the visitor has a session cookie
    response = client.post("/signup", data={"username": "eve", "password": "x"})
    assert response.status_code == 403
    assert "The CSRF token is missing" in response.text
    assert "flask-wtf answered" not in response.text
    events = [e for e in audits() if e["event"] == "csrf"]
    assert [(e["reason"], e["flask_wtf"]) for e in events] == [("no_token", "protect")]


def test_json_post_without_a_token_is_refused(client):
    form_token(client)
    assert client.post("/api/notes", json={"title": "x"}).status_code == 403


def test_token_from_another_session_is_refused(wtf_app, audits):
    theirs = form_token(wtf_app.test_client(enforce_csrf=True))
    victim = wtf_app.test_client(enforce_csrf=True)
    form_token(victim)
    response = victim.post("/signup", data={"csrf_token": theirs, "username": "e", "password": "x"})
    assert response.status_code == 403
    event = [e for e in audits() if e["event"] == "csrf"][-1]
    assert event["reason"] == "bad_wtf_token"
    assert event["wtf_problem"] == "The CSRF tokens do not match."


def test_tampered_token_is_refused(client):
    token = form_token(client)
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    response = client.post("/signup", data={"csrf_token": forged, "username": "e", "password": "x"})
    assert response.status_code == 403


def test_a_hermetic_format_token_is_not_proof_when_csrfprotect_checks(client):
    # Flask-WTF would refuse it after Hermetic: Hermetic refuses it first, alone.
    form_token(client)
    with client.application.test_request_context():
        flask.session["_csrf"] = "A" * 43
    fake = "A" * 86
    response = client.post("/api/notes", headers={"X-CSRF-Token": fake})
    assert response.status_code == 403
    assert "flask-wtf answered" not in response.text


def test_a_token_captured_before_login_does_not_survive_login(client, audits):
    sign_up(client)
    before = form_token(client, "/login")
    response = client.post(
        "/login", data={"csrf_token": before, "username": "ann", "password": "pw"}
    )
    assert response.status_code == 302
    # The planted (pre-login) token is dead after login ...
    response = client.post("/api/notes", headers={"X-CSRFToken": before})
    assert response.status_code == 403
    event = [e for e in audits() if e["event"] == "csrf"][-1]
    assert event["reason"] == "bad_wtf_token"
    # ... and a token rendered after login works.
    fresh = client.get("/token").text
    assert fresh != before
    assert client.post("/api/notes", headers={"X-CSRFToken": fresh}).json == {"ok": True}


def test_flask_wtf_exempt_is_not_hermetic_exempt(caplog):
    app, csrf = make_app()
    assert csrf is not None

    @csrf.exempt
    @app.post("/hooks/only-wtf")
    def only_wtf():
        return "hook"

    @csrf.exempt
    @app.post("/hooks/both")
    @exempt("csrf")
    def both():
        return "hook"

    client = app.test_client(enforce_csrf=True)
    with caplog.at_level(logging.INFO, logger=app.logger.name):
        form_token(client)
    assert client.post("/hooks/only-wtf").status_code == 403
    assert client.post("/hooks/both").text == "hook"
    (record,) = [r for r in caplog.records if r.getMessage().startswith("CSRF: ")]
    assert record.levelno == logging.WARNING
    assert "only_wtf" in record.getMessage() and 'add @exempt("csrf")' in record.getMessage()


def test_malformed_tokens_are_a_403_never_a_500(client):
    form_token(client)
    for bad in ("é" * 50, "x" * 5000, "a.b.c", ".", "Ij" + "\x00" * 3, "A" * 86 + "."):
        response = client.post("/api/notes", data={"csrf_token": bad})
        assert response.status_code == 403, (bad[:20], response.status_code)
        response = client.post("/api/notes", headers={"X-CSRFToken": bad.encode().hex()})
        assert response.status_code == 403


def test_logout_drops_the_flask_wtf_token(wtf_app):
    from hermetic.security import logout_user

    @wtf_app.post("/logout")
    def logout():
        logout_user()
        return "bye"

    client = wtf_app.test_client(enforce_csrf=True)
    sign_up(client)
    token = form_token(client, "/login")
    client.post("/login", data={"csrf_token": token, "username": "ann", "password": "pw"})
    inside = client.get("/token").text
    assert client.post("/logout", headers={"X-CSRFToken": inside}).text == "bye"
    assert client.post("/api/notes", headers={"X-CSRFToken": inside}).status_code == 403


def test_one_audit_line_per_refusal(client, audits):
    form_token(client)
    client.post("/api/notes", data={"csrf_token": "forged"})
    assert [e["reason"] for e in audits() if e["event"] == "csrf"] == ["bad_wtf_token"]


# -- The flows that must work.


def test_sign_up_and_log_in_with_hidden_tag(client):
    sign_up(client)
    token = form_token(client, "/login")
    response = client.post(
        "/login", data={"csrf_token": token, "username": "ann", "password": "pw"}
    )
    assert response.status_code == 302, response.text
    assert client.get("/me").text == "user ann"


def test_wrong_password_reaches_the_view(client):
    sign_up(client)
    token = form_token(client, "/login")
    response = client.post(
        "/login", data={"csrf_token": token, "username": "ann", "password": "no"}
    )
    assert response.status_code == 401


def test_ajax_with_the_x_csrftoken_header(client):
    token = client.get("/token").text
    assert client.post("/api/notes", json={}, headers={"X-CSRFToken": token}).json == {"ok": True}
    assert client.post("/api/notes", json={}, headers={"X-CSRF-Token": token}).json == {"ok": True}


def test_hermetic_csrf_token_is_flask_wtfs_under_csrfprotect(client):
    # One token family: hermetic.security.csrf_token() passes both checks.
    token = client.get("/hermetic-token").text
    assert "." in token  # Flask-WTF's signed format
    assert client.post("/api/notes", headers={"X-CSRF-Token": token}).json == {"ok": True}


def test_custom_wtf_field_name():
    app, _ = make_app(WTF_CSRF_FIELD_NAME="wtf_token")
    client = app.test_client(enforce_csrf=True)
    token = form_token(client)
    assert 'name="wtf_token"' in client.get("/signup").text
    data = {"wtf_token": token, "username": "ann", "password": "pw"}
    assert client.post("/signup", data=data).status_code == 302
    # Under CSRFProtect Hermetic looks only where Flask-WTF looks: one answer.
    response = client.post("/api/notes", data={"csrf_token": token})
    assert response.status_code == 403 and "flask-wtf answered" not in response.text
    assert client.post("/api/notes", data={"wtf_token": token}).json == {"ok": True}
    assert client.post("/api/notes", data={"other": "x"}).status_code == 403


def test_check_default_false_with_csrf_protect_per_view():
    app, csrf = make_app(WTF_CSRF_CHECK_DEFAULT=False)
    assert csrf is not None

    @app.post("/protected")
    def protected():
        csrf.protect()
        return "protected"

    client = app.test_client(enforce_csrf=True)
    token = client.get("/token").text
    assert client.post("/protected", headers={"X-CSRFToken": token}).text == "protected"
    # Hermetic still checks the views Flask-WTF no longer checks by default.
    assert client.post("/api/notes").status_code == 403
    assert client.post("/protected").status_code == 403


def test_flaskform_without_csrfprotect():
    app, _ = make_app(protect=False)
    client = app.test_client(enforce_csrf=True)
    sign_up(client)  # the FlaskForm's token is proof for Hermetic
    # Views without a form are protected too: Flask-WTF would not check them.
    assert client.post("/api/notes", json={}).status_code == 403
    # Hermetic's own token (not Flask-WTF's) for the API.
    token = client.get("/hermetic-token").text
    assert "." not in token
    assert client.post("/api/notes", headers={"X-CSRF-Token": token}).json == {"ok": True}


def test_wtf_csrf_disabled_keeps_hermetic_alone():
    app, _ = make_app(WTF_CSRF_ENABLED=False)

    @app.post("/plain")
    def plain():
        return "plain"

    client = app.test_client(enforce_csrf=True)
    mine = client.get("/hermetic-token").text
    assert "." not in mine
    # Same field name as Flask-WTF's: Hermetic finds its token there ...
    assert client.post("/plain", data={"csrf_token": mine}).text == "plain"
    # ... and accepts the Flask-WTF token the csrf_token() global still renders.
    theirs = client.get("/token").text
    assert client.post("/plain", data={"csrf_token": theirs}).text == "plain"
    assert client.post("/plain", data={"csrf_token": "forged"}).status_code == 403
    assert client.post("/plain").status_code == 403


# -- What the developer is told.


@pytest.mark.parametrize(
    ("protect", "config", "mode"),
    [
        (True, {}, "CSRFProtect is on this app"),
        (False, {}, "without CSRFProtect"),
        (True, {"WTF_CSRF_ENABLED": False}, "WTF_CSRF_ENABLED is False"),
    ],
)
def test_start_up_line_and_check_name_the_mode(caplog, protect, config, mode):
    app, _ = make_app(protect=protect, **config)
    with caplog.at_level(logging.INFO, logger=app.logger.name):
        app.test_client().get("/token")
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("CSRF: ")]
    assert len(lines) == 1 and mode in lines[0], lines
    findings = [f for f in run_checks(app, environ={}) if f.id == "csrf_flask_wtf"]
    assert len(findings) == 1 and mode in findings[0].message


def test_refusal_hint_names_the_flask_wtf_token(client):
    client.application.debug = True
    form_token(client)
    response = client.post("/api/notes", headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert "form.hidden_tag()" in response.text and "X-CSRFToken" in response.text


# -- Through a real HTTP server (a browser's cookies, no test client shortcut).


@pytest.fixture
def served():
    app, _ = make_app()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _opener():
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())


def _call(opener, url: str, data: dict[str, str] | None = None, **headers: str):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_sign_up_and_log_in_through_a_real_server(served):
    browser = _opener()
    status, page = _call(browser, served + "/signup")
    assert status == 200
    token = TOKEN_RE.search(page).group(1)
    same = {"Origin": served, "Sec-Fetch-Site": "same-origin"}
    form = {"csrf_token": token, "username": "ann", "password": "pw"}
    assert _call(browser, served + "/signup", form, **same)[0] == 302
    status, page = _call(browser, served + "/login")
    token = TOKEN_RE.search(page).group(1)
    form = {"csrf_token": token, "username": "ann", "password": "pw"}
    assert _call(browser, served + "/login", form, **same)[0] == 302
    assert _call(browser, served + "/me") == (200, "user ann")
    # The attacks, on the wire.
    assert _call(browser, served + "/api/notes", {"x": "1"}, **same)[0] == 403
    cross = {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"}
    assert _call(browser, served + "/api/notes", {"csrf_token": token}, **cross)[0] == 403
    # The pre-login token died at login.
    assert _call(browser, served + "/api/notes", {"csrf_token": token}, **same)[0] == 403


def test_the_alias_runs_flask_wtf_on_hermetic():
    assert flask.Flask is hermetic.Flask
