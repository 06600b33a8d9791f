"""The API reference pages list every public name of their module.

mkdocstrings renders a name a package re-exports (``from .x import Y as Y``)
only when the page lists it, so each page under ``docs/reference/`` names
its members; this test fails when a module gains or loses a public name.
Update the pages with ``.venv/bin/python tests/docs/test_reference.py --write``.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference"
#: Page name -> module documented there.
PAGES = {
    "hermetic": "hermetic",
    "security": "hermetic.security",
    "auth": "hermetic.security.auth",
    "jwt": "hermetic.security.jwt",
    "ratelimit": "hermetic.security.ratelimit",
    "validation": "hermetic.security.validation",
    "testing": "hermetic.testing",
    "settings": "hermetic.settings",
}
#: Names a module gives on first use (PEP 562), documented where they are defined.
EXTRA = {
    "hermetic": "\n::: hermetic.security.profile.Hermetic\n",
    "testing": "".join(
        f"\n::: hermetic.security._testing.{name}\n"
        for name in ("ManualClock", "limits_clock", "self_signed_certificate")
    ),
}
_MEMBER = re.compile(r"^        - (\w+)$", re.M)


def public_names(module: str) -> list[str]:
    """Return the names ``module`` re-exports or defines, in source order."""
    path = ROOT / "src" / Path(*module.split("."))
    source = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    names = []
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.level and node.module:
            names += [a.name for a in node.names if a.asname == a.name and a.name[0] != "_"]
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name[0] != "_":
            names.append(node.name)
    return names


def page_text(page: str, module: str) -> str:
    """Return the reference page of ``module``."""
    members = "".join(f"        - {name}\n" for name in public_names(module))
    return (
        f"# `{module}`\n\n"
        f"<!-- Member list written by tests/docs/test_reference.py --write. -->\n\n"
        f"::: {module}\n    options:\n      members:\n{members}{EXTRA.get(page, '')}"
    )


@pytest.mark.parametrize("page", sorted(PAGES))
def test_reference_page_lists_every_public_name(page):
    module = PAGES[page]
    listed = _MEMBER.findall((REFERENCE / f"{page}.md").read_text(encoding="utf-8"))
    assert listed == public_names(module), (
        f"docs/reference/{page}.md does not list the public names of {module}. "
        "Fix: run .venv/bin/python tests/docs/test_reference.py --write"
    )


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    for page, module in PAGES.items():
        (REFERENCE / f"{page}.md").write_text(page_text(page, module), encoding="utf-8")
