"""hermetic.compat._alias: a ``flask.*`` module is hermetic's module plus Flask's names."""

from __future__ import annotations


def test_hermetic_modules_keep_their_own_namespace(run_python):
    # The alias carries Flask's incidental names; hermetic's modules never
    # gain them, not even after every name was read through the alias.
    out = run_python(
        """
        import importlib, sys

        from hermetic import compat
        from hermetic.compat._names import FLASK_NAMES

        real = {alias: importlib.import_module(name)
                for alias, name in compat.MODULE_ALIASES.items()}
        before = {alias: dict(vars(module)) for alias, module in real.items()}
        compat.install_as_flask()
        for alias in compat.MODULE_ALIASES:
            for name in dir(sys.modules[alias]):
                getattr(sys.modules[alias], name)
        for alias, module in real.items():
            assert vars(module) == before[alias], alias
            assert not {"Rule", "click", "ft"} & set(vars(module)) - set(before[alias])
            # The table holds only what hermetic's module lacks.
            redundant = set(FLASK_NAMES.get(alias, ())) & set(vars(module))
            assert not redundant, (alias, redundant)
        import flask.app, flask.cli
        assert flask.app.Rule is sys.modules["werkzeug.routing"].Rule
        assert not hasattr(real["flask.app"], "Rule")
        assert not hasattr(real["flask.cli"], "click")
        print("ok")
        """
    )
    assert out == "ok\n"


def test_monkeypatching_an_alias_reaches_the_hermetic_module(run_python):
    out = run_python(
        """
        import sys

        import pytest
        import werkzeug.serving

        from hermetic import compat

        compat.install_as_flask()
        import flask.cli, flask.helpers
        import hermetic.cli, hermetic.helpers

        original = hermetic.helpers.get_debug_flag
        mp = pytest.MonkeyPatch()
        # A name hermetic's module defines: patched where hermetic's code finds it.
        mp.setattr(flask.helpers, "get_debug_flag", "patched")
        assert hermetic.helpers.get_debug_flag == "patched"
        assert flask.helpers.get_debug_flag == "patched"
        # ... so hermetic's behaviour follows, as Flask's would.
        import flask.sansio.app
        assert flask.Flask("plain").config["DEBUG"] is False
        mp.setattr(flask.sansio.app, "get_debug_flag", lambda: True)
        assert flask.Flask("debugging").config["DEBUG"] is True
        mp.delattr(flask.helpers, "get_debug_flag")
        assert not hasattr(hermetic.helpers, "get_debug_flag")
        # One of Flask's incidental names: on the alias only.
        mp.setattr(flask.cli, "run_simple", "fake")
        assert flask.cli.run_simple == "fake"
        assert "run_simple" not in vars(hermetic.cli)
        mp.undo()
        assert hermetic.helpers.get_debug_flag is original
        assert flask.helpers.get_debug_flag is original
        assert flask.cli.run_simple is werkzeug.serving.run_simple
        assert "run_simple" not in vars(hermetic.cli)
        print("ok")
        """
    )
    assert out == "ok\n"


def test_alias_answers_hermetic_modules_with_their_aliases(run_python):
    out = run_python(
        """
        import importlib.util, sys

        from hermetic import compat

        compat.install_as_flask()
        import flask, flask.app, flask.json, flask.wrappers
        import hermetic.wrappers

        # hermetic.wrappers imports hermetic.json; Flask's flask.wrappers holds flask.json.
        assert hermetic.wrappers.json is sys.modules["hermetic.json"]
        assert flask.wrappers.json is flask.json is sys.modules["flask.json"]
        assert flask.app.cli is sys.modules["flask.cli"]
        assert flask.app.ft is sys.modules["flask.typing"]
        assert flask.json.__path__ == []  # no second copy from hermetic's files
        for name in ("flask", "flask.app", "flask.sansio", "flask.json.tag"):
            assert importlib.util.find_spec(name).name == name
        assert repr(flask.app) == "<module 'flask.app' (alias of 'hermetic.app')>"
        assert flask.__version__ == compat.FLASK_VERSION
        assert flask.t is sys.modules["typing"]
        # Private names are read through, so hermetic's lazily set state shows.
        import flask.testing, hermetic.testing
        hermetic.testing._werkzeug_version = "read through"
        assert flask.testing._werkzeug_version == "read through"
        assert "_werkzeug_version" not in vars(flask.testing)
        # Installed afresh (someone removed `flask`): the new aliases answer.
        del sys.modules["flask"]
        compat.install_as_flask()
        import flask.wrappers as wrappers
        assert wrappers is not flask.wrappers
        assert wrappers.json is sys.modules["flask.json"] is not flask.json
        try:
            flask.app.not_a_name
        except AttributeError as error:
            assert str(error) == "module 'flask.app' has no attribute 'not_a_name'", error
        else:
            raise AssertionError("flask.app.not_a_name resolved")
        print("ok")
        """
    )
    assert out == "ok\n"


def test_star_import_from_an_alias(run_python):
    out = run_python(
        """
        import click

        from hermetic import compat
        import hermetic.json

        compat.install_as_flask()
        cli_names, json_names = {}, {}
        exec("from flask.cli import *", cli_names)
        exec("from flask.json import *", json_names)
        assert cli_names["click"] is click
        assert cli_names["FlaskGroup"] is compat.importlib.import_module("hermetic.cli").FlaskGroup
        assert json_names["dumps"] is hermetic.json.dumps
        assert not any(name.startswith("_") for name in cli_names if name != "__builtins__")
        print("ok")
        """
    )
    assert out == "ok\n"


def test_names_set_on_the_flask_package_stay_there(run_python):
    out = run_python(
        """
        import hermetic
        from hermetic import compat

        compat.install_as_flask()
        import flask

        flask.request = "patched"
        assert flask.request == "patched"
        assert hermetic.request != "patched"
        del flask.request
        assert flask.request is hermetic.request  # through the alias, as before
        print("ok")
        """
    )
    assert out == "ok\n"


def test_the_imports_of_issue_9(run_python):
    # Two well-known Flask extensions failed at import on these lines.
    out = run_python(
        """
        import click
        import werkzeug.routing

        from hermetic import compat

        compat.install_as_flask()
        from flask.cli import click as flask_click
        from flask.app import Rule

        assert flask_click is click
        assert Rule is werkzeug.routing.Rule
        print("ok")
        """
    )
    assert out == "ok\n"
