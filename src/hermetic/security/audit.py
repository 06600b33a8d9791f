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


def _request_fields() -> dict[str, t.Any]:
    ctx = _cv_request.get(None)
    if ctx is None:
        return {}
    request = ctx.request
    fields: dict[str, t.Any] = {
        "request_id": request_id(request.environ),
        "ip": request.remote_addr,
        "method": request.method,
        "path": request.path,
        "endpoint": request.endpoint,
    }
    user_id = request.environ.get("hermetic.user_id")
    if user_id is not None:
        fields["user"] = user_id
    return fields


#: Functions called with every event's record, whether or not the audit
#: logger is enabled (metrics count security events through this).
listeners: list[t.Callable[[dict[str, t.Any]], None]] = []


def audit(event: str, /, **fields: t.Any) -> None:
    """Log the security event ``event`` with ``fields`` and the request's context."""
    enabled = logger.isEnabledFor(logging.INFO)
    if not enabled and not listeners:
        return
    record: dict[str, t.Any] = {"event": event, "ts": round(time.time(), 3)}
    record.update(_request_fields())
    for key, value in fields.items():
        record[str(key)[:64]] = _clean(value)
    for listener in listeners:
        try:
            listener(record)
        except Exception:  # a broken listener must not break the request
            logging.getLogger("hermetic.security").exception("audit listener failed")
    if not enabled:
        return
    line = json.dumps(record, ensure_ascii=True, default=str, separators=(",", ":"))
    # Never pass request data as the format string.
    logger.info("%s", line, extra={"audit": record})


def ensure_handler() -> None:
    """Send audit events to stderr when the application configured no handler."""
    if logger.handlers or logger.level not in (logging.NOTSET, logging.INFO):
        return
    logger.setLevel(logging.INFO)
    if not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
