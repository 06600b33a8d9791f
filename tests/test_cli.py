"""Tests for the ``hermetic`` command line (hermetic/cli/)."""

from __future__ import annotations

import os
import platform
import sys
import textwrap
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from hermetic import Blueprint, Flask, current_app
from hermetic import cli as cli_module
from hermetic.cli import (
    AppGroup,
    FlaskGroup,
    NoAppException,
    ScriptInfo,
    find_app_by_string,
    find_best_app,
    load_dotenv,
    locate_app,
    prepare_import,
    run_command,
)
from hermetic.cli import commands as cli_commands

ENV_VARS = (
    "FLASK_APP",
    "HERMETIC_APP",
    "FLASK_DEBUG",
    "HERMETIC_DEBUG",
    "FLASK_ENV_FILE",
    "HERMETIC_ENV_FILE",
    "FLASK_SKIP_DOTENV",
    "HERMETIC_SKIP_DOTENV",
    "FLASK_RUN_FROM_CLI",
    "FLASK_RUN_UNSAFE_DEBUGGER_ON_PUBLIC_HOST",
    "WERKZEUG_RUN_MAIN",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """Start each test without CLI variables; undo whatever the CLI sets."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """Return a writer of small modules in an empty working directory.

    Modules imported during the test and sys.path changes are undone.
    """
    monkeypatch.chdir(tmp_path)
    saved_path = sys.path[:]
    saved_modules = set(sys.modules)

    def write(name: str, source: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return path

    yield write
    sys.path[:] = saved_path
    for name in set(sys.modules) - saved_modules:
        del sys.modules[name]


@pytest.fixture
def runner():
    return CliRunner()


def make_group(**kwargs):
    """Return a FlaskGroup like the ``hermetic`` command."""
    return FlaskGroup(name="hermetic", **kwargs)


# -- finding the app ---------------------------------------------------------


def test_find_best_app_prefers_app_attribute():
    class Module:
        app = Flask("main")
        other = Flask("other")

    assert find_best_app(Module) is Module.app


def test_find_best_app_calls_factory_without_args():
    class Module:
        @staticmethod
        def make_app():
            return Flask("made")

    assert find_best_app(Module).name == "made"


def test_find_best_app_multiple_apps_is_an_error():
    class Module:
        one = Flask("one")
        two = Flask("two")

    with pytest.raises(NoAppException, match="multiple Flask applications"):
        find_best_app(Module)


def test_find_best_app_factory_needing_args_is_an_error():
    class Module:
        @staticmethod
        def create_app(config):
            return Flask("x")

    with pytest.raises(NoAppException, match="could not call it without arguments"):
        find_best_app(Module)


def test_find_best_app_keeps_type_error_raised_inside_factory():
    class Module:
        @staticmethod
        def create_app():
            raise TypeError("bug in the factory")

    with pytest.raises(TypeError, match="bug in the factory"):
        find_best_app(Module)


def test_find_app_by_string_calls_factory_with_literals():
    class Module:
        __name__ = "mod"

        @staticmethod
        def create_app(name, *, suffix=""):
            return Flask(name + suffix)

    app = find_app_by_string(Module, "create_app('shop', suffix='_v2')")
    assert app.name == "shop_v2"


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("create_app(__import__('os').getcwd())", "literal values"),
        ("create_app(**{'a': 1})", "literal values"),
        ("create_app(", "Failed to parse"),
        ("a.b", "Failed to parse"),
        ("missing", "Failed to find attribute 'missing'"),
        ("create_app('a', 'b', 'c')", "could not be called with the specified arguments"),
        ("not_an_app", "A valid Flask application was not obtained"),
    ],
)
def test_find_app_by_string_errors(expr, message):
    class Module:
        not_an_app = 42

        @staticmethod
        def create_app(name="x"):
            return Flask(name)

    with pytest.raises(NoAppException, match=message):
        find_app_by_string(Module, expr)


def test_prepare_import_walks_up_packages(project):
    project("pkg/__init__.py", "")
    project("pkg/sub/__init__.py", "")
    target = project("pkg/sub/mod.py", "")
    assert prepare_import(str(target)) == "pkg.sub.mod"
    assert sys.path[0] == str(target.parent.parent.parent)


def test_locate_app_reports_import_error_inside_module(project):
    project("broken.py", "import module_that_does_not_exist_anywhere\n")
    with pytest.raises(NoAppException, match="While importing 'broken'") as exc:
        locate_app(prepare_import("broken.py"), None, raise_if_not_found=False)
    assert "module_that_does_not_exist_anywhere" in str(exc.value)


def test_locate_app_missing_module(project):
    assert locate_app("no_such_module_here", None, raise_if_not_found=False) is None
    with pytest.raises(NoAppException, match="Could not import"):
        locate_app("no_such_module_here", None)


# -- ScriptInfo and discovery ------------------------------------------------


def test_discovers_wsgi_py_before_app_py(project):
    project("wsgi.py", "from hermetic import Flask\napp = Flask('from_wsgi')\n")
    project("app.py", "from hermetic import Flask\napp = Flask('from_app')\n")
    info = ScriptInfo()
    app = info.load_app()
    assert app.name == "from_wsgi"
    assert info.load_app() is app


def test_discovers_app_py(project):
    project("app.py", "from hermetic import Flask\napplication = Flask('from_app')\n")
    assert ScriptInfo().load_app().name == "from_app"


def test_no_app_found_says_how_to_fix(project):
    with pytest.raises(NoAppException) as exc:
        ScriptInfo().load_app()
    message = exc.value.format_message()
    assert "--app" in message
    assert "HERMETIC_APP" in message
    assert "FLASK_APP" in message


def test_load_app_sets_debug_from_environment(monkeypatch):
    def create_app():
        app = Flask("dbg")
        app.debug = True
        return app

    monkeypatch.setenv("HERMETIC_DEBUG", "0")
    assert ScriptInfo(create_app=create_app).load_app().debug is False
    assert ScriptInfo(create_app=create_app, set_debug_flag=False).load_app().debug is True


FACTORY_MODULE = """\
import click
from hermetic import Flask, current_app


def create_app(name, debug_tag=None):
    app = Flask(name)

    @app.cli.command("hello")
    @click.option("--shout", is_flag=True)
    def hello(shout):
        text = f"hello from {current_app.name}"
        click.echo(text.upper() if shout else text)

    return app
"""


def test_app_option_with_factory_arguments(project, runner):
    project("shop.py", FACTORY_MODULE)
    result = runner.invoke(make_group(), ["--app", "shop:create_app('shop_app')", "hello"])
    assert result.exit_code == 0, result.output
    assert result.output == "hello from shop_app\n"


def test_app_env_var_hermetic_first(project, runner, monkeypatch):
    project("one.py", "from hermetic import Flask\napp = Flask('one')\n")
    project("two.py", "from hermetic import Flask\napp = Flask('two')\n")
    monkeypatch.setenv("FLASK_APP", "one")
    monkeypatch.setenv("HERMETIC_APP", "two")
    group = make_group()

    @group.command()
    def name():
        click.echo(current_app.name)

    result = runner.invoke(group, ["name"])
    assert result.output == "two\n"


def test_app_cli_command_listed_in_help(project, runner):
    project("shop.py", FACTORY_MODULE)
    result = runner.invoke(make_group(), ["--app", "shop:create_app('s')", "--help"])
    assert result.exit_code == 0
    assert "hello" in result.output
    assert "routes" in result.output


def test_help_without_app_shows_error_and_builtins(project):
    runner = CliRunner()
    result = runner.invoke(make_group(), ["--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.stdout
    assert "run" in result.stdout
    assert "HERMETIC_APP" in result.stderr


def test_unknown_command_without_app(project, runner):
    result = runner.invoke(make_group(), ["nope"])
    assert result.exit_code == 2
    assert "Could not locate a Flask application" in result.stderr
    assert "No such command 'nope'" in result.stderr


def test_debug_option_sets_environment(project, runner):
    group = make_group(create_app=lambda: Flask("d"))

    @group.command()
    def show():
        click.echo(f"{current_app.debug} {os.environ['FLASK_DEBUG']}")

    assert runner.invoke(group, ["--debug", "show"]).output == "True 1\n"
    assert runner.invoke(group, ["--no-debug", "show"]).output == "False 0\n"


def test_version_option(runner):
    result = runner.invoke(make_group(), ["--version"])
    assert result.exit_code == 0
    assert f"Python {platform.python_version()}" in result.output
    assert "Hermetic " in result.output
    assert f"Flask {cli_module.FLASK_API_VERSION}" in result.output
    assert "Werkzeug " in result.output


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


@pytest.fixture
def served(monkeypatch):
    """Capture run_simple's arguments instead of starting a server."""
    calls: list[dict] = []

    def fake_run_simple(host, port, app, **options):
        calls.append({"host": host, "port": port, "app": app, **options})

    monkeypatch.setattr(cli_commands, "run_simple", fake_run_simple)
    return calls


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
    from click.testing import CliRunner

    from hermetic.cli import FlaskGroup

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
    from click.testing import CliRunner

    import hermetic
    from hermetic.cli import FlaskGroup

    started = []
    monkeypatch.setattr(cli_commands, "run_simple", lambda *a, **k: started.append(a))
    app = hermetic.Hermetic("cli_weak_key_app")
    app.config["SECRET_KEY"] = "dev"
    result = CliRunner().invoke(FlaskGroup(create_app=lambda: app), ["run"])
    assert result.exit_code == 1
    assert "refuses to start" in result.output and "placeholder" in result.output
    assert started == []


def _hermetic_cli(monkeypatch):
    from click.testing import CliRunner

    import hermetic
    from hermetic.cli import FlaskGroup

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
