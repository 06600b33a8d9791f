"""``hermetic --flask-alias``: an unchanged Flask project works with the hermetic command."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

LEGACY_APP = """
import click
import flask
from flask import Flask

def create_app():
    app = Flask(__name__)

    @app.route("/hello")
    def hello():
        return "hi"

    @app.cli.command("init-db")
    def init_db():
        click.echo("Initialized the database. " + flask.__name__)

    return app
"""


@pytest.fixture
def legacy(tmp_path):
    (tmp_path / "legacy.py").write_text(textwrap.dedent(LEGACY_APP), encoding="utf-8")

    def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        environ = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("FLASK_", "HERMETIC_")) and k != "PYTHONPATH"
        }
        environ.update(env)
        return subprocess.run(
            [sys.executable, "-m", "hermetic.cli", *args],
            cwd=tmp_path,
            env=environ,
            capture_output=True,
            text=True,
            timeout=60,
        )

    return run


def test_without_alias_the_error_names_the_option(legacy):
    result = legacy("--app", "legacy", "init-db")
    assert result.returncode != 0
    assert "--flask-alias" in result.stderr and "HERMETIC_FLASK_ALIAS=1" in result.stderr
    assert "No such command" in result.stderr  # click's own line stays, after the cause


def test_routes_without_alias_is_a_clear_error_not_a_traceback(legacy):
    result = legacy("--app", "legacy", "routes")
    assert result.returncode != 0
    assert "--flask-alias" in result.stderr
    assert "Traceback" not in result.stderr


def test_option_installs_the_alias_before_loading(legacy):
    result = legacy("--flask-alias", "--app", "legacy", "init-db")
    assert result.returncode == 0, result.stderr
    assert "Initialized the database. flask" in result.stdout


def test_environment_variable_installs_the_alias(legacy):
    result = legacy("--app", "legacy", "routes", HERMETIC_FLASK_ALIAS="1")
    assert result.returncode == 0, result.stderr
    assert "/hello" in result.stdout


def test_environment_variable_false_does_not(legacy):
    result = legacy("--app", "legacy", "init-db", HERMETIC_FLASK_ALIAS="0")
    assert result.returncode != 0 and "--flask-alias" in result.stderr
