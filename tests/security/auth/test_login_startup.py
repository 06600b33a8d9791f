"""A route that needs a login with no way to load users stops the app at start-up."""

from __future__ import annotations

import pytest

from hermetic import Hermetic, session
from hermetic.security import login_required, public, requires
from hermetic.security.checks import run_checks
from hermetic.security.errors import ConfigurationError

STRONG = "0cZ9v1-8cGm3V1Xr2yQ6tLk4pN7sW0eB5hJ2uD8fA3q"


class User:
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, user_id):
        self.id = user_id

    def get_id(self):
        return str(self.id)


def _flaskr_like(**config):
    """flaskr after the start-up advice: @public, @login_required, session["user_id"]."""
    app = Hermetic(__name__)
    app.config.update(SECRET_KEY=STRONG, AUTHZ_DEFAULT="deny", **config)

    @app.route("/auth/login", methods=["GET", "POST"])
    @public
    def login():
        session["user_id"] = 1
        return "logged in"

    @app.route("/create", methods=["GET", "POST"])
    @login_required
    def create():
        return "create form"

    return app


def test_login_route_without_user_loader_stops_start_up():
    app = _flaskr_like()
    with pytest.raises(ConfigurationError) as info:
        app.security_check()
    message = str(info.value)
    assert "create" in message and "user_loader" in message
    assert "session['user_id']" in message or 'session["user_id"]' in message


def test_requires_route_without_user_loader_stops_start_up():
    app = Hermetic(__name__)
    app.config.update(SECRET_KEY=STRONG)

    @app.get("/admin")
    @requires("admin")
    def admin():
        return "x"

    problems = app.security_problems()
    assert any("admin" in p and "user_loader" in p for p in problems)


def test_hermetic_check_reports_it():
    app = _flaskr_like()
    found = [f for f in run_checks(app) if f.id == "no_user_loader"]
    assert found and found[0].level == "error" and "create" in found[0].message


def test_user_loader_satisfies_the_check():
    app = _flaskr_like()
    app.login_manager.user_loader(User)
    app.security_check()


def test_identity_provider_satisfies_the_check():
    app = _flaskr_like()

    class Provider:
        def identify(self, request):
            return None

    app.login_manager.add_provider(Provider())
    app.security_check()


def test_public_only_app_needs_no_loader():
    app = Hermetic(__name__)
    app.config.update(SECRET_KEY=STRONG)

    @app.get("/")
    @public
    def index():
        return "hi"

    app.security_check()


def test_browser_is_redirected_to_login_view_with_safe_next():
    app = _flaskr_like(LOGIN_VIEW="login")
    app.login_manager.user_loader(User)
    rv = app.test_client().get("/create?x=1", headers={"Accept": "text/html"})
    assert rv.status_code == 302
    assert rv.headers["Location"].startswith("/auth/login?next=")
    assert rv.headers["Location"].endswith("next=/create?x%3D1")


def test_api_request_gets_401_problem_json():
    app = _flaskr_like(LOGIN_VIEW="login")
    app.login_manager.user_loader(User)
    rv = app.test_client().get("/create", headers={"Accept": "application/json"})
    assert rv.status_code == 401 and rv.mimetype == "application/problem+json"
    rv = app.test_client().get("/create", headers={"Authorization": "Bearer abc"})
    assert rv.status_code == 401 and rv.mimetype == "application/problem+json"


def test_recipe_for_session_user_id():
    """docs/moving-from-flask.md: keep session["user_id"], add a provider reading it."""
    from hermetic.security.auth.providers import SessionUserIdProvider

    app = _flaskr_like()
    app.login_manager.add_provider(SessionUserIdProvider(User))
    client = app.test_client()
    assert client.get("/create", headers={"Accept": "application/json"}).status_code == 401
    client.get("/auth/login")
    assert client.get("/create").text == "create form"
