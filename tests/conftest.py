"""Shared fixtures for hermetic's own tests."""

from __future__ import annotations

import json
import logging
import os

import pytest

import hermetic
from hermetic.globals import _cv_request


@pytest.fixture
def app():
    """An app in testing mode with a fixed secret key."""
    app = hermetic.Flask("hermetic_tests", root_path=os.path.dirname(__file__))
    app.config.update(TESTING=True, SECRET_KEY="test key")
    return app


@pytest.fixture
def client(app):
    """A test client for ``app``."""
    return app.test_client()


@pytest.fixture
def audit_events(caplog):
    """Read the audit events logged so far: ``audit_events()`` all of them,
    ``audit_events("cors")`` those of one kind."""
    caplog.set_level(logging.INFO, logger="hermetic.security.audit")

    def read(kind=None):
        found = [
            json.loads(r.getMessage())
            for r in caplog.records
            if r.name == "hermetic.security.audit"
        ]
        return found if kind is None else [e for e in found if e.get("event") == kind]

    return read


@pytest.fixture
def app_ctx(app):
    """An application context of ``app``, pushed for the test."""
    with app.app_context() as ctx:
        yield ctx


@pytest.fixture(autouse=True)
def leak_detector():
    """Fail a test that leaves a request context pushed."""
    yield
    leaked = []
    while (ctx := _cv_request.get(None)) is not None:
        leaked.append(ctx)
        ctx.pop()
    assert leaked == [], f"request contexts left pushed: {leaked!r}"
