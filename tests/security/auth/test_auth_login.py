"""Login, logout, current_user, login_required, fresh logins, providers."""

from __future__ import annotations

import json
import logging

import pytest

from hermetic import render_template_string, request, session
from hermetic.security.auth import (
    AnonymousUser,
    ApiKeyProvider,
    LoginManager,
    UserMixin,
    current_user,
    fresh_login_required,
    hash_api_key,
    login_required,
    login_user,
    logout_user,
    privilege_changed,
    report_failed_login,
)
from hermetic.security.errors import ConfigurationError
from hermetic.security.stores import MemoryStore
from hermetic.testing import ManualClock

STRONG_KEY = "k3y-for-tests-" + "x" * 40


class User(UserMixin):
    def __init__(self, id, active=True):
        self.id = id
        self.active = active


@pytest.fixture
def audits(caplog):
    caplog.set_level(logging.INFO, logger="hermetic.security.audit")

    def events(kind=None):
        found = [r.audit for r in caplog.records if hasattr(r, "audit")]
        return [e for e in found if kind is None or e["event"] == kind]

    return events


@pytest.fixture
def users():
    return {"1": User("1"), "2": User("2"), "off": User("off", active=False)}


def _install(app, users, clock=None):
    clock = clock or ManualClock()
    app.extensions["hermetic.store"] = MemoryStore(now=clock)
    manager = LoginManager(app, now=clock)
    loads = []

    @manager.user_loader
    def load(user_id):
        loads.append(user_id)
        return users.get(user_id)

    @app.post("/login/<uid>")
    def login(uid):
        ok = login_user(
            users[uid],
            remember=request.args.get("remember") == "1",
            fresh=request.args.get("fresh", "1") == "1",
        )
        return {"ok": ok}

    @app.post("/logout")
    def logout():
        logout_user()
        return {"ok": True}

    @app.get("/whoami")
    def whoami():
        return {"id": current_user.get_id(), "auth": current_user.is_authenticated}

    @app.get("/private")
    @login_required
    def private():
        return {"id": current_user.get_id()}

    @app.get("/sensitive")
    @fresh_login_required
    def sensitive():
        return {"id": current_user.get_id()}

    @app.get("/signin")
    def signin():
        return "sign in"

    manager.loads = loads
    return manager


@pytest.fixture
def manager(app, users):
    return _install(app, users)


@pytest.fixture
def encrypted_app(app, users):
    """A plain Flask app with the encrypted, revocable session installed."""
    from hermetic.security.sessions import EncryptedSessionInterface

    app.config["SECRET_KEY"] = STRONG_KEY
    app.session_interface = EncryptedSessionInterface()
    _install(app, users)
    return app


def _session_cookie(client, app):
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return None if cookie is None else cookie.value


# -- current_user ------------------------------------------------------------


def test_anonymous_by_default(client, manager):
    assert client.get("/whoami").json == {"id": None, "auth": False}


def test_current_user_is_lazy(app, client, manager):
    @app.get("/untouched")
    def untouched():
        return "ok"

    client.post("/login/1")
    manager.loads.clear()
    client.get("/untouched")
    assert manager.loads == []
    client.get("/whoami")
    client.get("/whoami")
    assert manager.loads == ["1", "1"]  # once per request, cached within it


def test_current_user_outside_a_request():
    assert isinstance(current_user._get_current_object(), AnonymousUser)
    assert current_user.is_authenticated is False


def test_no_login_manager_means_anonymous(app, client):
    @app.get("/who")
    def who():
        return {"anon": current_user.is_anonymous}

    assert client.get("/who").json == {"anon": True}


def test_login_then_current_user(client, manager, audits):
    assert client.post("/login/1").json == {"ok": True}
    assert client.get("/whoami").json == {"id": "1", "auth": True}
    (event,) = audits("login")
    assert event["user"] == "1" and event["remember"] is False


def test_user_id_in_environ_for_audit(app, client, manager):
    seen = {}

    @app.get("/env")
    def env():
        current_user.get_id()
        seen["id"] = request.environ.get("hermetic.user_id")
        return "ok"

    client.post("/login/2")
    client.get("/env")
    assert seen["id"] == "2"


def test_current_user_in_templates(app, client, manager):
    @app.get("/tpl")
    def tpl():
        return render_template_string("{{ current_user.get_id() or 'anon' }}")

    assert client.get("/tpl").text == "anon"
    client.post("/login/1")
    assert client.get("/tpl").text == "1"


def test_missing_user_loader_is_a_configuration_error(app):
    LoginManager(app)
    with app.test_request_context():
        session["_user_id"] = "1"
        with pytest.raises(ConfigurationError, match="user_loader"):
            current_user.get_id()


# -- inactive users ----------------------------------------------------------


def test_inactive_user_is_refused(client, manager, audits):
    assert client.post("/login/off").json == {"ok": False}
    assert client.get("/whoami").json["auth"] is False
    (event,) = audits("failed_login")
    assert event["reason"] == "inactive"
    assert audits("login") == []


def test_user_deactivated_after_login_is_anonymous(client, manager, users):
    client.post("/login/1")
    users["1"].active = False
    assert client.get("/whoami").json["auth"] is False


def test_deleted_user_is_anonymous(client, manager, users):
    client.post("/login/1")
    del users["1"]
    assert client.get("/whoami").json["auth"] is False


# -- session fixation ---------------------------------------------------------


def test_fixation_plain_session_data_is_cleared(app, client, manager):
    @app.get("/plant")
    def plant():
        session["planted"] = "by attacker"
        return "ok"

    @app.get("/dump")
    def dump():
        return {k: session[k] for k in session if k != "_csrf"}

    client.get("/plant")
    client.post("/login/1")
    data = client.get("/dump").json
    assert "planted" not in data
    assert data["_user_id"] == "1" and data["_fresh"] is True


@pytest.mark.parametrize("kind", ["plain", "encrypted"])
def test_login_rotates_csrf_token(kind, request):
    csrf = pytest.importorskip("hermetic.security.csrf", reason="csrf.py not written yet")
    app = request.getfixturevalue("app" if kind == "plain" else "encrypted_app")
    if kind == "plain":
        _install(app, request.getfixturevalue("users"))

    @app.get("/token")
    def token():
        csrf.csrf_token()
        return {"raw": session.get("_csrf")}

    client = app.test_client()
    before = client.get("/token").json["raw"]
    client.post("/login/1")
    after = client.get("/token").json["raw"]
    assert before and after and before != after


@pytest.mark.parametrize("server_side", [False, True])
def test_fixation_pre_login_session_id_is_dead(encrypted_app, server_side, audits):
    app = encrypted_app
    app.config["SESSION_SERVER_SIDE"] = server_side

    @app.get("/visit")
    def visit():
        session["cart"] = "x"
        return "ok"

    attacker = app.test_client()
    attacker.get("/visit")
    planted = _session_cookie(attacker, app)
    assert planted

    # The victim is made to use the attacker's session cookie, then logs in.
    victim = app.test_client()
    victim.set_cookie(app.config["SESSION_COOKIE_NAME"], planted)
    victim.post("/login/1")
    after = _session_cookie(victim, app)
    assert after and after != planted
    assert victim.get("/whoami").json == {"id": "1", "auth": True}

    # The attacker's copy of the planted cookie neither rides the login nor lives on.
    assert attacker.get("/whoami").json["auth"] is False
    assert audits("session")[-1]["reason"] == "revoked"


def test_privilege_change_kills_the_old_session_id(encrypted_app):
    app = encrypted_app

    @app.post("/promote")
    def promote():
        current_user.get_id()
        privilege_changed()
        return "ok"

    client = app.test_client()
    client.post("/login/1")
    before = _session_cookie(client, app)
    client.post("/promote")
    after = _session_cookie(client, app)
    assert after != before
    assert client.get("/whoami").json["id"] == "1"

    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], before)
    assert thief.get("/whoami").json["auth"] is False


# -- logout -------------------------------------------------------------------


def test_logout_plain_session(client, manager, audits):
    client.post("/login/1")
    client.post("/logout")
    assert client.get("/whoami").json["auth"] is False
    (event,) = audits("logout")
    assert event["user"] == "1"


def test_logout_ends_session_on_the_server(encrypted_app):
    app = encrypted_app
    client = app.test_client()
    client.post("/login/1")
    stolen = _session_cookie(client, app)
    assert client.post("/logout").status_code == 200

    replay = app.test_client()
    replay.set_cookie(app.config["SESSION_COOKIE_NAME"], stolen)
    assert replay.get("/whoami").json["auth"] is False
    assert replay.get("/private", headers={"Accept": "application/json"}).status_code == 401


# -- login_required -----------------------------------------------------------


def test_login_required_json_is_401_problem(client, manager, audits):
    rv = client.get("/private", headers={"Accept": "application/json"})
    assert rv.status_code == 401
    assert rv.mimetype == "application/problem+json"
    assert rv.json["reason"] == "login_required"
    (event,) = audits("authn")
    assert event["reason"] == "login_required"


def test_login_required_without_login_view_is_401(client, manager):
    assert client.get("/private").status_code == 401


def test_login_required_redirects_html_to_login_view(client, manager):
    manager.login_view = "signin"
    rv = client.get("/private?a=1&b=2")
    assert rv.status_code == 302
    assert rv.location == "/signin?next=/private?a%3D1%26b%3D2"


def test_login_view_from_config(app, client, users):
    app.config["LOGIN_VIEW"] = "signin"
    _install(app, users)
    assert client.get("/private").location.startswith("/signin?next=")


def test_login_required_api_request_is_401_even_with_login_view(client, manager):
    manager.login_view = "signin"
    rv = client.get("/private", headers={"Authorization": "Bearer nope"})
    assert rv.status_code == 401


def test_next_cannot_point_off_site(app, client, manager):
    manager.login_view = "signin"

    @app.get("/<path:anything>")
    @login_required
    def catch_all(anything):
        return "x"

    rv = client.get("/", environ_overrides={"PATH_INFO": "//evil.example/x"})
    assert rv.status_code == 302
    # The leading slashes collapse: a path on this site, never "//evil.example".
    assert rv.location == "/signin?next=/evil.example/x"


def test_login_required_passes_logged_in_user(client, manager):
    client.post("/login/1")
    assert client.get("/private").json == {"id": "1"}


def test_unauthorized_handler(client, manager):
    @manager.unauthorized_handler
    def nope(reason):
        return {"custom": reason}, 418

    rv = client.get("/private")
    assert rv.status_code == 418 and rv.json == {"custom": "login_required"}


def test_login_required_async_view(app, client, manager):
    pytest.importorskip("asgiref")

    @app.get("/async")
    @login_required
    async def async_view():
        return {"id": current_user.get_id()}

    assert client.get("/async").status_code == 401
    client.post("/login/1")
    assert client.get("/async").json == {"id": "1"}


# -- fresh logins --------------------------------------------------------------


def test_fresh_login_required_refuses_a_non_fresh_login(client, manager, audits):
    client.post("/login/1?fresh=0")
    rv = client.get("/sensitive", headers={"Accept": "application/json"})
    assert rv.status_code == 401
    assert rv.json["reason"] == "fresh_login_required"
    assert audits("authn")[-1]["reason"] == "fresh_login_required"


def test_fresh_login_required_redirects_to_refresh_view(client, manager):
    manager.login_view = "whoami"
    manager.refresh_view = "signin"
    client.post("/login/1?fresh=0")
    assert client.get("/sensitive").location.startswith("/signin?next=/sensitive")


def test_fresh_login_passes(client, manager):
    client.post("/login/1")
    assert client.get("/sensitive").json == {"id": "1"}


def test_fresh_login_anonymous_is_login_required(client, manager):
    rv = client.get("/sensitive", headers={"Accept": "application/json"})
    assert rv.status_code == 401 and rv.json["reason"] == "login_required"


def test_freshness_expires_with_max_age(app, users):
    clock = ManualClock()
    app.config["LOGIN_FRESH_MAX_AGE"] = 300
    _install(app, users, clock)
    client = app.test_client()
    client.post("/login/1")
    clock.now += 299
    assert client.get("/sensitive").status_code == 200
    clock.now += 2
    assert client.get("/sensitive").status_code == 401
    assert client.get("/private").status_code == 200  # still logged in


# -- failed logins -------------------------------------------------------------


def test_failed_login_is_audited_without_the_password(app, client, manager, audits, caplog):
    @app.post("/form-login")
    def form_login():
        report_failed_login(request.form["username"])
        return "bad credentials", 401

    secret = "hunter2-very-secret"
    client.post("/form-login", data={"username": "alice\r\nforged", "password": secret})
    (event,) = audits("failed_login")
    assert event["username"] == "alice\r\nforged"
    assert event["reason"] == "invalid_credentials"
    assert secret not in caplog.text
    assert "\r\nforged" not in caplog.text  # no log line injection


# -- identity providers --------------------------------------------------------


@pytest.fixture
def api_app(app, users, manager):
    keys = {hash_api_key("k-123456"): users["2"], hash_api_key("k-off"): users["off"]}
    lookups = []

    def lookup(digest):
        lookups.append(digest)
        return keys.get(digest)

    manager.add_provider(ApiKeyProvider(lookup))
    app.lookups = lookups
    return app


def test_api_key_identifies(api_app):
    client = api_app.test_client()
    rv = client.get("/private", headers={"X-API-Key": "k-123456"})
    assert rv.json == {"id": "2"}
    assert "Set-Cookie" not in rv.headers  # stateless: no session written
    assert api_app.lookups == [hash_api_key("k-123456")]  # looked up by hash


def test_api_key_wrong_is_anonymous_and_audited(api_app, audits, caplog):
    client = api_app.test_client()
    rv = client.get("/private", headers={"X-API-Key": "k-wrong-guess"})
    assert rv.status_code == 401
    (event,) = audits("failed_login")
    assert event["reason"] == "unknown_api_key"
    assert "k-wrong-guess" not in caplog.text


def test_api_key_oversized_is_not_looked_up(api_app):
    client = api_app.test_client()
    assert client.get("/whoami", headers={"X-API-Key": "k" * 5000}).json["auth"] is False
    assert api_app.lookups == []


def test_api_key_inactive_user_refused(api_app):
    client = api_app.test_client()
    assert client.get("/whoami", headers={"X-API-Key": "k-off"}).json["auth"] is False


def test_api_key_is_a_fresh_credential(api_app):
    client = api_app.test_client()
    assert client.get("/sensitive", headers={"X-API-Key": "k-123456"}).status_code == 200


def test_session_wins_over_provider(api_app):
    client = api_app.test_client()
    client.post("/login/1")
    assert client.get("/whoami", headers={"X-API-Key": "k-123456"}).json["id"] == "1"
    assert api_app.lookups == []


def test_custom_provider_protocol(app, client, manager, users):
    from hermetic.security.auth import IdentityProvider

    class HeaderProvider:
        name = "header"

        def identify(self, req):
            return users.get(req.headers.get("X-User", ""))

    assert isinstance(HeaderProvider(), IdentityProvider)
    manager.add_provider(HeaderProvider())
    assert client.get("/whoami", headers={"X-User": "1"}).json["id"] == "1"


# -- Hermetic integration -----------------------------------------------------


def _hermetic(**config):
    try:
        from hermetic.security.profile import Hermetic

        app = Hermetic("hermetic_auth_tests")
    except (ImportError, ConfigurationError) as e:
        pytest.skip(f"hermetic.Hermetic cannot be built yet: {e}")
    app.config.update(TESTING=True, SECRET_KEY=STRONG_KEY, **config)
    return app


def test_hermetic_installs_login_manager(monkeypatch):
    monkeypatch.setenv("HERMETIC_SECRET_KEY", STRONG_KEY)
    app = _hermetic()
    assert isinstance(app.extensions["hermetic.login"], LoginManager)
    assert app.jinja_env.globals["current_user"] is current_user


def test_hermetic_login_flow(monkeypatch, users):
    monkeypatch.setenv("HERMETIC_SECRET_KEY", STRONG_KEY)
    app = _hermetic(SESSION_COOKIE_SECURE=False, CSRF_ENABLED=False)
    app.login_manager.user_loader(users.get)

    @app.post("/in")
    def sign_in():
        return {"ok": login_user(users["1"])}

    @app.get("/me")
    @login_required
    def me():
        return {"id": current_user.get_id()}

    client = app.test_client()
    assert client.get("/me", headers={"Accept": "application/json"}).status_code == 401
    assert client.post("/in").json == {"ok": True}
    assert client.get("/me").json == {"id": "1"}


def test_problem_body_has_no_internals(client, manager):
    rv = client.get("/private", headers={"Accept": "application/json"})
    body = json.loads(rv.data)
    assert set(body) == {"type", "title", "status", "detail", "reason"}


def test_clock_is_a_deprecated_name_for_now():
    from hermetic import Flask

    app = Flask(__name__)

    def fixed():
        return 5.0

    with pytest.deprecated_call(match="now="):
        manager = LoginManager(app, clock=fixed)
    assert manager.now is fixed
    with pytest.deprecated_call(match="LoginManager.now"):
        assert manager.clock is fixed


@pytest.mark.parametrize(
    ("fresh", "advance", "expected"), [("1", 0, True), ("1", 301, False), ("0", 0, False)]
)
def test_is_fresh_reads_the_session_when_asked(app, users, fresh, advance, expected):
    """The user is loaded first (current_user), freshness is decided when is_fresh() asks."""
    from hermetic.security.auth import current_user, is_fresh

    clock = ManualClock()
    app.config["LOGIN_FRESH_MAX_AGE"] = 300
    _install(app, users, clock)

    @app.get("/fresh")
    def fresh_view():
        loaded = current_user.get_id()
        return {"id": loaded, "fresh": is_fresh(), "again": is_fresh()}

    client = app.test_client()
    client.post(f"/login/1?fresh={fresh}")
    clock.now += advance
    assert client.get("/fresh").json == {"id": "1", "fresh": expected, "again": expected}
