"""The page layout and stylesheet the identity and web services share.

Pages extend ``base.html``; the stylesheet is served by the app itself
(``/ui/style.css``), so the default CSP (``style-src 'self'``) holds and no
page loads anything from another origin. No page has a script.
"""

from __future__ import annotations

import typing as t

from hermetic import Blueprint
from hermetic.security import public

if t.TYPE_CHECKING:
    from hermetic import Flask

ui = Blueprint(
    "ui", __name__, static_folder="static", static_url_path="/ui", template_folder="templates"
)


def add_health_route(app: Flask) -> None:
    """Answer ``GET /healthz`` (the launcher's and the orchestrator's probe) without a login."""

    @app.get("/healthz")
    @public
    def healthz() -> dict[str, str]:
        return {"status": "ok"}
