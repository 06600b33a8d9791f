"""What the coexistence apps share: the alias, the harness, a user, session ids.

Imported first by each ``coexist_app_*.py`` module (run in a fresh
interpreter by ``conftest.run_coexist_app``): it installs the ``flask``
alias before anything imports ``flask`` or an extension.
"""

from __future__ import annotations

import logging
import pathlib
import sys

from hermetic.compat import install_as_flask

install_as_flask()

# The extension tests' harness: PASS/FAIL per check, warnings fail a check.
sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "extensions"))

import flask  # noqa: E402
from _harness import check, run  # noqa: E402, F401  (re-exported for the app modules)

from hermetic import Hermetic  # noqa: E402

#: A strong key for the apps (tests only).
KEY = "kq3J9vW2xP7mZt4LrB8nY6cH1dF5gS0aQeUoIiTwRvEyNuMl"


class User:
    """A Flask-Login user (its UserMixin would do as well)."""

    is_active = True
    is_authenticated = True
    is_anonymous = False

    def __init__(self, user_id: str) -> None:
        self.id = user_id

    def get_id(self) -> str:
        return self.id


def make_app(**config: object) -> Hermetic:
    """A Hermetic app in testing mode with a strong key."""
    app = Hermetic("coexist_app")
    app.config.update(TESTING=True, SECRET_KEY=KEY, **config)
    return app


def session_of(app: flask.Flask, cookie: str | None) -> dict[str, object]:
    """Open ``cookie`` (a session cookie value) as the app would; its sid under ``"sid"``."""
    with app.test_request_context(headers={"Cookie": f"session={cookie}"} if cookie else {}):
        session = flask.session
        data = dict(session)
        data["sid"] = getattr(session, "sid", None)
        return data


def cookie(client: flask.testing.FlaskClient, name: str = "session") -> str | None:
    """The value of the client's cookie ``name``, or ``None``."""
    found = client.get_cookie(name)
    return found.value if found is not None else None


class Captured(logging.Handler):
    """Keep the records of a logger (the start-up lines)."""

    def __init__(self, name: str) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        logger = logging.getLogger(name)
        logger.addHandler(self)
        logger.setLevel(logging.DEBUG)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self) -> list[str]:
        return [r.getMessage() for r in self.records]


#: The start-up lines of the coexistence module, for every app of the process.
STARTUP = Captured("hermetic.security.coexistence")
