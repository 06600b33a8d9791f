from __future__ import annotations

import logging
import sys
from io import StringIO

import pytest

from hermetic.logging import (
    create_logger,
    default_handler,
    has_level_handler,
    wsgi_errors_stream,
)

NAME = "hermetic_logging_test"


@pytest.fixture(autouse=True)
def reset_logging(pytestconfig):
    """Run without pytest's capture handlers and restore the loggers afterwards."""
    root_handlers = logging.root.handlers[:]
    root_level = logging.root.level
    logging.root.handlers = []
    logger = logging.getLogger(NAME)
    logger.handlers = []
    logger.setLevel(logging.NOTSET)
    plugin = pytestconfig.pluginmanager.unregister(name="logging-plugin")

    yield

    logging.root.handlers[:] = root_handlers
    logging.root.setLevel(root_level)
    logger.handlers = []
    logger.setLevel(logging.NOTSET)
    logger.propagate = True

    if plugin:
        pytestconfig.pluginmanager.register(plugin, "logging-plugin")


class FakeApp:
    name = NAME

    def __init__(self, debug=False):
        self.debug = debug


def test_create_logger_adds_default_handler():
    logger = create_logger(FakeApp())
    assert logger is logging.getLogger(NAME)
    assert logger.level == logging.NOTSET
    assert logger.handlers == [default_handler]

    # Idempotent: the handler is now there.
    create_logger(FakeApp())
    assert logger.handlers == [default_handler]


def test_create_logger_debug_sets_level_only_if_unset():
    assert create_logger(FakeApp(debug=True)).level == logging.DEBUG

    logger = logging.getLogger(NAME)
    logger.setLevel(logging.WARNING)
    assert create_logger(FakeApp(debug=True)).level == logging.WARNING


def test_create_logger_respects_existing_handler():
    logging.root.addHandler(logging.StreamHandler())
    logger = create_logger(FakeApp())
    assert logger.level == logging.NOTSET
    assert logger.handlers == []


def test_has_level_handler():
    logger = logging.getLogger(NAME)
    assert not has_level_handler(logger)

    handler = logging.StreamHandler()
    logging.root.addHandler(handler)
    assert has_level_handler(logger)

    logger.propagate = False
    assert not has_level_handler(logger)
    logger.propagate = True

    handler.setLevel(logging.ERROR)
    assert not has_level_handler(logger)

    logger.setLevel(logging.ERROR)
    assert has_level_handler(logger)


def test_wsgi_errors_stream_outside_request():
    assert wsgi_errors_stream._get_current_object() is sys.stderr
    assert default_handler.stream is wsgi_errors_stream


def test_default_format():
    record = logging.LogRecord(NAME, logging.ERROR, "/x/views.py", 1, "boom", None, None)
    out = default_handler.format(record)
    assert out.startswith("[")
    assert out.endswith("] ERROR in views: boom")


# With an app; needs the core.


@pytest.fixture
def app():
    # Not the shared fixture of conftest.py: the logger is named after the app.
    from hermetic import Flask

    app = Flask(NAME)
    app.testing = True
    return app


def test_app_logger(app):
    assert app.logger is logging.getLogger(NAME)
    assert app.logger.handlers == [default_handler]


def test_app_logger_debug(app):
    app.debug = True
    assert app.logger.level == logging.DEBUG


def test_logs_go_to_wsgi_errors(app):
    @app.route("/")
    def index():
        app.logger.error("from the view")
        return ""

    stream = StringIO()
    app.test_client().get("/", errors_stream=stream)
    assert "ERROR in test_logging: from the view" in stream.getvalue()

    with app.test_request_context(errors_stream=stream):
        assert wsgi_errors_stream._get_current_object() is stream


def test_view_exception_logged(app):
    @app.route("/")
    def index():
        raise Exception("test")

    app.testing = False
    stream = StringIO()
    rv = app.test_client().get("/", errors_stream=stream)
    assert rv.status_code == 500
    assert "Exception on / [GET]" in stream.getvalue()
    assert "Exception: test" in stream.getvalue()
