"""Start the whole reference system on loopback: ``./scripts/example`` runs this.

Embedded defaults, nothing else to start: SQLite files and signing keys in
a fresh temporary folder (removed at exit), secrets generated now,
in-memory stores, demo accounts with fresh passwords printed below. One
process per service: web on ``--port`` (default 5000), identity on the
next port, api on the one after. Ctrl-C stops all three.
"""

from __future__ import annotations

import argparse
import os
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

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _wait_healthy(url: str, child: subprocess.Popen[bytes], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    while time.monotonic() < deadline:
        if child.poll() is not None:
            return False
        try:
            with opener.open(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.1)
    return False


def environment(host: str, port: int, instance: str) -> dict[str, str]:
    """Return the environment the three services share."""
    web, identity, api = (f"http://{host}:{port + i}" for i in range(3))
    env = dict(os.environ)
    env.update(
        REFERENCE_ENV="development",
        REFERENCE_INSTANCE=instance,
        WEB_URL=web,
        IDENTITY_URL=identity,
        API_URL=api,
        IDENTITY_KEYS_DIR=os.path.join(instance, "identity-keys"),
        WEB_CLIENT_SECRET=secrets.token_urlsafe(32),
        PYTHONPATH=os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")])),
    )
    # The embedded defaults, whatever the shell has: a fresh SQLite file per
    # service and in-memory stores (deploy/ runs PostgreSQL and Redis).
    for name in ("DATABASE_URL", "HERMETIC_REDIS_URL", "REDIS_URL", "HERMETIC_SECRET_KEY"):
        env.pop(name, None)
    return env


def _seed(env: dict[str, str]) -> list[tuple[str, str, str]]:
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        from .api import create_app as create_api
        from .demo import seed
        from .identity import create_app as create_identity

        # SECRET_KEY is only checked when a request is served; seeding serves none.
        return seed(create_identity(), create_api())
    finally:
        os.environ.clear()
        os.environ.update(saved)


def main(argv: t.Sequence[str] | None = None) -> int:
    """Start the services, print where they are, wait for Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (loopback)")
    parser.add_argument("--port", type=int, default=5000, help="web's port; identity +1, api +2")
    args = parser.parse_args(argv)
    for offset in range(3):
        if not _port_free(args.host, args.port + offset):
            print(
                f"Cause: port {args.port + offset} on {args.host} is in use."
                f" Fix: ./scripts/example --port {args.port + 10}",
                file=sys.stderr,
            )
            return 2

    def stop(_signum: int, _frame: t.Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)  # stopped by a supervisor: stop the children too
    instance = tempfile.mkdtemp(prefix="hermetic-reference-")
    env = environment(args.host, args.port, instance)
    children: list[subprocess.Popen[bytes]] = []
    try:
        accounts = _seed(env)
        for offset, service in enumerate(("web", "identity", "api")):
            child_env = dict(env, HERMETIC_SECRET_KEY=secrets.token_urlsafe(48))
            command = [sys.executable, "-m", "examples.reference.serve", service]
            command += ["--host", args.host, "--port", str(args.port + offset)]
            children.append(subprocess.Popen(command, env=child_env, cwd=ROOT))
        urls = [env["WEB_URL"], env["IDENTITY_URL"], env["API_URL"]]
        for url, child in zip(urls, children, strict=True):
            if not _wait_healthy(url, child):
                print(f"A service did not start at {url}; see its log above.", file=sys.stderr)
                return 1
        print(
            "\nThe reference system is running:\n"
            f"  open {env['WEB_URL']}   (web)\n"
            f"  identity {env['IDENTITY_URL']}   api {env['API_URL']} (docs: {env['API_URL']}/docs)\n"
            "Demo accounts (new passwords each start):\n"
            + "".join(f"  {email}  {password}  ({role})\n" for email, password, role in accounts)
            + "Press Ctrl-C to stop.\n",
            flush=True,
        )
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("A service stopped; stopping the others.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
