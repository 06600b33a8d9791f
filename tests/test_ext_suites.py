"""scripts/ext-suites: its suite definitions and levels stay consistent."""

from __future__ import annotations

import configparser
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_runner():
    spec = importlib.util.spec_from_file_location("ext_suites", ROOT / "compat" / "ext_suites.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


runner = _load_runner()


def test_at_least_eight_suites_every_extension_pinned():
    suites = runner.load_suites()
    assert len(suites) >= 8
    for suite in suites.values():
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][0-9A-Za-z.]*", suite.ext), suite.ext


def test_no_suite_installs_flask_with_its_dependencies():
    # Anything that requires Flask goes to nodeps; Flask itself never appears.
    for suite in runner.load_suites().values():
        for req in suite.deps + suite.nodeps:
            assert re.split(r"[<>=!\[ ]", req)[0].lower() != "flask", (suite.name, req)


def test_levels_name_known_suites_and_add_up():
    levels = runner.read_levels(ROOT / ".ci" / "ext-levels")
    assert set(levels) == set(runner.load_suites())
    for line in (ROOT / ".ci" / "ext-levels").read_text().splitlines():
        fields = line.split("#", 1)[0].split()
        if fields:
            hermetic, flask, total = map(int, fields[1:4])
            assert 0 < hermetic <= total and 0 < flask <= total, line


def test_pytest_ini_keeps_multi_line_values():
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(
        "[s]\next = X==1\npytest.testpaths = tests\npytest.filterwarnings =\n    error\n    ignore::UserWarning\n"
    )
    suite = runner.Suite("s", parser["s"])
    assert suite.ini == (
        "[pytest]\ntestpaths = tests\nfilterwarnings =\n    error\n    ignore::UserWarning\n"
    )


def test_test_settings_do_not_rebuild_venvs():
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string("[a]\next = X==1\ndeps = y\n[b]\next = X==1\ndeps = y\nargs = -x\n")
    a, b = runner.Suite("a", parser["a"]), runner.Suite("b", parser["b"])
    assert a.install_key == b.install_key
    parser["b"]["deps"] = "y z"
    assert runner.Suite("b", parser["b"]).install_key != a.install_key


@pytest.mark.parametrize(
    "counts, line",
    [
        (
            {"passed": 3, "failed": 1, "errors": 0, "skipped": 2},
            "x hermetic: 3 passed, 1 failed, 0 errors, 2 skipped",
        ),
    ],
)
def test_summary_line_is_parseable(counts, line):
    assert runner.summary("x", "hermetic", counts) == line
