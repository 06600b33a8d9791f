"""The fixture that runs an ``app_*.py`` module in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ._runner import HERE, AppRun, parse_report


@pytest.fixture(scope="module")
def run_extension_app(tmp_path_factory):
    """Return a function that runs ``app_<name>.py`` once per test module."""
    runs: dict[str, AppRun] = {}

    def run(name: str) -> AppRun:
        if name not in runs:
            workdir = tmp_path_factory.mktemp(name)
            env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
            env.pop("PYTHONWARNINGS", None)
            proc = subprocess.run(
                # -W error: a warning at import time (outside any check) fails the run too.
                [sys.executable, "-W", "error", str(HERE / f"app_{name}.py"), str(workdir)],
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
