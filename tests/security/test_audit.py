"""Audit events: structured, one line, request id, no log injection."""

from __future__ import annotations

import json
import logging

import pytest

from hermetic import Flask
from hermetic.security import audit


@pytest.fixture
def records(caplog):
    caplog.set_level(logging.INFO, logger="hermetic.security.audit")
    return caplog


def _events(caplog):
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == audit.logger.name]


def test_event_carries_request_context_and_fields(records):
    app = Flask(__name__)
    with app.test_request_context(
        "/login", method="POST", environ_base={"REMOTE_ADDR": "10.0.0.9"}
    ):
        audit.audit("failed_login", username="ann")
        rid = audit.request_id()
    (event,) = _events(records)
    assert event["event"] == "failed_login"
    assert event["username"] == "ann"
    assert event["ip"] == "10.0.0.9"
    assert event["method"] == "POST"
    assert event["path"] == "/login"
    assert event["request_id"] == rid and len(rid) == 24


def test_crlf_cannot_forge_a_log_line(records):
    audit.audit("failed_login", username='ann\r\n{"event":"login","user":"admin"}')
    (record,) = [r for r in records.records if r.name == audit.logger.name]
    line = record.getMessage()
    assert "\n" not in line and "\r" not in line
    assert json.loads(line)["event"] == "failed_login"


def test_format_strings_in_values_are_not_interpreted(records):
    audit.audit("x", value="%s %(foo)s %d")
    assert _events(records)[0]["value"] == "%s %(foo)s %d"


def test_long_values_are_cut(records):
    audit.audit("x", value="a" * 10_000)
    assert len(_events(records)[0]["value"]) == audit.MAX_VALUE_LENGTH + 3


def test_request_id_is_stable_within_a_request_and_unique_across():
    app = Flask(__name__)
    with app.test_request_context():
        first = audit.request_id()
        assert audit.request_id() == first
    with app.test_request_context():
        assert audit.request_id() != first
    assert audit.request_id() is None


def test_disabled_logger_costs_nothing(caplog):
    caplog.set_level(logging.WARNING, logger="hermetic.security.audit")
    audit.audit("x", value="y")
    assert not [r for r in caplog.records if r.name == audit.logger.name]


def test_listeners_see_events_even_with_logging_off(caplog):
    caplog.set_level(logging.WARNING, logger="hermetic.security.audit")
    seen: list[dict] = []
    audit.listeners.append(seen.append)
    try:
        audit.audit("csrf", reason="no_token")
    finally:
        audit.listeners.remove(seen.append)
    assert [(r["event"], r["reason"]) for r in seen] == [("csrf", "no_token")]
    assert not [r for r in caplog.records if r.name == audit.logger.name]


def test_a_failing_listener_does_not_break_the_caller(records):
    def broken(record):
        raise RuntimeError("boom")

    audit.listeners.append(broken)
    try:
        audit.audit("x")
    finally:
        audit.listeners.remove(broken)
    assert _events(records)[0]["event"] == "x"


def test_records_are_plain_log_records_that_filters_and_disabling_still_stop(records):
    class Drop(logging.Filter):
        def filter(self, record):
            return "drop-me" not in record.getMessage()

    app = Flask(__name__)

    @app.route("/x/<int:n>")
    def x(n):
        return ""

    with app.test_request_context("/x/3", environ_base={"hermetic.user_id": "u7"}):
        audit.audit("kept", tags={"b", "a"}, big=10**30, obj=object())
    (record,) = [r for r in records.records if r.name == audit.logger.name]
    assert record.levelno == logging.INFO and record.funcName == "audit"
    assert record.pathname == audit.__file__
    event = json.loads(record.getMessage())
    assert record.audit == event  # the structured record rides along
    assert event["endpoint"] == "x" and event["path"] == "/x/3"
    assert event["user"] == "u7" and sorted(event["tags"]) == ["a", "b"]
    assert event["big"] == 10**30 and event["obj"].startswith("<object")
    drop = Drop()
    audit.logger.addFilter(drop)
    try:
        audit.audit("drop-me")
    finally:
        audit.logger.removeFilter(drop)
    audit.logger.disabled = True
    try:
        audit.audit("disabled")
    finally:
        audit.logger.disabled = False
    assert [json.loads(m)["event"] for m in records.messages] == ["kept"]
