"""The documentation stands alone and states the defaults the code has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hermetic.security.profile import Hermetic

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").rglob("*.md"))]
EXAMPLES = sorted((ROOT / "examples").rglob("*.*"))


@pytest.mark.parametrize("path", DOCS + EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_reference_outside_the_repository(path):
    if path.suffix not in {".md", ".py", ".html", ".txt", ".toml", ".cfg"}:
        return
    text = path.read_text(encoding="utf-8")
    assert "../shared" not in text and "shared/" not in text


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path):
    text = path.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (path.parent / target).exists(), f"{path.name} links to missing {target}"


def test_readme_states_the_authz_default():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    default = Hermetic.default_config["AUTHZ_DEFAULT"]
    assert f'`AUTHZ_DEFAULT` is `"{default}"` by default' in readme


def test_the_security_policy_is_on_the_site_and_linked_from_the_readme():
    page = (ROOT / "docs" / "security-policy.md").read_text(encoding="utf-8")
    assert page.strip() == '--8<-- "SECURITY.md"'
    assert "security-policy.md" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "](security-policy.md)" in (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    assert "](SECURITY.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
