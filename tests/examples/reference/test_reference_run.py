"""``./scripts/example``'s launcher: three processes, demo accounts that work, Ctrl-C stops all."""

from __future__ import annotations

import os
import random
import re
import selectors
import signal
import socket
import subprocess
import sys
import time

import pytest
from examples.reference.testing import Browser, http_sender

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _base_port() -> int:
    for _ in range(50):
        base = random.randrange(20000, 60000)
        if all(_free(base + i) for i in range(3)):
            return base
    pytest.skip("no three consecutive free ports on loopback")


def _read_until(child: subprocess.Popen, marker: str, timeout: float) -> str:
    out = ""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(child.stdout, selectors.EVENT_READ)
        while marker not in out:
            left = deadline - time.monotonic()
            if left <= 0 or child.poll() is not None:
                raise AssertionError(f"the launcher did not get ready: {out!r}")
            if selector.select(left):
                # os.read, not readline: a buffered file would hide lines from select().
                out += os.read(child.stdout.fileno(), 65536).decode()
    return out


def test_the_launcher_starts_the_system_with_working_demo_accounts():
    base = _base_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HERMETIC_", "DATABASE_"))}
    child = subprocess.Popen(
        [sys.executable, "-m", "examples.reference.run", "--port", str(base)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        banner = _read_until(child, "Press Ctrl-C", timeout=60)
        web = f"http://127.0.0.1:{base}"
        assert f"open {web}" in banner
        password = re.search(r"member@example\.com\s+(\S+)\s+\(member\)", banner).group(1)
        browser = Browser(http_sender())
        page = browser.get(web + "/auth/login")
        page = browser.submit(page, None, {"email": "member@example.com", "password": password})
        assert "Welcome to the reference system" in page.text  # shared by the admin
        assert "Groceries" in page.text
        assert browser.get(web + "/admin").status == 403
        assert browser.get(f"http://127.0.0.1:{base + 2}/docs").status == 200
    finally:
        child.send_signal(signal.SIGINT)
        code = child.wait(timeout=20)
        child.stdout.close()
    assert code == 0
    assert not any(_listening(base + i) for i in range(3)), "a service outlived Ctrl-C"
