"""Every module of hermetic imports on its own, first, in a fresh interpreter.

An import cycle shows only when the module on the cycle is the first one
imported (the rest of the suite usually imports the CLI first, which hides
it): each module is imported after every ``hermetic`` module has been removed
from ``sys.modules``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import hermetic

SCRIPT = r"""
import importlib, json, pkgutil, sys, traceback
import hermetic
names = sorted(
    m.name for m in pkgutil.walk_packages(hermetic.__path__, "hermetic.")
    # Public modules only (a cycle through a private module shows from the
    # public one that imports it); __main__ runs the CLI.
    if not any(part.startswith("_") for part in m.name.split(".")[1:])
)
failures = {}
for name in names:
    for loaded in [m for m in sys.modules if m == "hermetic" or m.startswith("hermetic.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        failures[name] = traceback.format_exc(limit=-3)
print(json.dumps({"count": len(names), "failures": failures}))
"""


def test_every_module_imports_first_on_its_own() -> None:
    import json

    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", SCRIPT],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(hermetic.__file__).parent.parent,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["count"] > 40
    assert result["failures"] == {}, "\n".join(
        f"{name}:\n{tb}" for name, tb in result["failures"].items()
    )
