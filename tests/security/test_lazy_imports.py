"""What a ``Hermetic`` app loads to serve a page that checks no password, no token.

Start-up time and memory per worker: the heavy optional dependencies load on
first use, never for ``import hermetic`` or a plain page.
"""

from __future__ import annotations

import subprocess
import sys

#: Loaded on first use only (password check, JWT, validation, metrics, Redis).
LAZY = ("argon2", "jwt", "pydantic", "prometheus_client", "redis")

SERVE_A_PAGE = """
import sys
import hermetic
loaded = [m for m in {lazy!r} + ("cryptography", "limits") if m in sys.modules]
assert not loaded, f"import hermetic loaded {{loaded}}"
app = hermetic.Hermetic("lazy")
app.config["SECRET_KEY"] = "lazy-3f9c1a7e5d2b8046c1e9a7f3b5d2c8e0a4f6b1d9"

@app.get("/")
def index():
    return "ok"

from werkzeug.test import create_environ
seen = []
body = b"".join(app(create_environ("/", "https://localhost/"), lambda s, h, e=None: seen.append(s)))
assert seen == ["200 OK"] and body == b"ok", (seen, body)
loaded = [m for m in {lazy!r} if m in sys.modules]
assert not loaded, f"serving a page loaded {{loaded}}"
from hermetic.security.auth import check_password, hash_password
assert check_password(hash_password("pw"), "pw")
assert "argon2" in sys.modules
print("ok")
"""


def test_heavy_dependencies_load_on_first_use():
    out = subprocess.run(
        [sys.executable, "-c", SERVE_A_PAGE.format(lazy=LAZY)],
        capture_output=True,
        text=True,
        check=False,
        env={"HERMETIC_SECRET_KEY": "", "PATH": ""},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout == "ok\n"


PLAIN_APP = """
import sys
import hermetic
app = hermetic.Flask("plain")
app.secret_key = "plain-3f9c1a7e5d2b8046c1e9a7f3b5d2c8e0a4f6b1d9"

@app.get("/")
def index():
    hermetic.session["n"] = 1
    return "ok"

from werkzeug.test import create_environ
assert b"".join(app(create_environ("/"), lambda s, h, e=None: None)) == b"ok"
loaded = [m for m in ("hermetic.security", "cryptography", "limits") if m in sys.modules]
assert not loaded, f"a plain app loaded {loaded}"
from hermetic.cli import cli
assert {"check", "openapi"} <= set(cli._fallback_commands)
print("ok")
"""


def test_a_plain_app_loads_no_security_layer():
    # app.cli is made for every app; the CLI's own commands (check, openapi)
    # load the security layer only when the command line looks them up.
    out = subprocess.run([sys.executable, "-c", PLAIN_APP], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout == "ok\n"


def test_the_check_module_imports_on_its_own():
    code = "import hermetic.security.checks; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
