"""Authorization: permissions, roles, object policies, the shield, default-deny."""

from __future__ import annotations

import logging

import pytest

import hermetic
from hermetic import render_template_string, request
from hermetic.security import policy as policy_module
from hermetic.security.auth import (
    LoginManager,
    UserMixin,
    fresh_login_required,
    login_required,
    login_user,
)
from hermetic.security.errors import ConfigurationError
from hermetic.security.policy import (
    AuthorizationShield,
    authorize,
    can,
    permissions_of,
    policy,
    policy_of,
    public,
    requires,
    requires_any,
    routes_without_policy,
)
from hermetic.security.shields import exempt
from hermetic.security.stores import MemoryStore

JSON = {"Accept": "application/json"}
STRONG_KEY = "k3y-for-tests-" + "x" * 40


class User(UserMixin):
    def __init__(self, id, roles=(), permissions=(), scopes=None):
        self.id = id
        self.roles = roles
        self.permissions = permissions
        if scopes is not None:
            self.scopes = scopes


@pytest.fixture
def audits(caplog):
    caplog.set_level(logging.INFO, logger="hermetic.security.audit")

    def events(kind=None):
        found = [r.audit for r in caplog.records if hasattr(r, "audit")]
        return [e for e in found if kind is None or e["event"] == kind]

    return events


@pytest.fixture
def users():
    return {
        "reader": User("reader", roles=["reader"]),
        "editor": User("editor", roles=["editor"]),
        "direct": User("direct", permissions={"notes:delete"}),
        "scoped": User("scoped", scopes="notes:read notes:edit"),
        "nobody": User("nobody"),
    }


def _setup(app, users, shield=True):
    app.config["AUTHZ_ROLES"] = {
        "reader": ["notes:read"],
        "editor": ["notes:read", "notes:edit"],
    }
    app.extensions["hermetic.store"] = MemoryStore()
    manager = LoginManager(app)
    manager.user_loader(users.get)
    if shield:
        AuthorizationShield().init_app(app)

    @app.post("/as/<uid>")
    @public
    def as_user(uid):
        login_user(users[uid])
        return "ok"

    @app.get("/read")
    @requires("notes:read")
    def read():
        return "read"

    @app.get("/edit")
    @requires("notes:read", "notes:edit")
    def edit():
        return "edit"

    @app.get("/any")
    @requires_any("notes:edit", "notes:delete")
    def any_of():
        return "any"

    @app.get("/open")
    @public
    def open_():
        return "open"

    @app.get("/members")
    @login_required
    def members():
        return "members"

    return app


@pytest.fixture(params=["shield", "decorator-only"])
def authz_app(request, app, users):
    return _setup(app, users, shield=request.param == "shield")


def _as(app, uid):
    client = app.test_client()
    if uid is not None:
        client.post(f"/as/{uid}")
    return client


# -- route permissions ------------------------------------------------------------


@pytest.mark.parametrize(
    ("uid", "path", "status"),
    [
        (None, "/read", 401),
        ("nobody", "/read", 403),
        ("reader", "/read", 200),
        ("reader", "/edit", 403),
        ("editor", "/edit", 200),
        ("scoped", "/edit", 200),
        ("direct", "/edit", 403),
        (None, "/any", 401),
        ("reader", "/any", 403),
        ("editor", "/any", 200),
        ("direct", "/any", 200),
        (None, "/open", 200),
        (None, "/members", 401),
        ("nobody", "/members", 200),
    ],
)
def test_route_policies(authz_app, uid, path, status):
    assert _as(authz_app, uid).get(path, headers=JSON).status_code == status


def test_refusals_are_audited(authz_app, audits):
    client = _as(authz_app, None)
    rv = client.get("/read", headers=JSON)
    assert rv.status_code == 401 and rv.json["reason"] == "login_required"
    assert audits("authn")[-1]["reason"] == "login_required"
    client = _as(authz_app, "reader")
    rv = client.get("/edit", headers=JSON)
    assert rv.status_code == 403 and rv.json["reason"] == "forbidden"
    (event,) = audits("authz")
    assert event["reason"] == "forbidden" and event["user"] == "reader"
    assert event["required"] == "requires notes:edit, notes:read"


def test_permissions_of(app, users):
    _setup(app, users, shield=False)
    with app.app_context():
        assert permissions_of(users["editor"]) == {"notes:read", "notes:edit"}
        assert permissions_of(users["scoped"]) == {"notes:read", "notes:edit"}
        assert permissions_of(users["direct"]) == {"notes:delete"}
        assert permissions_of(users["nobody"]) == frozenset()
        assert permissions_of(None) == frozenset()
        from hermetic.security.auth import AnonymousUser

        assert permissions_of(AnonymousUser()) == frozenset()


def test_unknown_role_grants_nothing(app, users):
    _setup(app, users, shield=False)
    with app.app_context():
        assert permissions_of(User("x", roles=["admin"])) == frozenset()


def test_requires_needs_a_permission():
    with pytest.raises(TypeError):
        requires()
    with pytest.raises(TypeError):
        requires_any()


# -- declarations ------------------------------------------------------------------


def test_policy_descriptions():
    def view():
        return None

    assert policy_of(view) is None
    assert policy_of(public(lambda: None)).describe() == "public"
    assert policy_of(login_required(lambda: None)).describe() == "login"
    assert policy_of(fresh_login_required(lambda: None)).describe() == "login (fresh)"
    assert policy_of(requires("notes:edit")(lambda: None)).describe() == "requires notes:edit"
    stacked = requires("b", "a")(requires_any("x", "y")(login_required(lambda: None)))
    assert policy_of(stacked).describe() == "requires a, b; any of x, y"


def test_stacked_decorators_combine_and_wrap_once(app, users):
    _setup(app, users, shield=False)

    @app.get("/both")
    @requires("notes:edit")
    @fresh_login_required
    def both():
        return "both"

    view = app.view_functions["both"]
    assert view.__wrapped__.__name__ == "both"
    assert not hasattr(view.__wrapped__, "__wrapped__")
    assert policy_of(view).describe() == "requires notes:edit (fresh)"
    assert _as(app, "reader").get("/both", headers=JSON).status_code == 403
    assert _as(app, "editor").get("/both").status_code == 200


def test_public_and_protected_conflict():
    with pytest.raises(TypeError, match="public"):
        public(login_required(lambda: None))
    with pytest.raises(TypeError, match="public"):
        requires("a")(public(lambda: None))


def test_foreign_decorator_between_ours_is_kept(app, users):
    import functools

    _setup(app, users, shield=False)
    calls = []

    def logged(fn):
        @functools.wraps(fn)
        def inner(*a, **k):
            calls.append(fn.__name__)
            return fn(*a, **k)

        return inner

    @app.get("/logged")
    @requires("notes:edit")
    @logged
    @login_required
    def logged_view():
        return "ok"

    assert _as(app, "editor").get("/logged").status_code == 200
    assert calls == ["logged_view"]  # the foreign wrapper still runs


# -- the shield ------------------------------------------------------------------


def test_shield_runs_before_before_request_hooks(app, users):
    _setup(app, users)
    hooks = []
    app.before_request(lambda: hooks.append(request.path))
    assert _as(app, None).get("/read", headers=JSON).status_code == 401
    assert hooks == []
    assert _as(app, None).get("/open").status_code == 200
    assert hooks == ["/open"]


def test_shield_checks_once(app, users, monkeypatch):
    _setup(app, users)
    calls = []
    real = policy_module.check

    def counting(p):
        calls.append(p)
        return real(p)

    monkeypatch.setattr(policy_module, "check", counting)
    assert _as(app, "reader").get("/read").status_code == 200
    assert len(calls) == 1


def test_shield_cannot_be_exempted(app, users):
    _setup(app, users)

    @app.get("/sneaky")
    @exempt("authz")
    @requires("notes:edit")
    def sneaky():
        return "x"

    assert _as(app, "reader").get("/sneaky", headers=JSON).status_code == 403
    assert "requires notes:edit" in app.shields.describe("sneaky")


def test_shield_describes_each_route(app, users):
    _setup(app, users)

    @app.get("/plain")
    def plain():
        return "x"

    shield = app.shields.get("authz")
    labels = {ep: shield.describe(ep, app.view_functions[ep]) for ep in app.view_functions}
    assert labels["open_"] == "policy: public"
    assert labels["members"] == "policy: login"
    assert labels["read"] == "policy: requires notes:read"
    assert labels["any_of"] == "policy: requires any of notes:delete, notes:edit"
    assert labels["plain"] == "policy: none"


def test_cors_preflight_is_not_refused(app, users):
    _setup(app, users)
    assert _as(app, None).options("/read").status_code == 200


def test_login_view_redirect_through_the_shield(app, users):
    _setup(app, users)
    app.extensions["hermetic.login"].login_view = "open_"
    rv = _as(app, None).get("/members")
    assert rv.status_code == 302 and rv.location == "/open?next=/members"


def test_async_view_with_requires(app, users):
    pytest.importorskip("asgiref")
    _setup(app, users, shield=False)

    @app.get("/async")
    @requires("notes:edit")
    async def async_view():
        return "ok"

    assert _as(app, "reader").get("/async", headers=JSON).status_code == 403
    assert _as(app, "editor").get("/async").status_code == 200


# -- object policies ----------------------------------------------------------------


class Note:
    def __init__(self, owner):
        self.owner = owner


@pytest.fixture
def notes_app(app, users):
    _setup(app, users)

    @policy("notes:edit", app=app)
    def owner_or_editor(user, note):
        return user.is_authenticated and (
            note.owner == user.get_id() or "notes:edit" in permissions_of(user)
        )

    notes = {"a": Note("reader"), "b": Note("direct")}

    @app.post("/notes/<nid>")
    @login_required
    def edit_note(nid):
        authorize("notes:edit", notes[nid])
        return "saved"

    @app.get("/notes/<nid>/view")
    @public
    def view_note(nid):
        authorize("notes:edit", notes[nid])
        return "x"

    @app.get("/notes/<nid>/links")
    @public
    def links(nid):
        return render_template_string(
            "{{ 'edit' if can('notes:edit', note) else 'view' }}", note=notes[nid]
        )

    return app


def test_object_policy_owner_allowed(notes_app):
    assert _as(notes_app, "reader").post("/notes/a").status_code == 200


def test_object_policy_other_refused_and_audited(notes_app, audits):
    rv = _as(notes_app, "reader").post("/notes/b", headers=JSON)
    assert rv.status_code == 403
    (event,) = audits("authz")
    assert event["action"] == "notes:edit" and event["reason"] == "forbidden"


def test_object_policy_role_overrides(notes_app):
    assert _as(notes_app, "editor").post("/notes/b").status_code == 200


def test_authorize_anonymous_is_401(notes_app):
    assert _as(notes_app, None).get("/notes/a/view", headers=JSON).status_code == 401


def test_can_in_templates(notes_app):
    assert _as(notes_app, "reader").get("/notes/a/links").text == "edit"
    assert _as(notes_app, "reader").get("/notes/b/links").text == "view"
    assert _as(notes_app, None).get("/notes/a/links").text == "view"


def test_can_without_object_is_a_permission(app, users):
    _setup(app, users)
    with app.test_request_context():
        assert can("notes:edit", user=users["editor"])
        assert not can("notes:edit", user=users["reader"])


def test_object_check_without_a_policy_is_an_error(app, users):
    _setup(app, users)
    with app.test_request_context():
        with pytest.raises(LookupError, match="@policy"):
            can("notes:frobnicate", Note("x"), user=users["editor"])


def test_policy_registered_twice_is_an_error(app):
    policy("dup:action", app=app)(lambda u, o: True)
    with pytest.raises(ValueError, match="already"):
        policy("dup:action", app=app)(lambda u, o: True)


def test_global_policy_and_app_override(app, users, monkeypatch):
    monkeypatch.setattr(policy_module, "default_registry", policy_module.PolicyRegistry())
    _setup(app, users)
    policy("things:see")(lambda user, obj: obj == "global-yes")
    with app.test_request_context():
        assert can("things:see", "global-yes", user=users["nobody"])
        assert not can("things:see", "other", user=users["nobody"])
    policy("things:see", app=app)(lambda user, obj: obj == "app-yes")
    with app.test_request_context():
        assert can("things:see", "app-yes", user=users["nobody"])
        assert not can("things:see", "global-yes", user=users["nobody"])


# -- default-deny ----------------------------------------------------------------


def test_routes_without_policy(app, users):
    _setup(app, users)
    bp = hermetic.Blueprint("bp", __name__, static_folder="static")

    @bp.get("/bp-open")
    @public
    def bp_open():
        return "x"

    @bp.get("/bp-plain")
    def bp_plain():
        return "x"

    @app.get("/plain")
    def plain():
        return "x"

    app.register_blueprint(bp)
    app.static_folder = "static"
    assert "bp.static" in app.view_functions
    assert routes_without_policy(app) == ["bp.bp_plain", "plain"]


def test_deny_refuses_undeclared_routes_at_runtime(app, users, audits):
    _setup(app, users)
    app.config["AUTHZ_DEFAULT"] = "deny"

    @app.get("/plain")
    def plain():
        return "x"

    rv = _as(app, "editor").get("/plain", headers=JSON)
    assert rv.status_code == 403 and rv.json["reason"] == "no_policy"
    assert audits("authz")[-1]["reason"] == "no_policy"
    assert _as(app, None).get("/missing").status_code == 404  # not a 403
    assert _as(app, None).get("/open").status_code == 200


def _hermetic(monkeypatch, **config):
    monkeypatch.setenv("HERMETIC_SECRET_KEY", STRONG_KEY)
    try:
        from hermetic.security.profile import Hermetic

        app = Hermetic("hermetic_policy_tests")
    except (ImportError, ConfigurationError) as e:
        pytest.skip(f"hermetic.Hermetic cannot be built yet: {e}")
    app.config.update(TESTING=True, **config)
    return app


def test_hermetic_default_deny_refuses_to_start(monkeypatch):
    app = _hermetic(monkeypatch, AUTHZ_DEFAULT="deny")

    @app.get("/ok")
    @public
    def ok():
        return "x"

    @app.get("/forgotten")
    def forgotten():
        return "x"

    @app.get("/also-forgotten")
    def also_forgotten():
        return "x"

    with pytest.raises(ConfigurationError) as info:
        app.security_check()
    message = str(info.value)
    assert "also_forgotten, forgotten" in message
    assert "ok" not in message.split("policy:", 1)[1].split(".")[0].split(", ")
    with pytest.raises(ConfigurationError):
        app.test_client().get("/ok")


def test_hermetic_default_deny_starts_when_all_declared(monkeypatch):
    app = _hermetic(monkeypatch, AUTHZ_DEFAULT="deny", SESSION_COOKIE_SECURE=False)

    @app.get("/ok")
    @public
    def ok():
        return "x"

    app.security_check()
    assert app.test_client().get("/ok").status_code == 200


def test_hermetic_enforces_policies(monkeypatch):
    app = _hermetic(monkeypatch)
    app.login_manager.user_loader(lambda user_id: None)  # a login route needs one
    assert app.shields.get("authz") is not None

    @app.get("/secret")
    @requires("s:read")
    def secret():
        return "x"

    assert app.test_client().get("/secret", headers=JSON).status_code == 401


def test_privilege_change_refreshes_permissions(app, users):
    from hermetic.security.auth import privilege_changed

    _setup(app, users)

    @app.post("/promote")
    @login_required
    def promote():
        from hermetic.security.auth import current_user

        before = can("notes:edit")
        current_user.roles = ["editor"]
        stale = can("notes:edit")
        privilege_changed()
        return {"before": before, "stale": stale, "after": can("notes:edit")}

    client = _as(app, "nobody")
    assert client.post("/promote").json == {"before": False, "stale": False, "after": True}
    assert client.get("/edit").status_code == 200  # still logged in (plain session)


# -- the shield's per-route step ----------------------------------------------------


def _authz_steps(app, endpoint):
    return app.shields._steps(endpoint).before


def test_routes_needing_no_check_run_no_authz_step(app, users):
    _setup(app, users)

    @app.get("/plain")
    def plain():
        return "x"

    client = _as(app, "reader")
    for path, endpoint in (("/open", "open_"), ("/plain", "plain"), ("/missing", None)):
        client.get(path)
        assert _authz_steps(app, endpoint) == ()
    client.get("/read")
    assert len(_authz_steps(app, "read")) == 1


def test_the_route_step_enforces_its_own_policy(app, users, monkeypatch):
    _setup(app, users)
    checked = []
    real_check = policy_module.check
    monkeypatch.setattr(policy_module, "check", lambda p: checked.append(p) or real_check(p))
    assert _as(app, "reader").get("/read").status_code == 200
    assert _as(app, "reader").get("/edit").status_code == 403
    assert [p.describe() for p in checked] == [
        "requires notes:read",
        "requires notes:edit, notes:read",
    ]
    # The shield's check is not repeated by the decorator.
    assert _as(app, "reader").get("/open").status_code == 200
    assert len(checked) == 2


def test_a_replaced_view_gets_its_new_policy(app, users):
    _setup(app, users)
    client = _as(app, "reader")
    assert client.get("/open").status_code == 200

    def locked():
        return "locked"

    app.view_functions["open_"] = requires("admin:all")(locked)
    assert client.get("/open", headers=JSON).status_code == 403
    assert len(_authz_steps(app, "open_")) == 1


def test_deny_refuses_undeclared_routes_when_set_before_the_first_request(app, users):
    _setup(app, users)

    @app.get("/plain")
    def plain():
        return "x"

    app.config["AUTHZ_DEFAULT"] = "deny"
    assert _as(app, None).get("/plain", headers=JSON).status_code == 403
    assert _as(app, None).get("/open").status_code == 200


@pytest.mark.parametrize("value", ["Deny", "off", None, True])
def test_a_bad_authz_default_is_refused(app, value):
    app.config["AUTHZ_DEFAULT"] = value
    shield = AuthorizationShield()
    shield.init_app(app)
    with pytest.raises(ConfigurationError, match="AUTHZ_DEFAULT must be one of 'allow', 'deny'"):
        shield.configure(app)


def test_hermetic_refuses_to_start_with_a_misspelt_authz_default(monkeypatch):
    app = _hermetic(monkeypatch, AUTHZ_DEFAULT="Deny", SESSION_COOKIE_SECURE=False)
    with pytest.raises(ConfigurationError, match="AUTHZ_DEFAULT"):
        app.security_check()


def test_the_shield_called_directly_enforces_the_policy(app, users):
    _setup(app, users)
    shield = app.shields.get("authz")
    with app.test_request_context("/read"):
        with pytest.raises(hermetic.security.errors.AuthenticationRequired):
            shield.before(request._get_current_object())
    with app.test_request_context("/open"):
        assert shield.before(request._get_current_object()) is None
