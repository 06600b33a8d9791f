"""Optional dependencies: a missing one names the extra to install."""

from __future__ import annotations

import pytest

from hermetic.security._extras import require


def test_missing_module_names_the_extra():
    with pytest.raises(ImportError, match=r"pip install 'hermetic\[jwt\]'"):
        require("hermetic_no_such_module", "jwt", "JWT service auth")


def test_present_module_passes():
    require("json", "none", "JSON")


def test_hermetic_needs_no_extra(tmp_path):
    import subprocess
    import sys

    # The default protections import only the core dependencies.
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'jwt', 'pydantic', 'prometheus_client', 'redis'}:\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import hermetic\n"
        "app = hermetic.Hermetic('x')\n"
        "app.config['SECRET_KEY'] = '0cZ9v1-8cGm3V1Xr2yQ6tLk4pN7sW0eB5hJ2uD8fA3q'\n"
        "app.add_url_rule('/', 'i', lambda: 'ok')\n"
        "assert app.test_client().get('/').status_code == 200\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path, timeout=60)
