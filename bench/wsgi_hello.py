"""Compare per-request WSGI overhead of hermetic, Flask, Bottle and Falcon.

Each framework serves the same routes, built the way its own docs show. The
WSGI callable is invoked in-process (no server, no sockets) with a prebuilt
environ copied per call and a no-op ``start_response``; the response iterable
is consumed and closed, as a server would. Run through ``bench/run``, which
provides a venv where real Flask and hermetic live side by side.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import core_routes
from core_routes import ADDERS, CREATE_BODY, ITEM, ITEM_ID, NAME, check_created, hello_text

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

HELLO = "Hello, World!"
PAYLOAD = {"hello": "world", "n": 1}
USER_ID = 42
TARGET = 1 / 3


@dataclass(frozen=True)
class Route:
    """One benchmarked request and the response every framework must give."""

    name: str
    path: str
    content_type: str
    check_body: Callable[[bytes], bool]
    method: str = "GET"
    body: bytes | None = None
    status: int = 200


ROUTES = {
    "hello": Route("hello", "/", "text/html", lambda b: b == HELLO.encode()),
    "json": Route("json", "/json", "application/json", lambda b: json.loads(b) == PAYLOAD),
    "user": Route(
        "user", f"/user/{USER_ID}", "text/html", lambda b: b == f"User {USER_ID}".encode()
    ),
    # The routes of issue 13 (core_routes.py): "hello" above is its static hello.
    "hello_name": Route(
        "hello_name", f"/hello/{NAME}", "text/html", lambda b: b == hello_text(NAME).encode()
    ),
    "item": Route(
        "item", f"/api/items/{ITEM_ID}", "application/json", lambda b: json.loads(b) == ITEM
    ),
    "create": Route(
        "create", "/api/items", "application/json", check_created, "POST", CREATE_BODY, 201
    ),
}
#: The routes a WSGI server is loaded with by ``http_load.py`` (GET, no body).
GET_ROUTES = tuple(name for name, route in ROUTES.items() if route.body is None)


def build_hermetic() -> WSGIApp:
    """Build the hermetic app (imported as ``hermetic``, never aliased to flask)."""
    import hermetic

    app = hermetic.Flask(__name__)

    @app.get("/")
    def hello() -> str:
        return HELLO

    @app.get("/json")
    def as_json() -> dict[str, Any]:
        return dict(PAYLOAD)

    @app.get("/user/<int:user_id>")
    def user(user_id: int) -> str:
        return f"User {user_id}"

    ADDERS["hermetic"](app)
    return app


def build_flask() -> WSGIApp:
    """Build the reference app with real Flask."""
    import flask

    app = flask.Flask(__name__)

    @app.get("/")
    def hello() -> str:
        return HELLO

    @app.get("/json")
    def as_json() -> dict[str, Any]:
        return dict(PAYLOAD)

    @app.get("/user/<int:user_id>")
    def user(user_id: int) -> str:
        return f"User {user_id}"

    ADDERS["flask"](app)
    return app


def build_bottle() -> WSGIApp:
    """Build the Bottle app; a returned dict goes through Bottle's JSON plugin."""
    import bottle

    app = bottle.Bottle()

    @app.get("/")
    def hello() -> str:
        return HELLO

    @app.get("/json")
    def as_json() -> dict[str, Any]:
        return dict(PAYLOAD)

    @app.get("/user/<user_id:int>")
    def user(user_id: int) -> str:
        return f"User {user_id}"

    ADDERS["bottle"](app)
    return app


def build_falcon() -> WSGIApp:
    """Build the Falcon app from responder classes, Falcon's idiom."""
    import falcon

    class Hello:
        def on_get(self, req: Any, resp: Any) -> None:
            resp.content_type = falcon.MEDIA_HTML
            resp.text = HELLO

    class AsJson:
        def on_get(self, req: Any, resp: Any) -> None:
            resp.media = dict(PAYLOAD)

    class User:
        def on_get(self, req: Any, resp: Any, user_id: int) -> None:
            resp.content_type = falcon.MEDIA_HTML
            resp.text = f"User {user_id}"

    app = falcon.App()
    app.add_route("/", Hello())
    app.add_route("/json", AsJson())
    app.add_route("/user/{user_id:int}", User())
    ADDERS["falcon"](app)
    return app


BUILDERS: dict[str, Callable[[], WSGIApp]] = {
    "hermetic": build_hermetic,
    "flask": build_flask,
    "bottle": build_bottle,
    "falcon": build_falcon,
}
DISTRIBUTIONS = {"hermetic": "hermetic", "flask": "Flask", "bottle": "bottle", "falcon": "falcon"}


def check_environment(frameworks: list[str]) -> None:
    """Refuse to run unless ``flask`` is the real Flask 3.1.3, distinct from hermetic."""
    if "flask" not in frameworks:
        return
    from importlib.metadata import version

    import flask

    if "hermetic" in frameworks:
        import hermetic

        if flask.Flask is hermetic.Flask:
            sys.exit("error: 'flask' resolves to hermetic (install_as_flask?); use bench/run")
    if version("Flask") != "3.1.3":
        sys.exit(f"error: Flask {version('Flask')} installed, the baseline is 3.1.3; use bench/run")


def make_environ(path: str, method: str = "GET", body: bytes | None = None) -> dict[str, Any]:
    """Return an environ like a WSGI server would pass, built by Werkzeug."""
    from werkzeug.test import create_environ

    if body is None:
        return create_environ(path, "http://localhost/", headers={"User-Agent": "bench"})
    return create_environ(
        path,
        "http://localhost/",
        method=method,
        data=body,
        content_type="application/json",
        headers={"User-Agent": "bench"},
    )


#: What real servers add to Werkzeug's test environ (``--server-environ``):
#: granian and gunicorn end every input stream themselves and say so.
SERVER_ENVIRON = {"wsgi.input_terminated": True, "REMOTE_ADDR": "127.0.0.1"}


def route_environ(route: Route) -> dict[str, Any]:
    """Return the prebuilt environ of ``route``."""
    return make_environ(route.path, route.method, route.body)


def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
    """Ignore the response start, as cheaply as possible."""


def call_once(app: WSGIApp, environ: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
    """Run one request and return its status, headers and body."""
    seen: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        seen["status"] = status
        seen["headers"] = {k.lower(): v for k, v in headers}

    env = environ.copy()
    if "bench.body" in env:
        env["wsgi.input"] = BytesIO(env["bench.body"])
    result = app(env, capture)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return seen["status"], seen["headers"], body


def verify(name: str, app: WSGIApp, route: Route, environ: dict[str, Any]) -> None:
    """Exit loudly if the framework does not answer the route as expected."""
    status, headers, body = call_once(app, environ)
    ctype = headers.get("content-type", "")
    ok = status.startswith(str(route.status)) and ctype.startswith(route.content_type)
    try:
        ok = ok and route.check_body(body)
    except ValueError:
        ok = False
    if not ok:
        sys.exit(
            f"error: {name} {route.path}: got {status!r}, content-type {ctype!r}, "
            f"body {body[:200]!r}"
        )


def time_block(app: WSGIApp, environ: dict[str, Any], number: int) -> int:
    """Return nanoseconds spent serving ``number`` requests."""
    if "bench.body" in environ:
        return time_block_body(app, environ, number)
    copy = environ.copy
    sr = start_response
    perf = time.perf_counter_ns
    start = perf()
    for _ in range(number):
        result = app(copy(), sr)
        for _chunk in result:
            pass
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return perf() - start


def time_block_body(app: WSGIApp, environ: dict[str, Any], number: int) -> int:
    """Like :func:`time_block`, with a fresh ``wsgi.input`` holding the body per call."""
    copy = environ.copy
    body = environ["bench.body"]
    sr = start_response
    perf = time.perf_counter_ns
    start = perf()
    for _ in range(number):
        env = copy()
        env["wsgi.input"] = BytesIO(body)
        result = app(env, sr)
        for _chunk in result:
            pass
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return perf() - start


def baseline_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """Answer with no framework at all, to show the harness's own floor."""
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [b"Hello, World!"]


def measure(
    apps: dict[str, WSGIApp],
    routes: list[Route],
    environs: dict[str, dict[str, Any]],
    repeat: int,
    number: int,
    warmup: int,
) -> dict[str, dict[str, float]]:
    """Return the best µs/request per route and framework, interleaving frameworks."""
    names = list(apps)
    for name in names:
        for route in routes:
            time_block(apps[name], environs[route.name], warmup)
    best: dict[str, dict[str, float]] = {r.name: {} for r in routes}
    for rep in range(repeat):
        # Rotate the order each repeat so drift (thermal, other load) hits all alike.
        order = names[rep % len(names) :] + names[: rep % len(names)]
        for route in routes:
            for name in order:
                gc.collect()
                ns = time_block(apps[name], environs[route.name], number)
                us = ns / number / 1000
                prev = best[route.name].get(name)
                if prev is None or us < prev:
                    best[route.name][name] = us
        print(f"  repeat {rep + 1}/{repeat} done", file=sys.stderr)
    return best


def versions(frameworks: list[str]) -> dict[str, str]:
    """Return installed versions of the frameworks and of Python."""
    from importlib.metadata import version

    found = {name: version(DISTRIBUTIONS[name]) for name in frameworks}
    found["werkzeug"] = version("Werkzeug")
    found["python"] = platform.python_version()
    return found


def render_table(best: dict[str, dict[str, float]], frameworks: list[str], floor: float) -> str:
    """Format µs/request and ratio vs Flask as a plain-text table."""
    lines = [f"{'route':<11}{'framework':<11}{'us/req':>9}{'vs flask':>10}{'req/s':>11}"]
    for route, results in best.items():
        ref = results.get("flask")
        for name in frameworks:
            us = results[name]
            ratio = f"{us / ref:.2f}" if ref else "-"
            lines.append(f"{route:<11}{name:<11}{us:>9.2f}{ratio:>10}{1e6 / us:>11,.0f}")
    lines.append(f"(harness floor, bare WSGI function: {floor:.2f} us/req, included above)")
    return "\n".join(lines)


def profile(app: WSGIApp, environ: dict[str, Any], number: int, top: int) -> None:
    """Print cProfile's top costs for ``number`` requests (deterministic, so inflated)."""
    import cProfile
    import pstats

    time_block(app, environ, 1000)
    prof = cProfile.Profile()
    prof.enable()
    time_block(app, environ, number)
    prof.disable()
    stats = pstats.Stats(prof, stream=sys.stdout)
    stats.strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-r", "--repeat", type=int, default=7, help="timed blocks per pair")
    parser.add_argument("-n", "--number", type=int, default=20000, help="requests per block")
    parser.add_argument("-w", "--warmup", type=int, default=2000, help="untimed requests first")
    parser.add_argument(
        "-f", "--frameworks", default=",".join(BUILDERS), help="comma-separated subset"
    )
    parser.add_argument("--routes", default=",".join(ROUTES), help="comma-separated subset")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if hermetic/flask on hello misses the target"
    )
    parser.add_argument(
        "--profile",
        metavar="FRAMEWORK",
        help="instead of timing, cProfile FRAMEWORK on --routes' first route",
    )
    parser.add_argument("--top", type=int, default=25, help="rows shown by --profile")
    parser.add_argument(
        "--server-environ",
        action="store_true",
        help="mark every input stream terminated and set REMOTE_ADDR, as granian and"
        " gunicorn do (the environ of http_load.py's servers)",
    )
    args = parser.parse_args(argv)
    args.frameworks = [f for f in args.frameworks.split(",") if f]
    args.routes = [r for r in args.routes.split(",") if r]
    unknown = set(args.frameworks) - set(BUILDERS) | set(args.routes) - set(ROUTES)
    if unknown:
        parser.error(f"unknown framework/route: {', '.join(sorted(unknown))}")
    if args.profile and args.profile not in BUILDERS:
        parser.error(f"unknown framework: {args.profile}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Build, verify and time every framework on every route."""
    args = parse_args(argv)
    routes = [ROUTES[r] for r in args.routes]
    environs = {r.name: route_environ(r) for r in routes}
    if args.server_environ:
        for environ in environs.values():
            environ.update(SERVER_ENVIRON)
    for route in routes:
        if route.body is not None:
            environs[route.name]["bench.body"] = route.body

    if args.profile:
        app = BUILDERS[args.profile]()
        verify(args.profile, app, routes[0], environs[routes[0].name])
        profile(app, environs[routes[0].name], args.number, args.top)
        return 0

    frameworks = args.frameworks
    check_environment(frameworks)
    apps = {name: BUILDERS[name]() for name in frameworks}
    for name, app in apps.items():
        for route in routes:
            verify(name, app, route, environs[route.name])

    floor_env = make_environ("/")
    time_block(baseline_app, floor_env, args.warmup)
    floor = min(time_block(baseline_app, floor_env, args.number) for _ in range(3))
    floor_us = floor / args.number / 1000

    best = measure(apps, routes, environs, args.repeat, args.number, args.warmup)
    ratios = {
        route: results["hermetic"] / results["flask"]
        for route, results in best.items()
        if "hermetic" in results and "flask" in results
    }

    if args.json:
        report = {
            "versions": versions(frameworks),
            "params": {"repeat": args.repeat, "number": args.number, "warmup": args.warmup},
            "unit": "us/request (best of repeats)",
            "floor_us": floor_us,
            "results": {
                route: {
                    name: {
                        "us": us,
                        "vs_flask": us / results["flask"] if "flask" in results else None,
                    }
                    for name, us in results.items()
                }
                for route, results in best.items()
            },
            "hermetic_over_flask": ratios,
            "target": TARGET,
            "targets": core_routes.target_lines(best),
        }
        print(json.dumps(report, indent=2))
    else:
        vers = versions(frameworks)
        print(", ".join(f"{k} {v}" for k, v in vers.items()))
        print(f"best of {args.repeat} x {args.number} requests, warmup {args.warmup}\n")
        print(render_table(best, frameworks, floor_us))
        print()
        for route, ratio in ratios.items():
            suffix = " (target <= 0.33)" if route == "hello" else ""
            print(f"{route}: hermetic/flask = {ratio:.2f}{suffix}")
        lines = core_routes.target_lines(best)
        if lines:
            print()
            print("\n".join(lines))

    if args.check and ratios.get("hello", 0.0) > TARGET:
        print(f"FAIL: hello hermetic/flask = {ratios['hello']:.2f} > 0.33", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
