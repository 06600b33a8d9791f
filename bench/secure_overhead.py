"""Measure what ``Hermetic``'s default shields cost over a plain hermetic ``Flask`` app.

The same two routes on both: ``GET /`` answering ``Hello, World!`` and a
form ``POST /notes``. ``Hermetic`` runs every default shield (proxy, host,
CORS, input limits, rate limit, CSRF, authorization, security headers, the
encrypted session); its POST carries the CSRF token of an anonymous visitor's
session, with the headers a browser sends. The plain ``Flask`` app runs no
shield. The WSGI callable is invoked in-process, as in ``wsgi_hello.py``.
Run through ``bench/run secure_overhead.py``.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from web_profile import (
    BASE_URL,
    SECRET_KEY,
    Prepared,
    WSGIApp,
    call_once,
    cookie_header,
    cookies_from,
    harness_floor,
    in_memory_only,
    measure,
    parse_args,
    profile,
    quiet_audit,
    versions,
)
from web_profile import make_environ as _environ

HELLO = "Hello, World!"
FORM_PAGE = '<form method="post"><input name="csrf_token" value="{token}"></form>'
_TOKEN_RE = re.compile(rb'name="csrf_token" value="([^"]+)"')
#: Issue 13: ``Hermetic`` over plain ``Flask``, per case.
TARGETS = {"hello": 1.2, "post": 1.3}


def _routes(app: Any, token: Callable[[], str]) -> None:
    from hermetic import redirect, request

    @app.get("/")
    def hello() -> str:
        return HELLO

    @app.get("/form")
    def form() -> str:
        return FORM_PAGE.format(token=token())

    @app.post("/notes")
    def save() -> Any:
        if not request.form.get("title", "").strip():
            return "A title is needed.", 400
        return redirect("/", 303)


def build_flask() -> WSGIApp:
    """A plain hermetic ``Flask`` app: no shield."""
    import hermetic

    app = hermetic.Flask(__name__)
    app.config["SECRET_KEY"] = SECRET_KEY
    _routes(app, lambda: "")
    return app


def build_hermetic() -> WSGIApp:
    """``Hermetic`` with its defaults: every shield on."""
    import hermetic
    from hermetic.security.csrf import csrf_token

    app = hermetic.Hermetic(__name__)
    app.config.update(SECRET_KEY=SECRET_KEY)
    _routes(app, csrf_token)
    return app


BUILDERS: dict[str, Callable[[], WSGIApp]] = {"flask": build_flask, "hermetic": build_hermetic}
DISTRIBUTIONS = {"flask": ("hermetic",), "hermetic": ("hermetic",)}
CASES = {"hello": "GET / (text)", "post": "POST /notes form (Hermetic: with its CSRF token)"}


def _check_hello(status: str, headers: dict[str, str], body: bytes) -> str | None:
    if not status.startswith("200") or body != HELLO.encode():
        return f"status {status!r}, body {body[:100]!r}"
    return None


def _check_saved(status: str, headers: dict[str, str], body: bytes) -> str | None:
    if not status.startswith("303") or not headers.get("location", "").endswith("/"):
        return f"status {status!r}, location {headers.get('location')!r}"
    return None


def prepare(name: str, app: WSGIApp) -> dict[str, Prepared]:
    """Get a CSRF token as a browser would, build each case, check every answer."""
    jar: dict[str, str] = {}
    status, headers, body = call_once(app, _environ("GET", "/form", {}), None)
    cookies_from(headers.get("set-cookie"), jar)
    found = _TOKEN_RE.search(body)
    token = found.group(1).decode() if found else ""
    if name == "hermetic" and (not jar or len(token) < 20):
        sys.exit(f"error: {name} GET /form gave no session cookie or no token: {body[:200]!r}")
    form_headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Origin": BASE_URL.rstrip("/"),
        "Referer": BASE_URL,
        "Sec-Fetch-Site": "same-origin",
    }
    if jar:
        form_headers["Cookie"] = cookie_header(jar)
    fields = {"title": "Groceries"}
    if token:
        fields["csrf_token"] = token
    form = urlencode(fields).encode()
    cases = {
        "hello": Prepared(_environ("GET", "/", {}), None, _check_hello),
        "post": Prepared(_environ("POST", "/notes", form_headers, form), form, _check_saved),
    }
    for case, prep in cases.items():
        status, headers, body = call_once(app, prep.environ, prep.body)
        problem = prep.check(status, headers, body)
        if problem:
            sys.exit(f"error: {name} {case}: {problem}; body {body[:300]!r}")
        if "set-cookie" in headers:
            print(f"  note: {name} {case} sets a cookie on every request", file=sys.stderr)
    if name == "hermetic":
        # The defence must be real: a forged token is refused, and the page
        # carries the default headers.
        forged = urlencode({"csrf_token": "A" * 86, "title": "x"}).encode()
        env = _environ("POST", "/notes", form_headers, forged)
        status, _, _ = call_once(app, env, forged)
        if not status.startswith(("400", "403")):
            sys.exit(f"error: {name} accepted a forged CSRF token ({status!r})")
        _, headers, _ = call_once(app, cases["hello"].environ, None)
        for header in ("content-security-policy", "strict-transport-security"):
            if header not in headers:
                sys.exit(f"error: {name} GET / without {header}: are the shields on?")
    return cases


def main(argv: list[str] | None = None) -> int:
    """Time both cases on plain ``Flask`` and on ``Hermetic``; print Hermetic/Flask."""
    args = parse_args(argv, __doc__, CASES, list(BUILDERS))
    in_memory_only()
    quiet_audit()
    if args.profile:
        app = BUILDERS[args.profile]()
        prep = prepare(args.profile, app)[args.cases[0]]
        profile(app, prep.environ, prep.body, args.number, args.top)
        return 0
    apps = {name: BUILDERS[name]() for name in args.frameworks}
    prepared = {name: prepare(name, app) for name, app in apps.items()}
    floors = {"no body": harness_floor(None, args.number, args.warmup)}
    best = measure(prepared, apps, args.cases, args.repeat, args.number, args.warmup)
    ratios = {
        case: results["hermetic"] / results["flask"]
        for case, results in best.items()
        if "hermetic" in results and "flask" in results
    }
    missed = [case for case, ratio in ratios.items() if ratio > TARGETS[case]]
    if args.json:
        report = {
            "versions": versions(DISTRIBUTIONS, args.frameworks),
            "params": {
                "repeat": args.repeat,
                "number": args.number,
                "warmup": args.warmup,
                "clock": args.clock,
            },
            "unit": "us/request (best of repeats)",
            "floors_us": floors,
            "results": best,
            "hermetic_over_flask": ratios,
            "targets": TARGETS,
        }
        print(json.dumps(report, indent=2))
    else:
        print(", ".join(f"{k} {v}" for k, v in versions(DISTRIBUTIONS, args.frameworks).items()))
        print(
            f"best of {args.repeat} x {args.number} requests, warmup {args.warmup}, {args.clock} clock\n"
        )
        print(f"{'case':<8}{'app':<10}{'us/req':>9}{'vs flask':>10}{'req/s':>11}")
        for case, results in best.items():
            for name, us in results.items():
                ref = results.get("flask")
                ratio = f"{us / ref:.3f}" if ref else "-"
                print(f"{case:<8}{name:<10}{us:>9.2f}{ratio:>10}{1e6 / us:>11,.0f}")
        print(f"(harness floor: {floors['no body']:.2f} us/req, included above)\n")
        for case, ratio in ratios.items():
            verdict = "MISSED" if case in missed else "met"
            print(f"target: {case} Hermetic/Flask = {ratio:.3f} <= {TARGETS[case]}: {verdict}")
    if args.check and missed:
        print(f"FAIL: {', '.join(missed)} over target", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
