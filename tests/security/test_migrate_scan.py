"""`hermetic migrate`'s static scan on small projects: each item, and no false alarm."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from hermetic.cli.migrate import migrate_command
from hermetic.cli.script_info import ScriptInfo
from hermetic.security.migrate_scan import scan_project

STRONG = "Vq3-rT8sLm0pXw2Zc7NbY4kHd9FgJ6eA1uQoWi5RtSyv"


def project(tmp_path, files):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(tmp_path)


def found(tmp_path, files, **options):
    return [
        (i.file.rsplit("/", 1)[1], i.line, i.kind, i.breaks)
        for i in scan_project(project(tmp_path, files), **options)
    ]


@pytest.mark.parametrize(
    "code",
    [
        'app.config["SECRET_KEY"] = "dev"',
        'app.secret_key = "changeme"',
        'app.config.update(SECRET_KEY="short")',
        'CONFIG = {"SECRET_KEY": "hard to guess string"}',
        'class Config:\n    SECRET_KEY = os.environ.get("SECRET_KEY") or "hard to guess"',
        'SECRET_KEY: str = "x"',
    ],
)
def test_weak_literal_keys(tmp_path, code):
    assert found(tmp_path, {"app.py": "import os\n" + code + "\n"}) == [
        ("app.py", code.count("\n") + 2, "weak_secret_key", True)
    ]


def test_strong_literal_key_is_a_note(tmp_path):
    (item,) = scan_project(project(tmp_path, {"config.py": f'SECRET_KEY = "{STRONG}"\n'}))
    assert (item.kind, item.breaks) == ("literal_secret_key", False)
    assert STRONG not in item.format(str(tmp_path))


def test_key_from_the_environment_is_fine(tmp_path):
    code = 'import os\nSECRET_KEY = os.environ["SECRET_KEY"]\nDEBUG = "SECRET_KEY"\n'
    assert found(tmp_path, {"config.py": code}) == []


def test_public_host_without_tls(tmp_path):
    files = {
        "app.py": 'app.run(host="0.0.0.0", port=5000)\napp.run("0.0.0.0", ssl_context="adhoc")\n',
        "README.md": "Run:\n\n    flask --app app run --host 0.0.0.0\n    flask run --host=0.0.0.0 --cert adhoc\n",
        ".flaskenv": "FLASK_RUN_HOST=0.0.0.0\n",
    }
    assert sorted(found(tmp_path, files)) == [
        (".flaskenv", 1, "secure_cookie_http", True),
        ("README.md", 3, "secure_cookie_http", True),
        ("app.py", 1, "secure_cookie_http", True),
    ]


def test_session_login_without_loader(tmp_path):
    login = 'from flask import session\nsession.clear()\nsession["user_id"] = 1\n'
    assert ("auth.py", 3, "session_login_without_loader", False) in found(
        tmp_path, {"auth.py": login}
    )


def test_session_login_with_a_provider_is_fine(tmp_path):
    files = {
        "auth.py": 'from hermetic import session\nsession["user_id"] = 1\n',
        "app.py": "app.login_manager.add_provider(SessionUserIdProvider(load))\n",
    }
    assert found(tmp_path, files) == []


ROUTES = """\
from hermetic import Blueprint
from hermetic.security.policy import public
from .auth import login_required
bp = Blueprint("b", __name__)

@bp.route("/")
@public
def index(): ...

@bp.post("/create")
@login_required
def create(): ...

def helper(): ...
"""


def test_routes_without_policy_only_under_default_deny(tmp_path):
    assert found(tmp_path, {"views.py": ROUTES}) == []
    assert found(tmp_path, {"views.py": ROUTES}, default_deny=True) == [
        ("views.py", 10, "route_without_policy", True)
    ]


def test_templates_and_skipped_folders(tmp_path):
    files = {
        "app/templates/a.html": "<form method=post></form>",
        "app/static/b.html": "<p onclick=x()>",  # not a template folder
        ".venv/lib/templates/c.html": "<p onclick=x()>",
        "tests/test_app.py": 'app.config["SECRET_KEY"] = "dev"\n',
    }
    assert found(tmp_path, files) == [("a.html", 1, "form_without_csrf", True)]


def test_broken_python_is_skipped(tmp_path):
    assert found(tmp_path, {"bad.py": "def (:\n", "bin.py": "\xff"}) == []


def test_command_exit_status_and_json(tmp_path):
    root = project(tmp_path, {"app.py": 'app.secret_key = "dev"\n'})
    runner = CliRunner()
    rv = runner.invoke(migrate_command, [root], obj=ScriptInfo())
    assert rv.exit_code == 1
    assert "app.py:1: [breaks] literal SECRET_KEY 'd***'" in rv.output
    rv = runner.invoke(migrate_command, [root, "--format", "json"], obj=ScriptInfo())
    (item,) = json.loads(rv.output)
    assert item["file"] == "app.py" and item["kind"] == "weak_secret_key"
    clean = project(tmp_path / "clean", {"app.py": "print('hi')\n"})
    rv = runner.invoke(migrate_command, [clean], obj=ScriptInfo())
    assert rv.exit_code == 0
    assert "Nothing to change" in rv.output


def test_command_reads_the_files_of_an_app_that_does_not_import(tmp_path, monkeypatch):
    project(
        tmp_path,
        {"brokenapp/__init__.py": "import flask_nonexistent_mod\napp.secret_key = 'dev'\n"},
    )
    monkeypatch.chdir(tmp_path)
    rv = CliRunner().invoke(migrate_command, [], obj=ScriptInfo(app_import_path="brokenapp"))
    assert rv.exit_code == 1
    assert "could not be imported" in rv.output
    assert "brokenapp/__init__.py:2: [breaks] literal SECRET_KEY" in rv.output


def test_command_scans_the_template_folders_of_an_app_it_can_import(tmp_path, monkeypatch):
    project(
        tmp_path,
        {
            "viewsapp.py": "from hermetic import Flask\n"
            "app = Flask(__name__, template_folder='pages')\n",
            "pages/index.html": "<form method='post'></form>",
        },
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    static = CliRunner().invoke(migrate_command, [str(tmp_path)], obj=ScriptInfo())
    assert static.exit_code == 0  # pages/ is not a templates/ folder: not found statically
    rv = CliRunner().invoke(
        migrate_command, [str(tmp_path)], obj=ScriptInfo(app_import_path="viewsapp:app")
    )
    assert rv.exit_code == 1, rv.output
    assert "pages/index.html:1: [breaks] POST form without a CSRF token" in rv.output
    monkeypatch.delitem(__import__("sys").modules, "viewsapp")
