"""A fresh copy of Flask's tutorial app (flaskr) from the Flask 3.1.3 sdist."""

from __future__ import annotations

import glob
import os
import subprocess
import sys

import pytest
from flaskr_steps import FLASK_SDIST, extract_tutorial

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: Where the sdist is kept between runs (``build/`` is not committed).
CACHE = os.environ.get("HERMETIC_SDIST_CACHE", os.path.join(REPO, "build", "sdists"))


@pytest.fixture(scope="session")
def flask_sdist():
    """The Flask 3.1.3 sdist, downloaded once with pip (skip when the index is unreachable)."""
    folder = os.path.join(CACHE, FLASK_SDIST)
    found = glob.glob(os.path.join(folder, "*.tar.gz"))
    if not found:
        os.makedirs(folder, exist_ok=True)
        command = [sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:"]
        command += ["--no-deps", FLASK_SDIST, "-d", folder]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            pytest.skip(f"the package index did not answer in 120 s: `{' '.join(command)}`")
        found = glob.glob(os.path.join(folder, "*.tar.gz"))
        if done.returncode != 0 or not found:
            pytest.skip(
                "the package index is unreachable, so flaskr cannot be taken from the"
                f" {FLASK_SDIST} sdist: {done.stderr.strip()[-300:]}"
            )
    return found[0]


@pytest.fixture
def flaskr(flask_sdist, tmp_path):
    """The path of an unmodified copy of flaskr (examples/tutorial)."""
    return extract_tutorial(flask_sdist, str(tmp_path / "flaskr-tutorial"))
