"""Finding and loading the app: discovery.py, ScriptInfo and the group's options."""

from __future__ import annotations

import os
import platform
import sys

import click
import pytest
from click.testing import CliRunner

from hermetic import Flask, current_app
from hermetic import cli as cli_module
from hermetic.cli import (
    NoAppException,
    ScriptInfo,
    find_app_by_string,
    find_best_app,
    locate_app,
    prepare_import,
)

from ._helpers import make_group

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
