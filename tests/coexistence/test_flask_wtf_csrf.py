"""Hermetic's CSRF shield next to the real Flask-WTF (issue 14, item 1).

The cases are in ``flask_wtf_csrf_cases.py``: they install the ``flask``
alias, which changes ``sys.modules`` for good, so they run once in a fresh
interpreter (pytest, with a JUnit report) and each case is one test here.
Flask-WTF and WTForms come from ``requirements/extensions.txt`` (installed
``--no-deps``: real Flask never is).
"""

from __future__ import annotations

import ast
import importlib.util
import os
import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

HERE = pathlib.Path(__file__).resolve().parent
CASES = HERE / "flask_wtf_csrf_cases.py"
ROOT = HERE.parents[1]
INSTALL = "pip install --no-deps -r requirements/extensions.txt"


def _case_names() -> list[str]:
    """The ``test_*`` functions of the cases file (parametrized ones count once)."""
    tree = ast.parse(CASES.read_text(encoding="utf-8"))
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    ]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, list[tuple[str, str]]]:
    """Run the cases once; map each function name to its (outcome, detail) per case."""
    missing = [m for m in ("flask_wtf", "wtforms") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: run `{INSTALL}`")
    report = tmp_path_factory.mktemp("wtf") / "report.xml"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONWARNINGS", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"]
        + [f"--junitxml={report}", str(CASES)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    found: dict[str, list[tuple[str, str]]] = {}
    for case in ET.parse(report).iter("testcase"):
        name = case.get("name", "").partition("[")[0]
        outcome, detail = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = child.tag
                detail = (child.get("message") or "") + "\n" + (child.text or "")
        found.setdefault(name, []).append((outcome, detail))
    return found


@pytest.mark.parametrize("name", _case_names())
def test_flask_wtf_case(outcomes, name):
    assert name in outcomes, f"{name} did not run; ran: {sorted(outcomes)}"
    for outcome, detail in outcomes[name]:
        assert outcome == "passed", f"{name}: {outcome}\n{detail}"
