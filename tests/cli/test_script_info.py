"""app.cli and blueprint command groups (AppGroup) and dotenv files (script_info.py)."""

from __future__ import annotations

import os
import sys

import click

from hermetic import Blueprint, Flask, current_app
from hermetic.cli import (
    AppGroup,
    ScriptInfo,
    load_dotenv,
)

from ._helpers import make_group

# -- app.cli and blueprint commands -------------------------------------------


def test_appgroup_commands_run_in_app_context(runner):
    app = Flask("ctxapp")

    @app.cli.command()
    def where():
        click.echo(current_app.name)

    @app.cli.command(with_appcontext=False)
    def outside():
        click.echo(str(bool(current_app)))

    group = make_group(create_app=lambda: app)
    assert runner.invoke(group, ["where"]).output == "ctxapp\n"
    # FlaskGroup pushes the context while resolving app commands.
    assert runner.invoke(group, ["outside"]).output == "True\n"

    sub = AppGroup("sub")

    @sub.command()
    def plain():
        click.echo(current_app.name)

    result = runner.invoke(sub, ["plain"], obj=ScriptInfo(create_app=lambda: app))
    assert result.output == "ctxapp\n"


def test_blueprint_cli_group(runner):
    app = Flask("bpapp")
    grouped = Blueprint("users", __name__)
    merged = Blueprint("admin", __name__, cli_group=None)

    @grouped.cli.command("create")
    @click.argument("name")
    def create(name):
        click.echo(f"created {name} in {current_app.name}")

    @merged.cli.command("purge")
    def purge():
        click.echo("purged")

    app.register_blueprint(grouped)
    app.register_blueprint(merged)
    group = make_group(create_app=lambda: app)

    assert runner.invoke(group, ["users", "create", "ann"]).output == "created ann in bpapp\n"
    assert runner.invoke(group, ["purge"]).output == "purged\n"


# -- dotenv ------------------------------------------------------------------


def test_load_dotenv_precedence(project, monkeypatch):
    for name in ("HM_A", "HM_B", "HM_C", "HM_D"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HM_D", "from_environment")
    project(".flaskenv", "HM_A=flaskenv\nHM_B=flaskenv\nHM_D=flaskenv\n")
    project(".env", "HM_A=env\nHM_C=env\n")
    extra = project("extra.env", "HM_A=extra\n")

    assert load_dotenv(extra) is True
    assert os.environ["HM_A"] == "extra"
    assert os.environ["HM_B"] == "flaskenv"
    assert os.environ["HM_C"] == "env"
    assert os.environ["HM_D"] == "from_environment"
    assert not load_dotenv("missing.env", load_defaults=False)


def test_load_dotenv_without_python_dotenv(project, monkeypatch, capsys):
    monkeypatch.delenv("HM_X", raising=False)
    monkeypatch.setitem(sys.modules, "dotenv", None)
    project(".env", "HM_X=1\n")
    assert load_dotenv() is False
    assert "HM_X" not in os.environ
    assert "Install python-dotenv" in capsys.readouterr().err


def test_env_file_option_and_skip_dotenv(project, runner, monkeypatch):
    monkeypatch.delenv("HM_E", raising=False)
    monkeypatch.delenv("HM_F", raising=False)
    project(".env", "HM_E=default\nHM_F=default\n")
    project("custom.env", "HM_E=custom\n")
    monkeypatch.setenv("FLASK_SKIP_DOTENV", "1")
    group = make_group(create_app=lambda: Flask("e"))

    @group.command()
    def show():
        click.echo(f"{os.environ.get('HM_E')} {os.environ.get('HM_F')}")

    # Skipping the defaults still loads an explicit file.
    assert runner.invoke(group, ["-e", "custom.env", "show"]).output == "custom None\n"


def test_dotenv_can_name_the_app(project, runner, monkeypatch):
    project("named.py", "from hermetic import Flask\napp = Flask('named')\n")
    project(".flaskenv", "FLASK_APP=named\n")
    group = make_group()

    @group.command()
    def name():
        click.echo(current_app.name)

    assert runner.invoke(group, ["name"]).output == "named\n"
