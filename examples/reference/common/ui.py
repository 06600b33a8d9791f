"""The page layout, stylesheet and script the identity and web services share.

Pages extend ``base.html``; the stylesheet, the one script (``dialogs.js``:
confirmation dialogs) and the icon are served by the app itself
(``/ui/...``), so the default CSP (``script-src 'self'``, ``style-src
'self'``) holds and no page loads anything from another origin. No page has
an inline script or an inline event handler.
"""

from __future__ import annotations

import typing as t

from werkzeug.exceptions import HTTPException

from hermetic import Blueprint, render_template, request, send_from_directory
from hermetic.openapi import hidden
from hermetic.security import SecurityError, public
from hermetic.security.audit import REQUEST_ID_KEY
from hermetic.security.errors import prefers_json

if t.TYPE_CHECKING:
    from hermetic import Flask, Response

#: What a person is told for each refusal a page may end in (no code, no jargon).
ERROR_MESSAGES = {
    400: "This request could not be understood. Go back and try again.",
    403: "Your account cannot open this page.",
    404: "There is no such page, or it is not shared with you.",
    405: "This page cannot be used that way.",
    413: "What you sent is larger than this page accepts.",
    429: "Too many requests in a short time. Please wait a moment and try again.",
}

ui = Blueprint(
    "ui", __name__, static_folder="static", static_url_path="/ui", template_folder="templates"
)


def add_health_route(app: Flask) -> None:
    """Answer ``GET /healthz`` (the launcher's and the orchestrator's probe) without a login."""

    @app.get("/healthz")
    @public
    def healthz() -> dict[str, str]:
        return {"status": "ok"}


def add_favicon_route(app: Flask) -> None:
    """Answer ``GET /favicon.ico``, which browsers ask for on pages that name no icon."""

    @app.get("/favicon.ico")
    @public
    @hidden  # not a part of api's documented API
    def favicon() -> Response:
        assert ui.static_folder is not None
        return send_from_directory(ui.static_folder, "favicon.svg", mimetype="image/svg+xml")


def keep_pages_private(app: Flask) -> None:
    """Send ``Cache-Control: no-store`` with every answer but the shared assets.

    SECURITY: a page about a signed-in user is never kept by the browser or a
    proxy: after sign-out, Back asks the server again, which asks to sign in.
    """

    @app.after_request
    def no_store(response: Response) -> Response:
        if request.blueprint != ui.name and request.endpoint != "favicon":
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def add_error_pages(app: Flask) -> None:
    """Show refusals (4xx) in the services' layout, with the nav bar and the request id.

    A refusal by a shield (CSRF, a rate limit) says what it is about; its
    headers (``Retry-After``) are kept.
    """

    def page(e: HTTPException) -> t.Any:
        code = e.code or 500
        if code not in ERROR_MESSAGES or prefers_json(request.environ):
            # Redirects, 401s, 5xx, and API clients (identity's OAuth endpoints,
            # which answer JSON): as hermetic renders them.
            return e
        if isinstance(e, SecurityError):
            message, headers = str(e.description), dict(e.extra_headers)
        else:
            # abort(400, "Unknown client or redirect URI.") keeps its reason.
            custom = e.description != type(e).description
            message = str(e.description) if custom else ERROR_MESSAGES[code]
            headers = {k: v for k, v in e.get_headers() if k.lower() != "content-type"}
        body = render_template(
            "error.html",
            status=code,
            title=e.name,
            message=message,
            request_id=request.environ.get(REQUEST_ID_KEY),
        )
        return body, code, headers

    # By class, not by code: a shield's refusal (PermissionDenied, CSRFError) is
    # an HTTPException with a 403 code, not a werkzeug Forbidden.
    app.register_error_handler(HTTPException, page)
