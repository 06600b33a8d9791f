"""Requests per second over real HTTP: each framework under real WSGI servers.

For every server (granian WSGI with its default blocking threads, granian
with ``--blocking-threads 1``, gunicorn sync, gunicorn gthread) and every
framework (hermetic, Hermetic with its default shields, Flask, Bottle,
Falcon) one server process with one worker is started on a free loopback
port, each route's answer is checked, then ``wrk`` (Debian's package) loads
each route from a second process and the script prints requests/s, p50 and
p99 latency, the server's CPU per request and the ratio to Flask measured in
the same run.

``web-hermetic`` and ``web-stack`` serve ``web_profile.py``'s logged-in page
(route ``page``): the script logs in over HTTP through each app's own login
view, checks the page (greeting, CSRF token, CSP nonce, security and rate
limit headers), then loads it with that session cookie; the ratio of
``web-hermetic`` is to ``web-stack`` (Flask + Flask-Login, -WTF, -Talisman,
-Limiter). The closing ``target`` lines are issue 13's: hello >= 2.5x
Flask, page >= 3x the stack, per server.

Run through ``bench/run http_load.py``; ``wrk`` must be installed
(``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlencode

from wsgi_hello import GET_ROUTES, ROUTES

HERE = Path(__file__).resolve().parent
FRAMEWORKS = (
    "hermetic",
    "hermetic-secure",
    "flask",
    "bottle",
    "falcon",
    "web-hermetic",
    "web-stack",
)
#: The web profile's two sides: they serve the logged-in page only.
WEB_FRAMEWORKS = ("web-hermetic", "web-stack")
SERVERS = ("granian", "granian-1thread", "gunicorn-sync", "gunicorn-gthread")
#: Issue 13's goals over HTTP: (route, framework, baseline, least ratio of req/s).
TARGETS = (("hello", "hermetic", "flask", 2.5), ("page", "web-hermetic", "web-stack", 3.0))
USER_AGENT = "bench-http"
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass
class Result:
    server: str
    framework: str
    route: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_us: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_command(server: str, port: int, workers: int) -> list[str]:
    """Return the command line that serves ``_serve:app`` on ``port``."""
    bind = f"127.0.0.1:{port}"
    bindir = Path(sys.executable).parent
    if server.startswith("granian"):
        command = [
            str(bindir / "granian"), "--interface", "wsgi", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers), "--no-ws",
            "--log-level", "warning", "_serve:app",
        ]  # fmt: skip
        if server == "granian-1thread":
            # One Python thread per worker: no GIL hand-offs between granian's
            # blocking threads (see bench/README.md, "Over HTTP").
            command[-1:-1] = ["--blocking-threads", "1"]
        return command
    worker_class = "sync" if server == "gunicorn-sync" else "gthread"
    command = [
        str(bindir / "gunicorn"), "--bind", bind, "--workers", str(workers),
        "--worker-class", worker_class, "--log-level", "warning", "_serve:app",
    ]  # fmt: skip
    if worker_class == "gthread":
        command[-1:-1] = ["--threads", "4"]
    return command


def wait_ready(port: int, process: subprocess.Popen[bytes], limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answers (the web profile's page wants a login)
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not answer within {limit:.0f} s")


def check_page_over_http(port: int, cookie: str) -> str:
    """Stop the run unless the logged-in page is served whole for ``cookie``.

    Return the page's ``Set-Cookie`` lines (one per line). Called after the
    load too: wrk does not count a redirect to the login form as an error.
    """
    from web_profile import check_page

    connection = HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/", headers={"Cookie": cookie, "User-Agent": USER_AGENT})
        answer = connection.getresponse()
        body = answer.read()
        headers = {k.lower(): v for k, v in answer.getheaders() if k.lower() != "set-cookie"}
        problem = check_page(f"{answer.status} {answer.reason}", headers, body)
    finally:
        connection.close()
    if problem:
        raise RuntimeError(f"logged-in page: {problem}")
    return "\n".join(answer.headers.get_all("Set-Cookie") or [])


def log_in(port: int) -> str:
    """Log in through the web profile's own view over HTTP; return the Cookie header.

    One page view follows, as a browser's would, and must pass
    ``web_profile.check_page``; its refreshed cookies are kept.
    """
    from web_profile import USER_ID, cookie_header, cookies_from

    jar: dict[str, str] = {}
    connection = HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(
            "POST",
            "/login",
            urlencode({"user": USER_ID}),
            {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": USER_AGENT},
        )
        answer = connection.getresponse()
        answer.read()
    finally:
        connection.close()
    if answer.status != 303:
        raise RuntimeError(f"login answered {answer.status}")
    cookies_from("\n".join(answer.headers.get_all("Set-Cookie") or []), jar)
    cookies_from(check_page_over_http(port, cookie_header(jar)), jar)
    return cookie_header(jar)


def verify(port: int, routes: list[str], framework: str) -> None:
    """Stop the run unless every route answers 200 with the expected body."""
    for name in routes:
        route = ROUTES[name]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{route.path}", timeout=5) as r:
            body = r.read()
            ctype = r.headers.get("Content-Type", "")
            if r.status != 200 or not ctype.startswith(route.content_type):
                raise RuntimeError(f"{framework} {name}: {r.status} {ctype!r}")
            if not route.check_body(body):
                raise RuntimeError(f"{framework} {name}: unexpected body {body[:80]!r}")


def _millis(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return float(match[1]) * _UNITS[match[2]]


def parse_wrk(output: str) -> tuple[float, float, float, int]:
    """Return requests/s, p50 and p99 in ms, and the error count from wrk's output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])  # type: ignore[index]
    p50 = _millis(re.search(r"^\s+50%\s+(\S+)", output, re.M)[1])  # type: ignore[index]
    p99 = _millis(re.search(r"^\s+99%\s+(\S+)", output, re.M)[1])  # type: ignore[index]
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non2xx:
        errors += int(non2xx[1])
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket_errors:
        # A sync worker closes every connection after its answer: wrk counts
        # those as read errors on reconnect; connect/write/timeout are real.
        errors += int(socket_errors[1]) + int(socket_errors[3]) + int(socket_errors[4])
    return rps, p50, p99, errors


def session_cpu_seconds(session: int) -> float:
    """Return the CPU time (user + system) of every process in a session."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command: state is field 3, session 6,
        # utime 14, stime 15 (1-based, as in proc(5)).
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == session:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def load(
    port: int, path: str, duration: float, connections: int, threads: int, cookie: str = ""
) -> str:
    command = [
        "wrk", "--latency", "-t", str(threads), "-c", str(connections),
        "-d", f"{duration:g}s", "-H", f"User-Agent: {USER_AGENT}",
    ]  # fmt: skip
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    command.append(f"http://127.0.0.1:{port}{path}")
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def run_one(server: str, framework: str, args: argparse.Namespace) -> list[Result]:
    port = free_port()
    # Keep a PYTHONPATH given to the script (an older hermetic to compare with).
    path = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, BENCH_FRAMEWORK=framework, PYTHONPATH=path)
    for key in ("HERMETIC_REDIS_URL", "REDIS_URL"):
        env.pop(key, None)
    process = subprocess.Popen(
        server_command(server, port, args.workers),
        cwd=HERE,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_ready(port, process)
        cookie = ""
        if framework in WEB_FRAMEWORKS:
            routes = ["page"]
            cookie = log_in(port)
        else:
            routes = args.routes
            verify(port, routes, framework)
        results = []
        for name in routes:
            path = "/" if name == "page" else ROUTES[name].path
            load(port, path, min(1.0, args.duration), args.connections, args.threads, cookie)
            cpu_before = session_cpu_seconds(process.pid)
            output = load(port, path, args.duration, args.connections, args.threads, cookie)
            cpu = session_cpu_seconds(process.pid) - cpu_before
            rps, p50, p99, errors = parse_wrk(output)
            if cookie:
                check_page_over_http(port, cookie)
            served = rps * args.duration
            cpu_us = cpu / served * 1e6 if served else float("nan")
            results.append(Result(server, framework, name, rps, p50, p99, errors, cpu_us))
            print(f"  {server:17} {framework:16} {name:6} {rps:9.0f} req/s", file=sys.stderr)
        return results
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def render(results: list[Result]) -> str:
    flask = {(r.server, r.route): r for r in results if r.framework in ("flask", "web-stack")}
    lines = [
        f"{'server':17} {'route':6} {'framework':16} {'req/s':>9} {'p50 ms':>8}"
        f" {'p99 ms':>8} {'errors':>6} {'vs flask':>8} {'cpu us/req':>10} {'cpu vs flask':>12}"
    ]
    for r in results:
        base = flask.get((r.server, r.route))
        ratio = f"{r.rps / base.rps:8.2f}" if base else f"{'-':>8}"
        cpu_ratio = f"{r.cpu_us / base.cpu_us:12.2f}" if base and base.cpu_us else f"{'-':>12}"
        lines.append(
            f"{r.server:17} {r.route:6} {r.framework:16} {r.rps:9.0f} {r.p50_ms:8.2f}"
            f" {r.p99_ms:8.2f} {r.errors:6d} {ratio} {r.cpu_us:10.1f} {cpu_ratio}"
        )
    for route, framework, baseline, goal in TARGETS:
        by = {(r.server, r.framework): r for r in results if r.route == route}
        for server in dict.fromkeys(r.server for r in results):
            ours, theirs = by.get((server, framework)), by.get((server, baseline))
            if ours is None or theirs is None or not theirs.rps:
                continue
            ratio = ours.rps / theirs.rps
            verdict = "met" if ratio >= goal else "MISSED"
            lines.append(
                f"target {server:17} {route:5} {framework}/{baseline} req/s"
                f" {ratio:5.2f} (goal >= {goal:g}) {verdict}"
            )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-f", "--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("-s", "--servers", default=",".join(SERVERS))
    parser.add_argument("--routes", default="hello,json,user")
    parser.add_argument("-d", "--duration", type=float, default=8.0, help="seconds per route")
    parser.add_argument("-c", "--connections", type=int, default=32)
    parser.add_argument("-t", "--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("-w", "--workers", type=int, default=1, help="server workers")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    args.frameworks = [f for f in args.frameworks.split(",") if f]
    args.servers = [s for s in args.servers.split(",") if s]
    args.routes = [r for r in args.routes.split(",") if r]
    for value, known, what in (
        (args.frameworks, FRAMEWORKS, "framework"),
        (args.servers, SERVERS, "server"),
        (args.routes, GET_ROUTES, "route"),
    ):
        unknown = set(value) - set(known)
        if unknown:
            parser.error(f"unknown {what}: {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("error: wrk is not installed. Fix: apt-get install wrk")
    results: list[Result] = []
    for server in args.servers:
        for framework in args.frameworks:
            results.extend(run_one(server, framework, args))
    if args.json:
        print(json.dumps([r.__dict__ for r in results], indent=2))
    else:
        print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
