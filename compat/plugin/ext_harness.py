"""pytest plugin of scripts/ext-suites (loaded first, with ``-p ext_harness``).

Before any conftest or test module is imported it checks that ``flask`` is
what the run claims to test:

* ``EXT_TARGET=hermetic``: no real Flask may be importable from ``sys.path``
  (the guard); ``flask`` is then hermetic through
  ``hermetic.compat.install_as_flask()``.
* ``EXT_TARGET=flask``: ``flask`` must be the real Flask distribution.

At the end it writes the outcome counts as JSON to ``$EXT_RESULT_FILE``.
"""

from __future__ import annotations

import importlib.machinery
import json
import os

import pytest

TARGET = os.environ.get("EXT_TARGET", "")
RESULT_FILE = os.environ.get("EXT_RESULT_FILE")


def _refuse(message: str) -> None:
    raise pytest.UsageError(f"ext_harness ({TARGET}): {message}")


def _check_flask() -> None:
    # PathFinder looks at sys.path only: it sees an installed Flask even when
    # the alias already sits in sys.modules.
    real = importlib.machinery.PathFinder.find_spec("flask")
    if TARGET == "hermetic":
        if real is not None:
            _refuse(
                f"Cause: a real Flask is importable ({real.origin}). "
                "Fix: rebuild the venv (EXT_REINSTALL=1); install packages that "
                "require Flask with --no-deps."
            )
        import hermetic.compat

        hermetic.compat.install_as_flask()
        import flask

        if not getattr(flask, "__hermetic__", False):
            _refuse("Cause: 'flask' is not hermetic's alias. Fix: check the venv's .pth files.")
    elif TARGET == "flask":
        if real is None:
            _refuse("Cause: real Flask is not installed. Fix: rebuild the venv (EXT_REINSTALL=1).")
        import flask

        if getattr(flask, "__hermetic__", False):
            _refuse(
                "Cause: 'flask' is hermetic's alias in the baseline run. Fix: unset HERMETIC_FLASK_ALIAS."
            )
    else:
        _refuse(f"Cause: EXT_TARGET={TARGET!r}. Fix: set it to 'flask' or 'hermetic'.")


_check_flask()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect tests that use a fixture named in $EXT_DESELECT_FIXTURES.

    For services the runner cannot start (Docker-managed databases): those
    tests are not run on either target, and counted as neither.
    """
    names = set(os.environ.get("EXT_DESELECT_FIXTURES", "").split())
    if not names:
        return
    keep, drop = [], []
    for item in items:
        (drop if names & set(getattr(item, "fixturenames", ())) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_header(config: pytest.Config) -> str:
    import flask

    kind = "hermetic alias" if getattr(flask, "__hermetic__", False) else "real Flask"
    return f"ext_harness: target={TARGET}, flask={kind} ({flask.__file__})"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not RESULT_FILE:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    stats = getattr(reporter, "stats", {})

    def count(key: str) -> int:
        return len([r for r in stats.get(key, []) if getattr(r, "when", "call") != "teardown"])

    counts = {
        "passed": count("passed") + count("xpassed"),
        "failed": count("failed"),
        "errors": len(stats.get("error", [])),
        "skipped": count("skipped") + count("xfailed"),
        "exitstatus": int(exitstatus),
    }
    with open(RESULT_FILE, "w", encoding="utf-8") as f:
        json.dump(counts, f)
