"""Refusals of ``@validate`` and the field errors of its 422 problem document."""

from __future__ import annotations

import json
import typing as t

from pydantic import ValidationError
from werkzeug.wrappers import Response as _BaseResponse

from .._error_pages import PROBLEM_JSON
from ..errors import BadInput, SecurityError
from ..secrets import is_secret_name

#: Reasons (``reason`` of the problem document).
REASON_INVALID = "invalid_request"
REASON_UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
REASON_MALFORMED_JSON = "malformed_json"
REASON_JSON_TOO_DEEP = "json_too_deep"
#: Longest ``input`` echoed back in a field error, in characters.
MAX_INPUT_ECHO = 64
#: Most field errors listed in one response.
MAX_ERRORS = 50


_MISSING = object()


class RequestValidationError(SecurityError):
    """Input that does not match the route's models: 422 with every field error."""

    code = 422
    kind = "validation"
    reason = REASON_INVALID
    description = "The request did not pass validation."

    def __init__(self, errors: list[dict[str, t.Any]], *, reason: str | None = None) -> None:
        super().__init__(reason=reason)
        self.errors = errors

    def problem(self) -> dict[str, t.Any]:
        """Return the problem document, with the list of field errors."""
        document = super().problem()
        document["errors"] = self.errors
        return document

    def get_response(self, environ: t.Any = None, scope: t.Any = None) -> _BaseResponse:
        """Render as ``application/problem+json``, whatever the client accepts."""
        return _problem_response(self)


class UnsupportedMediaType(SecurityError):
    """A body that is not JSON for a route that expects JSON: 415."""

    code = 415
    kind = "validation"
    reason = REASON_UNSUPPORTED_MEDIA_TYPE
    description = "This endpoint expects a JSON body (Content-Type: application/json)."

    def get_response(self, environ: t.Any = None, scope: t.Any = None) -> _BaseResponse:
        """Render as ``application/problem+json``."""
        return _problem_response(self)


class MalformedJSON(BadInput):
    """A body that is not well-formed JSON, or nested too deeply: 400."""

    kind = "validation"
    reason = REASON_MALFORMED_JSON
    description = "The request body is not valid JSON."

    def get_response(self, environ: t.Any = None, scope: t.Any = None) -> _BaseResponse:
        """Render as ``application/problem+json``."""
        return _problem_response(self)


class ResponseValidationError(RuntimeError):
    """A view returned data its response model refuses (a server bug: 500)."""


def refuse_response(error: Exception) -> t.NoReturn:
    """Raise :class:`ResponseValidationError` for pydantic's ``error`` on a view's data."""
    raise ResponseValidationError(
        f"The view returned data that does not match its response model: {error}"
    ) from None


def _problem_response(error: SecurityError) -> _BaseResponse:
    response = _BaseResponse(json.dumps(error.problem()), error.code, mimetype=PROBLEM_JSON)
    for key, value in error.extra_headers.items():
        response.headers[key] = value
    return response


# -- field errors -----------------------------------------------------------


def _pointer(part: str, loc: tuple[t.Any, ...]) -> str:
    # RFC 6901 escaping inside each segment, so a key holding "/" stays one segment.
    return "/".join([part, *(str(s).replace("~", "~0").replace("/", "~1") for s in loc)])


def _echo(value: t.Any, loc: tuple[t.Any, ...]) -> t.Any:
    """Return a short, safe copy of an invalid ``value``, or ``_MISSING``."""
    # SECURITY: never reflect a secret (a password that failed a rule) or a
    # large structure; scalars only, cut to MAX_INPUT_ECHO characters.
    if loc and isinstance(loc[-1], str) and is_secret_name(loc[-1]):
        return _MISSING
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, int):
        text = str(value)
        return value if len(text) <= MAX_INPUT_ECHO else text[:MAX_INPUT_ECHO] + "..."
    if isinstance(value, str):
        return value if len(value) <= MAX_INPUT_ECHO else value[:MAX_INPUT_ECHO] + "..."
    return _MISSING


def field_errors(
    exc: ValidationError, part: str, prefix: tuple[t.Any, ...] = ()
) -> list[dict[str, t.Any]]:
    """Turn a pydantic error into the problem document's ``errors`` entries."""
    out = []
    for err in exc.errors(include_url=False, include_context=False)[:MAX_ERRORS]:
        loc = prefix + tuple(err["loc"])
        entry: dict[str, t.Any] = {
            "loc": _pointer(part, loc),
            "msg": err["msg"],
            "type": err["type"],
        }
        echoed = _echo(err.get("input", _MISSING), loc)
        if echoed is not _MISSING:
            entry["input"] = echoed
        out.append(entry)
    return out
