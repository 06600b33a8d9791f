"""Helpers of test_reference_topology: the nginx config rendered for loopback, processes, HTTPS.

One source for the gateway: :func:`render_gateway` takes ``deploy/nginx/nginx.conf``
and substitutes only what differs on loopback (the upstream servers, the
listen ports, the certificate, the pid, log and temporary paths, one worker
process). Every rule (TLS, limits, the auth check, retries) is the deployed one.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import ssl
import subprocess
import time
import typing as t
from urllib.parse import urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
GATEWAY_CONF = os.path.join(ROOT, "deploy", "nginx", "nginx.conf")
#: The ports of deploy/nginx/nginx.conf: plain HTTP, web, identity, api.
DEPLOY_PORTS = (8080, 8443, 8444, 8445)


def free_ports(n: int) -> list[int]:
    """Return ``n`` distinct free TCP ports on 127.0.0.1."""
    sockets, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
        ports.append(s.getsockname()[1])
    for s in sockets:
        s.close()
    return ports


def render_gateway(
    upstreams: t.Mapping[str, t.Sequence[str]],
    ports: t.Mapping[int, int],
    certificate: tuple[str, str],
    workdir: str,
) -> str:
    """Return deploy/nginx/nginx.conf for loopback (see the module docstring)."""
    with open(GATEWAY_CONF, encoding="utf-8") as f:
        conf = f.read()

    def servers(match: re.Match[str]) -> str:
        indent, name, params = match.group(1), match.group(2), match.group(3)
        return "".join(f"{indent}server {addr}{params};\n" for addr in upstreams[name])

    conf, count = re.subn(r"( +)server (\w+):8000([^;]*);\n", servers, conf)
    assert count == len(upstreams), "the deploy config's upstreams changed"
    for deployed, local in ports.items():
        conf = re.sub(rf"listen {deployed}\b", f"listen 127.0.0.1:{local}", conf)
        conf = conf.replace(f":{deployed}$request_uri", f":{local}$request_uri")
    crt, key = certificate
    conf = conf.replace("/etc/nginx/tls/gateway.crt", crt).replace(
        "/etc/nginx/tls/gateway.key", key
    )
    conf = conf.replace("worker_processes auto;", "worker_processes 1;")
    conf = conf.replace("pid /tmp/nginx.pid;", f"pid {workdir}/nginx.pid;")
    conf = conf.replace("error_log /dev/stderr", f"error_log {workdir}/error.log")
    conf = conf.replace("access_log /dev/stdout", f"access_log {workdir}/access.log")
    conf = re.sub(r"_temp_path /tmp/", f"_temp_path {workdir}/", conf)
    leftover = conf.replace(workdir, "WORKDIR")
    assert "/tmp/" not in leftover and "/dev/std" not in leftover
    return conf


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 45.0) -> None:
    """Wait for ``url`` + ``/healthz`` to answer 200; fail with the process's fate."""
    deadline = time.monotonic() + timeout
    parts = urlsplit(url)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url} exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=2)
            conn.request("GET", "/healthz", headers={"Host": "localhost"})
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.1)
    raise AssertionError(f"{url} did not become healthy in {timeout} s")


class Sender:
    """A ``testing.Sender`` over HTTPS (the gateway's CA) or HTTP, from one loopback address.

    nginx limits requests per client address; each simulated client has its
    own address in 127.0.0.0/8, as distinct users on the internet would.
    """

    def __init__(self, ca_file: str, source: str = "127.0.0.1", timeout: float = 15.0) -> None:
        self.context = ssl.create_default_context(cafile=ca_file)
        self.source = source
        self.timeout = timeout

    def __call__(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        parts = urlsplit(url)
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(
                parts.hostname or "",
                parts.port,
                timeout=self.timeout,
                context=self.context,
                source_address=(self.source, 0),
            )
        else:
            conn = http.client.HTTPConnection(
                parts.hostname or "",
                parts.port,
                timeout=self.timeout,
                source_address=(self.source, 0),
            )
        try:
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()
