"""Error handling of the application: HTTP errors, errors of views and hooks, 500s.

Part of :class:`hermetic.app.Flask`, kept apart to keep each module readable
in one sitting. Where it differs from Flask (the security layer's refusals and
store outages), see ``docs/contributing/internals.md``.
"""

from __future__ import annotations

import sys
import typing as t
from types import TracebackType

from werkzeug.exceptions import (
    BadRequestKeyError,
    HTTPException,
    InternalServerError,
)
from werkzeug.routing import RoutingException

from .globals import _cv_request, request
from .signals import got_request_exception

if t.TYPE_CHECKING:  # pragma: no cover
    from .wrappers import Response


class ErrorHandlingMixin:
    """Turn errors into responses; mixed into :class:`~hermetic.app.Flask`."""

    if t.TYPE_CHECKING:  # pragma: no cover
        from .config import Config
        from .security.shields import ShieldPipeline

        config: Config
        shields: ShieldPipeline | None
        testing: bool
        debug: bool
        logger: t.Any

        def make_response(self, rv: t.Any) -> Response: ...
        def ensure_sync(self, func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]: ...
        def trap_http_exception(self, e: Exception) -> bool: ...
        def finalize_request(self, rv: t.Any, from_error_handler: bool = False) -> Response: ...
        def _find_error_handler(
            self, e: Exception, blueprints: list[str]
        ) -> t.Callable[..., t.Any] | None: ...

    def _refusal_response(self, refusal: HTTPException) -> Response:
        # A shield refused while the response was being finished (the session
        # store went down as the session was saved, or was first opened by an
        # after_request hook): its own answer (a 503) replaces the response.
        # The app's handler for that status may render it; the session is not
        # saved again, the shields' after steps (headers) still run.
        response = self.make_response(self.handle_http_exception(refusal))
        if self.shields is not None:
            response = self.shields.after(_cv_request.get().request, response)
        return response

    def handle_http_exception(self, e: HTTPException) -> t.Any:
        """Hand an HTTP error to its registered handler, or return it as the response."""
        if e.code is None:
            return e
        if isinstance(e, RoutingException):
            return e
        handler = self._find_error_handler(e, request.blueprints)
        if handler is None:
            return e
        try:
            return self.ensure_sync(handler)(e)
        except Exception as late:
            # A handler that needs a store that is down (it reads the
            # session): the outage's own 503 rather than a 500.
            refusal = _late_refusal(late)
            if refusal is None:
                raise
            return refusal

    def handle_user_exception(self, e: Exception) -> t.Any:
        """Handle an error raised by a hook or view, or re-raise it."""
        if isinstance(e, BadRequestKeyError) and (
            self.debug or self.config["TRAP_BAD_REQUEST_ERRORS"]
        ):
            e.show_exception = True
        if isinstance(e, HTTPException) and not self.trap_http_exception(e):
            return self.handle_http_exception(e)
        if not isinstance(e, HTTPException):
            refusal = _late_refusal(e)
            if refusal is not None:
                # A store outage in a view or hook: the 503 (which the app's 503
                # handler may render), not a 500 -- even with a handler of Exception.
                return self.handle_http_exception(refusal)
        handler = self._find_error_handler(e, request.blueprints)
        if handler is None:
            raise
        return self.ensure_sync(handler)(e)

    def handle_exception(self, e: Exception) -> Response:
        """Turn an unhandled error into a 500 (or propagate it when testing)."""
        exc_info = sys.exc_info()
        if got_request_exception.receivers:
            got_request_exception.send(self, _async_wrapper=self.ensure_sync, exception=e)
        propagate = self.config["PROPAGATE_EXCEPTIONS"]
        if propagate is None:
            propagate = self.testing or self.debug
        if propagate:
            if exc_info[1] is e:
                raise
            raise e
        self.log_exception(exc_info)
        server_error: t.Any = InternalServerError(original_exception=e)
        handler = self._find_error_handler(server_error, request.blueprints)
        if handler is not None:
            server_error = self.ensure_sync(handler)(server_error)
        return self.finalize_request(server_error, from_error_handler=True)

    def log_exception(
        self,
        exc_info: tuple[type, BaseException, TracebackType] | tuple[None, None, None],
    ) -> None:
        """Log an unhandled error with its traceback (to the server log, not the client)."""
        self.logger.error(f"Exception on {request.path} [{request.method}]", exc_info=exc_info)


def _late_refusal(e: BaseException) -> HTTPException | None:
    """Return the security layer's answer to ``e``, or ``None`` when it is a plain error.

    A shield's refusal (a :class:`~hermetic.security.errors.SecurityError`,
    such as the 503 of a session store outage) stays itself; an error of the
    security layer's store (:class:`~hermetic.security.stores.StoreError`)
    becomes the 503 of a store outage, with ``Retry-After``.
    """
    # Imported here: only error paths get this far, and plain Flask apps
    # need not load the security layer.
    from .security.errors import SecurityError, StoreUnavailableError
    from .security.stores import StoreError

    if isinstance(e, SecurityError):
        return e
    if isinstance(e, StoreError):
        from .security.audit import audit

        # SECURITY: fail closed: what needed the store is refused, with 503.
        audit("store", reason="store_unavailable", error=type(e).__name__)
        return StoreUnavailableError(retry_after=getattr(e, "retry_after", None))
    return None
