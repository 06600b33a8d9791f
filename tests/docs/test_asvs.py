"""The OWASP ASVS citations of the guide pages are requirement ids we checked.

Each page of the security guide and of the services guide ends with
"OWASP ASVS 5.0 requirements covered": one item per requirement, as
``- **V7.2.4** (L1) *short wording* — what hermetic does. Tests: `file.py::test_name`.``
Every id must be in ``docs/_asvs_ids.txt`` (the ids checked against the
ASVS 5.0.0 text, with their level), so a mistyped or outdated id fails here,
and every test an item names must exist, so a citation cannot outlive its proof.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IDS_FILE = ROOT / "docs" / "_asvs_ids.txt"
PAGES = sorted((ROOT / "docs" / "security-guide").glob("*.md")) + sorted(
    (ROOT / "docs" / "services").glob("*.md")
)
HEADING = "## OWASP ASVS 5.0 requirements covered"
#: Anything that looks like a requirement id, to catch ids written outside items too.
ANY_ID = re.compile(r"\bV\d+\.\d+\.\d+\b")
ITEM = re.compile(r"^- \*\*(V\d+\.\d+\.\d+)\*\* \(L([123])\) \*[^*]+\* — \S", re.M)
CITED_TEST = re.compile(r"`(test_\w+\.py)::(test_\w+)`")


def verified_ids() -> dict[str, str]:
    """Return id -> level from ``docs/_asvs_ids.txt``."""
    found: dict[str, str] = {}
    for line in IDS_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        rid, level, wording = (part.strip() for part in line.split("|"))
        assert re.fullmatch(r"V\d+\.\d+\.\d+", rid), line
        assert level in {"1", "2", "3"} and wording, line
        assert rid not in found, f"{rid} is listed twice in {IDS_FILE.name}"
        found[rid] = level
    return found


def section(text: str) -> str | None:
    """Return the ASVS section of a page (from its heading to the end), or None."""
    start = text.find("\n" + HEADING + "\n")
    return None if start < 0 else text[start + 1 :]


def problems(text: str, known: dict[str, str]) -> list[str]:
    """Return what is wrong with the ASVS citations of one page's text."""
    part = section(text)
    if part is None:
        return [f"no '{HEADING}' section"]
    found = []
    if re.search(r"^## ", part[len(HEADING) :], re.M):
        found.append("the ASVS section is not the last section of the page")
    items = ITEM.findall(part)
    if not items:
        found.append("the ASVS section cites no requirement as '- **Vn.n.n** (Ln) *wording* — ...'")
    for rid, level in items:
        if rid not in known:
            found.append(f"{rid} is not in docs/_asvs_ids.txt (verified ids)")
        elif known[rid] != level:
            found.append(f"{rid} is level {known[rid]} in ASVS 5.0.0, the page says L{level}")
    for rid in ANY_ID.findall(text):
        if rid not in known:
            found.append(f"{rid} (in the text) is not in docs/_asvs_ids.txt")
    for path, name in CITED_TEST.findall(part):
        # Test file names are unique under tests/ (a project rule): the name finds the file.
        sources = list((ROOT / "tests").rglob(path))
        if len(sources) != 1 or not re.search(
            rf"^\s*(async )?def {name}\(", sources[0].read_text(encoding="utf-8"), re.M
        ):
            found.append(f"the cited test {path}::{name} does not exist")
    return found


def test_the_checker_catches_a_wrong_id_a_wrong_level_and_a_missing_test():
    known = {"V7.2.4": "1"}
    good = f"# P\n\n{HEADING}\n\n- **V7.2.4** (L1) *new token at login* — yes.\n"
    assert problems(good, known) == []
    assert problems(good.replace("V7.2.4", "V7.2.40"), known)
    assert problems(good.replace("(L1)", "(L2)"), known)
    assert problems(good + "\n## After\n", known)
    assert problems("# P\n\nno section\n", known)
    missing = good.replace("yes.", "yes. Tests: `test_asvs.py::test_nothing_here`.")
    assert problems(missing, known) == [
        "the cited test test_asvs.py::test_nothing_here does not exist"
    ]
    cited = good.replace("yes.", "yes. Tests: `test_asvs.py::test_the_verified_list_is_read`.")
    assert problems(cited, known) == []


def test_the_verified_list_is_read():
    assert len(verified_ids()) >= 50


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT / "docs").as_posix())
def test_page_cites_verified_asvs_requirements(page):
    assert problems(page.read_text(encoding="utf-8"), verified_ids()) == []


def test_every_verified_id_is_cited_somewhere():
    cited = set()
    for page in PAGES:
        cited.update(ANY_ID.findall(page.read_text(encoding="utf-8")))
    assert sorted(set(verified_ids()) - cited) == []
