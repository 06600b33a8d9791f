"""The defaults the guide pages state by hand are the code's.

Every key is in the generated configuration reference, and the pages link
there; some pages also list their keys in a table. This test reads those
tables and compares each literal default with the code's (the declarations
of :mod:`hermetic.settings` and ``Hermetic``'s config), so a changed default
fails here rather than misleading a reader.
"""

from __future__ import annotations

import ast
import re
from datetime import timedelta
from pathlib import Path

import pytest

from hermetic.security.profile import Hermetic
from hermetic.settings import UNSET, declared_keys

ROOT = Path(__file__).resolve().parents[2]
GUIDES = sorted((ROOT / "docs" / "security-guide").glob("*.md")) + sorted(
    (ROOT / "docs" / "services").glob("*.md")
)
#: A table row ``| `KEY` | `literal` | meaning |``.
ROW = re.compile(r"^\| `([A-Z][A-Z0-9_]+)` \| `([^`]+)` \|", re.M)


def code_defaults() -> dict[str, object]:
    """Return the defaults the code holds: Hermetic's config, then every declaration's."""
    found: dict[str, object] = {
        key: decl.default if decl.secure_default is UNSET else decl.secure_default
        for key, (_, decl) in declared_keys().items()
    }
    found.update(Hermetic.default_config)
    return found


def literal(text: str) -> object:
    """Evaluate a default as the pages write it (``timedelta(hours=1)``, ``"x"``, ``()``)."""
    call = re.fullmatch(r"timedelta\((\w+)=(\d+)\)", text)
    if call:
        return timedelta(**{call[1]: int(call[2])})
    return ast.literal_eval(text)


def rows() -> list[tuple[str, str, str]]:
    return [
        (path.relative_to(ROOT).as_posix(), key, value)
        for path in GUIDES
        for key, value in ROW.findall(path.read_text(encoding="utf-8"))
    ]


def test_the_tables_are_found():
    checked = [row for row in rows() if row[1] in code_defaults()]
    assert len(checked) >= 25, checked


@pytest.mark.parametrize("page, key, value", rows(), ids=lambda v: str(v))
def test_stated_default_is_the_codes(page, key, value):
    defaults = code_defaults()
    if key not in defaults:
        pytest.skip(f"{key}: the code has no default constant to compare with")
    stated = literal(value)
    actual = defaults[key]
    if isinstance(actual, (list, tuple)) and isinstance(stated, (list, tuple)):
        actual, stated = tuple(actual), tuple(stated)
    assert stated == actual, f"{page} says {key} defaults to {value}; the code says {actual!r}"
