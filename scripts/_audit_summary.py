"""Summarise a pip-audit JSON report; exit 0 clean, 1 vulnerable, 3 not checked.

Usage: _audit_summary.py REPORT.json STDERR.log PIP_AUDIT_STATUS
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

CLEAN, VULNERABLE, FAILED, UNCHECKED = 0, 1, 2, 3


def summarise(report_path: Path, log_path: Path, status: int) -> int:
    try:
        report = json.loads(report_path.read_text())
    except (OSError, ValueError):
        log = log_path.read_text(errors="replace") if log_path.exists() else ""
        last = log.strip().splitlines()[-1:] or ["(no output)"]
        print(f"pip-audit: could not check any dependency (exit {status}): {last[0]}")
        print("NOT CHECKED: no vulnerability database was reachable from this machine.")
        return UNCHECKED
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if d.get("skip_reason")]
    vulnerable = [d for d in dependencies if d.get("vulns")]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed version"
            print(f"VULNERABLE: {dep['name']} {dep.get('version')}: {vuln['id']} ({fixes})")
    checked = len(dependencies) - len(skipped)
    print(f"pip-audit: {checked} of {len(dependencies)} dependencies checked,", end=" ")
    print(f"{len(vulnerable)} with known vulnerabilities.")
    if vulnerable:
        return VULNERABLE
    if skipped:
        names = ", ".join(sorted(d["name"] for d in skipped))
        print(f"NOT CHECKED: the vulnerability database could not be reached for: {names}.")
        print("Run scripts/audit where PyPI's JSON API or OSV is reachable.")
        return UNCHECKED
    return CLEAN


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(summarise(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])))
