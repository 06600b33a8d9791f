"""Run a ``coexist_app_<name>.py`` module once per test module, in a fresh interpreter.

``install_as_flask()`` rewrites ``sys.modules``, so each app module runs as
its own process; every check it reports (``PASS``/``FAIL``) is one test.
The parsing and assertions are the extension tests' (``tests/extensions``).
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest
from extensions._runner import AppRun, parse_report

HERE = pathlib.Path(__file__).parent


@pytest.fixture(scope="module")
def run_coexist_app(tmp_path_factory):
    """Return a function that runs ``coexist_app_<name>.py`` once per test module."""
    runs: dict[str, AppRun] = {}

    def run(name: str) -> AppRun:
        if name not in runs:
            workdir = tmp_path_factory.mktemp(name)
            env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
            env.pop("PYTHONWARNINGS", None)
            env.pop("HERMETIC_REDIS_URL", None)
            proc = subprocess.run(
                [sys.executable, "-W", "error", str(HERE / f"coexist_app_{name}.py")],
                capture_output=True,
                text=True,
                cwd=workdir,
                env=env,
                timeout=120,
            )
            runs[name] = AppRun(
                proc.returncode, proc.stdout, proc.stderr, parse_report(proc.stdout)
            )
        return runs[name]

    return run
