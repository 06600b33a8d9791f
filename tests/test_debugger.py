"""The debugger-on-a-public-host rule (hermetic/_debugger.py) and its three entry points.

``hermetic run`` is tested in ``tests/cli/``; here the rule itself, ``Flask.run()``
and ``Hermetic.run()``.
"""

from __future__ import annotations

import pytest
import werkzeug.serving

import hermetic
from hermetic import Flask
from hermetic._debugger import UnsafeDebuggerError, check_debugger_host, is_loopback_host

LOOPBACK = ["127.0.0.1", "127.0.0.2", "localhost", "LOCALHOST", "::1", "[::1]", "unix:///tmp/s"]
PUBLIC = ["0.0.0.0", "::", "192.0.2.10", "example.com", "10.0.0.1", ""]
STRONG_KEY = "0cZ9v1-8cGm3V1Xr2yQ6tLk4pN7sW0eB5hJ2uD8fA3q"


@pytest.mark.parametrize("host", LOOPBACK)
def test_loopback_hosts(host):
    assert is_loopback_host(host)
    check_debugger_host(host, debugger=True, unsafe=False)


@pytest.mark.parametrize("host", PUBLIC)
def test_debugger_on_a_public_host_is_refused(host):
    assert not is_loopback_host(host)
    with pytest.raises(UnsafeDebuggerError, match="Refusing to run the interactive debugger"):
        check_debugger_host(host, debugger=True, unsafe=False)


def test_the_fix_names_the_way_out_of_each_entry_point():
    with pytest.raises(UnsafeDebuggerError) as python:
        check_debugger_host("0.0.0.0", debugger=True, unsafe=False)
    assert "use_debugger=False" in str(python.value)
    assert "unsafe_debugger_on_public_host=True" in str(python.value)
    with pytest.raises(UnsafeDebuggerError) as cli:
        check_debugger_host("0.0.0.0", debugger=True, unsafe=False, cli=True)
    assert "--no-debugger" in str(cli.value)
    assert "--unsafe-debugger-on-public-host" in str(cli.value)


def test_no_debugger_or_the_opt_in_is_allowed_anywhere():
    check_debugger_host("0.0.0.0", debugger=False, unsafe=False)
    check_debugger_host("0.0.0.0", debugger=True, unsafe=True)


@pytest.fixture
def served(monkeypatch):
    calls = []
    monkeypatch.setattr(
        werkzeug.serving, "run_simple", lambda host, port, app, **kw: calls.append((host, kw))
    )
    for name in ("FLASK_RUN_FROM_CLI", "FLASK_DEBUG", "HERMETIC_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    return calls


def _hermetic():
    app = hermetic.Hermetic("debugger_rule_app")
    app.config["SECRET_KEY"] = STRONG_KEY
    return app


@pytest.fixture(params=["flask", "hermetic"])
def any_app(request):
    return Flask("debugger_rule_flask") if request.param == "flask" else _hermetic()


def test_app_run_refuses_debug_on_a_public_host(any_app, served):
    with pytest.raises(UnsafeDebuggerError, match="'0.0.0.0'"):
        any_app.run(host="0.0.0.0", debug=True, load_dotenv=False)
    assert served == []


def test_app_run_refuses_an_explicit_debugger_on_a_public_host(any_app, served):
    with pytest.raises(UnsafeDebuggerError):
        any_app.run(host="192.0.2.10", use_debugger=True, load_dotenv=False)
    assert served == []


def test_app_run_refuses_debug_from_server_name_on_a_public_host(any_app, served):
    any_app.config["SERVER_NAME"] = "example.com:8000"
    with pytest.raises(UnsafeDebuggerError, match="'example.com'"):
        any_app.run(debug=True, load_dotenv=False)
    assert served == []


def test_app_run_debug_on_loopback(any_app, served):
    any_app.run(debug=True, load_dotenv=False, use_reloader=False)
    ((host, options),) = served
    assert host == "127.0.0.1" and options["use_debugger"] is True


def test_app_run_debug_without_debugger_on_a_public_host(any_app, served):
    any_app.run(
        host="0.0.0.0", debug=True, use_debugger=False, use_reloader=False, load_dotenv=False
    )
    ((host, options),) = served
    assert host == "0.0.0.0" and options["use_debugger"] is False


def test_app_run_explicit_opt_in(any_app, served):
    any_app.run(
        host="0.0.0.0",
        debug=True,
        use_reloader=False,
        load_dotenv=False,
        unsafe_debugger_on_public_host=True,
    )
    ((host, options),) = served
    assert options["use_debugger"] is True
    # The opt-in is hermetic's own: never handed on to Werkzeug.
    assert "unsafe_debugger_on_public_host" not in options
