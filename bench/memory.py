"""Resident memory per worker: after 10,000 requests, and again after 100,000 more.

Each framework runs in a fresh interpreter of its own (so one's imports and
caches never count for another), builds its app, serves ``--first``
requests in-process through its WSGI callable, reports its resident set
size (``VmRSS`` from ``/proc/self/status``, after a full garbage
collection), serves ``--then`` more and reports again. The requests mix a
static route, a JSON route and a path parameter that changes on every
request (``/user/<n>``, plus a query string and an unknown URL now and
then), so a cache keyed by anything a client chooses shows up as growth.
``Hermetic`` also serves an anonymous form page (a new session and CSRF
token each time) and a logged-in page. Run through ``bench/run memory.py``.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

SECRET_KEY = "bench-3f9c1a7e5d2b8046c1e9a7f3b5d2c8e0a4f6b1d9"
FRAMEWORKS = ("hermetic", "Hermetic", "flask")
#: Issue 13: hermetic's RSS after the first requests over Flask's, at most.
TARGET = 1.10
#: Growth over the further requests counted as flat (allocator noise).
FLAT_KIB = 512


def _routes(app: Any, mod: Any, secure: bool) -> None:
    @app.get("/")
    def hello() -> str:
        return "Hello, World!"

    @app.get("/json")
    def as_json() -> dict[str, Any]:
        return {"hello": "world", "n": 1}

    @app.get("/user/<int:user_id>")
    def user(user_id: int) -> str:
        return f"User {user_id} {mod.request.args.get('q', '')}"

    @app.post("/login")
    def login() -> Any:
        if secure:
            from hermetic.security.auth import login_user

            login_user(app.bench_user)
        else:
            mod.session["user"] = "42"
        return "ok"

    @app.get("/me")
    def me() -> str:
        if secure:
            from hermetic.security.auth import current_user

            return f"Hello {current_user.get_id()}"
        return f"Hello {mod.session.get('user')}"

    if secure:
        from hermetic.security.csrf import csrf_token

        @app.get("/form")
        def form() -> str:
            return f'<input name="csrf_token" value="{csrf_token()}">'


def build(name: str) -> WSGIApp:
    """Build ``name``'s app with the routes above."""
    if name == "flask":
        import flask as mod

        app = mod.Flask(__name__)
    else:
        import hermetic as mod

        app = (mod.Hermetic if name == "Hermetic" else mod.Flask)(__name__)
    app.config["SECRET_KEY"] = SECRET_KEY
    if name == "Hermetic":
        from hermetic.security.auth import UserMixin

        class User(UserMixin):
            id = "42"

        app.bench_user = User()  # type: ignore[attr-defined]
        app.login_manager.user_loader(lambda uid: app.bench_user if uid == "42" else None)  # type: ignore[attr-defined]
    _routes(app, mod, name == "Hermetic")
    return app


def _environ(path: str, method: str = "GET", cookie: str = "") -> dict[str, Any]:
    from werkzeug.test import create_environ

    headers = {"User-Agent": "bench"}
    if cookie:
        headers["Cookie"] = cookie
    return create_environ(path, "https://localhost/", method=method, headers=headers)


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
    pass


def _call(app: WSGIApp, environ: dict[str, Any]) -> list[bytes]:
    out: list[tuple[str, list[tuple[str, str]]]] = []
    result = app(environ, lambda s, h, e=None: out.append((s, h)))
    body = list(result)
    if hasattr(result, "close"):
        result.close()
    status, headers = out[0]
    if not status.startswith(("200", "404")):
        sys.exit(f"error: {environ['PATH_INFO']}: {status} {b''.join(body)[:200]!r}")
    return [v for k, v in headers if k.lower() == "set-cookie"]


def _log_in(app: WSGIApp) -> str:
    env = _environ("/login", "POST")
    env["HTTP_ORIGIN"] = "https://localhost"
    env["HTTP_SEC_FETCH_SITE"] = "same-origin"
    env["wsgi.input"] = io.BytesIO(b"")
    cookies = _call(app, env)
    return "; ".join(c.split(";", 1)[0] for c in cookies)


def rss_kib() -> int:
    """Return this process's resident set size in KiB, after a full collection."""
    gc.collect()
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def serve(app: WSGIApp, name: str, start: int, count: int, cookie: str) -> None:
    """Serve ``count`` requests, numbered from ``start``."""
    fixed = [_environ("/"), _environ("/json"), _environ("/me", cookie=cookie)]
    if name == "Hermetic":
        fixed.append(_environ("/form"))
    sr = _start_response
    for i in range(start, start + count):
        kind = i % 8
        if kind < len(fixed):
            env = fixed[kind].copy()
        elif kind == 7:
            env = _environ(f"/missing/{i}")
        else:
            env = _environ(f"/user/{i}", cookie=cookie if kind == 6 else "")
            if kind == 5:
                env["QUERY_STRING"] = f"q={i}"
        result = app(env, sr)
        for _chunk in result:
            pass
        close = getattr(result, "close", None)
        if close is not None:
            close()


def child(name: str, first: int, then: int) -> None:
    """Run in the subprocess: build, serve, print the two RSS figures as JSON."""
    os.environ.pop("HERMETIC_REDIS_URL", None)
    os.environ.pop("REDIS_URL", None)
    import logging

    audit = logging.getLogger("hermetic.security.audit")
    audit.addHandler(logging.NullHandler())
    audit.propagate = False
    app = build(name)
    cookie = _log_in(app)
    if name == "Hermetic" and not cookie:
        sys.exit("error: Hermetic login set no cookie")
    me = b"".join(app(_environ("/me", cookie=cookie), _start_response))
    if name != "hermetic" and b"Hello 42" not in me:
        sys.exit(f"error: {name} /me does not see the logged-in user")
    start = rss_kib()
    serve(app, name, 0, first, cookie)
    after_first = rss_kib()
    serve(app, name, first, then, cookie)
    after_then = rss_kib()
    print(json.dumps({"start": start, "first": after_first, "then": after_then}))


def main(argv: list[str] | None = None) -> int:
    """Run each framework in a subprocess; print RSS after --first and after --then more."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=int, default=10_000, help="requests before the 1st RSS")
    parser.add_argument("--then", type=int, default=100_000, help="requests before the 2nd RSS")
    parser.add_argument("-f", "--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.first, args.then)
        return 0
    results: dict[str, dict[str, int]] = {}
    for name in args.frameworks.split(","):
        print(f"  {name}: {args.first} + {args.then} requests", file=sys.stderr)
        out = subprocess.run(
            [sys.executable, __file__, "--child", name, "--first", str(args.first),
             "--then", str(args.then)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if out.returncode:
            sys.exit(f"error: {name}: {out.stderr.strip()[-2000:]}")
        results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    flask = results.get("flask")
    ratio = (
        results["hermetic"]["first"] / flask["first"] if flask and "hermetic" in results else None
    )
    growth = {name: r["then"] - r["first"] for name, r in results.items()}
    missed = (ratio is not None and ratio > TARGET) or any(
        g > FLAT_KIB for name, g in growth.items() if name != "flask"
    )
    if args.json:
        print(json.dumps({"rss_kib": results, "growth_kib": growth, "hermetic_over_flask": ratio}))
    else:
        head = f"{'framework':<10}{'start':>10}{'+' + str(args.first):>10}"
        print(head + f"{'+' + str(args.then):>10}{'growth':>9}  (RSS, KiB)")
        for name, r in results.items():
            row = f"{name:<10}{r['start']:>10}{r['first']:>10}{r['then']:>10}"
            print(row + f"{growth[name]:>+9}")
        if ratio is not None:
            print(f"target: hermetic/flask RSS after {args.first} = {ratio:.3f} <= {TARGET}")
        print(f"target: growth over {args.then} more <= {FLAT_KIB} KiB: "
              + ("MISSED" if any(g > FLAT_KIB for g in growth.values()) else "met"))  # fmt: skip
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
