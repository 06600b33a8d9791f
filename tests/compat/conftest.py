"""Helpers for the alias tests: ``install_as_flask()`` changes ``sys.modules``
for good, so each check runs in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


def _run_python(code: str) -> str:
    """Run ``code`` in a new interpreter; fail with its output if it fails."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout


@pytest.fixture
def run_python():
    """``run_python(code)``: the stdout of ``code`` run in a fresh interpreter."""
    return _run_python
