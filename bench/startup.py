"""Start-up: ``import hermetic`` against ``import flask``, each in fresh interpreters.

Each round starts one interpreter per module (in turns, so drift hits both
alike) that imports it and exits; the figure is the interpreter's CPU time
(user + system, from ``wait4``), which other work on the machine disturbs
far less than the wall clock. ``python -c pass`` is the floor. The median
of ``--rounds`` is printed. Run through ``bench/run startup.py``.
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


def main(argv: list[str] | None = None) -> int:
    """Print the median CPU time of each import and hermetic/flask."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-r", "--rounds", type=int, default=21)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
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
