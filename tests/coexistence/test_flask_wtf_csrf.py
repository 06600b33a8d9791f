"""Hermetic's CSRF shield next to the real Flask-WTF (issue 14, item 1).

The cases are in ``flask_wtf_csrf_cases.py``: they install the ``flask``
alias, which changes ``sys.modules`` for good, so they run once in a fresh
interpreter (pytest, with a JUnit report) and each case is one test here.
The same run goes through Hermetic's own CSRF tests (``test_csrf.py``) with
Flask-WTF imported, where the shield works in its ``forms`` mode: they must
pass unchanged.
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
HERMETIC_SUITE = ROOT / "tests" / "security" / "test_csrf.py"
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
    """Run the cases once; map "file::function" to its (outcome, detail) per case."""
    missing = [m for m in ("flask_wtf", "wtforms") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: run `{INSTALL}`")
    report = tmp_path_factory.mktemp("wtf") / "report.xml"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONWARNINGS", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"]
        # The cases first: collecting them installs the alias and imports Flask-WTF.
        + [f"--junitxml={report}", str(CASES), str(HERMETIC_SUITE)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    found: dict[str, list[tuple[str, str]]] = {}
    for case in ET.parse(report).iter("testcase"):
        module = case.get("classname", "").rpartition(".")[2]
        name = module + "::" + case.get("name", "").partition("[")[0]
        outcome, detail = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = child.tag
                detail = (child.get("message") or "") + "\n" + (child.text or "")
        found.setdefault(name, []).append((outcome, detail))
    return found


@pytest.mark.parametrize("name", _case_names())
def test_flask_wtf_case(outcomes, name):
    key = f"{CASES.stem}::{name}"
    assert key in outcomes, f"{key} did not run; ran: {sorted(outcomes)}"
    for outcome, detail in outcomes[key]:
        assert outcome == "passed", f"{key}: {outcome}\n{detail}"


def test_hermetic_csrf_suite_passes_with_flask_wtf_imported(outcomes):
    ran = {k: v for k, v in outcomes.items() if k.startswith(HERMETIC_SUITE.stem + "::")}
    assert len(ran) > 30, sorted(outcomes)
    failed = {k: v for k, v in ran.items() if any(o not in ("passed", "skipped") for o, _ in v)}
    assert failed == {}
    # The one test that needs Flask-WTF absent skips itself here, nothing else.
    skipped = [k for k, v in ran.items() if any(o == "skipped" for o, _ in v)]
    assert skipped == [f"{HERMETIC_SUITE.stem}::test_without_flask_wtf_the_shield_stays_alone"]
