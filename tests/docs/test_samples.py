"""Every Python sample of the documentation site runs.

The samples of one page run in order, in one namespace (a tutorial builds on
its earlier steps), in a fresh temporary directory, with a secret key in
``HERMETIC_SECRET_KEY`` as the pages tell the reader to set. A sample checks
what it shows with ``assert``. Other fences (``sh``, ``nginx``, ``yaml``,
``html``, ``dockerfile``) are shown, not run. A page that installs the
``flask`` alias (which changes ``sys.modules`` for good) runs in a fresh
interpreter.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
#: Contributor pages and pages written elsewhere: not part of the site's samples.
NOT_OURS = {
    "configuration.md",
    "contributing/design.md",
    "contributing/internals.md",
    "moving-from-flask.md",
    "contributing/security.md",
    "compatibility.md",
}
PAGES = sorted(p for p in DOCS.rglob("*.md") if p.relative_to(DOCS).as_posix() not in NOT_OURS)
#: Variables a sample must not pick up from the machine running the tests.
CLEARED = ("HERMETIC_REDIS_URL", "REDIS_URL", "HERMETIC_SECRETS_DIR", "HERMETIC_SECRET_KEY_FILE")
#: A fence holding only this is an excerpt of a file (pymdownx.snippets), not a sample.
SNIPPET = "--8<-- "
FENCE = re.compile(
    r"^(?P<indent> *)```(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```", re.M | re.S
)


def samples(path: Path) -> list[tuple[int, str]]:
    """Return (line, code) of each ```python fence of ``path``."""
    text = path.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        if match["info"].strip().split(" ")[0] not in ("python", "py"):
            continue
        indent = len(match["indent"])
        body = "\n".join(line[indent:] for line in match["body"].splitlines())
        if all(line.startswith(SNIPPET) for line in body.split("\n") if line.strip()):
            continue  # included from a tested file (examples/): MkDocs checks it exists
        found.append((text.count("\n", 0, match.start()) + 1, body))
    return found


def run_page(path: Path) -> None:
    """Run the samples of ``path`` in order, in one module of their own."""
    rel = path.relative_to(ROOT).as_posix()
    # A module, as the reader's file would be (dataclasses look it up).
    module = types.ModuleType("docs_sample_" + re.sub(r"\W", "_", rel))
    sys.modules[module.__name__] = module
    try:
        for line, code in samples(path):
            compiled = compile(code, f"{rel}:{line}", "exec")
            try:
                exec(compiled, module.__dict__)
            except Exception as exc:
                raise AssertionError(f"the sample at {rel}, line {line}, fails: {exc!r}") from exc
    finally:
        del sys.modules[module.__name__]


def _main(path: str) -> None:
    """Run one page in this (fresh) interpreter: ``python -c`` entry point."""
    for name in ("hermetic.security.audit", "hermetic.access"):
        logging.getLogger(name).disabled = True
    run_page(Path(path))


def test_the_extractor_finds_the_samples():
    total = sum(len(samples(p)) for p in PAGES)
    assert len(PAGES) >= 30, PAGES
    assert total >= 50, total


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_page_samples_run(path, monkeypatch, tmp_path):
    if not samples(path):
        pytest.skip("no Python sample on this page")
    monkeypatch.setenv("HERMETIC_SECRET_KEY", secrets.token_urlsafe(48))
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    if "install_as_flask" in path.read_text(encoding="utf-8"):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}
        code = f"from tests.docs.test_samples import _main; _main({str(path)!r})"
        proc = subprocess.run(
            [sys.executable, "-W", "error", "-c", code],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr[-4000:]
        return
    # The audit and access logs would print every sample's events.
    for name in ("hermetic.security.audit", "hermetic.access"):
        monkeypatch.setattr(logging.getLogger(name), "disabled", True)
    run_page(path)
