"""The topology: nginx (TLS) in front of gunicorn instances on PostgreSQL and Redis.

Debian's nginx runs as the test user with deploy/nginx/nginx.conf rendered
for loopback (one source: reference_topology_support.render_gateway), a
self-signed certificate made now, in front of two gunicorn instances of web
and of api and one of identity (one worker each), on a PostgreSQL database
made for this test (dropped at the end) and the shared Redis under a key
prefix of this test's own (never flushed; every key expires).

Every request of the test's clients (browsers, API callers) goes through
nginx over TLS. Only two things use the internal ports, as the deployment's
insiders do: the test acting as the web service when it asks identity for
user tokens (``/oauth/code``, ``/oauth/user-token``: closed at the gateway),
and the cookie replayed straight at each web instance after logout.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import typing as t
from urllib.parse import parse_qs, urlsplit

import pytest
from examples.reference.testing import Browser
from reference_topology_support import (
    DEPLOY_PORTS,
    ROOT,
    Sender,
    free_ports,
    render_gateway,
    wait_healthy,
)

from hermetic.testing import self_signed_certificate

PASSWORD = "a long enough password"
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/"
REDIS = "redis://127.0.0.1:6379/0"


def _need(condition: bool, reason: str) -> None:
    if not condition:
        pytest.skip(reason)


def _prerequisites() -> tuple[str, str]:
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None
    )
    _need(nginx is not None, "nginx is not installed (apt-get install nginx-light; .ci/run does)")
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    _need(
        os.path.exists(gunicorn),
        "gunicorn is not installed in this venv (pip install -e '.[test]')",
    )
    psycopg = pytest.importorskip(
        "psycopg", reason="psycopg is the postgres extra (pip install -e '.[test]')"
    )
    redis = pytest.importorskip("redis")
    try:
        psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=2
        ).close()
    except psycopg.Error:
        pytest.skip("no PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth)")
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    return t.cast(str, nginx), gunicorn


def _admin_sql(sql: str) -> None:
    import psycopg

    with psycopg.connect(
        "host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True
    ) as c:
        c.execute(sql)


class Topology:
    """The running system: where things are, the processes, the logs."""

    def __init__(self, workdir: str, ports: dict[str, int], ca: str) -> None:
        self.workdir = workdir
        self.ports = ports
        self.ca = ca
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.web = f"https://localhost:{ports['web_tls']}"
        self.identity = f"https://localhost:{ports['identity_tls']}"
        self.api = f"https://localhost:{ports['api_tls']}"
        self.plain = f"http://localhost:{ports['plain']}"
        self._source = 1
        self.web_secret = ""

    def internal(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def sender(self) -> Sender:
        """A client with an address of its own (nginx limits per address)."""
        self._source += 1
        return Sender(self.ca, f"127.0.{self._source // 250}.{self._source % 250 + 2}")

    def browser(self) -> Browser:
        return Browser(self.sender())

    def log(self, name: str) -> list[dict[str, t.Any]]:
        """Return the access-log lines of ``name`` (a service, or ``gateway``)."""
        path = os.path.join(self.workdir, "access.log" if name == "gateway" else f"{name}.log")
        lines = []
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        lines.append(json.loads(line))
                    except ValueError:
                        pass
        # The access log's lines; the services' audit events share the stream.
        return [line for line in lines if "event" not in line]


def _start(topology: Topology, gunicorn: str, name: str, service: str, env: dict[str, str]) -> None:
    log = open(os.path.join(topology.workdir, f"{name}.log"), "wb")  # noqa: SIM115 (closed with the process)
    command = [
        gunicorn,
        "--bind",
        f"127.0.0.1:{topology.ports[name]}",
        "--workers",
        "1",
        "--threads",
        "4",
        "--preload",
        "--graceful-timeout",
        "10",
        f"examples.reference.{service}:create_app()",
    ]
    topology.processes[name] = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    log.close()


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    nginx, gunicorn = _prerequisites()
    workdir = str(tmp_path_factory.mktemp("topology"))
    names = [
        "identity",
        "api1",
        "api2",
        "web1",
        "web2",
        "plain",
        "web_tls",
        "identity_tls",
        "api_tls",
    ]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    crt, key = self_signed_certificate(workdir, stem="gateway")
    topology = Topology(workdir, ports, crt)
    topology.web_secret = secret = secrets.token_urlsafe(32)
    database = f"hermetic_topology_{secrets.token_hex(6)}"
    prefix = f"hermetic-test:topology:{secrets.token_hex(8)}:"
    base = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "HOME")},
        "PYTHONPATH": ROOT,
        "PYTHONUNBUFFERED": "1",
        "REFERENCE_ENV": "production",
        "REFERENCE_INSTANCE": os.path.join(workdir, "instance"),
        "DATABASE_URL": PG + database,
        "HERMETIC_REDIS_URL": REDIS,
        "HERMETIC_STORE_PREFIX": prefix,
        "TRUSTED_PROXY_HOPS": "1",
        "TRUSTED_HOSTS": "localhost,127.0.0.1",
        "WEB_URL": topology.web,
        "IDENTITY_PUBLIC_URL": topology.identity,
        "WEB_CLIENT_SECRET": secret,
    }
    identity_env = {
        **base,
        "IDENTITY_URL": topology.identity,
        "IDENTITY_KEYS_DIR": os.path.join(workdir, "identity-keys"),
        "HERMETIC_SECRET_KEY": secrets.token_urlsafe(48),
    }
    api_env = {
        **base,
        "IDENTITY_URL": topology.identity,
        "IDENTITY_ISSUER": topology.identity,
        # identity's keys through the gateway, over TLS: the test's CA, no plain HTTP.
        "IDENTITY_JWKS_URL": topology.identity + "/.well-known/jwks.json",
        "JWT_JWKS_CA_FILE": crt,
        "TRUSTED_PROXY_HOPS": "0",
        "HERMETIC_SECRET_KEY": secrets.token_urlsafe(48),
    }
    web_env = {**base, "HERMETIC_SECRET_KEY": secrets.token_urlsafe(48)}
    with open(os.path.join(workdir, "nginx.conf"), "w", encoding="utf-8") as f:
        f.write(
            render_gateway(
                {
                    "web": [topology.internal("web1")[7:], topology.internal("web2")[7:]],
                    "identity": [topology.internal("identity")[7:]],
                    "api": [topology.internal("api1")[7:], topology.internal("api2")[7:]],
                },
                dict(zip(DEPLOY_PORTS, (ports[n] for n in names[5:]), strict=True)),
                (crt, key),
                workdir,
            )
        )
    _admin_sql(f'CREATE DATABASE "{database}"')
    try:
        # identity and the first api migrate the database (as the services do
        # at start); the second api starts on the migrated one.
        _start(topology, gunicorn, "identity", "identity", identity_env)
        _start(topology, gunicorn, "api1", "api", api_env)
        for i in (1, 2):
            web = {**web_env, "IDENTITY_URL": topology.internal("identity")}
            _start(
                topology,
                gunicorn,
                f"web{i}",
                "web",
                {**web, "API_URL": topology.internal(f"api{i}")},
            )
        conf = os.path.join(workdir, "nginx.conf")
        topology.processes["gateway"] = subprocess.Popen(
            [
                nginx,
                "-p",
                workdir,
                "-e",
                os.path.join(workdir, "error.log"),
                "-c",
                conf,
                "-g",
                "daemon off;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name in ("identity", "api1"):
            wait_healthy(topology.internal(name), topology.processes[name])
        _start(topology, gunicorn, "api2", "api", api_env)
        for name in ("web1", "web2", "api2"):
            wait_healthy(topology.internal(name), topology.processes[name])
        yield topology
    finally:
        gateway = topology.processes.pop("gateway", None)
        if gateway is not None:  # first: the services then have no connection to drain
            gateway.terminate()
            gateway.wait(timeout=15)
        for process in topology.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGQUIT)  # gunicorn's quick stop: nothing left to drain
        for process in topology.processes.values():
            try:
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # the arbiter and its worker
                process.wait(timeout=5)
        _admin_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


# -- helpers --------------------------------------------------------------------------


def _sign_up(topology: Topology, email: str) -> Browser:
    browser = topology.browser()
    page = browser.get(topology.web + "/auth/login")  # -> identity's login page, via the gateway
    assert page.status == 200 and page.url.startswith(topology.identity + "/login"), page.url
    signup = browser.get(topology.identity + "/signup?" + page.url.partition("?")[2])
    page = browser.submit(signup, None, {"email": email, "name": email, "password": PASSWORD})
    assert page.url == topology.web + "/" and f"Signed in as {email}" in page.text, page.text[:500]
    return browser


def _web_client(topology: Topology) -> t.Any:
    """identity's client as the web service has it (internal network, web's credentials)."""
    from examples.reference.web.client import HTTPTransport, IdentityClient

    return IdentityClient(
        topology.internal("identity"), "web", topology.web_secret, HTTPTransport(10)
    )


def _grant(topology: Topology, browser: Browser, identity: t.Any) -> str:
    """A grant for the user signed in at identity in ``browser``, as web gets one."""
    state = secrets.token_urlsafe(20)
    callback = topology.web + "/auth/callback"
    page = browser.get(
        f"{topology.identity}/oauth/authorize?client_id=web&state={state}&redirect_uri={callback}",
        follow=False,
    )
    code = parse_qs(urlsplit(page.header("Location")).query)["code"][0]
    return str(identity.exchange_code(code, callback)["grant"])


def _api(
    topology: Topology,
    sender: Sender,
    method: str,
    path: str,
    token: str | None,
    body: t.Any = None,
) -> tuple[int, dict[str, str], bytes]:
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    status, got, raw = sender(method, topology.api + path, headers, data)
    return status, {k.lower(): v for k, v in got}, raw


# -- the tests (in this order: the last one stops an api instance) ----------------------


def test_the_gateway_is_tls_only_and_checks_auth_before_routing(topology):
    client = topology.sender()
    status, headers, _ = client("GET", topology.plain + "/notes?x=1", {}, None)
    assert status == 308 and dict((k.lower(), v) for k, v in headers)["location"] == (
        topology.web + "/notes?x=1"
    )
    before = len(topology.log("api1")) + len(topology.log("api2"))
    identity = _web_client(topology)
    refused = {
        "no token": None,
        "garbage": "not.a.token",
        "identity's own token": identity.service_token(),  # aud identity, not api
    }
    for why, token in refused.items():
        status, headers, body = _api(topology, client, "GET", "/v1/notes", token)
        assert status == 401, why
        assert headers["www-authenticate"] == "Bearer"
        assert json.loads(body)["status"] == 401
    # ... and none of them reached api: its instances logged nothing new.
    assert len(topology.log("api1")) + len(topology.log("api2")) == before
    # The internal endpoints are closed at the gateway; the API docs are public.
    for url in (
        topology.identity + "/internal/token-check",
        topology.identity + "/oauth/user-token",
        topology.web + "/metrics",
        topology.api + "/metrics",
        topology.api + "/healthz",
    ):
        assert client("GET", url, {}, None)[0] == 404, url
    assert client("GET", topology.api + "/openapi.json", {}, None)[0] == 200
    # Request size: nginx refuses a body over 1 MiB before any service reads it.
    big = b"x" * (1024 * 1024 + 1)
    status, _, _ = client(
        "POST", topology.web + "/auth/logout", {"Content-Type": "text/plain"}, big
    )
    assert status == 413


def test_the_request_id_follows_a_request_from_the_gateway_through_web_to_api(topology):
    ann = _sign_up(topology, "ann@example.com")
    page = ann.get(topology.web + "/")
    assert page.status == 200 and "Your notes" in page.text
    rid = page.header("X-Request-ID")
    assert rid and len(rid) == 32  # nginx's $request_id, echoed by web

    def lines(*names: str) -> list[dict[str, t.Any]]:
        return [line for n in names for line in topology.log(n) if line.get("request_id") == rid]

    def logged() -> bool:
        return bool(
            lines("gateway")
            and lines("web1", "web2")
            and lines("api1", "api2")
            and "/oauth/user-token" in [line["path"] for line in lines("identity")]
        )

    # nginx and gunicorn write an access-log line once the response has left:
    # the page can arrive before the last of them is on disk.
    deadline = time.monotonic() + 10
    while not logged() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [line["uri"] for line in lines("gateway")] == ["/"]
    assert [line["path"] for line in lines("web1", "web2")] == ["/"]
    assert [line["path"] for line in lines("api1", "api2")] == ["/v1/notes"]
    # web's token for the call
    assert "/oauth/user-token" in [line["path"] for line in lines("identity")]


def test_logout_revokes_the_session_on_every_instance(topology):
    bob = _sign_up(topology, "bob@example.com")
    cookies = dict(bob.cookies)
    direct = [topology.internal("web1"), topology.internal("web2")]

    def signed_in(base: str) -> bool:
        replay = topology.browser()
        replay.cookies = dict(cookies)
        # Straight at an instance, as the gateway would forward it.
        headers = {"Host": "localhost", "X-Forwarded-Proto": "https"}
        page = replay.get(base + "/notes/new", follow=False, headers=headers)
        return page.status == 200

    assert all(signed_in(base) for base in direct)
    page = bob.get(topology.web + "/")
    bob.submit(page, "/auth/logout", {})
    assert not any(signed_in(base) for base in direct)
    for _ in range(4):  # through the gateway too, whichever instance answers
        assert not signed_in(topology.web)


def test_the_per_user_api_limit_holds_across_instances(topology):
    from examples.reference.api.views import WRITE_LIMIT

    limit = int(WRITE_LIMIT.split("/")[0])
    cat = _sign_up(topology, "cat@example.com")
    identity = _web_client(topology)
    grant = _grant(topology, cat, identity)
    tokens = [identity.user_token(grant) for _ in range(limit + 1)]
    client = topology.sender()
    statuses, rids = [], []
    for i, token in enumerate(tokens):
        status, headers, _ = _api(topology, client, "POST", "/v1/notes", token, {"title": f"n{i}"})
        statuses.append(status)
        rids.append(headers.get("x-request-id"))
    assert statuses == [201] * limit + [429], statuses
    # The counted requests were spread over both api instances (one Redis counter).
    served = {
        line["upstream"].split(",")[0]
        for line in topology.log("gateway")
        if line.get("request_id") in rids and line["uri"] == "/v1/notes"
    }
    assert served == {topology.internal("api1")[7:], topology.internal("api2")[7:]}, served


def test_stopping_an_api_instance_under_load_loses_no_retryable_request(topology):
    dan = _sign_up(topology, "dan@example.com")
    identity = _web_client(topology)
    grant = _grant(topology, dan, identity)
    total = 60
    tokens = [identity.user_token(grant) for _ in range(total)]
    results: list[int | str] = []
    lock = threading.Lock()
    started = threading.Event()

    def worker(mine: list[str]) -> None:
        client = topology.sender()
        for token in mine:
            try:
                status = _api(topology, client, "GET", "/v1/notes", token)[0]
            except OSError as e:
                status = type(e).__name__
            with lock:
                results.append(status)
                if len(results) >= total // 4:
                    started.set()

    threads = [threading.Thread(target=worker, args=(tokens[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    assert started.wait(60)
    victim = topology.processes["api2"]
    victim.send_signal(signal.SIGTERM)  # gunicorn's graceful stop, requests in flight
    with lock:
        done_at_stop = len(results)
    for thread in threads:
        thread.join(60)
    assert victim.wait(timeout=20) == 0
    assert len(results) == total and set(results) == {200}, results
    # The load ran on both instances before the stop, and went on after it.
    assert done_at_stop < total
    api2 = topology.internal("api2")[7:]
    assert any(
        api2 in line["upstream"]
        for line in topology.log("gateway")
        if line["uri"] == "/v1/notes" and line["method"] == "GET"
    )
