"""Run an extension app's checks in this process and report each on stdout.

Imported by the ``app_*.py`` modules after ``install_as_flask()``. Output, one
block per check, read back by ``conftest.run_extension_app``::

    PASS name
    FAIL name
    <traceback lines, then one line per unexpected warning:>
    WARN name: <category>: <message> (<file>:<line>)
"""

from __future__ import annotations

import sys
import traceback
import typing as t
import warnings

import flask

import hermetic

Check = t.Callable[[], None]

_CHECKS: list[tuple[str, Check, tuple[type[Warning], ...]]] = []


def check(
    *allowed: type[Warning],
) -> t.Callable[[Check], Check]:
    """Register a check; warnings of the ``allowed`` categories do not fail it."""

    def register(func: Check) -> Check:
        _CHECKS.append((func.__name__, func, allowed))
        return func

    return register


def _alias() -> None:
    # Proof that the extension runs on hermetic, not on a real Flask found on disk.
    assert sys.modules["flask"] is flask
    assert getattr(flask, "__hermetic__", False), "flask is not the hermetic alias"
    assert flask.Flask is hermetic.Flask, f"flask.Flask is {flask.Flask!r}"
    assert flask.current_app is hermetic.current_app


def run(app: flask.Flask) -> t.NoReturn:
    """Run the alias check and every registered check; exit 1 if any failed."""
    assert isinstance(app, hermetic.Flask), f"app is a {type(app)!r}"
    failed = False
    for name, func, allowed in [("alias", _alias, ()), *_CHECKS]:
        details: list[str] = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                func()
            except Exception:
                details.append(traceback.format_exc().rstrip())
        details.extend(
            f"WARN {name}: {w.category.__name__}: {w.message} ({w.filename}:{w.lineno})"
            for w in caught
            if not issubclass(w.category, allowed)
        )
        failed = failed or bool(details)
        # The status line comes first: the reader attaches what follows to it.
        print(f"{'FAIL' if details else 'PASS'} {name}", *details, sep="\n")
    sys.stdout.flush()
    sys.exit(1 if failed else 0)
