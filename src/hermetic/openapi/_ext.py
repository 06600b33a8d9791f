"""Serve the OpenAPI document and a self-contained docs page, and the CLI command."""

from __future__ import annotations

import json
import typing as t
from importlib import resources

import click
from markupsafe import escape

from ..settings import SettingsError
from ._settings import OpenAPISettings
from ._spec import hidden, openapi_spec

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask
    from ..wrappers import Response

__all__ = ["EXTENSION_KEY", "OpenAPI", "openapi_command"]

#: The ``app.extensions`` key of the app's :class:`OpenAPI`.
EXTENSION_KEY = "hermetic.openapi"
_ASSETS = {"docs.js": "text/javascript", "docs.css": "text/css"}

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{css}"{nonce}>
</head>
<body data-spec-url="{spec}" data-base-url="{base}" data-csrf-header="{csrf_header}">
<main id="hermetic-docs"><noscript>This page needs JavaScript. The API description is at
<a href="{spec}">{spec}</a>.</noscript></main>
<script src="{js}"{nonce} defer></script>
</body>
</html>
"""


def _asset(name: str) -> bytes:
    return (resources.files(__package__) / "static" / name).read_bytes()


class OpenAPI:
    """Serve ``openapi_spec(app)`` as JSON and a docs page that renders it.

    Both routes are ``GET`` only, public (``@public`` policy), skip CSRF and
    are left out of the document. The docs page loads its script and style
    from the app itself (no CDN), so it works under the default CSP
    (``script-src 'self'``); when the app has a ``HeadersShield`` the tags
    also carry the request's nonce.

    :param path: the document's URL; default ``"/openapi.json"``.
    :param docs_path: the docs page's URL, or ``None`` for no page;
        default ``"/docs"``.
    :param title: the API's title; default ``OPENAPI_TITLE`` or the app name.
    :param version: the API's version; default ``OPENAPI_VERSION`` or ``"0.1.0"``.

    .. warning::
        The document lists every route, its parameters and its required
        permissions. Pass ``path=None`` (or do not install this) on a
        service whose API shape should stay private.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        path: str | None = "/openapi.json",
        docs_path: str | None = "/docs",
        title: str | None = None,
        version: str | None = None,
    ) -> None:
        self.path = path
        self.docs_path = docs_path
        self.title = title
        self.version = version
        self._cache: dict[int, bytes] = {}
        if app is not None:
            self.init_app(app)

    def spec(self, app: Flask) -> dict[str, t.Any]:
        """Return the document for ``app`` (generated anew)."""
        return openapi_spec(app, self.title, self.version)

    def spec_bytes(self, app: Flask) -> bytes:
        """Return the document as JSON bytes, generated once per app."""
        key = id(app)
        data = self._cache.get(key)
        if data is None:
            data = self._cache[key] = json.dumps(self.spec(app), indent=1).encode()
        return data

    def init_app(self, app: Flask) -> None:
        """Check the ``OPENAPI_*`` settings; register the document, the docs page and its assets."""
        from ..security.errors import ConfigurationError

        try:
            OpenAPISettings.from_config(app.config)
        except SettingsError as e:
            raise ConfigurationError(str(e)) from e
        app.extensions[EXTENSION_KEY] = self
        if self.path is None:
            return
        _add(app, self.path, "hermetic_openapi", self._serve_spec)
        if self.docs_path is not None:
            base = self.docs_path.rstrip("/")
            _add(app, self.docs_path, "hermetic_docs", self._serve_page)
            _add(
                app,
                base + "/<any(docs.js, docs.css):name>",
                "hermetic_docs_asset",
                self._serve_asset,
            )

    # -- views -----------------------------------------------------------------

    def _serve_spec(self) -> Response:
        from ..globals import current_app, request

        app = current_app._get_current_object()  # type: ignore[attr-defined]  # current_app is typed as the app; it is a LocalProxy
        response = app.response_class(self.spec_bytes(app), mimetype="application/json")
        response.add_etag()
        return response.make_conditional(request)  # type: ignore[no-any-return]  # Werkzeug types it loosely

    def _serve_page(self) -> Response:
        from ..globals import current_app, request
        from ..helpers import url_for

        app = current_app
        nonce = ""
        if app.shields is not None and app.shields.get("headers") is not None:
            from ..security.headers import csp_nonce

            nonce = f' nonce="{escape(csp_nonce())}"'
        from ..security._csrf_settings import csrf_settings

        html = _PAGE.format(
            title=escape(
                self.title or OpenAPISettings.from_config(app.config).api_title or app.name
            ),
            css=escape(url_for("hermetic_docs_asset", name="docs.css")),
            js=escape(url_for("hermetic_docs_asset", name="docs.js")),
            spec=escape(url_for("hermetic_openapi")),
            base=escape(request.script_root),
            csrf_header=escape(csrf_settings(app).header_name),
            nonce=nonce,
        )
        response = app.response_class(html, mimetype="text/html")
        response.headers["Cache-Control"] = "no-store"
        return response

    def _serve_asset(self, name: str) -> Response:
        from ..globals import current_app, request

        response = current_app.response_class(_asset(name), mimetype=_ASSETS[name])
        response.add_etag()
        response.headers["Cache-Control"] = "no-cache"
        return t.cast("Response", response.make_conditional(request))


def _add(app: Flask, rule: str, endpoint: str, view: t.Callable[..., t.Any]) -> None:
    from ..security.policy import public
    from ..security.shields import exempt

    def route(**kwargs: t.Any) -> t.Any:
        return view(**kwargs)

    route.__name__ = endpoint
    route.__doc__ = view.__doc__
    app.add_url_rule(rule, endpoint, exempt("csrf")(hidden(public(route))), methods=["GET"])


@click.command("openapi", short_help="Write the app's OpenAPI document.")
@click.option(
    "--output",
    "-o",
    type=click.File("w", encoding="utf-8", lazy=True),
    default="-",
    show_default=True,
    help="The file to write ('-' for standard output).",
)
@click.option(
    "--title", default=None, help="The API's title (default: OPENAPI_TITLE or the app name)."
)
@click.option("--version", "api_version", default=None, help="The API's version.")
@click.pass_context
def openapi_command(
    ctx: click.Context, output: t.TextIO, title: str | None, api_version: str | None
) -> None:
    """Write the OpenAPI 3.1 document of the app's routes as JSON."""
    # Imported here: hermetic.cli may import this module to register the command.
    from ..cli import ScriptInfo
    from ..globals import _cv_app

    app_ctx = _cv_app.get(None)
    app = app_ctx.app if app_ctx is not None else ctx.ensure_object(ScriptInfo).load_app()
    ext = app.extensions.get(EXTENSION_KEY)
    if ext is not None:
        title = title or ext.title
        api_version = api_version or ext.version
    with app.app_context():
        document = openapi_spec(app, title, api_version)
    json.dump(document, output, indent=2)
    output.write("\n")
