"""Every public name of every module of real Flask is on the alias, as the same object.

The list comes from real Flask ``FLASK_VERSION``, installed in an environment
of its own (never next to hermetic) and cached across runs under
``$HERMETIC_TEST_CACHE`` (default: ``hermetic-test-cache`` in the temp
directory). It is also committed as ``flask-<version>-names.json``, so the
offline tests check the alias without the package index, and the online test
proves that the committed list is what real Flask reports. A new Flask
release: bump ``FLASK_VERSION`` (hermetic/compat/_version.py), then write the
new list with ``.venv/bin/python tests/compat/test_flask_names.py --write``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

try:
    import fcntl
except ImportError:  # Windows: no lock, one run at a time
    fcntl = None  # type: ignore[assignment]

from hermetic.compat import FLASK_VERSION, MODULE_ALIASES

HERE = Path(__file__).parent
FIXTURE = HERE / f"flask-{FLASK_VERSION}-names.json"
DUMP = HERE / "_dump_flask_names.py"
CHECK = HERE / "_check_alias_names.py"
WRITE_HINT = "write it with `.venv/bin/python tests/compat/test_flask_names.py --write`"

#: Flask's dependencies, installed next to real Flask at the versions hermetic
#: runs with, so both sides see the same Werkzeug, click, ...
DEPENDENCIES = ("werkzeug", "jinja2", "markupsafe", "itsdangerous", "click", "blinker")


def requirements() -> list[str]:
    pins = [f"{name}=={importlib.metadata.version(name)}" for name in DEPENDENCIES]
    return [f"flask=={FLASK_VERSION}", *pins]


def flask_python() -> Path:
    """The Python of a venv with real Flask, created once per Python and versions."""
    cache = Path(
        os.environ.get("HERMETIC_TEST_CACHE")
        or os.path.join(tempfile.gettempdir(), "hermetic-test-cache")
    )
    wanted = requirements()
    key = hashlib.sha256("\n".join([sys.version, *wanted]).encode()).hexdigest()[:12]
    venv = cache / f"flask-{FLASK_VERSION}-{key}"
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    done = venv / "hermetic-installed.txt"
    if done.exists():
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        if fcntl is not None:  # another test run may be building the same venv
            fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            build_venv(venv, python, wanted)
        done.write_text("\n".join(wanted) + "\n", encoding="utf-8")
    return python


def build_venv(venv: Path, python: Path, wanted: list[str]) -> None:
    """Create ``venv`` with ``wanted`` installed; skip the test if pip cannot."""
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    proc = subprocess.run(
        [*pip, "--timeout", "15", "--retries", "1", *wanted],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-2:])
        pytest.skip(
            f"cannot install real Flask {FLASK_VERSION} from the package index "
            f"(unreachable?): pip install {' '.join(wanted)} failed: {tail}"
        )


def dump_real_flask() -> dict:
    proc = subprocess.run(
        [str(flask_python()), str(DUMP)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def check_alias(names_file: Path) -> list[list[str]]:
    """Problems of the alias with the names in ``names_file``, from a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, str(CHECK), str(names_file)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def explain(problems: list[list[str]]) -> str:
    lines = [f"  {module}.{name}: {problem}" for module, name, problem in problems]
    return (
        f"{len(problems)} of Flask {FLASK_VERSION}'s names are wrong on the alias:\n"
        + "\n".join(lines)
        + "\nAdd them to hermetic/compat/_names.py (Flask's incidental names)."
    )


def load_fixture() -> dict:
    assert FIXTURE.exists(), f"{FIXTURE.name} is missing: {WRITE_HINT}"
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def real_flask() -> dict:
    return dump_real_flask()


def test_fixture_is_for_this_flask_version_and_its_modules():
    fixture = load_fixture()
    assert fixture["flask_version"] == FLASK_VERSION
    modules = set(fixture["modules"])
    assert modules == {"flask", "flask.sansio", *MODULE_ALIASES}
    assert sum(len(names) for names in fixture["modules"].values()) > 400


def test_alias_has_every_name_of_flask_offline():
    problems = check_alias(FIXTURE)
    assert problems == [], explain(problems)


def test_check_finds_missing_and_wrong_names(tmp_path):
    # The check above can fail: a name the alias lacks, and one that is not
    # the object Flask gives.
    fixture = load_fixture()
    modules = fixture["modules"]
    modules["flask.app"]["NotAFlaskName"] = {"kind": "module", "module": "os"}
    modules["flask.cli"]["click"] = {"kind": "object", "module": "werkzeug", "name": "Request"}
    modules["flask.app"]["Flask"]["category"] = "function"
    names_file = tmp_path / "names.json"
    names_file.write_text(json.dumps(fixture), encoding="utf-8")

    problems = {(module, name): problem for module, name, problem in check_alias(names_file)}

    assert problems.keys() == {
        ("flask.app", "NotAFlaskName"),
        ("flask.cli", "click"),
        ("flask.app", "Flask"),
    }
    assert problems["flask.app", "NotAFlaskName"] == "missing"
    assert "not werkzeug.Request" in problems["flask.cli", "click"]
    assert "Flask's is a function" in problems["flask.app", "Flask"]


def comparable(hint: dict[str, str] | None) -> dict[str, str] | None:
    """``hint`` without what varies with the Python version alone.

    The type of one of Flask's own objects (``typing._UnionGenericAlias`` for
    a ``t.Union``) is the interpreter's choice; the other checks still hold.
    """
    if hint and hint["kind"] == "same":
        return {key: value for key, value in hint.items() if key != "type"}
    return hint


def test_fixture_is_what_real_flask_reports(real_flask):
    fixture = load_fixture()
    assert real_flask["flask_version"] == FLASK_VERSION
    differences = []
    for module in sorted(set(real_flask["modules"]) | set(fixture["modules"])):
        real = real_flask["modules"].get(module, {})
        committed = fixture["modules"].get(module, {})
        for name in sorted(set(real) | set(committed)):
            if comparable(real.get(name)) != comparable(committed.get(name)):
                differences.append(f"  {module}.{name}: {committed.get(name)} -> {real.get(name)}")
    assert not differences, (
        f"{FIXTURE.name} differs from real Flask:\n" + "\n".join(differences) + f"\n{WRITE_HINT}"
    )


def test_alias_has_every_name_real_flask_reports(real_flask, tmp_path):
    names_file = tmp_path / "names.json"
    names_file.write_text(json.dumps(real_flask), encoding="utf-8")
    problems = check_alias(names_file)
    assert problems == [], explain(problems)


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(f"usage: {sys.argv[0]} --write  (writes {FIXTURE.name} from real Flask)")
    report = dump_real_flask()
    FIXTURE.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {FIXTURE}")
