"""An app with an encrypted session interface on a manual clock, and cookies it sealed.

Shared by the session suites that call ``open_session`` and
``save_session`` directly (test_session_open_fast.py,
test_session_open_inline.py, test_session_settings_currency.py).
"""

from __future__ import annotations

import typing as t

from werkzeug.test import EnvironBuilder

import hermetic
from hermetic.security.sessions import EncryptedSessionInterface
from hermetic.security.stores import MemoryStore
from hermetic.testing import ManualClock
from hermetic.wrappers import Response

T0 = 1_700_000_000.0


def session_app(
    key: str, cache_size: int = 1024, server_side: bool = False, clock: t.Any = None
) -> tuple[hermetic.Flask, t.Any]:
    """A plain app whose session interface and store read ``clock`` (from ``T0``)."""
    app = hermetic.Flask(__name__)
    app.config.update(
        TESTING=True,
        SECRET_KEY=key,
        SESSION_OPENED_CACHE_SIZE=cache_size,
        SESSION_SERVER_SIDE=server_side,
    )
    clock = clock or ManualClock(T0)
    app.session_interface = EncryptedSessionInterface(now=clock)
    app.extensions["hermetic.store"] = MemoryStore(now=clock)
    return app, clock


def bare_request(app: t.Any, header: str | None = None) -> t.Any:
    """A request of ``app`` with ``header`` as its ``Cookie`` header."""
    headers = {} if header is None else {"Cookie": header}
    return app.request_class(EnvironBuilder(headers=headers).get_environ())


def sealed_cookie(app: t.Any, data: dict[str, t.Any]) -> str:
    """A session cookie value holding ``data``, made by ``save_session``."""
    iface = app.session_interface
    with app.test_request_context():
        session = iface.open_session(app, bare_request(app))
        session.update(data)
        response = Response()
        iface.save_session(app, session, response)
    return str(response.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1])
