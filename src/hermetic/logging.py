"""The app logger and its default handler."""

from __future__ import annotations

import logging
import sys
import typing as t

from werkzeug.local import LocalProxy

from .globals import _cv_request

if t.TYPE_CHECKING:  # pragma: no cover
    from .app import Flask

__all__ = [
    "create_logger",
    "default_handler",
    "has_level_handler",
    "wsgi_errors_stream",
]


def _errors_stream() -> t.TextIO:
    """Return the WSGI server's error stream in a request, else ``sys.stderr``."""
    ctx = _cv_request.get(None)

    if ctx is not None:
        return ctx.request.environ["wsgi.errors"]  # type: ignore[no-any-return]  # WSGI environ values are Any

    return sys.stderr


#: A proxy to the error stream of the current request's WSGI server,
#: or to :data:`sys.stderr` outside a request, so logs end up in the
#: server's log.
wsgi_errors_stream: t.TextIO = LocalProxy(_errors_stream)  # type: ignore[assignment]


def has_level_handler(logger: logging.Logger) -> bool:
    """Return whether a handler of ``logger`` or of a logger it propagates to
    would emit records at the logger's effective level.
    """
    level = logger.getEffectiveLevel()
    current: logging.Logger | None = logger

    while current is not None:
        if any(handler.level <= level for handler in current.handlers):
            return True

        if not current.propagate:
            break

        current = current.parent

    return False


#: The handler added to the app logger when nothing else would show its
#: records; it writes to :data:`wsgi_errors_stream`.
default_handler = logging.StreamHandler(wsgi_errors_stream)
default_handler.setFormatter(
    logging.Formatter("[%(asctime)s] %(levelname)s in %(module)s: %(message)s")
)


def create_logger(app: Flask) -> logging.Logger:
    """Return the logger named after the app, configured for it.

    In debug mode a logger without a level gets ``DEBUG``. If no handler
    would show the logger's records, :data:`default_handler` is added.
    """
    logger = logging.getLogger(app.name)

    if app.debug and not logger.level:
        logger.setLevel(logging.DEBUG)

    if not has_level_handler(logger):
        logger.addHandler(default_handler)

    return logger
