"""Start-up: ``import hermetic`` against ``import flask``, each in fresh interpreters.

Each round starts one interpreter per module (in turns, so drift hits both
alike) that imports it and exits; the figure is the interpreter's CPU time
(user + system, from ``wait4``), which other work on the machine disturbs
far less than the wall clock. ``python -c pass`` is the floor. The median
of ``--rounds`` is printed. Run through ``bench/run startup.py``.

Both imports are measured from compiled bytecode, as a deployed app has it:
Flask and its dependencies were compiled by pip when installed, but hermetic
is installed editable from ``src/``, whose ``__pycache__`` is written only
by an interpreter that may write bytecode. With ``PYTHONDONTWRITEBYTECODE``
set (as on some CI machines) hermetic would be compiled from source in every
interpreter and Flask not: about 1.2x instead of about 0.97x on this
machine. So each import first runs once with bytecode writing allowed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

MODULES = {"(floor)": "pass", "flask": "import flask", "hermetic": "import hermetic"}


def cpu_ms(code: str) -> float:
    """Return the CPU milliseconds of a fresh interpreter running ``code``."""
    proc = subprocess.Popen([sys.executable, "-c", code])
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"error: {code!r} exited with {proc.returncode}")
    return (usage.ru_utime + usage.ru_stime) * 1000


def compile_once(code: str) -> None:
    """Run ``code`` once in an interpreter allowed to write the bytecode it imports."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def main(argv: list[str] | None = None) -> int:
    """Print the median CPU time of each import and hermetic/flask."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-r", "--rounds", type=int, default=21)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    for code in MODULES.values():
        compile_once(code)
    times: dict[str, list[float]] = {name: [] for name in MODULES}
    for _ in range(args.rounds):
        for name, code in MODULES.items():
            times[name].append(cpu_ms(code))
    median = {name: statistics.median(values) for name, values in times.items()}
    ratio = median["hermetic"] / median["flask"]
    if args.json:
        print(json.dumps({"median_cpu_ms": median, "hermetic_over_flask": ratio}))
        return 0
    for name, ms in median.items():
        print(f"{name:<10}{ms:>8.1f} ms CPU (median of {args.rounds} fresh interpreters)")
    verdict = "met" if ratio <= 1.0 else "MISSED"
    print(f"target: import hermetic / import flask = {ratio:.2f} <= 1.00: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
