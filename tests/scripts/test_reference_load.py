"""bench/reference_load.py: starts the reference system, signs in, loads four scenarios.

About 1 s per scenario; checks the output's shape and that no request failed
(no figure is asserted: speed is measured by running the script, not here).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "reference_load.py"

pytestmark = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)"
)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    # The embedded defaults (SQLite, memory stores), whatever the shell has.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HERMETIC_", "DATABASE_"))}
    return subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--duration",
            "1",
            "--warmup",
            "0",
            "-c",
            "4",
            "--timeout",
            "60",
            *args,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_the_table_has_every_scenario_and_no_error():
    done = _run()
    assert done.returncode == 0, done.stderr + done.stdout
    lines = done.stdout.splitlines()
    assert any(
        line.startswith("rate limits: off for the run (REFERENCE_LOAD_RUN=1") for line in lines
    )
    header = next(i for i, line in enumerate(lines) if line.startswith("scenario"))
    assert lines[header].split() == [
        "scenario", "request", "req/s", "p50", "ms", "p99", "ms", "errors", "429s", "cpu", "us/req",
    ]  # fmt: skip
    rows = [line.split() for line in lines[header + 1 : header + 5]]
    assert [row[0] for row in rows] == ["login", "page", "api-read", "api-write"]
    for row in rows:
        rps, p50, p99, errors, limited, cpu = row[-6:]
        assert float(rps) > 0 and float(p50) > 0 and float(p99) >= float(p50)
        assert (int(errors), int(limited)) == (0, 0), row
        assert float(cpu) > 0


WRK_OUTPUT = """Running 1s test @ http://127.0.0.1:5002/v1/notes
  1 threads and 4 connections
  Latency Distribution
     50%    1.50ms
     75%    2.00ms
     90%    3.00ms
     99%   12.50ms
  812 requests in 1.00s, 1.20MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 7
Requests/sec:    811.20
Transfer/sec:      1.20MB
UNEXPECTED 4
LIMITED 3
STATUSES 503 500 503
"""


def test_wrk_output_is_read_with_429s_apart():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import reference_load
    finally:
        sys.path.remove(str(SCRIPT.parent))
    got = reference_load.parse_wrk(WRK_OUTPUT)
    assert got == {
        "rps": 811.2,
        "p50": 1.5,
        "p99": 12.5,
        "requests": 812,
        "socket": 3,
        "socket_kinds": "connect 0, read 1, write 0, timeout 2",
        "unexpected": 4,
        "limited": 3,
        "statuses": "500 503",
    }
    with pytest.raises(SystemExit):
        reference_load.parse_args(["--scenarios", "login,nope"])
    with pytest.raises(SystemExit):
        reference_load.parse_args(["--duration", "200"])  # longer than an api token lives
