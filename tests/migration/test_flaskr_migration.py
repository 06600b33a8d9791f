"""The migration guide on a fresh flaskr: `hermetic migrate` before and after, its own tests."""

from __future__ import annotations

import collections
import os
import re
import secrets
import subprocess
import sys

import flaskr_steps
import pytest

from hermetic.security.migrate_scan import scan_project

HERE = os.path.dirname(os.path.abspath(__file__))
HERMETIC = os.path.join(os.path.dirname(sys.executable), "hermetic")

#: What `hermetic migrate` lists on the unmodified flaskr, by kind.
EXPECTED = {
    "weak_secret_key": 1,  # SECRET_KEY="dev"
    "form_without_csrf": 5,  # login, register, create, update, delete
    "inline_handler": 1,  # onclick="return confirm('Are you sure?');"
    "session_login_without_loader": 1,  # session["user_id"] = user["id"]
    "imports_flask": 4,  # __init__, auth, blog, db
}
#: What each step of the guide removes.
REMOVES = {
    "step_1_change_the_import": {"imports_flask"},
    "step_2_remove_the_literal_key": {"weak_secret_key"},
    "step_3_add_csrf_tokens": {"form_without_csrf"},
    "step_4_replace_the_inline_confirm": {"inline_handler"},
    "step_5_read_the_session_user": {"session_login_without_loader"},
}


def kinds(root, **options):
    return collections.Counter(item.kind for item in scan_project(root, **options))


def run_migrate(root, *args):
    return subprocess.run(
        [HERMETIC, "migrate", root, *args], capture_output=True, text=True, timeout=60
    )


def test_migrate_lists_every_item_on_unmodified_flaskr(flaskr):
    assert kinds(flaskr) == EXPECTED
    done = run_migrate(flaskr)
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert "flaskr/__init__.py:11: [breaks] literal SECRET_KEY 'd***' is weak" in out
    assert "flaskr/templates/blog/update.html:17: [breaks] inline event handler onclick=" in out
    assert "flaskr/templates/auth/login.html:8: [breaks] POST form without a CSRF token" in out
    assert "flaskr/auth.py:104: [note] the login keeps the user id in the session" in out
    assert "7 item(s) break under Hermetic, 5 note(s)." in out
    assert "'dev'" not in out  # a weak key is never shown whole


def test_default_deny_lists_every_route(flaskr):
    found = kinds(flaskr, default_deny=True)
    # hello, register, login, logout, index, create, update, delete: none has a policy
    # (flaskr's own login_required is not one).
    assert found["route_without_policy"] == 8
    items = {i.kind: i for i in scan_project(flaskr, default_deny=True)}
    assert items["session_login_without_loader"].breaks


def test_each_step_removes_its_items(flaskr):
    remaining = set(EXPECTED)
    for step in flaskr_steps.STEPS:
        step(flaskr)
        remaining -= REMOVES[step.__name__]
        assert set(kinds(flaskr)) == remaining, step.__name__
    assert remaining == set()


def test_migrate_reports_nothing_on_migrated_flaskr(flaskr):
    flaskr_steps.migrate(flaskr)
    assert scan_project(flaskr) == []
    done = run_migrate(flaskr)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Nothing to change" in done.stdout


def test_migrated_flaskr_passes_its_own_tests(flaskr):
    flaskr_steps.migrate(flaskr)
    env = dict(os.environ)
    env.pop("HERMETIC_SECRET_KEY_FILE", None)
    env.update(
        HERMETIC_SECRET_KEY=secrets.token_urlsafe(48),
        PYTHONPATH=os.pathsep.join([flaskr, HERE]),
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        + ["-p", "flask_alias_plugin", "-W", "error", "tests"],
        cwd=flaskr,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert re.search(r"\b24 passed\b", summary), summary
    assert "failed" not in summary


def test_unmigrated_forms_are_refused_with_csrf_enforced(flaskr, monkeypatch):
    # The old failure step 3 fixes: a logged-in form POST without a token is a 403.
    pytest.importorskip("sqlite3")
    flaskr_steps.step_1_change_the_import(flaskr)
    flaskr_steps.step_2_remove_the_literal_key(flaskr)
    _check_register(flaskr, monkeypatch, expect_refused=True)


def test_migrated_forms_carry_their_token(flaskr, monkeypatch):
    flaskr_steps.migrate(flaskr)
    _check_register(flaskr, monkeypatch, expect_refused=False)


def _check_register(root, monkeypatch, *, expect_refused):
    import importlib

    monkeypatch.setenv("HERMETIC_SECRET_KEY", secrets.token_urlsafe(48))
    monkeypatch.syspath_prepend(root)
    for name in [m for m in sys.modules if m == "flaskr" or m.startswith("flaskr.")]:
        monkeypatch.delitem(sys.modules, name)
    flaskr = importlib.import_module("flaskr")
    app = flaskr.create_app({"TESTING": True, "DATABASE": os.path.join(root, "db.sqlite")})
    with app.app_context():
        from flaskr.db import init_db

        init_db()
    client = app.test_client(enforce_csrf=True)
    origin = {"Origin": "http://localhost"}

    def post(path, **data):
        page = client.get(path).get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        if token:
            data["csrf_token"] = token.group(1)
        return token, client.post(path, data=data, headers=origin)

    post("/auth/register", username="ann", password="pw")
    _, rv = post("/auth/login", username="ann", password="pw")
    assert rv.status_code == 302  # logged in: the session now exists
    token, rv = post("/create", title="t", body="b")
    if expect_refused:
        assert token is None
        assert rv.status_code == 403
    else:
        assert rv.status_code == 302, rv.get_data(as_text=True)
        assert "t" in client.get("/").get_data(as_text=True)
    for name in [m for m in sys.modules if m == "flaskr" or m.startswith("flaskr.")]:
        del sys.modules[name]
