"""The package's layout: modules stay readable in one sitting (docs/contributing/internals.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

import hermetic

PACKAGE = Path(hermetic.__file__).parent
MAX_LINES = 400
CHECKED = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", CHECKED, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_size(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, (
        f"{path.relative_to(PACKAGE)} has {lines} lines (limit {MAX_LINES}). Fix: split it"
        " by concern into a private module (_name.py) or a subpackage."
    )
