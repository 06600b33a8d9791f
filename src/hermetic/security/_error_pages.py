"""One look for every refusal: a small HTML page for browsers, problem+json for APIs.

The page has no script and no inline style, so it renders under the default
Content-Security-Policy. Which form a client gets is decided by
:func:`hermetic.security.errors.prefers_json`.
"""

from __future__ import annotations

import json
import typing as t

from markupsafe import escape
from werkzeug.wrappers import Response as _BaseResponse

PROBLEM_JSON = "application/problem+json"


def problem_document(
    code: int, title: str, detail: str | None, reason: str | None = None, hint: str | None = None
) -> dict[str, t.Any]:
    """Return the RFC 9457 problem document for an error."""
    document: dict[str, t.Any] = {
        "type": "about:blank",
        "title": title,
        "status": code,
        "detail": detail,
    }
    if reason is not None:
        document["reason"] = reason
    if hint:
        document["hint"] = hint
    return document


def error_page(
    code: int,
    title: str,
    detail: str | None,
    *,
    reason: str | None = None,
    hint: str | None = None,
    request_id: str | None = None,
) -> str:
    """Return the HTML page for an error (``hint`` only in debug mode)."""
    parts = [
        "<!doctype html>\n<html lang=en>\n<meta charset=utf-8>\n",
        '<meta name=viewport content="width=device-width, initial-scale=1">\n',
        f"<title>{code} {escape(title)}</title>\n<main>\n",
        f"<h1>{code} {escape(title)}</h1>\n",
    ]
    if detail:
        parts.append(f"<p>{escape(detail)}</p>\n")
    if hint:
        parts.append("<section>\n<h2>For the developer (shown in debug mode only)</h2>\n")
        parts.append(f"<p>{escape(hint)}</p>\n")
        if reason:
            parts.append(f"<p>Reason: <code>{escape(reason)}</code></p>\n")
        parts.append("</section>\n")
    if request_id:
        parts.append(f"<p><small>Request id: <code>{escape(request_id)}</code></small></p>\n")
    parts.append("</main>\n</html>\n")
    return "".join(parts)


def render_error(
    code: int,
    title: str,
    detail: str | None,
    environ: t.Mapping[str, t.Any] | None,
    *,
    reason: str | None = None,
    hint: str | None = None,
    extra: t.Mapping[str, t.Any] | None = None,
) -> _BaseResponse:
    """Return the error as problem+json or as the HTML page, by what the client prefers."""
    from .errors import prefers_json

    if prefers_json(environ):
        document = problem_document(code, title, detail, reason, hint)
        if extra:
            document.update(extra)
        return _BaseResponse(json.dumps(document), code, mimetype=PROBLEM_JSON)
    rid = environ.get("hermetic.request_id") if environ else None
    body = error_page(code, title, detail, reason=reason, hint=hint, request_id=rid)
    return _BaseResponse(body, code, mimetype="text/html")


def debug_on() -> bool:
    """Tell whether the current app runs in debug mode (hints are shown then)."""
    from ..globals import _cv_app

    ctx = _cv_app.get(None)
    return ctx is not None and bool(ctx.app.debug)
