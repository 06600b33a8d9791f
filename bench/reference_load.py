"""Load the reference system over loopback: login page, a logged-in page, an API read and write.

Starts identity, api and web (``examples/reference``) -- with the example's own
runner (Werkzeug's threaded server, as ``./scripts/example``) or under
gunicorn -- on SQLite and in-memory stores, or on the PostgreSQL and Redis
that ``DATABASE_URL`` and ``HERMETIC_REDIS_URL`` name; or targets a system
already running (``--url``). It signs a user in through web (identity's login
form, the OAuth code flow back to web), gets an api token for that user the
way web does (client credentials, code, grant, user token), then drives four
scenarios with ``wrk`` (Debian's package) from a second process and prints,
per scenario, requests/s, p50 and p99 latency, errors (an unexpected status
or body, socket errors), 429s apart, and the CPU time the services spent per
request. Run it with the repository's venv::

    .venv/bin/python bench/reference_load.py                 # 10 s per scenario
    .venv/bin/python bench/reference_load.py --server gunicorn --workers 2 -d 5
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import typing as t
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from examples.reference.testing import Browser, http_sender  # noqa: E402

SCENARIOS = ("login", "page", "api-read", "api-write")
SERVERS = ("werkzeug", "gunicorn")
#: api's user tokens live 120 s (identity's USER_TOKEN_TTL): one per scenario.
MAX_API_SECONDS = 100.0
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}
NOTE_TITLE = "Load test note"

LOAD_RUN_NOTE = (
    "rate limits: off for the run (REFERENCE_LOAD_RUN=1 on the system this script"
    " starts): api allows 120 reads and 30 writes a minute per user and identity 10"
    " login pages a minute per address, so one user at thousands of requests/s would"
    " measure the 429 path; the same setting turns off api's one-use token check"
    " (web mints a token per call; wrk replays one)."
)
TARGET_NOTE = (
    "rate limits: those of the running system. Start it with REFERENCE_LOAD_RUN=1"
    " (development only) or expect 429s and, on api, 401s for the replayed token."
)

# Counts the answers that are not the scenario's (status, and a marker in the
# body when given); 429s apart. wrk runs the Lua of each thread apart: done()
# sums the threads' counters.
LUA = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) unexpected = 0; limited = 0; statuses = "" end
local expect = %(expect)d
local marker = %(marker)s
%(request)s
function response(status, headers, body)
  if status == 429 then
    limited = limited + 1
  elseif status ~= expect or (marker and not string.find(body, marker, 1, true)) then
    unexpected = unexpected + 1
    if not string.find(statuses .. " ", " " .. status .. " ", 1, true) then
      statuses = statuses .. " " .. status
    end
  end
end
function done(summary, latency, requests)
  local u, l, s = 0, 0, ""
  for _, thread in ipairs(threads) do
    u = u + thread:get("unexpected"); l = l + thread:get("limited"); s = s .. thread:get("statuses")
  end
  io.write(string.format("UNEXPECTED %%d\\nLIMITED %%d\\nSTATUSES%%s\\n", u, l, s))
end
"""
LUA_POST = """
wrk.method = "POST"
wrk.body = %s
wrk.headers["Content-Type"] = "application/json"
"""


@dataclass
class Scenario:
    name: str
    label: str
    url: str
    expect: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    marker: str | None = None


@dataclass
class Result:
    scenario: str
    request: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    socket_errors: int
    limited: int
    cpu_us: float | None
    statuses: str = ""  # the statuses of the unexpected answers
    socket_kinds: str = ""  # wrk's "connect 0, read 0, write 0, timeout 0"


@dataclass
class Target:
    web: str
    identity: str
    api: str
    email: str
    password: str
    client_secret: str
    sessions: list[int] = field(default_factory=list)  # the services' process sessions


def fail(cause: str, fix: str) -> t.NoReturn:
    sys.exit(f"error: {cause}\nFix: {fix}")


# -- starting the system ------------------------------------------------------------------


def free_base_port() -> int:
    """Return a port such that it and the next two are free on loopback."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = int(s.getsockname()[1])
        if base > 65000:
            continue
        ok = True
        for port in (base + 1, base + 2):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
        if ok:
            return base
    fail("no three consecutive free ports on loopback", "stop some servers and run again")


def system_environment(base: int, instance: str) -> dict[str, str]:
    """The environment of the three services: the launcher's, plus the load-run settings."""
    from examples.reference.run import environment

    env = environment("127.0.0.1", base, instance)
    # The launcher keeps the embedded defaults; a load run may ask for the real ones.
    for name in ("DATABASE_URL", "HERMETIC_REDIS_URL"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    env["REFERENCE_LOAD_RUN"] = "1"
    # Own keys in a shared Redis; nothing of another run is read or removed.
    env["HERMETIC_STORE_PREFIX"] = f"refload:{secrets.token_hex(4)}:"
    env["DATABASE_AUTO_MIGRATE"] = "0"  # migrated once below, not by every worker
    return env


def seed(env: dict[str, str]) -> tuple[str, str]:
    """Migrate the databases and make a user of our own with a few notes; return its login."""
    saved = dict(os.environ)
    os.environ.update(env)
    os.environ["DATABASE_AUTO_MIGRATE"] = "1"
    try:
        from examples.reference.api import create_app as create_api
        from examples.reference.api.models import Member, Note
        from examples.reference.common.db import session
        from examples.reference.identity import create_app as create_identity
        from examples.reference.identity.accounts import create_user

        email = f"load-{secrets.token_hex(4)}@example.com"
        password = secrets.token_urlsafe(18)
        identity, api = create_identity(), create_api()
        with identity.app_context():
            sub = create_user(email, "Load Tester", password).get_id()
        with api.app_context():
            db = session()
            member = Member(sub=sub, email=email)
            db.add(member)
            db.add_all(
                Note(owner=member, title=f"{NOTE_TITLE} {i}", body="x" * 200) for i in range(5)
            )
            db.commit()
        return email, password
    finally:
        os.environ.clear()
        os.environ.update(saved)


def server_command(service: str, port: int, args: argparse.Namespace) -> list[str]:
    if args.server == "werkzeug":
        return [
            sys.executable, "-m", "examples.reference.serve", service,
            "--host", "127.0.0.1", "--port", str(port),
        ]  # fmt: skip
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if not gunicorn.exists():
        fail("gunicorn is not installed in this venv", f"{sys.executable} -m pip install gunicorn")
    # As deploy/Dockerfile runs each service (threads: keep-alive connections).
    return [
        str(gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
        "--threads", str(args.threads), "--preload", "--log-level", "warning",
        f"examples.reference.{service}:create_app()",
    ]  # fmt: skip


def wait_healthy(url: str, process: subprocess.Popen[bytes], limit: float = 60.0) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            fail(f"the service at {url} exited ({process.returncode})", "read its log above")
        try:
            with opener.open(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    fail(f"the service at {url} did not answer /healthz in {limit:.0f} s", "read its log above")


def start_system(
    args: argparse.Namespace, processes: list[subprocess.Popen[bytes]], instance: str
) -> Target:
    if args.server == "gunicorn" and args.workers > 1 and not os.environ.get("HERMETIC_REDIS_URL"):
        fail(
            f"{args.workers} gunicorn workers keep codes, grants and sessions in memory each,"
            " so a sign-in started on one worker fails on another",
            "set HERMETIC_REDIS_URL=redis://127.0.0.1:6379/<db>, or use --workers 1",
        )
    base = free_base_port()
    env = system_environment(base, instance)
    args.env = env  # for remove_own_keys at the end
    email, password = seed(env)
    for offset, service in enumerate(("web", "identity", "api")):
        child_env = dict(env, HERMETIC_SECRET_KEY=secrets.token_urlsafe(48))
        processes.append(
            subprocess.Popen(
                server_command(service, base + offset, args),
                cwd=ROOT,
                env=child_env,
                stdout=subprocess.DEVNULL,
                # The access log (one JSON line per request) would cost as much as the work.
                stderr=subprocess.DEVNULL if not args.verbose else None,
                start_new_session=True,
            )
        )
    urls = [env["WEB_URL"], env["IDENTITY_URL"], env["API_URL"]]
    for url, process in zip(urls, processes, strict=True):
        wait_healthy(url, process)
    return Target(
        *urls,
        email=email,
        password=password,
        client_secret=env["WEB_CLIENT_SECRET"],
        sessions=[p.pid for p in processes],
    )


def remove_own_keys(env: dict[str, str]) -> None:
    """Delete this run's keys (its random prefix only) from a shared Redis."""
    url, prefix = env.get("HERMETIC_REDIS_URL"), env.get("HERMETIC_STORE_PREFIX", "")
    if not url or not prefix.startswith("refload:"):
        return
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=500))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    except redis.RedisError as e:
        print(
            f"warning: could not remove this run's Redis keys ({type(e).__name__})", file=sys.stderr
        )
    finally:
        client.close()


def stop_system(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# -- signing in --------------------------------------------------------------------------


def _form(url: str, fields: dict[str, str], auth: str) -> dict[str, t.Any]:
    status, _headers, body = http_sender()(
        "POST",
        url,
        {
            "Authorization": auth,
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
        urlencode(fields).encode(),
    )
    if status != 200:
        fail(f"POST {url} answered {status}: {body[:200]!r}", "check the client secret and URLs")
    return t.cast(dict[str, t.Any], json.loads(body))


def sign_in(target: Target) -> Browser:
    """Sign the user in at web (identity's form, the code flow); return the browser."""
    browser = Browser(http_sender())
    form = browser.get(target.web + "/auth/login")
    if form.status != 200 or "csrf_token" not in form.text:
        fail(
            f"web's sign-in did not reach identity's form ({form.url}, {form.status})",
            "check --url",
        )
    page = browser.submit(form, None, {"email": target.email, "password": target.password})
    if page.status != 200 or not page.url.startswith(target.web) or target.email not in page.text:
        fail(
            f"signing in as {target.email} ended at {page.url} ({page.status})",
            "check --email / REFERENCE_LOAD_PASSWORD",
        )
    return browser


def api_token(target: Target, browser: Browser) -> str:
    """Return a user token for api, got as web gets one (code, grant, user token)."""
    callback = target.web + "/auth/callback"
    query = urlencode(
        {"client_id": "web", "redirect_uri": callback, "state": secrets.token_urlsafe(24)}
    )
    answer = browser.get(f"{target.identity}/oauth/authorize?{query}", follow=False)
    location = answer.header("Location") or ""
    code = parse_qs(urlsplit(location).query).get("code", [""])[0]
    if answer.status != 302 or not code:
        fail(f"identity gave no authorization code ({answer.status})", "check --identity-url")
    basic = base64.b64encode(f"web:{quote(target.client_secret, safe='')}".encode()).decode()
    service = _form(
        target.identity + "/oauth/token", {"grant_type": "client_credentials"}, "Basic " + basic
    )["access_token"]
    bearer = "Bearer " + service
    grant = _form(
        target.identity + "/oauth/code", {"code": code, "redirect_uri": callback}, bearer
    )["grant"]
    token = _form(
        target.identity + "/oauth/user-token", {"grant": grant, "audience": "api"}, bearer
    )["access_token"]
    return str(token)


# -- the load ----------------------------------------------------------------------------


def _millis(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return float(match[1]) * _UNITS[match[2]]


def parse_wrk(output: str) -> dict[str, t.Any]:
    """Read requests/s, p50/p99 (ms), requests, socket errors and the Lua counters."""

    def number(pattern: str) -> str:
        match = re.search(pattern, output, re.M)
        if match is None:
            raise ValueError(f"wrk's output has no {pattern!r}:\n{output}")
        return match[1]

    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "rps": float(number(r"Requests/sec:\s+([\d.]+)")),
        "p50": _millis(number(r"^\s+50%\s+(\S+)")),
        "p99": _millis(number(r"^\s+99%\s+(\S+)")),
        "requests": int(number(r"(\d+) requests in")),
        "socket": sum(int(n) for n in sockets.groups()) if sockets else 0,
        "socket_kinds": sockets[0].removeprefix("Socket errors: ") if sockets else "",
        "unexpected": int(number(r"^UNEXPECTED (\d+)")),
        "limited": int(number(r"^LIMITED (\d+)")),
        # The statuses of the unexpected answers (the page's content: its status).
        "statuses": " ".join(sorted(set(re.findall(r"\d+", number(r"^STATUSES(.*)$"))))),
    }


def lua_script(scenario: Scenario, folder: str) -> str:
    request = LUA_POST % json.dumps(scenario.body) if scenario.body is not None else ""
    marker = json.dumps(scenario.marker) if scenario.marker else "nil"
    path = os.path.join(folder, f"{scenario.name}.lua")
    with open(path, "w", encoding="utf-8") as f:
        f.write(LUA % {"expect": scenario.expect, "marker": marker, "request": request})
    return path


def run_wrk(scenario: Scenario, seconds: float, args: argparse.Namespace, script: str) -> str:
    command = ["wrk", "--latency", "-t", str(args.wrk_threads), "-c", str(args.connections)]
    command += ["-d", f"{max(1, round(seconds))}s", "--timeout", f"{args.timeout:g}s", "-s", script]
    for key, value in scenario.headers.items():
        command += ["-H", f"{key}: {value}"]
    command.append(scenario.url)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        fail(f"wrk failed on {scenario.name}: {done.stderr.strip()}", "read wrk's message")
    return done.stdout


def session_cpu_seconds(sessions: t.Collection[int]) -> float:
    """Return the CPU time (user + system) of every process in ``sessions``."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) in sessions:  # session: field 6; utime, stime: 14, 15 (proc(5))
            total += int(fields[11]) + int(fields[12])
    return total / tick


def scenarios(target: Target, browser: Browser, wanted: list[str]) -> t.Iterator[Scenario]:
    """Yield the scenarios, each with what it needs made just before it runs."""
    for name in wanted:
        if name == "login":
            yield Scenario(
                name, "GET identity /login", target.identity + "/login", 200, marker="csrf_token"
            )
        elif name == "page":
            cookie = f"web_session={browser.cookies['web_session']}"
            yield Scenario(
                name, "GET web / (session cookie)", target.web + "/", 200,
                headers={"Cookie": cookie}, marker=target.email,
            )  # fmt: skip
        elif name == "api-read":
            auth = {"Authorization": "Bearer " + api_token(target, browser)}
            yield Scenario(
                name, "GET api /v1/notes (bearer)", target.api + "/v1/notes?page=1&per_page=10",
                200, headers=auth, marker=NOTE_TITLE,
            )  # fmt: skip
        elif name == "api-write":
            auth = {"Authorization": "Bearer " + api_token(target, browser)}
            body = json.dumps({"title": "Written under load", "body": "bench/reference_load.py"})
            yield Scenario(
                name, "POST api /v1/notes JSON (bearer)", target.api + "/v1/notes", 201,
                headers=auth, body=body,
            )  # fmt: skip


def measure(target: Target, args: argparse.Namespace, folder: str) -> list[Result]:
    browser = sign_in(target)
    results = []
    for scenario in scenarios(target, browser, args.scenarios):
        script = lua_script(scenario, folder)
        if args.warmup > 0:
            run_wrk(scenario, args.warmup, args, script)
        cpu_before = session_cpu_seconds(target.sessions) if target.sessions else 0.0
        got = parse_wrk(run_wrk(scenario, args.duration, args, script))
        cpu = session_cpu_seconds(target.sessions) - cpu_before if target.sessions else None
        requests = int(got["requests"])
        cpu_us = cpu / requests * 1e6 if cpu is not None and requests else None
        result = Result(
            scenario.name, scenario.label, got["rps"], got["p50"], got["p99"], requests,
            int(got["unexpected"] + got["socket"]), int(got["socket"]), int(got["limited"]), cpu_us,
            str(got["statuses"]), str(got["socket_kinds"]),
        )  # fmt: skip
        results.append(result)
        print(f"  {scenario.name:9} {result.rps:8.0f} req/s", file=sys.stderr)
    return results


def describe(args: argparse.Namespace, load_before: float) -> dict[str, t.Any]:
    # Other work on the machine moves every figure: say how busy it was.
    machine = f"{os.cpu_count()} CPUs, load average {load_before:.1f} before the run"
    if args.url:
        return {"system": args.url, "machine": machine, "note": TARGET_NOTE}
    database = os.environ.get("DATABASE_URL", "")
    server = (
        f"gunicorn, {args.workers} worker(s) x {args.threads} threads per service"
        if args.server == "gunicorn"
        else "the example's runner (Werkzeug, threaded), one process per service"
    )
    return {
        "system": server,
        "database": urlsplit(database).scheme.split("+")[0] if database else "sqlite",
        "store": "redis" if os.environ.get("HERMETIC_REDIS_URL") else "memory",
        "machine": machine,
        "note": LOAD_RUN_NOTE,
    }


def render(results: list[Result], info: dict[str, t.Any], args: argparse.Namespace) -> str:
    lines = [value if key == "note" else f"{key}: {value}" for key, value in info.items()]
    lines.append(
        f"load: wrk, {args.connections} connections, {args.wrk_threads} thread(s),"
        f" {args.duration:g} s per scenario after a {args.warmup:g} s warm-up,"
        f" a request lost after {args.timeout:g} s"
    )
    lines.append(
        f"{'scenario':9} {'request':34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'errors':>6} {'429s':>6} {'cpu us/req':>10}"
    )
    for r in results:
        cpu = f"{r.cpu_us:10.0f}" if r.cpu_us is not None else f"{'-':>10}"
        lines.append(
            f"{r.scenario:9} {r.request:34} {r.rps:8.0f} {r.p50_ms:8.2f} {r.p99_ms:8.2f}"
            f" {r.errors:6d} {r.limited:6d} {cpu}"
        )
    for r in results:
        if r.errors:
            lines.append(
                f"{r.scenario} errors: socket errors: {r.socket_kinds or 'none'};"
                f" unexpected answers' statuses: {r.statuses or '-'}"
            )
    lines.append(
        "errors: answers other than the scenario's (status, page content) and socket"
        " errors; 429s apart. cpu: all processes of the three services (not PostgreSQL's"
        " or Redis's), per request."
    )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-d", "--duration", type=float, default=10.0, help="seconds per scenario")
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="seconds before each, not counted"
    )
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("-c", "--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument(
        "--timeout", type=float, default=5.0, help="seconds before wrk counts a request lost"
    )
    parser.add_argument("--server", choices=SERVERS, default="werkzeug")
    parser.add_argument("-w", "--workers", type=int, default=1, help="gunicorn workers per service")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--url", help="a running system's web URL (default: start one)")
    parser.add_argument("--identity-url", help="default: --url's port + 1")
    parser.add_argument("--api-url", help="default: --url's port + 2")
    parser.add_argument("--email", help="the user to sign in as, with --url")
    parser.add_argument("--json", action="store_true", help="machine-readable results")
    parser.add_argument("-v", "--verbose", action="store_true", help="show the services' logs")
    args = parser.parse_args(argv)
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario: {', '.join(sorted(unknown))}; use {', '.join(SCENARIOS)}")
    if args.duration <= 0 or args.warmup < 0:
        parser.error("--duration must be positive and --warmup not negative")
    if args.warmup + args.duration > MAX_API_SECONDS:
        parser.error(
            f"--warmup + --duration must be at most {MAX_API_SECONDS:g} s (api tokens live 120 s)"
        )
    if args.url and not args.email:
        parser.error("--url needs --email (and REFERENCE_LOAD_PASSWORD, WEB_CLIENT_SECRET)")
    return args


def running_target(args: argparse.Namespace) -> Target:
    web = args.url.rstrip("/")
    parts = urlsplit(web)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    password = os.environ.get("REFERENCE_LOAD_PASSWORD")
    secret = os.environ.get("WEB_CLIENT_SECRET")
    if not password or not secret:
        fail(
            "a running system needs the user's password and web's client secret",
            "set REFERENCE_LOAD_PASSWORD and WEB_CLIENT_SECRET in the environment",
        )
    return Target(
        web,
        (args.identity_url or f"{parts.scheme}://{parts.hostname}:{port + 1}").rstrip("/"),
        (args.api_url or f"{parts.scheme}://{parts.hostname}:{port + 2}").rstrip("/"),
        args.email,
        password,
        secret,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        fail("wrk is not installed", "apt-get install wrk")
    load_before = os.getloadavg()[0]
    processes: list[subprocess.Popen[bytes]] = []
    folder = tempfile.mkdtemp(prefix="hermetic-refload-")
    try:
        print("starting the reference system..." if not args.url else "", file=sys.stderr)
        target = running_target(args) if args.url else start_system(args, processes, folder)
        results = measure(target, args, folder)
    finally:
        stop_system(processes)
        remove_own_keys(getattr(args, "env", {}))
        shutil.rmtree(folder, ignore_errors=True)
    info = describe(args, load_before)
    if args.json:
        print(json.dumps({**info, "results": [asdict(r) for r in results]}, indent=2))
    else:
        print(render(results, info, args))
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
