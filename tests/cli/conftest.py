"""Shared fixtures for the tests of the ``hermetic`` command line (hermetic/cli/)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

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
        # setenv first: the undo then restores (or removes) what the CLI sets
        # itself with os.environ (FLASK_DEBUG from --debug, FLASK_RUN_FROM_CLI).
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


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
    # Only the test's own modules: a hermetic module imported for the first
    # time during the test must stay, or the next import makes a second copy.
    for name in set(sys.modules) - saved_modules:
        module = sys.modules[name]
        where = [getattr(module, "__file__", None) or "", *getattr(module, "__path__", ())]
        if any(str(path).startswith(str(tmp_path)) for path in where):
            del sys.modules[name]


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def served(monkeypatch):
    """Capture run_simple's arguments instead of starting a server."""
    calls: list[dict] = []

    def fake_run_simple(host, port, app, **options):
        calls.append({"host": host, "port": port, "app": app, **options})

    monkeypatch.setattr(cli_commands, "run_simple", fake_run_simple)
    return calls
