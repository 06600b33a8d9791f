"""Errors and log messages that explain common mistakes in debug mode."""

from __future__ import annotations

import typing as t

from jinja2.loaders import BaseLoader
from werkzeug.routing import RequestRedirect

from .globals import _cv_request

if t.TYPE_CHECKING:  # pragma: no cover
    from .app import Flask
    from .wrappers import Request

__all__ = [
    "attach_enctype_error_multidict",
    "DebugFilesKeyError",
    "explain_template_loading_attempts",
    "FormDataRoutingRedirect",
    "UnexpectedUnicodeError",
]


class UnexpectedUnicodeError(AssertionError, UnicodeError):
    """Raised where unexpected text or binary data deserves a clearer error."""


class DebugFilesKeyError(KeyError, AssertionError):
    """Raised in debug mode when ``request.files`` lacks a key that was
    submitted as a form field, because the form was not sent as
    ``multipart/form-data``.
    """

    def __init__(self, request: Request, key: str) -> None:
        parts = [
            f"You tried to access the file {key!r} in the request.files"
            " dictionary but it does not exist. The mimetype for the"
            f" request is {request.mimetype!r} instead of"
            " 'multipart/form-data' which means that no file contents"
            " were transmitted. To fix this error you should provide"
            ' enctype="multipart/form-data" in your form.'
        ]
        submitted = request.form.getlist(key)

        if submitted:
            names = ", ".join(repr(name) for name in submitted)
            parts.append(
                f"\n\nThe browser instead transmitted some file names. This was submitted: {names}"
            )

        self.msg = "".join(parts)

    def __str__(self) -> str:
        # KeyError's own __str__ would show the repr of the message.
        return self.msg


class FormDataRoutingRedirect(AssertionError):
    """Raised in debug mode when routing redirects a request with form data
    using a code (301 or 302) that makes browsers drop the body.
    """

    def __init__(self, request: Request) -> None:
        exc = t.cast(RequestRedirect, request.routing_exception)
        parts = [
            f"A request was sent to '{request.url}', but routing issued"
            f" a redirect to the canonical URL '{exc.new_url}'."
        ]

        if exc.new_url.partition("?")[0] == f"{request.base_url}/":
            parts.append(
                " The URL was defined with a trailing slash, so routing"
                " redirects requests without the slash to it."
            )

        parts.append(
            " Send requests to the canonical URL, or use 307 or 308 for"
            " routing redirects. Otherwise, browsers will drop form"
            " data.\n\nThis exception is only raised in debug mode."
        )
        super().__init__("".join(parts))


def attach_enctype_error_multidict(request: Request) -> None:
    """Make ``request.files[key]`` raise :exc:`DebugFilesKeyError` instead
    of a plain :exc:`KeyError` when ``key`` was sent as a form field.
    """
    files = request.files
    base = type(files)

    class _ExplainingFiles(base):  # type: ignore[valid-type, misc]  # subclass of the request.files class found at run time
        def __getitem__(self, key: str) -> t.Any:
            try:
                return super().__getitem__(key)
            except KeyError as e:
                if key not in request.form:
                    raise

                raise DebugFilesKeyError(request, key).with_traceback(e.__traceback__) from None

    # Look like the original class in reprs and tracebacks.
    _ExplainingFiles.__name__ = base.__name__
    _ExplainingFiles.__qualname__ = base.__qualname__
    _ExplainingFiles.__module__ = base.__module__
    files.__class__ = _ExplainingFiles


def _describe_loader(loader: BaseLoader) -> t.Iterator[str]:
    """Yield lines describing a loader's class and simple public attributes."""
    cls = type(loader)
    yield f"class: {cls.__module__}.{cls.__name__}"

    for key, value in sorted(vars(loader).items()):
        if key.startswith("_"):
            continue

        if isinstance(value, (tuple, list)):
            if all(isinstance(item, str) for item in value):
                yield f"{key}:"
                yield from (f"  - {item}" for item in value)
        elif isinstance(value, (str, int, float, bool)):
            yield f"{key}: {value!r}"


def explain_template_loading_attempts(
    app: Flask,
    template: str,
    attempts: list[tuple[BaseLoader, t.Any, tuple[str, str | None, t.Any] | None]],
) -> None:
    """Log through ``app.logger.info`` which loaders were tried for a template.

    ``attempts`` holds ``(loader, app_or_blueprint, get_source_result_or_None)``
    for each loader, in the order they were tried.
    """
    lines = [f"Locating template {template!r}:"]
    found = 0

    for number, (loader, source, result) in enumerate(attempts, 1):
        lines.append(f"{number:5}: trying loader of {_describe_source(app, source)}")
        lines.extend(f"       {line}" for line in _describe_loader(loader))

        if result is None:
            lines.append("       -> no match")
        else:
            found += 1
            lines.append(f"       -> found ({result[1] or '<string>'!r})")

    if found == 1:
        app.logger.info("\n".join(lines))
        return

    if found == 0:
        lines.append("Error: the template could not be found.")
    else:
        lines.append("Warning: multiple loaders returned a match for the template.")

    ctx = _cv_request.get(None)
    blueprint = ctx.request.blueprint if ctx is not None else None

    if blueprint is not None:
        lines.append(
            "  The template was looked up from an endpoint that belongs"
            f" to the blueprint {blueprint!r}."
        )
        lines.append("  Maybe you did not place a template in the right folder?")
        lines.append("  See https://flask.palletsprojects.com/blueprints/#templates")

    app.logger.info("\n".join(lines))


def _describe_source(app: Flask, source: t.Any) -> str:
    """Describe the app or blueprint that owns a template loader."""
    # Imported here: this runs only when explaining, and avoids an import cycle.
    from .app import Flask
    from .blueprints import Blueprint

    if isinstance(source, Flask):
        return f"application {source.import_name!r}"

    if isinstance(source, Blueprint):
        return f"blueprint {source.name!r} ({source.import_name})"

    return repr(source)
