"""The built-in endpoint for CSP violation reports: ``/_hermetic/csp-report``.

With ``SECURITY_CSP_REPORTS`` on (``Hermetic``'s default) the CSP sent by
:class:`~hermetic.security.headers.HeadersShield` names this endpoint in
``report-uri``, and with ``SECURITY_CSP_REPORT_TO`` also in ``report-to``
with a ``Reporting-Endpoints`` header (the Reporting API; Chromium then
ignores ``report-uri`` and batches its reports). Each violation a browser
reports becomes one ``csp`` audit event (and so a count in
``hermetic_security_events_total`` when Observability is on)::

    {"event": "csp", "reason": "script-src-attr", "blocked": "inline",
     "document": "http://127.0.0.1:5000/", "source": "http://127.0.0.1:5000/",
     "line": 12, "sample": "return confirm('Are you sure?')", ...}

What the endpoint accepts, and refuses:

- ``application/csp-report`` (``{"csp-report": {...}}``) and
  ``application/reports+json`` (a list of ``{"type": "csp-violation",
  "body": {...}}``); any other content type: 415; a body that is not that
  JSON: 400;
- at most ``SECURITY_CSP_REPORT_MAX_BYTES`` (8 KiB) of body: more is 413;
- at most ``SECURITY_CSP_REPORT_RATE`` (30 per minute) per client address:
  more is 429;
- same origin only: a cross-site ``Origin`` is 403, and a violation whose
  document is on another host is dropped;
- no CSRF token (browsers send none) and no login (``@public``).

URLs are logged without their query string or fragment (they may carry
tokens); every field is cut to :data:`MAX_FIELD_LENGTH` characters, and the
audit log escapes CR and LF.
"""

from __future__ import annotations

import json
import typing as t
from urllib.parse import urlsplit, urlunsplit

from werkzeug.exceptions import Forbidden, NotFound, UnsupportedMediaType

from .audit import audit
from .errors import BadInput, PayloadTooLarge
from .policy import public
from .shields import exempt

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask
    from ..wrappers import Response
    from .headers import HeadersShield

#: The endpoint name of the built-in report view.
ENDPOINT = "hermetic_csp_report"
#: The content types browsers send reports with.
CSP_REPORT_TYPE = "application/csp-report"
REPORTS_JSON_TYPE = "application/reports+json"
#: The longest value kept from a report field.
MAX_FIELD_LENGTH = 200
#: The most violations logged from one request (a batch of the Reporting API).
MAX_REPORTS_PER_REQUEST = 10
#: The attribute hiding a view from the OpenAPI document.
_OPENAPI_HIDDEN_ATTR = "_hermetic_openapi_hidden"

# Report fields: (name in report-uri bodies, name in Reporting API bodies, audit key).
_FIELDS = (
    ("effective-directive", "effectiveDirective", "reason"),
    ("violated-directive", "effectiveDirective", "directive"),
    ("blocked-uri", "blockedURL", "blocked"),
    ("document-uri", "documentURL", "document"),
    ("source-file", "sourceFile", "source"),
    ("line-number", "lineNumber", "line"),
    ("column-number", "columnNumber", "column"),
    ("script-sample", "sample", "sample"),
    ("disposition", "disposition", "disposition"),
)
_URL_KEYS = {"blocked", "document", "source"}


def _strip_url(value: str) -> str:
    """Drop the query and fragment (tokens live there) and any user info."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return "invalid"
    if not parts.scheme or not parts.netloc:
        return value  # "inline", "eval", "self", ...
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _field(key: str, value: t.Any) -> t.Any:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        return None
    if key in _URL_KEYS:
        value = _strip_url(value)
    return value[:MAX_FIELD_LENGTH]


def parse_reports(content_type: str, body: bytes) -> list[dict[str, t.Any]]:
    """Return the violations of a report body as audit fields (``ValueError``: not one)."""
    data = json.loads(body)
    if content_type == CSP_REPORT_TYPE:
        if not isinstance(data, dict) or not isinstance(data.get("csp-report"), dict):
            raise ValueError("no csp-report object")
        raw, index = [data["csp-report"]], 0
    else:
        if not isinstance(data, list):
            raise ValueError("not a list of reports")
        raw = [
            item["body"]
            for item in data
            if isinstance(item, dict)
            and item.get("type") == "csp-violation"
            and isinstance(item.get("body"), dict)
        ]
        index = 1
    reports = []
    for report in raw[:MAX_REPORTS_PER_REQUEST]:
        fields: dict[str, t.Any] = {}
        for names in _FIELDS:
            value = _field(names[2], report.get(names[index]))
            if value is not None and names[2] not in fields:
                fields[names[2]] = value
        reports.append(fields)
    return reports


def _same_host(url: t.Any, host: str) -> bool:
    if not isinstance(url, str) or "://" not in url:
        return True  # nothing to compare
    try:
        return urlsplit(url).netloc.rpartition("@")[2].lower() == host.lower()
    except ValueError:
        return False


def _read_body(request: t.Any, limit: int) -> bytes:
    length = request.content_length
    if length is not None and length > limit:
        raise PayloadTooLarge(f"A CSP report is at most {limit} bytes.")
    body = t.cast(bytes, request.stream.read(limit + 1))
    if len(body) > limit:
        raise PayloadTooLarge(f"A CSP report is at most {limit} bytes.")
    return body


def receive_report(shield: HeadersShield) -> Response:
    """Check, log and answer one report request (204 when it was taken)."""
    from ..globals import current_app, request
    from .ratelimit import RateLimitExceeded, hit, ip_key

    settings = shield.settings
    if not settings.csp_reports or settings.csp_report_uri is not None:
        raise NotFound()
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null" and not _same_host(origin, request.host):
        raise Forbidden("CSP reports are taken from this site's own pages only.")
    content_type = request.mimetype
    if content_type not in (CSP_REPORT_TYPE, REPORTS_JSON_TYPE):
        raise UnsupportedMediaType(
            f"A CSP report is sent as {CSP_REPORT_TYPE} or {REPORTS_JSON_TYPE}."
        )
    if not hit(settings.csp_report_rate, ip_key(request), scope="csp-report"):
        raise RateLimitExceeded()
    body = _read_body(request, settings.csp_report_max_bytes)
    try:
        reports = parse_reports(content_type, body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadInput("The body is not a CSP report.", reason="bad_csp_report") from None
    for fields in reports:
        if _same_host(fields.get("document"), request.host):
            audit("csp", **fields)
    return current_app.response_class(status=204)


def add_report_route(app: Flask, shield: HeadersShield) -> None:
    """Add the report endpoint to ``app`` (it answers 404 while reports are off)."""
    from .headers import CSP_REPORT_PATH

    if ENDPOINT in app.view_functions:
        return

    def csp_report() -> Response:
        """Receive CSP violation reports from this site's pages."""
        return receive_report(shield)

    # SECURITY: browsers send reports without a CSRF token or credentials;
    # the endpoint only logs (bounded, rate-limited), it changes nothing.
    view = exempt("csrf")(public(csp_report))
    setattr(view, _OPENAPI_HIDDEN_ATTR, True)
    app.add_url_rule(CSP_REPORT_PATH, ENDPOINT, view, methods=["POST"])
