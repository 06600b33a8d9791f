"""Security events as structured log records on ``hermetic.security.audit``.

Each event is one JSON object on one line: the event kind, the request id,
the client address, method, path and endpoint, the user when known, and the
event's own fields. JSON encoding escapes CR, LF and every other control
character, so a value taken from a request cannot forge a log line; long
values are cut.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import typing as t

from ..globals import _cv_request

__all__ = [
    "audit",
    "ensure_handler",
    "logger",
    "request_id",
]

logger = logging.getLogger("hermetic.security.audit")

#: Longest string value written to an audit record.
MAX_VALUE_LENGTH = 512
#: The WSGI environ key holding the request id.
REQUEST_ID_KEY = "hermetic.request_id"


def request_id(environ: dict[str, t.Any] | None = None) -> str | None:
    """Return the current request's id, making one on first use."""
    if environ is None:
        ctx = _cv_request.get(None)
        if ctx is None:
            return None
        environ = ctx.request.environ
    rid = environ.get(REQUEST_ID_KEY)
    if rid is None:
        rid = environ[REQUEST_ID_KEY] = secrets.token_hex(12)
    return t.cast(str, rid)


def _clean(value: t.Any) -> t.Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_clean(v) for v in value][:50]
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_VALUE_LENGTH:
        text = text[:MAX_VALUE_LENGTH] + "..."
    return text


def _add_request_fields(record: dict[str, t.Any]) -> None:
    ctx = _cv_request.get(None)
    if ctx is None:
        return
    request = ctx.request
    environ = request.environ
    record["request_id"] = environ.get(REQUEST_ID_KEY) or request_id(environ)
    record["ip"] = request.remote_addr
    record["method"] = request.method
    record["path"] = request.path
    record["endpoint"] = request.endpoint
    user_id = environ.get("hermetic.user_id")
    if user_id is not None:
        record["user"] = user_id


def _request_fields() -> dict[str, t.Any]:
    fields: dict[str, t.Any] = {}
    _add_request_fields(fields)
    return fields


#: Functions called with every event's record, whether or not the audit
#: logger is enabled (metrics count security events through this).
listeners: list[t.Callable[[dict[str, t.Any]], None]] = []

# One encoder for every event (json.dumps with options builds one per call).
_encode = json.JSONEncoder(ensure_ascii=True, default=str, separators=(",", ":")).encode
_INFO = logging.INFO
_STR_TYPE = str


def audit(event: str, /, **fields: t.Any) -> None:
    """Log the security event ``event`` with ``fields`` and the request's context."""
    enabled = logger.isEnabledFor(_INFO)
    if not enabled and not listeners:
        return
    record: dict[str, t.Any] = {"event": event, "ts": round(time.time(), 3)}
    _add_request_fields(record)
    for key, value in fields.items():
        if len(key) > 64:
            key = key[:64]
        # Short strings (most values) are kept as they are: no copy, no call.
        if type(value) is not _STR_TYPE or len(value) > MAX_VALUE_LENGTH:
            value = _clean(value)
        record[key] = value
    for listener in listeners:
        try:
            listener(record)
        except Exception:  # a broken listener must not break the request
            logging.getLogger("hermetic.security").exception("audit listener failed")
    if not enabled:
        return
    line = _encode(record)
    # What logger.info does, without searching the stack for the caller (it
    # is always this function). Never pass request data as the format string.
    entry = logger.makeRecord(
        logger.name, _INFO, __file__, _LINE, "%s", (line,), None, "audit", {"audit": record}
    )
    logger.handle(entry)


_LINE = audit.__code__.co_firstlineno


def ensure_handler() -> None:
    """Send audit events to stderr when the application configured no handler."""
    if logger.handlers or logger.level not in (logging.NOTSET, logging.INFO):
        return
    logger.setLevel(logging.INFO)
    if not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
