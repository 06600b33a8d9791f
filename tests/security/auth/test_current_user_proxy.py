"""``current_user``'s attribute reads against Werkzeug's ``LocalProxy(get_user)``."""

from __future__ import annotations

import pytest
from werkzeug.local import LocalProxy

from hermetic import Flask, render_template_string
from hermetic.security.auth import LoginManager, UserMixin, current_user, login_user
from hermetic.security.auth.manager import get_user
from hermetic.security.stores import MemoryStore
from hermetic.testing import ManualClock

WERKZEUG = LocalProxy(get_user)


class User(UserMixin):
    def __init__(self, id):
        self.id = id
        self.name = "<Ada>"

    @property
    def broken(self):
        raise AttributeError("computed and missing")

    @property
    def failing(self):
        raise ValueError("not an AttributeError")


def outcome(proxy, name):
    try:
        return "ok", getattr(proxy, name)
    except Exception as e:
        return type(e), str(e)


NAMES = ["name", "id", "is_authenticated", "get_id", "missing", "broken", "failing", "__dict__"]


def _compare():
    for name in NAMES:
        ours, theirs = outcome(current_user, name), outcome(WERKZEUG, name)
        if name == "get_id":  # a bound method, made per read
            assert ours[1]() == theirs[1]()
        else:
            assert ours == theirs, name


@pytest.fixture
def app():
    app = Flask(__name__)
    app.config.update(SECRET_KEY="x" * 40, TESTING=True)
    app.extensions["hermetic.store"] = MemoryStore(now=ManualClock())
    manager = LoginManager(app, now=ManualClock())
    users = {"7": User("7")}
    manager.user_loader(users.get)

    @app.post("/login")
    def login():
        login_user(users["7"])
        return "in"

    @app.get("/check")
    def check():
        _compare()
        assert current_user.name == "<Ada>"
        return render_template_string("{{ current_user.name }}|{{ current_user.is_authenticated }}")

    @app.get("/anonymous")
    def anonymous():
        _compare()
        return render_template_string("{{ current_user.is_authenticated }}")

    return app


def test_attribute_reads_as_werkzeug_proxy(app):
    client = app.test_client()
    assert client.get("/anonymous").data == b"False"
    client.post("/login")
    assert client.get("/check").data == b"&lt;Ada&gt;|True"


def test_outside_a_request_as_werkzeug_proxy():
    _compare()
    assert isinstance(current_user, LocalProxy)
    assert current_user.is_authenticated is False
