"""Soak test: a gunicorn-served Hermetic app on Redis server-side sessions, for minutes.

Not run in CI. Starts its own ``redis-server`` on a free port (never the
shared 6379) and gunicorn (``--workers``, default 2) serving a Hermetic app
with server-side sessions, CSRF, login and rate limits on that Redis; a
second process drives it over loopback with ``--clients`` threads (default
8), each a logged-in user doing ``GET /me``, a CSRF-protected form post and
an anonymous page, for ``--duration`` seconds (default 180). It stops by
itself and reports requests per second, p50/p99 latency, errors (anything
but 2xx/3xx, and client errors) and each worker's RSS at the start and the
end::

    .venv/bin/python bench/soak.py                 # 3 minutes
    .venv/bin/python bench/soak.py --duration 30   # a quick look
    .venv/bin/python bench/soak.py --json          # machine-readable

Needs ``redis-server`` on the PATH and gunicorn (the ``test`` extra).
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import multiprocessing
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.parse
from http.cookies import SimpleCookie
from pathlib import Path

APP_SOURCE = """
import os

from hermetic import Hermetic, redirect, render_template_string
from hermetic.security.auth import UserMixin, current_user, login_required, login_user
from hermetic.security.csrf import csrf_token
from hermetic.security.policy import public
from hermetic.security.ratelimit import rate_limit

app = Hermetic(__name__)
app.config.update(
    SECRET_KEY=os.environ["SOAK_SECRET_KEY"],
    HERMETIC_REDIS_URL=os.environ["SOAK_REDIS_URL"],
    SESSION_SERVER_SIDE=True,
    SESSION_COOKIE_SECURE=False,
    REMEMBER_COOKIE_SECURE=False,
)


class User(UserMixin):
    def __init__(self, uid):
        self.id = uid


app.login_manager.user_loader(lambda uid: User(uid))
PAGE = "<form method=post><input name=csrf_token value={{ csrf_token() }}></form>"


@app.get("/")
@public
def home():
    return render_template_string(PAGE)


@app.post("/login/<uid>")
@public
def login(uid):
    login_user(User(uid), remember=True)
    return redirect("/me")


@app.get("/me")
@login_required
def me():
    return {"user": current_user.get_id(), "csrf": csrf_token()}


@app.post("/comment")
@login_required
@rate_limit("100000/minute")
def comment():
    return {"ok": True}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until(check, seconds: float, what: str) -> None:
    end = time.monotonic() + seconds
    while not check():
        if time.monotonic() > end:
            raise SystemExit(f"soak: timed out waiting for {what}")
        time.sleep(0.05)


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return sorted(int(p) for p in f.read().split())
    except OSError:
        return []


# -- the load process ----------------------------------------------------------


class _Client:
    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form=None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Accept": "application/json"}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        for header in response.headers.get_all("Set-Cookie") or ():
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response.status, data


def _user_loop(port: int, uid: str, until: float, out: list, errors: collections.Counter) -> None:
    user, visitor = _Client(port), _Client(port)
    clock = time.perf_counter
    csrf = None
    step = 0
    while time.monotonic() < until:
        started = clock()
        try:
            if csrf is None:
                status, page = user.request("GET", "/")
                token = re.search(rb"value=([\w-]+)", page).group(1).decode()
                status, _ = user.request("POST", f"/login/{uid}", form={"csrf_token": token})
                status, body = user.request("GET", "/me")
                csrf = json.loads(body)["csrf"] if status == 200 else None
            elif step % 3 == 0:
                status, body = user.request("GET", "/me")
            elif step % 3 == 1:
                status, body = user.request("POST", "/comment", form={"csrf_token": csrf})
            else:
                status, body = visitor.request("GET", "/")
        except (OSError, http.client.HTTPException) as e:
            errors[type(e).__name__] += 1
            continue
        out.append(clock() - started)
        if status >= 400:
            errors[str(status)] += 1
            csrf = None  # log in again
        step += 1


def _load(port: int, clients: int, duration: float, conn) -> None:
    until = time.monotonic() + duration
    results: list[list[float]] = [[] for _ in range(clients)]
    errors: collections.Counter = collections.Counter()
    threads = [
        threading.Thread(target=_user_loop, args=(port, f"u{i}", until, results[i], errors))
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    conn.send(([x for r in results for x in r], dict(errors)))
    conn.close()


# -- the servers ---------------------------------------------------------------


def _percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=180.0, help="seconds (default 180)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--clients", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        raise SystemExit("soak: redis-server is not installed")
    workdir = Path(tempfile.mkdtemp(prefix="hermetic-soak-"))
    (workdir / "soakapp.py").write_text(textwrap.dedent(APP_SOURCE))
    redis_port, http_port = _free_port(), _free_port()
    redis = subprocess.Popen(
        [redis_server, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", ""]
        + ["--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = dict(
        os.environ,
        SOAK_SECRET_KEY=secrets.token_urlsafe(48),
        SOAK_REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
    )
    log = open(workdir / "gunicorn.log", "wb")
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(args.workers), "--bind"]
        + [f"127.0.0.1:{http_port}", "--chdir", str(workdir), "soakapp:app"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:

        def up() -> bool:
            try:
                return _Client(http_port).request("GET", "/")[0] == 200
            except OSError:
                return False

        _wait_until(lambda: len(_children(gunicorn.pid)) == args.workers and up(), 30, "gunicorn")
        # Warm-up: each worker imports, checks its config and opens its pools.
        for _ in range(20 * args.workers):
            up()
        workers = _children(gunicorn.pid)
        rss_start = {pid: _rss_kib(pid) for pid in workers}
        print(
            f"soak: {args.duration:g} s, {args.workers} workers, {args.clients} clients,"
            f" redis on {redis_port}, app on {http_port}",
            file=sys.stderr,
        )
        receiver, sender = multiprocessing.Pipe(duplex=False)
        loader = multiprocessing.Process(
            target=_load, args=(http_port, args.clients, args.duration, sender)
        )
        started = time.monotonic()
        loader.start()
        latencies, errors = receiver.recv()
        loader.join()
        elapsed = time.monotonic() - started
        rss_end = {pid: _rss_kib(pid) for pid in workers}
        same_workers = _children(gunicorn.pid) == workers
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        try:
            gunicorn.wait(timeout=15)
        except subprocess.TimeoutExpired:
            gunicorn.kill()
        log.close()
        redis.kill()
        redis.wait()
    latencies.sort()
    text = (workdir / "gunicorn.log").read_text(errors="replace")
    result = {
        "duration_s": round(elapsed, 1),
        "requests": len(latencies),
        "req_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(_percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(_percentile(latencies, 99) * 1000, 2),
        "errors": errors,
        "tracebacks_in_log": text.count("Traceback"),
        "same_workers": same_workers,
        "worker_rss_kib_start": list(rss_start.values()),
        "worker_rss_kib_end": list(rss_end.values()),
    }
    shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
