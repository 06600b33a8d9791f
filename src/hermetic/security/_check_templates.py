"""The template scan and the migration items of ``hermetic check`` (see checks.py)."""

from __future__ import annotations

import os
import typing as t

from ._check_findings import ERROR, INFO, WARNING, Finding, declared
from ._csrf_settings import CSRFSettings
from ._header_settings import HeadersSettings

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask


def _allowed_by(headers: HeadersSettings | None, directive: str, origin: str) -> bool:
    """Tell whether the app's CSP already allows ``origin`` for ``directive``."""
    csp = dict(headers.csp or ()) if headers is not None else {}
    sources = csp.get(directive, csp.get("default-src", ()))
    return origin in sources or "*" in sources


def check_templates(app: Flask, shields: set[str]) -> t.Iterator[Finding]:
    """List what the CSP blocks (and forms without a CSRF token) in the app's templates."""
    from .template_scan import CSP_KINDS, format_csp, scan_app, suggest_csp

    # Invalid settings are reported once, as invalid_setting: read as absent here.
    settings = declared(HeadersSettings, app.config) if "HeadersShield" in shields else None
    csrf_settings = declared(CSRFSettings, app.config) if "CSRFShield" in shields else None
    headers = settings is not None and settings.csp is not None
    csrf = csrf_settings is not None and csrf_settings.enabled
    if not headers and not csrf:
        return
    root = os.path.dirname(app.root_path)
    issues = scan_app(app)
    blocked = [i for i in issues if headers and (i.kind in CSP_KINDS or i.kind == "script_helper")]
    origins = [
        i
        for i in issues
        if headers and i.source is not None and not _allowed_by(settings, *i.source)
    ]
    verb = "The CSP blocks "
    if settings is not None and settings.csp_report_only:
        verb = "The CSP (report-only for now) will block "
    for issue in blocked:
        yield Finding(WARNING, "csp_template", verb + issue.format(root))
    for issue in origins:
        yield Finding(WARNING, "csp_origin", verb + issue.format(root))
    suggestion = suggest_csp(origins)
    if suggestion is not None:  # every origin issue has a source, so there is one
        yield Finding(
            INFO,
            "csp_suggestion",
            "A SECURITY_CSP that allows exactly the origins the templates load from"
            ' (inline code keeps needing nonce="{{ csp_nonce() }}"):\n' + format_csp(suggestion),
        )
    for issue in issues:
        if csrf and issue.kind == "form_without_csrf":
            yield Finding(WARNING, "csrf_form", "CSRF refuses " + issue.format(root))


def migration_findings(app: Flask) -> list[Finding]:
    """Return ``hermetic migrate``'s items for the app's project as findings."""
    from .migrate_scan import scan_project
    from .template_scan import app_template_folders

    root = app.root_path
    if os.path.exists(os.path.join(root, "__init__.py")):
        root = os.path.dirname(root)  # a package: its project is the folder above
    items = scan_project(root, template_folders=app_template_folders(app))
    return [
        Finding(ERROR if item.breaks else INFO, f"migrate_{item.kind}", item.format(root))
        for item in items
    ]
