"""The built-in commands (commands.py): routes, run, shell; a Hermetic app's checks."""

from __future__ import annotations

import os
import sys

import click
import pytest
from click.testing import CliRunner

from hermetic import Flask
from hermetic.cli import (
    FlaskGroup,
    run_command,
)
from hermetic.cli import commands as cli_commands

from ._helpers import make_group

# -- routes ------------------------------------------------------------------


def routes_app(**kwargs):
    app = Flask("routes", **kwargs)
    app.add_url_rule("/users/<int:id>", endpoint="user", methods=["GET", "POST"])
    app.add_url_rule("/about", endpoint="about")
    return app


def test_routes_table(runner):
    result = runner.invoke(make_group(create_app=routes_app), ["routes"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["Endpoint", "Methods", "Rule"]
    assert set(lines[1]) == {"-", " "}
    assert [line.split()[0] for line in lines[2:]] == ["about", "static", "user"]
    assert "GET, POST" in lines[-1]
    assert "HEAD" not in result.output


def test_routes_sort_and_all_methods(runner):
    group = make_group(create_app=routes_app)
    result = runner.invoke(group, ["routes", "--sort", "rule", "--all-methods"])
    assert [line.split()[0] for line in result.output.splitlines()[2:]] == [
        "about",
        "static",
        "user",
    ]
    assert "GET, HEAD, OPTIONS, POST" in result.output
    assert runner.invoke(group, ["routes", "-s", "nope"]).exit_code == 2


def test_routes_domain_column(runner):
    def create():
        app = Flask("subs", static_folder=None)
        app.add_url_rule("/", endpoint="api", subdomain="api")
        return app

    output = runner.invoke(make_group(create_app=create), ["routes"]).output
    assert output.splitlines()[0].split() == ["Endpoint", "Methods", "Subdomain", "Rule"]
    assert "api" in output.splitlines()[2]


def test_no_routes(runner):
    group = make_group(create_app=lambda: Flask("empty", static_folder=None))
    result = runner.invoke(group, ["routes"])
    assert result.output == "No routes were registered.\n"


# -- run ---------------------------------------------------------------------


def run(runner, *args):
    group = make_group(create_app=lambda: Flask("served"))
    return runner.invoke(group, ["run", *args])


def test_run_defaults(runner, served):
    result = run(runner)
    assert result.exit_code == 0, result.output
    (call,) = served
    assert (call["host"], call["port"]) == ("127.0.0.1", 5000)
    assert call["use_debugger"] is False
    assert call["use_reloader"] is False
    assert "Debug mode: off" in result.output


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_run_debugger_allowed_on_loopback(runner, served, host):
    result = run(runner, "--debug", "--host", host)
    assert result.exit_code == 0, result.output
    assert served[0]["use_debugger"] is True
    assert served[0]["use_reloader"] is True


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.com"])
def test_run_refuses_explicit_debugger_on_public_host(runner, served, host):
    result = run(runner, "--host", host, "--debugger")
    assert result.exit_code == 2
    assert "Refusing to run the interactive debugger" in result.output
    assert served == []


def test_run_refuses_debug_mode_on_public_host(runner, served):
    # Debug mode turns the debugger on: refused off loopback, nothing served.
    result = run(runner, "--debug", "--host", "0.0.0.0")
    assert result.exit_code == 2
    assert "Refusing to run the interactive debugger" in result.output
    assert "--unsafe-debugger-on-public-host" in result.output
    assert served == []


def test_run_debug_mode_without_debugger_on_public_host(runner, served):
    result = run(runner, "--debug", "--no-debugger", "--host", "0.0.0.0")
    assert result.exit_code == 0, result.output
    assert served[0]["use_debugger"] is False
    # The reloader runs nothing a client sends and stays on in debug mode.
    assert served[0]["use_reloader"] is True


def test_run_unsafe_flag_allows_public_debugger(runner, served):
    result = run(runner, "--host", "0.0.0.0", "--debugger", "--unsafe-debugger-on-public-host")
    assert result.exit_code == 0, result.output
    assert served[0]["use_debugger"] is True


def test_run_unsafe_flag_is_not_read_from_environment(runner, served, monkeypatch):
    monkeypatch.setenv("FLASK_RUN_UNSAFE_DEBUGGER_ON_PUBLIC_HOST", "1")
    assert run(runner, "--host", "0.0.0.0", "--debugger").exit_code == 2
    assert served == []


def test_run_options_from_flask_environment(runner, served, monkeypatch):
    monkeypatch.setenv("FLASK_RUN_PORT", "8123")
    assert run(runner).exit_code == 0
    assert served[0]["port"] == 8123


def test_run_cert_and_key_validation():
    with pytest.raises(click.BadParameter, match="Required when using"):
        run_command.make_context("run", ["--cert", __file__])
    with pytest.raises(click.BadParameter, match="must also be specified"):
        run_command.make_context("run", ["--key", __file__])
    with pytest.raises(click.BadParameter, match="not an existing file"):
        run_command.make_context("run", ["--cert", "no_such_module_for_ssl"])
    ctx = run_command.make_context("run", ["--key", __file__, "--cert", __file__])
    assert ctx.params["cert"] == (__file__, __file__)


def test_run_extra_files_are_split(tmp_path):
    a, b = tmp_path / "a.cfg", tmp_path / "b.cfg"
    ctx = run_command.make_context("run", ["--extra-files", f"{a}{os.pathsep}{b}"])
    assert ctx.params["extra_files"] == [str(a), str(b)]


def test_run_sets_run_from_cli(runner, served):
    run(runner)
    assert os.environ["FLASK_RUN_FROM_CLI"] == "true"


# -- shell -------------------------------------------------------------------


def test_shell_uses_shell_context_and_startup(runner, monkeypatch, tmp_path):
    startup = tmp_path / "startup.py"
    startup.write_text("from_startup = 'yes'\n", encoding="utf-8")
    monkeypatch.setenv("PYTHONSTARTUP", str(startup))
    monkeypatch.delattr(sys, "__interactivehook__", raising=False)
    seen = {}

    def fake_interact(banner, local):
        seen.update(banner=banner, local=local)

    import code

    monkeypatch.setattr(code, "interact", fake_interact)
    app = Flask("shellapp")
    app.shell_context_processor(lambda: {"answer": 42})
    result = runner.invoke(make_group(create_app=lambda: app), ["shell"])
    assert result.exit_code == 0, result.output
    assert "App: shellapp" in seen["banner"]
    assert f"Instance: {app.instance_path}" in seen["banner"]
    assert seen["local"]["answer"] == 42
    assert seen["local"]["app"] is app
    assert seen["local"]["from_startup"] == "yes"


def test_hermetic_commands_give_way_to_app_commands_of_the_same_name():

    app = Flask("cli_fallback_app")

    @app.cli.command("check")
    def own_check():
        click.echo("the app's own check")

    result = CliRunner().invoke(FlaskGroup(create_app=lambda: app), ["check"])
    assert result.exit_code == 0
    assert result.output == "the app's own check\n"

    plain = Flask("cli_fallback_plain")
    plain.config["SECRET_KEY"] = "too-short"
    result = CliRunner().invoke(FlaskGroup(create_app=lambda: plain), ["check"])
    assert result.exit_code == 1
    assert "SECRET_KEY" in result.output
    listed = CliRunner().invoke(FlaskGroup(create_app=lambda: plain), ["--help"]).output
    assert "check" in listed and "openapi" in listed


def test_run_refuses_a_hermetic_app_with_a_weak_key(monkeypatch):

    import hermetic

    started = []
    monkeypatch.setattr(cli_commands, "run_simple", lambda *a, **k: started.append(a))
    app = hermetic.Hermetic("cli_weak_key_app")
    app.config["SECRET_KEY"] = "dev"
    result = CliRunner().invoke(FlaskGroup(create_app=lambda: app), ["run"])
    assert result.exit_code == 1
    assert "refuses to start" in result.output and "placeholder" in result.output
    assert started == []


def _hermetic_cli(monkeypatch):

    import hermetic

    started = []
    monkeypatch.setattr(cli_commands, "run_simple", lambda *a, **k: started.append(k))
    app = hermetic.Hermetic("cli_debug_app")
    app.config["SECRET_KEY"] = "0cZ9v1-8cGm3V1Xr2yQ6tLk4pN7sW0eB5hJ2uD8fA3q"
    group = FlaskGroup(create_app=lambda: app)
    return started, lambda *args: CliRunner().invoke(group, list(args))


def test_run_refuses_debug_mode_of_a_hermetic_app_off_loopback(monkeypatch):
    started, invoke = _hermetic_cli(monkeypatch)
    result = invoke("--debug", "run", "--host", "0.0.0.0")
    assert result.exit_code == 2
    assert "Refusing to run the interactive debugger" in result.output
    assert started == []
    result = invoke("run", "--host", "127.0.0.1", "--no-reload")
    assert result.exit_code == 0, result.output
    assert len(started) == 1


def test_run_hermetic_app_follows_the_same_debugger_rule(monkeypatch):
    # The same rule as a Flask app: the debugger decides, the opt-in is honoured.
    started, invoke = _hermetic_cli(monkeypatch)
    result = invoke("--debug", "run", "--host", "0.0.0.0", "--no-debugger", "--no-reload")
    assert result.exit_code == 0, result.output
    assert started[-1]["use_debugger"] is False
    result = invoke(
        "--debug", "run", "--host", "0.0.0.0", "--unsafe-debugger-on-public-host", "--no-reload"
    )
    assert result.exit_code == 0, result.output
    assert started[-1]["use_debugger"] is True
