"""The page layout and stylesheet the identity and web services share.

Pages extend ``base.html``; the stylesheet is served by the app itself
(``/ui/style.css``), so the default CSP (``style-src 'self'``) holds and no
page loads anything from another origin. No page has a script.
"""

from __future__ import annotations

from hermetic import Blueprint

ui = Blueprint(
    "ui", __name__, static_folder="static", static_url_path="/ui", template_folder="templates"
)
