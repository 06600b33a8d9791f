"""The one rule for Werkzeug's interactive debugger: loopback only, unless forced.

The debugger runs Python for whoever reaches it, so it must never listen on
an address other machines can reach by accident. :func:`check_debugger_host`
is the only place that decides; ``hermetic run`` (``cli/commands.py``),
``Flask.run()`` and ``Hermetic.run()`` (through ``Flask.run()``) all call it,
with one behaviour:

- the debugger off, or a loopback host (``127.0.0.0/8``, ``::1``,
  ``localhost``, a ``unix://`` socket): allowed;
- the debugger on (debug mode turns it on unless it is switched off) on any
  other host: refused with :class:`UnsafeDebuggerError`, and nothing is
  served -- unless the caller opted in explicitly (``--unsafe-debugger-on-public-host``,
  ``app.run(..., unsafe_debugger_on_public_host=True)``).

Debug mode without the debugger (``--no-debugger``, ``use_debugger=False``)
is allowed on any host: the reloader runs nothing a client sends.
"""

from __future__ import annotations

import ipaddress

__all__ = ["UnsafeDebuggerError", "check_debugger_host", "is_loopback_host"]


class UnsafeDebuggerError(RuntimeError):
    """The interactive debugger was asked for on a host other machines can reach."""


def is_loopback_host(host: str) -> bool:
    """Tell whether ``host`` only accepts connections from this machine."""
    if host.startswith("unix://"):  # a socket file, guarded by file permissions
        return True
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_debugger_host(host: str, *, debugger: bool, unsafe: bool, cli: bool = False) -> None:
    """Raise :class:`UnsafeDebuggerError` if the debugger would listen on a public ``host``.

    :param debugger: whether the interactive debugger would run.
    :param unsafe: the explicit opt-in (``--unsafe-debugger-on-public-host``
        or ``unsafe_debugger_on_public_host=True``).
    :param cli: word the fix for the ``hermetic run`` command (flags) rather
        than for ``app.run()`` (arguments).
    """
    # SECURITY: the Werkzeug debugger is a remote shell; keep it on loopback
    # unless the developer forced it, by name, for this one start.
    if not debugger or unsafe or is_loopback_host(host):
        return
    if cli:
        off, opt_in = "--no-debug or --no-debugger", "--unsafe-debugger-on-public-host"
    else:
        off, opt_in = "debug=False or use_debugger=False", "unsafe_debugger_on_public_host=True"
    raise UnsafeDebuggerError(
        f"Refusing to run the interactive debugger on host {host!r}: it lets anyone"
        " who can reach the server run arbitrary code on this machine. Fix: bind to"
        f" 127.0.0.1 (the default), turn the debugger off ({off}), or, only on a"
        f" trusted network, pass {opt_in}."
    )
