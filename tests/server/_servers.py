"""Start real WSGI servers (gunicorn, granian) serving ``fuzz_app`` on 127.0.0.1.

Each server runs in a subprocess on a free port, its output in a log file
that the tests read afterwards (tracebacks, worker restarts). Redis-backed
sessions use a unique key prefix on the shared 127.0.0.1:6379 and delete
their keys afterwards; without Redis that variant is skipped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import typing as t
from pathlib import Path

import pytest

HERE = Path(__file__).parent
REDIS_URL = "redis://127.0.0.1:6379/0"

#: Lines for the terminal summary: one per server run (counts by status class).
RESULTS: list[str] = []

#: How a server is started: the command after ``python -m``, and the
#: log line each worker start prints (more of them means a worker restarted).
SERVERS: dict[str, tuple[list[str], str, int]] = {
    "gunicorn-sync": (
        ["gunicorn", "--worker-class", "sync", "--workers", "2"],
        "Booting worker with pid",
        2,
    ),
    "gunicorn-gthread": (
        ["gunicorn", "--worker-class", "gthread", "--workers", "1", "--threads", "4"],
        "Booting worker with pid",
        1,
    ),
    "granian": (
        [
            "granian",
            "--interface",
            "wsgi",
            "--workers",
            "1",
            "--blocking-threads",
            "4",
            "--respawn-failed-workers",
            "--log-level",
            "info",
        ],
        "Spawning worker-",
        1,
    ),
    # Werkzeug's development server, as ``hermetic run`` starts it (threaded).
    "werkzeug": (
        ["hermetic.cli", "--app", "fuzz_app", "run", "--no-reload", "--no-debugger"],
        "Running on http://",
        1,
    ),
}


def redis_available() -> bool:
    """Tell whether the shared Redis answers (quickly)."""
    try:
        import redis
    except ImportError:
        return False
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server(t.NamedTuple):
    name: str
    port: int
    log: Path
    worker_line: str
    workers: int
    process: subprocess.Popen[bytes]

    def read_log(self) -> str:
        return self.log.read_text(errors="replace")


def _command(name: str, port: int) -> list[str]:
    args, _, _ = SERVERS[name]
    if args[0] == "gunicorn":
        return [
            sys.executable,
            "-m",
            *args,
            "--bind",
            f"127.0.0.1:{port}",
            "--chdir",
            str(HERE),
            "--no-control-socket",
            "--timeout",
            "30",
            "--graceful-timeout",
            "5",
            "--log-level",
            "info",
            "fuzz_app:app",
        ]
    if args[0] == "granian":
        args = [*args, "fuzz_app:app"]
    return [sys.executable, "-m", *args, "--host", "127.0.0.1", "--port", str(port)]


def _wait_until_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)  # polling for start-up, not a timing assertion
    pytest.fail(f"the server did not listen within 30 s:\n{log.read_text()}")


@contextlib.contextmanager
def serve(name: str, tmp_path: Path, env: dict[str, str]) -> t.Iterator[Server]:
    """Run server ``name`` on a free port until the block ends."""
    port = free_port()
    log = tmp_path / f"{name}.log"
    environ = {k: v for k, v in os.environ.items() if k not in ("HERMETIC_REDIS_URL", "REDIS_URL")}
    # Redis only where asked for (``FUZZ_REDIS_URL``), under its own key prefix.
    # (faulthandler: a server that crashes writes every thread's Python stack to its log.)
    environ.update(env, PYTHONPATH=str(HERE), PYTHONUNBUFFERED="1", PYTHONFAULTHANDLER="1")
    with log.open("wb") as out:
        process = subprocess.Popen(
            _command(name, port),
            cwd=HERE,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _, worker_line, workers = SERVERS[name]
    try:
        _wait_until_listening(port, process, log)
        try:
            yield Server(name, port, log, worker_line, workers, process)
        except Exception:
            if process.poll() is not None:
                # Say that the server died, and how, rather than only what the client saw.
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-80:])
                pytest.fail(f"the server exited with {process.returncode} during the run:\n{tail}")
            raise
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
