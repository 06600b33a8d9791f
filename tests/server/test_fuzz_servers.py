"""Malformed requests over raw sockets to real servers: never a 5xx, never a traceback.

A ``Hermetic`` app (``fuzz_app.py``: login, CSRF, sessions, validation,
uploads, a rate limit) is served by gunicorn (sync and gthread workers),
granian (WSGI) and Werkzeug's development server (``hermetic run``) on
127.0.0.1, sessions in the encrypted cookie or on Redis.
Requests come from a seeded generator (``_fuzz.py``), several client
threads at a time. For each server: zero 5xx responses, zero tracebacks or
errors in the server's log, no worker restarted, and a good request (a
login, then a page that needs it) still works at the end.

``HERMETIC_FUZZ_REQUESTS`` sets the total number of requests (default
``24000``), shared by the server runs that are not skipped;
``HERMETIC_FUZZ_SEED`` the first seed (default ``20261204``). The runs
share ``HERMETIC_FUZZ_MAX_SECONDS`` of sending (default ``200``, about 60
are used on an idle 2-core machine): a run that uses up its share stops
early and says so in its summary line.
"""

from __future__ import annotations

import collections
import concurrent.futures
import json
import os
import re
import socket
import time
import typing as t

import pytest

from ._fuzz import Context, make_request
from ._servers import REDIS_URL, RESULTS, Server, redis_available, serve

pytest.importorskip("gunicorn")
pytest.importorskip("granian")

TOTAL = int(os.environ.get("HERMETIC_FUZZ_REQUESTS", "24000"))
FIRST_SEED = int(os.environ.get("HERMETIC_FUZZ_SEED", "20261204"))
MAX_SECONDS = float(os.environ.get("HERMETIC_FUZZ_MAX_SECONDS", "200"))
CLIENT_THREADS = 8
SOCKET_TIMEOUT = 10.0
#: Seconds of silence after which the client half-closes (see ``exchange``).
IDLE = 0.25

#: (server, sessions): the runs; the Redis ones are skipped without Redis.
RUNS = [
    ("gunicorn-sync", "cookie"),
    ("gunicorn-gthread", "redis"),
    ("granian", "cookie"),
    ("granian", "redis"),
    ("werkzeug", "cookie"),
]
_ACTIVE_RUNS = sum(1 for _, sessions in RUNS if sessions == "cookie" or redis_available())
PER_RUN = -(-TOTAL // max(1, _ACTIVE_RUNS))
RUN_SECONDS = MAX_SECONDS / max(1, _ACTIVE_RUNS)

_STATUS = re.compile(rb"HTTP/\d\.\d (\d{3}) ")
_SIMPLE_ERROR = re.compile(rb"<p>Error code: (\d{3})</p>")
#: What must never be in a server's log: tracebacks, unhandled errors, worker deaths.
_BAD_LOG = re.compile(
    r"Traceback|Exception on |\[ERROR\]|\[CRITICAL\]|WORKER TIMEOUT|ERROR in |panicked"
    r"|Error on request"
)


def exchange(port: int, data: bytes, *, half_close: bool = True) -> tuple[bytes, bool]:
    """Send ``data`` and read until the server closes; return (response, timed out).

    With ``half_close``, the client closes its side once the server starts
    answering or stays silent for ``IDLE`` seconds: a server waiting for the
    rest of a truncated body then reads its end. (granian drops a connection
    whose client half-closed, so a request is never half-closed up front.)
    """
    chunks: list[bytes] = []
    deadline = time.monotonic() + SOCKET_TIMEOUT
    with socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT) as sock:
        try:
            sock.sendall(data)
        except OSError:
            pass  # the server answered and closed before reading everything
        if half_close:
            sock.settimeout(IDLE)
        closed = not half_close
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                if time.monotonic() > deadline:
                    return b"".join(chunks), True
                if not closed:
                    closed = _shutdown_write(sock)
                continue
            except OSError:
                break  # reset by the server
            if not chunk:
                break
            chunks.append(chunk)
            if not closed:
                closed = _shutdown_write(sock)
    return b"".join(chunks), False


def _shutdown_write(sock: socket.socket) -> bool:
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    return True


def _headers_and_body(response: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = [tuple(x.strip() for x in line.split(":", 1)) for line in lines[1:] if ":" in line]
    return status, headers, body  # type: ignore[return-value]


def _cookies(headers: list[tuple[str, str]]) -> list[str]:
    return [v.split(";", 1)[0] for k, v in headers if k.lower() == "set-cookie"]


def good_flow(port: int) -> Context:
    """Get a CSRF token and a session, log in, open a page that needs the login."""
    host = f"127.0.0.1:{port}"

    def request(raw: str) -> tuple[int, list[tuple[str, str]], bytes]:
        response, timed_out = exchange(port, raw.encode(), half_close=False)
        assert not timed_out and response, raw
        return _headers_and_body(response)

    status, headers, body = request(
        f"GET /csrf HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    assert status == 200, body
    token = json.loads(body)["csrf_token"]
    cookies = _cookies(headers)
    form = f"user=alice&password=wonderland&csrf_token={token}"
    status, headers, body = request(
        f"POST /login HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
        f"Origin: http://{host}\r\nCookie: {cookies[0]}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(form)}\r\n\r\n"
        + form
    )
    assert status == 200, body
    logged_in = _cookies(headers)
    status, _, body = request(
        f"GET /me HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nCookie: {logged_in[0]}\r\n\r\n"
    )
    assert status == 200, body
    return Context(host, cookies + logged_in, [token])


def classify(response: bytes, timed_out: bool) -> tuple[str, list[int]]:
    """Return the status class of the (final) response and every status seen."""
    statuses = [int(s) for s in _STATUS.findall(response)]
    final = [s for s in statuses if s >= 200] or statuses  # skip "100 Continue"
    if timed_out:
        return "timeout", statuses
    if not response:
        return "no response", statuses
    if not response.startswith(b"HTTP/"):
        # Python's http.server (under Werkzeug's dev server) answers a request
        # line without a version in HTTP/0.9 style: a bare error page.
        simple = _SIMPLE_ERROR.search(response)
        if simple is None:
            # A request line without a version is HTTP/0.9 to http.server:
            # the app's answer comes without a status line.
            if b"Internal Server Error" in response:
                return "5xx (HTTP/0.9)", [500]
            return "HTTP/0.9 answer", statuses
        statuses = [int(simple.group(1))]
        return f"{statuses[0] // 100}xx (server)", statuses
    if not statuses:
        return "unparsed", statuses
    kind = f"{final[0] // 100}xx"
    if kind == "4xx":
        # Every response of the app carries its security headers.
        by_app = b"\r\nx-content-type-options:" in response.lower()
        kind += " (app)" if by_app else " (server)"
    return kind, statuses


def refused_by_the_server(request: bytes, response: bytes, statuses: list[int]) -> bool:
    """Tell whether a 5xx is the server's own protocol refusal, which RFC 9110/9112 ask for.

    gunicorn answers a transfer coding it does not know with 501 (RFC 9112,
    section 6.1), Python's http.server (under Werkzeug's) a version other
    than HTTP/1.x with 505 (RFC 9110, section 15.6.6), both without calling
    the app: the response lacks the headers every response of the app
    carries. Any other 5xx is a failure.
    """
    errors = [s for s in statuses if s >= 500]
    if len(errors) != 1 or b"x-content-type-options" in response.lower():
        return False
    head = request.partition(b"\r\n\r\n")[0]
    request_line = head.partition(b"\r\n")[0]
    if errors[0] == 501:
        return b"\r\ntransfer-encoding:" in head.lower()
    if errors[0] == 505:
        return not request_line.endswith((b" HTTP/1.1", b" HTTP/1.0"))
    return False


def fuzz(server: Server, ctx: Context, count: int, first_seed: int) -> dict[str, t.Any]:
    counts: collections.Counter[str] = collections.Counter()
    server_errors: list[tuple[int, list[int]]] = []
    examples: list[tuple[int, bytes]] = []
    started = time.monotonic()
    sent = 0

    def one(seed: int) -> tuple[int, str, list[int]]:
        data = make_request(seed, ctx)
        response, timed_out = exchange(server.port, data)
        kind, statuses = classify(response, timed_out)
        if kind.startswith("5xx") and refused_by_the_server(data, response, statuses):
            return seed, f"{statuses[-1]} (server)", []
        if kind in ("unparsed", "HTTP/0.9 answer") and len(examples) < 3:
            examples.append((seed, response[:120]))
        return seed, kind, statuses

    with concurrent.futures.ThreadPoolExecutor(CLIENT_THREADS) as pool:
        seeds = iter(range(first_seed, first_seed + count))
        pending: set[concurrent.futures.Future[tuple[int, str, list[int]]]] = set()
        while True:
            # Bounded traffic that stops by itself, to 127.0.0.1 only.
            while len(pending) < CLIENT_THREADS * 4 and time.monotonic() - started < RUN_SECONDS:
                seed = next(seeds, None)
                if seed is None:
                    break
                pending.add(pool.submit(one, seed))
                sent += 1
            if not pending:
                break
            done, pending = concurrent.futures.wait(
                pending, return_when=concurrent.futures.FIRST_COMPLETED
            )
            for future in done:
                seed, kind, statuses = future.result()
                counts[kind] += 1
                if any(s >= 500 for s in statuses):
                    server_errors.append((seed, statuses))
    return {
        "counts": counts,
        "sent": sent,
        "server_errors": server_errors,
        "examples": examples,
        "seconds": time.monotonic() - started,
    }


@pytest.mark.parametrize(("server_name", "sessions"), RUNS, ids=[f"{s}-{k}" for s, k in RUNS])
def test_malformed_requests_never_get_a_5xx(server_name, sessions, tmp_path, request):
    env = {}
    if sessions == "redis":
        prefix = request.getfixturevalue("redis_prefix")
        env = {"FUZZ_REDIS_URL": REDIS_URL, "FUZZ_STORE_PREFIX": prefix}
    run_index = RUNS.index((server_name, sessions))
    with serve(server_name, tmp_path, env) as server:
        ctx = good_flow(server.port)
        result = fuzz(server, ctx, PER_RUN, FIRST_SEED + run_index * PER_RUN)
        good_flow(server.port)  # still answers, sessions and login still work
        # SIGTERM: let the workers stop and flush their logs before reading them.
    log = server.read_log()
    counts = result["counts"]
    summary = ", ".join(f"{k}: {counts[k]}" for k in sorted(counts))
    line = (
        f"{server_name} ({sessions} sessions): {result['sent']} requests in"
        f" {result['seconds']:.1f} s: {summary}"
    )
    unreadable = log.count("The request body could not be read")
    line += f"; unreadable bodies answered 400 by the app: {unreadable}"
    if result["sent"] < PER_RUN:
        line += f" (stopped after its {RUN_SECONDS:g} s of HERMETIC_FUZZ_MAX_SECONDS)"
    RESULTS.append(line)
    print(line)
    for seed, response in result["examples"]:
        print(f"  answer without a status line to seed {seed}: {response!r}")
    assert result["server_errors"] == [], (
        f"5xx answers (seed, statuses), replay with _fuzz.make_request: "
        f"{result['server_errors'][:20]}"
    )
    bad = [line for line in log.splitlines() if _BAD_LOG.search(line)]
    assert bad == [], f"errors in the {server_name} log ({server.log}):\n" + "\n".join(bad[:20])
    starts = log.count(server.worker_line)
    assert starts == server.workers, f"{starts - server.workers} worker restarts:\n{log[-3000:]}"
    assert counts["timeout"] == 0, line
