"""scripts/_audit_summary.py: a report that checked nothing never reads as clean."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "_audit_summary.py"


@pytest.fixture(scope="module")
def summary():
    spec = importlib.util.spec_from_file_location("_audit_summary", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _report(tmp_path, dependencies):
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"dependencies": dependencies, "fixes": []}))
    return path


def test_every_dependency_checked_and_clean(summary, tmp_path, capsys):
    report = _report(tmp_path, [{"name": "werkzeug", "version": "3.1.3", "vulns": []}])
    assert summary.summarise(report, tmp_path / "log", 0) == summary.CLEAN
    assert "1 of 1 dependencies checked, 0 with known" in capsys.readouterr().out


def test_a_vulnerability_fails(summary, tmp_path, capsys):
    vuln = {"id": "GHSA-xxxx", "fix_versions": ["3.1.4"]}
    report = _report(
        tmp_path,
        [
            {"name": "werkzeug", "version": "3.1.3", "vulns": [vuln]},
            {"name": "jinja2", "skip_reason": "Dependency not found on PyPI"},
        ],
    )
    assert summary.summarise(report, tmp_path / "log", 1) == summary.VULNERABLE
    assert "VULNERABLE: werkzeug 3.1.3: GHSA-xxxx (3.1.4)" in capsys.readouterr().out


def test_skipped_dependencies_are_not_checked(summary, tmp_path, capsys):
    # pip-audit itself prints "No known vulnerabilities found" in this case.
    report = _report(
        tmp_path,
        [
            {"name": "werkzeug", "version": "3.1.3", "vulns": []},
            {"name": "jinja2", "skip_reason": "Dependency not found on PyPI"},
        ],
    )
    assert summary.summarise(report, tmp_path / "log", 0) == summary.UNCHECKED
    out = capsys.readouterr().out
    assert "1 of 2 dependencies checked" in out
    assert "NOT CHECKED" in out and "jinja2" in out


def test_no_report_at_all_is_not_checked(summary, tmp_path, capsys):
    log = tmp_path / "log"
    log.write_text("Traceback ...\nConnectionError: Failed to resolve 'api.osv.dev'\n")
    assert summary.summarise(tmp_path / "missing.json", log, 1) == summary.UNCHECKED
    out = capsys.readouterr().out
    assert "Failed to resolve" in out and "NOT CHECKED" in out
