"""Reading a JSON body within the app's limits, and measuring its depth."""

from __future__ import annotations

import re
import typing as t

from werkzeug.exceptions import RequestEntityTooLarge

from ..._body import read_body_fast
from ...globals import _cv_app, _cv_request
from ...wrappers import PLAIN_GET_DATA
from ..audit import audit
from ..errors import PayloadTooLarge
from ..input_limits import input_limits_of
from ._errors import (
    REASON_JSON_TOO_DEEP,
    REASON_UNSUPPORTED_MEDIA_TYPE,
    MalformedJSON,
    UnsupportedMediaType,
)

_NOT_STRUCTURE = bytes(sorted(set(range(256)) - set(b'[]{}"')))
_QUOTED = re.compile(rb'"[^"]*"')
_INNER_PAIR = re.compile(rb"\[\]|\{\}")
_OPENERS = re.compile(rb"[\[{]+")


def json_too_deep(data: bytes, limit: int) -> bool:
    """Tell whether the JSON text ``data`` nests arrays/objects deeper than ``limit``."""
    # Fast path: fewer brackets than the limit cannot nest deeper than it.
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    if b"\\" in data:
        # Drop escape pairs first: every quote left then delimits a string.
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Keep brackets and quotes only. Adjacent quotes have no bracket between
    # them, so deleting them keeps open/close alternation; what is left
    # between quotes is string content (with brackets) to delete too.
    data = data.translate(None, _NOT_STRUCTURE)
    if b'"' in data:
        data = data.replace(b'""', b"")
        if b'"' in data:
            data = _QUOTED.sub(b"", data)
    # Each pass deletes the innermost pairs: one nesting level, in C.
    for removed in range(limit):
        if not data:
            return False
        reduced = _INNER_PAIR.sub(b"", data)
        if len(reduced) == len(data):
            # Unbalanced (so malformed anyway): a long run of openers is too deep.
            run = max((len(m) for m in _OPENERS.findall(data)), default=0)
            return removed + run > limit
        data = reduced
    return bool(data)


def json_message(msg: str) -> str:
    """Return the 400 detail for pydantic's ``json_invalid`` message."""
    if "recursion limit" in msg:
        return "The JSON body is nested too deeply."
    # pydantic's message names the position, never the input.
    return f"The request body is not valid JSON ({msg.removeprefix('Invalid JSON: ')})."


def count_failure(reason: str) -> None:
    """Count a validation failure on the app's metrics, when it has them."""
    ctx = _cv_app.get(None)
    metrics = ctx.app.extensions.get("hermetic.metrics") if ctx is not None else None
    if metrics is not None:
        request = _cv_request.get().request
        rule = request.url_rule
        metrics.count_validation_failure(rule.rule if rule is not None else None, reason)


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def read_json(request: t.Any) -> bytes:
    """Return the raw JSON body, within the app's size and depth limits."""
    # The usual header needs no parsing; any other goes through Werkzeug's.
    if request.environ.get("CONTENT_TYPE") != "application/json" and not _is_json(request.mimetype):
        count_failure(REASON_UNSUPPORTED_MEDIA_TYPE)
        raise UnsupportedMediaType()
    try:
        # request.get_data(cache=True); its fast first read without its frame.
        data = read_body_fast(request) if PLAIN_GET_DATA[type(request)] else None
        if data is None:
            data = request.get_data(cache=True)
        else:
            request._cached_data = data
    except RequestEntityTooLarge:
        audit("limit", reason=PayloadTooLarge.reason, limit="MAX_CONTENT_LENGTH")
        raise PayloadTooLarge()
    # SECURITY: model_validate_json bypasses request.get_json and its depth
    # check; apply LIMITS_JSON_MAX_DEPTH here (pydantic-core stops at 200).
    limit = input_limits_of(_cv_app.get().app).json_max_depth
    # json_too_deep's own first test, without the call: no more opening
    # brackets than the limit (no more bytes, or counted).
    if (
        limit
        and len(data) > limit
        and data.count(b"[") + data.count(b"{") > limit
        and json_too_deep(data, limit)
    ):
        audit("limit", reason=REASON_JSON_TOO_DEEP, limit=limit)
        raise MalformedJSON("The JSON body is nested too deeply.", reason=REASON_JSON_TOO_DEEP)
    return data
