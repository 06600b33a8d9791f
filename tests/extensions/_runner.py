"""Helpers shared by the extension tests: skipping, parsing, asserting."""

from __future__ import annotations

import dataclasses
import importlib.util
import pathlib

HERE = pathlib.Path(__file__).parent
INSTALL = "pip install --no-deps -r requirements/extensions.txt"


@dataclasses.dataclass
class AppRun:
    """The outcome of one app module: exit code, output, and each check's report."""

    returncode: int
    stdout: str
    stderr: str
    #: check name -> (passed, detail lines)
    checks: dict[str, tuple[bool, str]]

    def describe(self) -> str:
        return f"exit code {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def parse_report(stdout: str) -> dict[str, tuple[bool, str]]:
    """Map each check name in an app's output to (passed, the lines after it)."""
    checks: dict[str, tuple[bool, list[str]]] = {}
    current: list[str] | None = None
    for line in stdout.splitlines():
        status, _, name = line.partition(" ")
        if status in ("PASS", "FAIL") and name.isidentifier():
            current = []
            checks[name] = (status == "PASS", current)
        elif current is not None:
            current.append(line)
    return {name: (ok, "\n".join(lines)) for name, (ok, lines) in checks.items()}


def missing_distributions(modules: dict[str, str]) -> str | None:
    """Return why an extension can't be tested (what to install), or ``None``."""
    # find_spec only locates top-level modules: importing them here would need flask.
    missing = [dist for dist, module in modules.items() if importlib.util.find_spec(module) is None]
    if missing:
        return f"{', '.join(missing)} not installed: run `{INSTALL}`"
    return None


def assert_check(run: AppRun, name: str) -> None:
    """Fail with the check's traceback unless the app reported it as passed."""
    assert name in run.checks, f"check {name!r} was not reported\n{run.describe()}"
    ok, detail = run.checks[name]
    assert ok, f"check {name!r} failed:\n{detail}"


def assert_app_ran(run: AppRun, expected: list[str]) -> None:
    """Fail unless the app reported exactly ``alias`` + ``expected`` and exited 0."""
    assert list(run.checks) == ["alias", *expected], run.describe()
    assert run.returncode == 0, run.describe()
