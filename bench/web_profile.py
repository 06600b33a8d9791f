"""Compare hermetic's secure web profile with Flask and its security extensions.

The work is the same on both sides: a logged-in user's page that reads the
session, renders a template with a CSRF token in a form and CSP nonces,
under a rate limit, with the security headers (CSP with nonce, HSTS,
nosniff, frame options, referrer policy); and the form's POST with its CSRF
token. hermetic does it with ``hermetic.Hermetic`` (encrypted session,
``csrf_token()``, ``csp_nonce()``, ``current_user``, ``@rate_limit``); the
stack with real Flask 3.1.3, Flask-Login, Flask-WTF, Flask-Talisman and
Flask-Limiter. The WSGI callable is invoked in-process, as in
``wsgi_hello.py``. Run through ``bench/run web_profile.py``.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import logging
import os
import platform
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from wsgi_hello import baseline_app, check_environment, start_response

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

BASE_URL = "https://localhost/"
SECRET_KEY = "bench-3f9c1a7e5d2b8046c1e9a7f3b5d2c8e0a4f6b1d9"
USER_ID = "42"
USER_NAME = "Ada"
#: High enough never to trip during a run (a block serves ~10**5 requests a
#: minute per framework), low enough to be counted like any real limit.
RATE_LIMIT = "100000000/minute"
TARGET = 1 / 8

# The same page for both sides: each stack provides csp_nonce(), csrf_token()
# and current_user to templates.
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Notes</title>
<style nonce="{{ csp_nonce() }}">body { font-family: sans-serif; }</style>
</head>
<body>
<h1>Hello, {{ current_user.name }}</h1>
<form method="post" action="{{ url_for('save') }}">
<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
<input name="title" required>
<button>Save</button>
</form>
<script nonce="{{ csp_nonce() }}">document.forms[0].title.focus();</script>
</body>
</html>
"""
# What the headers promise on both sides (hermetic's defaults, matched on Talisman).
CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}
PERMISSIONS = (
    "accelerometer camera display-capture geolocation gyroscope hid magnetometer"
    " microphone midi payment serial usb xr-spatial-tracking"
).split()
HSTS_MAX_AGE = 63072000

_NONCE_RE = re.compile(rb'<script nonce="([^"]+)">')
_TOKEN_RE = re.compile(rb'name="csrf_token" value="([^"]+)"')


# -- the apps ---------------------------------------------------------------


def build_hermetic() -> WSGIApp:
    """Build the page with ``hermetic.Hermetic``: every protection on by default."""
    from jinja2 import DictLoader

    import hermetic
    from hermetic import redirect, render_template, request
    from hermetic.security.auth import UserMixin, login_required, login_user
    from hermetic.security.ratelimit import RateLimitShield, rate_limit

    app = hermetic.Hermetic(__name__)
    app.config.update(SECRET_KEY=SECRET_KEY, RATELIMIT_STORAGE_URI="memory://")
    app.jinja_loader = DictLoader({"page.html": PAGE})
    if app.shields is not None and app.shields.get("ratelimit") is None:
        RateLimitShield().init_app(app)  # not (yet) installed by Hermetic itself

    class User(UserMixin):
        def __init__(self, user_id: str, name: str) -> None:
            self.id = user_id
            self.name = name

    users = {USER_ID: User(USER_ID, USER_NAME)}

    @app.login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        return users.get(user_id)

    @app.post("/login")
    def login() -> Any:
        login_user(users[request.form["user"]])
        return redirect("/", 303)

    @app.get("/")
    @rate_limit(RATE_LIMIT)
    @login_required
    def page() -> str:
        return render_template("page.html")

    @app.post("/notes")
    @rate_limit(RATE_LIMIT)
    @login_required
    def save() -> Any:
        if not request.form.get("title", "").strip():
            return "A title is needed.", 400
        return redirect("/", 303)

    return app


def build_stack() -> WSGIApp:
    """Build the page with real Flask and its security extensions."""
    import flask
    from flask import redirect, render_template, request
    from flask_limiter import Limiter
    from flask_limiter.util import get_remote_address
    from flask_login import LoginManager, UserMixin, login_required, login_user
    from flask_talisman import Talisman
    from flask_wtf.csrf import CSRFProtect
    from jinja2 import DictLoader

    app = flask.Flask(__name__)
    app.config.update(SECRET_KEY=SECRET_KEY)
    app.jinja_loader = DictLoader({"page.html": PAGE})  # type: ignore[assignment]
    csrf = CSRFProtect(app)
    Talisman(
        app,
        content_security_policy=CSP,
        content_security_policy_nonce_in=["script-src", "style-src"],
        permissions_policy=dict.fromkeys(PERMISSIONS, "()"),
        frame_options="DENY",
        strict_transport_security_max_age=HSTS_MAX_AGE,
        referrer_policy="strict-origin-when-cross-origin",
    )
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri="memory://",
        strategy="fixed-window",
        headers_enabled=True,
    )
    login_manager = LoginManager(app)

    class User(UserMixin):
        def __init__(self, user_id: str, name: str) -> None:
            self.id = user_id
            self.name = name

    users = {USER_ID: User(USER_ID, USER_NAME)}

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        return users.get(user_id)

    @app.post("/login")
    @csrf.exempt
    def login() -> Any:
        login_user(users[request.form["user"]])
        return redirect("/", 303)

    @app.get("/")
    @limiter.limit(RATE_LIMIT)
    @login_required
    def page() -> str:
        return render_template("page.html")

    @app.post("/notes")
    @limiter.limit(RATE_LIMIT)
    @login_required
    def save() -> Any:
        if not request.form.get("title", "").strip():
            return "A title is needed.", 400
        return redirect("/", 303)

    return app


BUILDERS: dict[str, Callable[[], WSGIApp]] = {"hermetic": build_hermetic, "stack": build_stack}
#: What each side is made of (shown with the results).
DISTRIBUTIONS = {
    "hermetic": ("hermetic", "limits"),
    "stack": ("Flask", "Flask-Login", "Flask-WTF", "Flask-Talisman", "Flask-Limiter", "limits"),
}


# -- requests ---------------------------------------------------------------


@dataclass
class Prepared:
    """One benchmarked request of one framework: its environ, body and check."""

    environ: dict[str, Any]
    body: bytes | None
    check: Callable[[str, dict[str, str], bytes], str | None]


def make_environ(
    method: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> dict[str, Any]:
    """Return an environ like a WSGI server would pass, built by Werkzeug."""
    from werkzeug.test import create_environ

    return create_environ(
        path, BASE_URL, method=method, headers={"User-Agent": "bench", **headers}, data=body
    )


def call_once(
    app: WSGIApp, environ: dict[str, Any], body: bytes | None
) -> tuple[str, dict[str, str], bytes]:
    """Run one request and return its status, headers (lower-cased names) and body."""
    seen: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        seen["status"] = status
        seen["headers"] = {}
        for k, v in headers:
            key = k.lower()
            seen["headers"][key] = f"{seen['headers'][key]}\n{v}" if key in seen["headers"] else v

    env = environ.copy()
    if body is not None:
        env["wsgi.input"] = io.BytesIO(body)
    result = app(env, capture)
    try:
        data = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return seen["status"], seen["headers"], data


def cookies_from(set_cookie: str | None, jar: dict[str, str]) -> None:
    """Update ``jar`` with the ``name=value`` of each ``Set-Cookie`` line."""
    for line in (set_cookie or "").split("\n"):
        if not line:
            continue
        name, _, value = line.split(";", 1)[0].partition("=")
        if (
            value
            and "max-age=0" not in line.lower()
            and "expires=thu, 01 jan 1970" not in line.lower()
        ):
            jar[name.strip()] = value
        else:
            jar.pop(name.strip(), None)


def cookie_header(jar: dict[str, str]) -> str:
    """Return the ``Cookie`` header a browser would send for ``jar``."""
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def check_page(status: str, headers: dict[str, str], body: bytes) -> str | None:
    """Return what is wrong with a page response, or ``None``."""
    if not status.startswith("200") or not headers.get("content-type", "").startswith("text/html"):
        return f"status {status!r}, content-type {headers.get('content-type')!r}"
    if f"Hello, {USER_NAME}".encode() not in body:
        return "the page does not greet the logged-in user"
    nonce, token = _NONCE_RE.search(body), _TOKEN_RE.search(body)
    if nonce is None or token is None or len(token.group(1)) < 20:
        return "no script nonce or no CSRF token in the page"
    csp = headers.get("content-security-policy", "")
    if f"'nonce-{nonce.group(1).decode()}'" not in csp or "frame-ancestors 'none'" not in csp:
        return f"the CSP does not allow the page's nonce: {csp!r}"
    wanted = {
        "strict-transport-security": f"max-age={HSTS_MAX_AGE}",
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "strict-origin-when-cross-origin",
        "permissions-policy": "camera=()",
    }
    for name, part in wanted.items():
        if part not in headers.get(name, ""):
            return f"header {name}: {headers.get(name)!r}, expected {part!r} in it"
    if not any(name.endswith("ratelimit-limit") for name in headers):
        return "no rate limit header: is the limit counted?"
    return None


def check_saved(status: str, headers: dict[str, str], body: bytes) -> str | None:
    """Return what is wrong with the form POST's response, or ``None``."""
    location = headers.get("location", "")
    if not status.startswith("303") or not location.endswith("/"):
        return f"status {status!r}, location {location!r}"
    if not any(name.endswith("ratelimit-limit") for name in headers):
        return "no rate limit header: is the limit counted?"
    return None


def log_in(name: str, app: WSGIApp) -> tuple[dict[str, str], str]:
    """Log in through the app's own view; return the cookies and a page's CSRF token."""
    jar: dict[str, str] = {}
    login = make_environ(
        "POST",
        "/login",
        {"Content-Type": "application/x-www-form-urlencoded"},
        urlencode({"user": USER_ID}).encode(),
    )
    status, headers, body = call_once(app, login, None)
    if not status.startswith("303"):
        sys.exit(f"error: {name} login: got {status!r}, body {body[:300]!r}")
    cookies_from(headers.get("set-cookie"), jar)
    # One page view settles the session (CSRF secret made, cookie refreshed).
    status, headers, body = call_once(
        app, make_environ("GET", "/", {"Cookie": cookie_header(jar)}), None
    )
    problem = check_page(status, headers, body)
    if problem:
        sys.exit(f"error: {name} GET / after login: {problem}; body {body[:300]!r}")
    cookies_from(headers.get("set-cookie"), jar)
    token = _TOKEN_RE.search(body)
    assert token is not None
    return jar, token.group(1).decode()


def prepare(name: str, app: WSGIApp) -> dict[str, Prepared]:
    """Log in, build each case's environ, and refuse to go on if an answer is wrong."""
    jar, token = log_in(name, app)
    cookie = cookie_header(jar)
    form_headers = {
        "Cookie": cookie,
        "Content-Type": "application/x-www-form-urlencoded",
        # What a browser sends on a same-origin form POST (Flask-WTF checks
        # the Referer on HTTPS; hermetic checks Sec-Fetch-Site / Origin).
        "Origin": BASE_URL.rstrip("/"),
        "Referer": BASE_URL,
        "Sec-Fetch-Site": "same-origin",
    }
    form = urlencode({"csrf_token": token, "title": "Groceries"}).encode()
    cases = {
        "page": Prepared(make_environ("GET", "/", {"Cookie": cookie}), None, check_page),
        "post": Prepared(make_environ("POST", "/notes", form_headers, form), form, check_saved),
    }
    for case, prep in cases.items():
        status, headers, body = call_once(app, prep.environ, prep.body)
        problem = prep.check(status, headers, body)
        if problem:
            sys.exit(f"error: {name} {case}: {problem}; body {body[:300]!r}")
        if "set-cookie" in headers:
            print(f"  note: {name} {case} sets a cookie on every request", file=sys.stderr)
    # The defence must be real: a forged token is refused on both sides.
    forged = urlencode({"csrf_token": "A" * 86, "title": "Groceries"}).encode()
    status, _, _ = call_once(app, make_environ("POST", "/notes", form_headers, forged), forged)
    if not status.startswith(("400", "403")):
        sys.exit(f"error: {name} accepted a forged CSRF token ({status!r})")
    no_login = make_environ("GET", "/", {})
    status, _, _ = call_once(app, no_login, None)
    if not status.startswith(("302", "401")):
        sys.exit(f"error: {name} served the page without a login ({status!r})")
    return cases


# -- timing -----------------------------------------------------------------


#: The clock of every timed block: wall time by default; ``--clock cpu`` takes
#: this thread's CPU time, which a machine loaded by other work disturbs far less.
CLOCKS = {"wall": time.perf_counter_ns, "cpu": time.thread_time_ns}
_clock = [CLOCKS["wall"]]


def time_block(app: WSGIApp, environ: dict[str, Any], body: bytes | None, number: int) -> int:
    """Return nanoseconds spent serving ``number`` requests (a fresh body stream each)."""
    copy = environ.copy
    sr = start_response
    perf = _clock[0]
    if body is None:
        start = perf()
        for _ in range(number):
            result = app(copy(), sr)
            for _chunk in result:
                pass
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return perf() - start
    stream = io.BytesIO
    start = perf()
    for _ in range(number):
        env = copy()
        env["wsgi.input"] = stream(body)
        result = app(env, sr)
        for _chunk in result:
            pass
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return perf() - start


def measure(
    prepared: dict[str, dict[str, Prepared]],
    apps: dict[str, WSGIApp],
    cases: list[str],
    repeat: int,
    number: int,
    warmup: int,
) -> dict[str, dict[str, float]]:
    """Return the best µs/request per case and framework, interleaving frameworks."""
    names = list(apps)
    for name in names:
        for case in cases:
            p = prepared[name][case]
            time_block(apps[name], p.environ, p.body, warmup)
    best: dict[str, dict[str, float]] = {case: {} for case in cases}
    for rep in range(repeat):
        # Rotate the order each repeat so drift (thermal, other load) hits all alike.
        order = names[rep % len(names) :] + names[: rep % len(names)]
        for case in cases:
            for name in order:
                p = prepared[name][case]
                gc.collect()
                us = time_block(apps[name], p.environ, p.body, number) / number / 1000
                prev = best[case].get(name)
                if prev is None or us < prev:
                    best[case][name] = us
        print(f"  repeat {rep + 1}/{repeat} done", file=sys.stderr)
    return best


def harness_floor(body: bytes | None, number: int, warmup: int) -> float:
    """Return the loop's own µs/request around a bare WSGI function."""
    env = make_environ("GET", "/", {})
    time_block(baseline_app, env, body, warmup)
    return min(time_block(baseline_app, env, body, number) for _ in range(3)) / number / 1000


def versions(distributions: dict[str, tuple[str, ...]], frameworks: list[str]) -> dict[str, str]:
    """Return installed versions of every distribution the frameworks use, and Python's."""
    from importlib.metadata import version

    found: dict[str, str] = {}
    for name in frameworks:
        for dist in distributions[name]:
            found[dist] = version(dist)
    found["werkzeug"] = version("Werkzeug")
    found["python"] = platform.python_version()
    return found


def render_table(
    best: dict[str, dict[str, float]], frameworks: list[str], floors: dict[str, float]
) -> str:
    """Format µs/request and the ratio vs the Flask stack as a plain-text table."""
    lines = [f"{'case':<8}{'framework':<15}{'us/req':>9}{'vs stack':>10}{'req/s':>11}"]
    for case, results in best.items():
        ref = results.get("stack")
        for name in frameworks:
            us = results[name]
            ratio = f"{us / ref:.3f}" if ref else "-"
            lines.append(f"{case:<8}{name:<15}{us:>9.2f}{ratio:>10}{1e6 / us:>11,.0f}")
    for label, floor in floors.items():
        lines.append(f"(harness floor, {label}: {floor:.2f} us/req, included above)")
    return "\n".join(lines)


def profile(
    app: WSGIApp, environ: dict[str, Any], body: bytes | None, number: int, top: int
) -> None:
    """Print cProfile's top costs for ``number`` requests (deterministic, so inflated)."""
    import cProfile
    import pstats

    time_block(app, environ, body, 1000)
    prof = cProfile.Profile()
    prof.enable()
    time_block(app, environ, body, number)
    prof.disable()
    stats = pstats.Stats(prof, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def quiet_audit() -> None:
    """Keep hermetic's audit events formatted (their cost counts) but off stderr."""
    audit = logging.getLogger("hermetic.security.audit")
    audit.setLevel(logging.INFO)
    if not audit.handlers:
        audit.addHandler(logging.NullHandler())
    audit.propagate = False


def in_memory_only() -> None:
    """Keep every store in process on both sides, whatever the environment says."""
    for key in ("HERMETIC_REDIS_URL", "REDIS_URL"):
        os.environ.pop(key, None)


# -- command line -----------------------------------------------------------

CASES = {"page": "GET / (logged in, template, CSRF token, CSP nonce)", "post": "POST /notes form"}


def parse_args(
    argv: list[str] | None,
    doc: str,
    cases: dict[str, str],
    frameworks: list[str],
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
    default: list[str] | None = None,
) -> argparse.Namespace:
    """Parse command-line options (shared with ``jwt_api.py``, which adds ``extra``)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    if extra is not None:
        extra(parser)
    parser.add_argument("-r", "--repeat", type=int, default=7, help="timed blocks per pair")
    parser.add_argument("-n", "--number", type=int, default=5000, help="requests per block")
    parser.add_argument("-w", "--warmup", type=int, default=1000, help="untimed requests first")
    parser.add_argument(
        "-f",
        "--frameworks",
        default=",".join(default or frameworks),
        help=f"comma-separated subset of {','.join(frameworks)}",
    )
    parser.add_argument("--cases", default=",".join(cases), help="comma-separated subset")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="time blocks by wall time (default) or by this thread's CPU time",
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if hermetic/stack misses the target"
    )
    parser.add_argument(
        "--profile",
        metavar="FRAMEWORK",
        help="instead of timing, cProfile FRAMEWORK on --cases' first case",
    )
    parser.add_argument("--top", type=int, default=30, help="rows shown by --profile")
    args = parser.parse_args(argv)
    args.frameworks = [f for f in args.frameworks.split(",") if f]
    args.cases = [c for c in args.cases.split(",") if c]
    _clock[0] = CLOCKS[args.clock]
    unknown = set(args.frameworks) - set(frameworks) | set(args.cases) - set(cases)
    if unknown:
        parser.error(f"unknown framework/case: {', '.join(sorted(unknown))}")
    if args.profile and args.profile not in frameworks:
        parser.error(f"unknown framework: {args.profile}")
    return args


def run(
    args: argparse.Namespace,
    builders: dict[str, Callable[[], WSGIApp]],
    prepare_fn: Callable[[str, WSGIApp], dict[str, Prepared]],
    distributions: dict[str, tuple[str, ...]],
    target_case: str,
    target: float,
    target_label: str,
    after: Callable[[dict[str, dict[str, float]]], None] | None = None,
) -> int:
    """Build, verify and time; print the table, the ratios and the target.

    ``after(best)`` prints more from the same run's figures (text output only).
    """
    in_memory_only()
    quiet_audit()
    if args.profile:
        app = builders[args.profile]()
        prepared = prepare_fn(args.profile, app)[args.cases[0]]
        profile(app, prepared.environ, prepared.body, args.number, args.top)
        return 0

    frameworks = args.frameworks
    if "stack" in frameworks:
        check_environment(["hermetic", "flask"])
    apps = {name: builders[name]() for name in frameworks}
    prepared = {name: prepare_fn(name, app) for name, app in apps.items()}
    floors = {}
    bodies = {case: prepared[frameworks[0]][case].body for case in args.cases}
    if any(b is None for b in bodies.values()):
        floors["no body"] = harness_floor(None, args.number, args.warmup)
    for body in {b for b in bodies.values() if b is not None}:
        floors[f"{len(body)}-byte body"] = harness_floor(body, args.number, args.warmup)

    best = measure(prepared, apps, args.cases, args.repeat, args.number, args.warmup)
    ratios = {
        case: {name: us / results["stack"] for name, us in results.items() if name != "stack"}
        for case, results in best.items()
        if "stack" in results
    }
    hit = ratios.get(target_case, {}).get("hermetic")

    if args.json:
        report = {
            "versions": versions(distributions, frameworks),
            "params": {
                "repeat": args.repeat,
                "number": args.number,
                "warmup": args.warmup,
                "clock": args.clock,
            },
            "unit": "us/request (best of repeats)",
            "floors_us": floors,
            "results": {
                case: {
                    name: {
                        "us": us,
                        "vs_stack": us / results["stack"] if "stack" in results else None,
                    }
                    for name, us in results.items()
                }
                for case, results in best.items()
            },
            "over_stack": ratios,
            "target": {"case": target_case, "hermetic_over_stack_max": target, "ratio": hit},
        }
        print(json.dumps(report, indent=2))
    else:
        vers = versions(distributions, frameworks)
        print(", ".join(f"{k} {v}" for k, v in vers.items()))
        print(
            f"best of {args.repeat} x {args.number} requests, warmup {args.warmup}, {args.clock} clock\n"
        )
        print(render_table(best, frameworks, floors))
        print()
        for case, by_name in ratios.items():
            for name, ratio in by_name.items():
                print(f"{case}: {name}/stack = {ratio:.3f}")
        if hit is not None:
            verdict = "met" if hit <= target else "MISSED"
            print(
                f"target: {target_case} hermetic/stack = {hit:.3f} <= {target:.3f}"
                f" ({target_label}): {verdict}"
            )
        if after is not None:
            after(best)

    if args.check and hit is not None and hit > target:
        print(f"FAIL: {target_case} hermetic/stack = {hit:.3f} > {target:.3f}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Time the secure web page and its form POST on hermetic and the Flask stack."""
    args = parse_args(argv, __doc__, CASES, list(BUILDERS))
    return run(args, BUILDERS, prepare, DISTRIBUTIONS, "page", TARGET, "1/8")


if __name__ == "__main__":
    sys.exit(main())
