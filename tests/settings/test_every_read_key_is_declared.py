"""Every configuration key the code reads is declared, so the reference lists it.

The code is read as source (``ast``): a subscript or ``.get()`` on something
named ``config`` with a literal UPPER_CASE key. A key that is not hermetic's
(the app's own, or an extension's) is named below with the reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

from hermetic.settings import declared_keys

SRC = Path(__file__).resolve().parents[2] / "src" / "hermetic"

#: Keys read on purpose although they are not hermetic's settings.
NOT_OURS = {
    "REDIS_URL": "the app's own Redis: read only to say that Hermetic ignores it",
    "CORS_SUPPORTS_CREDENTIALS": "Flask-CORS's key: hermetic check warns about its wildcard use",
    "WTF_CSRF_ENABLED": "Flask-WTF's key: the CSRF shield's Flask-WTF mode (_wtf_bridge.py)",
    "WTF_CSRF_FIELD_NAME": "Flask-WTF's key: where the CSRF shield finds Flask-WTF's token",
    "WTF_CSRF_HEADERS": "Flask-WTF's key: where the CSRF shield finds Flask-WTF's token",
    "WTF_CSRF_CHECK_DEFAULT": "Flask-WTF's key: named in the CSRF shield's start-up line",
    "RATELIMIT_SWALLOW_ERRORS": "Flask-Limiter's key: its outage answer, in the start-up line",
}


def _config_target(node: ast.expr) -> bool:
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return name in ("config", "app_config") or name.endswith("config")


def _literal_key(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        key = node.value
        if key.isupper() and key.replace("_", "").isalnum():
            return key
    return None


def keys_read() -> dict[str, str]:
    """Return each literal config key read in ``src/hermetic`` with one place it is read."""
    found: dict[str, str] = {}
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            key = None
            if isinstance(node, ast.Subscript) and _config_target(node.value):
                key = _literal_key(node.slice)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("get", "setdefault", "pop")
                and _config_target(node.func.value)
                and node.args
            ):
                key = _literal_key(node.args[0])
            if key is not None:
                found.setdefault(key, f"{path.relative_to(SRC)}:{node.lineno}")
    return found


def test_the_scan_finds_reads():
    # A scan that finds nothing would pass below without checking anything.
    assert {"SECRET_KEY", "TRUSTED_HOSTS", "REDIS_URL"} <= set(keys_read())


def test_every_key_the_code_reads_is_declared():
    declared = declared_keys()
    missing = {
        key: where
        for key, where in keys_read().items()
        if key not in declared and key not in NOT_OURS
    }
    assert missing == {}, (
        "These keys are read but not declared, so docs/configuration.md does not list"
        " them. Fix: declare each with setting() in its feature's Settings class"
        " (docs/contributing/internals.md, 'Settings'), then run scripts/config-reference."
    )
