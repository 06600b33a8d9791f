"""The package's public API (hermetic/__init__.py): what it exports, lazily and typed."""

from __future__ import annotations
import __future__

import os
import subprocess
import sys
import textwrap

import pytest

import hermetic

USER_APP = textwrap.dedent(
    """
    from hermetic import Blueprint, Flask, Hermetic, jsonify, request
    from hermetic.wrappers import Response

    app = Hermetic(__name__)
    plain = Flask(__name__)
    bp = Blueprint("notes", __name__)


    @app.get("/")
    def index() -> Response:
        return jsonify(hello="world", path=request.path)


    def app_name() -> str:
        return app.name  # Any here (an untyped Hermetic) fails --strict


    def secret_checked() -> bool:
        app.security_check()
        return app.debug
    """
)


def test_all_lists_every_public_name():
    public = {
        name
        for name, value in vars(hermetic).items()
        if not name.startswith("_") and not isinstance(value, (type(sys), __future__._Feature))
    }
    assert public <= set(hermetic.__all__)
    assert "Hermetic" in hermetic.__all__
    for name in hermetic.__all__:
        assert getattr(hermetic, name) is not None


def test_hermetic_is_imported_on_first_use():
    code = (
        "import sys, hermetic\n"
        "assert 'hermetic.security' not in sys.modules\n"
        "from hermetic import Hermetic\n"
        "from hermetic.security.profile import Hermetic as Real\n"
        "assert Hermetic is Real\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "ok\n"
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        hermetic.Nope  # noqa: B018


def test_user_code_passes_mypy_strict(tmp_path):
    # `Hermetic` comes through the module's __getattr__ at run time; type
    # checkers must still see the class (an `object` or `Any` fails --strict).
    pytest.importorskip("mypy")
    (tmp_path / "user_app.py").write_text(USER_APP, encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            os.devnull,
            "user_app.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found in 1 source file" in result.stdout


PUBLIC_MODULES = [
    "hermetic.app",
    "hermetic.blueprints",
    "hermetic.config",
    "hermetic.ctx",
    "hermetic.debughelpers",
    "hermetic.globals",
    "hermetic.helpers",
    "hermetic.json",
    "hermetic.json.provider",
    "hermetic.json.tag",
    "hermetic.logging",
    "hermetic.routing",
    "hermetic.scaffold",
    "hermetic.sessions",
    "hermetic.settings",
    "hermetic.signals",
    "hermetic.templating",
    "hermetic.testing",
    "hermetic.typing",
    "hermetic.views",
    "hermetic.wrappers",
    "hermetic.cli.commands",
    "hermetic.cli.discovery",
    "hermetic.cli.group",
    "hermetic.cli.script_info",
    "hermetic.security.profile",
    "hermetic.security.shields",
]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_public_modules_declare_all(name):
    import importlib

    module = importlib.import_module(name)
    exported = module.__all__
    assert len(set(exported)) == len(exported)
    assert not [n for n in exported if n.startswith("_")]
    for attribute in exported:
        assert getattr(module, attribute) is not None, attribute


def test_testing_helpers_of_the_security_layer_load_on_first_use():
    code = (
        "import sys, hermetic.testing\n"
        "assert 'hermetic.security' not in sys.modules\n"
        "from hermetic.testing import ManualClock, limits_clock\n"
        "clock = ManualClock(10.0)\n"
        "clock.advance(5)\n"
        "assert clock() == 15.0\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "ok\n"


def test_cli_no_longer_reexports_internal_names():
    import hermetic.cli

    assert not hasattr(hermetic.cli, "_PUBLIC_DEBUGGER_MESSAGE")
    assert not hasattr(hermetic.cli, "_is_loopback_host")
