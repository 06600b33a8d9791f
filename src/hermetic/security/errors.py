"""The security layer's errors: two roots, one clear 4xx each, no internals.

The tree (every error the security layer lets out is under one of two roots)::

    SecurityError (werkzeug HTTPException)   a request refused: 4xx/503
    ├── BadInput 400                         ├── JSONTooDeep (also ValueError),
    │                                        │   MalformedJSON
    ├── URLTooLong 414, PayloadTooLarge 413, HostNotAllowed 400
    ├── CSRFError 403, CORSRefused 403
    ├── AuthenticationRequired 401           ├── TokenError (JWT) ..., BearerTokenRequired
    ├── PermissionDenied 403                 ├── InsufficientScope
    ├── RateLimitExceeded 429
    ├── RequestValidationError 422, UnsupportedMediaType 415
    └── StoreUnavailableError 503 (also werkzeug ServiceUnavailable)
        └── SessionStoreUnavailable, RateLimitUnavailable, TokenCheckUnavailable
    ConfigurationError (SettingsError -> ValueError, and RuntimeError)
                                             start-up: the app refuses to run

**Refusals** (:class:`SecurityError`) are mapped to HTTP at one boundary:
each is a Werkzeug ``HTTPException``, so Flask's error handling renders it
(``@app.errorhandler(403)`` works); without a handler it renders itself
(:meth:`SecurityError.get_response`). Inside, each error carries a
machine-readable ``reason`` (a module constant of the shield that raised
it) and context for the audit log. Outside, the client sees a short
problem description: ``application/problem+json`` when it asked for JSON,
a small HTML page otherwise.

**Start-up problems** (:class:`ConfigurationError`) stop the app before it
serves: a bad setting (a :class:`~hermetic.settings.SettingsError`, whose
``key`` names the key) or an unsafe combination. ``except SettingsError``
and ``except RuntimeError`` both catch it.

Inside the layer, three families never reach a client as themselves: a
store's ``StoreError`` (:mod:`hermetic.security.stores`; the breaker's
``CircuitOpenError`` becomes one) turns into :class:`StoreUnavailableError`
(503) in the shield that called the store, or at the app's error boundary
when a view called it; ``limits``' storage errors become the rate limiter's
outage policy; ``crypto.CryptoError`` (a cookie or token that does not
open) becomes a fresh session, or the refusal of what it sealed.
``validation.ResponseValidationError`` (a ``RuntimeError``) is the app's
bug, not the client's: a 500.
"""

from __future__ import annotations

import math
import typing as t

from werkzeug.datastructures import MIMEAccept
from werkzeug.exceptions import HTTPException, ServiceUnavailable
from werkzeug.http import parse_accept_header
from werkzeug.wrappers import Request as _BaseRequest
from werkzeug.wrappers import Response as _BaseResponse

from ..settings import SettingsError
from ._error_pages import PROBLEM_JSON, debug_on, problem_document, render_error
from ._hints import hint_for

__all__ = [
    "AuthenticationRequired",
    "BadInput",
    "CSRFError",
    "ConfigurationError",
    "HostNotAllowed",
    "PayloadTooLarge",
    "PermissionDenied",
    "SecurityError",
    "StoreUnavailableError",
    "prefers_json",
]

_OFFERS = ("text/html", "application/json", PROBLEM_JSON)


def prefers_json(environ: t.Mapping[str, t.Any] | None) -> bool:
    """Tell whether the client wants JSON rather than HTML.

    ``Accept`` decides when it names JSON or HTML (with its q-values);
    otherwise a JSON request body or an ``Authorization: Bearer`` header
    marks an API client.
    """
    if not environ:
        return False
    accept = environ.get("HTTP_ACCEPT", "")
    if "json" in accept:
        best = parse_accept_header(accept, MIMEAccept).best_match(_OFFERS)
        return best is not None and best != "text/html"
    if "html" in accept:
        return False
    if "json" in environ.get("CONTENT_TYPE", ""):
        return True
    authorization: str = environ.get("HTTP_AUTHORIZATION", "")
    return authorization[:7].lower() == "bearer "


_prefers_json = prefers_json  # the older private name
_BASE_KEYS = frozenset({"type", "title", "status", "detail", "reason"})


class SecurityError(HTTPException):
    """A request refused by a shield (the root of the hierarchy)."""

    code = 400
    #: The audit event kind (``csrf``, ``authz``, ``limit``, ...).
    kind = "security"
    #: The short reason constant; a stable identifier for logs and clients.
    reason = "rejected"
    description = "The request was refused."
    #: What the developer can change; shown in debug mode and logged.
    hint: str | None = None

    def __init__(
        self,
        description: str | None = None,
        *,
        reason: str | None = None,
        hint: str | None = None,
        headers: t.Mapping[str, str] | None = None,
        **context: t.Any,
    ) -> None:
        super().__init__(description)
        if reason is not None:
            self.reason = reason
        if hint is not None:
            self.hint = hint
        self.extra_headers = dict(headers or {})
        self.context = context

    def problem(self) -> dict[str, t.Any]:
        """Return the RFC 9457 problem document sent to JSON clients."""
        return problem_document(self.code, self.name, self.description, self.reason)

    def get_response(
        self,
        environ: t.Any = None,
        scope: t.Any = None,
    ) -> _BaseResponse:
        """Render as problem+json or HTML, by what the client accepts.

        In debug mode both carry the :attr:`hint` (what the developer can do).
        """
        if isinstance(environ, _BaseRequest):
            environ = environ.environ
        hint = (self.hint or hint_for(self.reason)) if debug_on() else None
        document = self.problem()
        response = render_error(
            self.code,
            self.name,
            self.description,
            environ,
            reason=self.reason,
            hint=hint,
            extra={k: v for k, v in document.items() if k not in _BASE_KEYS},
        )
        for key, value in self.extra_headers.items():
            response.headers[key] = value
        return response


class BadInput(SecurityError):
    """Input that breaks a limit of shape (nesting, field count): 400."""

    kind = "limit"
    reason = "bad_input"


class PayloadTooLarge(SecurityError):
    """A body, field or file over its size or count limit: 413."""

    code = 413
    kind = "limit"
    reason = "too_large"
    description = "The request body is larger than this endpoint accepts."


class HostNotAllowed(SecurityError):
    """A ``Host`` header that is not one of the trusted hosts: 400."""

    kind = "host"
    reason = "untrusted_host"
    description = "The request's Host header is not served here."


class CSRFError(SecurityError):
    """A cross-site request forgery check that failed: 403."""

    code = 403
    kind = "csrf"
    reason = "csrf_failed"
    description = "The request did not pass the cross-site request forgery check."


class AuthenticationRequired(SecurityError):
    """No (valid) identity for a route that needs one: 401."""

    code = 401
    kind = "authn"
    reason = "login_required"
    description = "You need to log in to do this."


class PermissionDenied(SecurityError):
    """An identity without the permission a route or object needs: 403."""

    code = 403
    kind = "authz"
    reason = "forbidden"
    description = "You don't have the permission to do this."


class StoreUnavailableError(SecurityError, ServiceUnavailable):
    """A store a shield needs is down, or its circuit breaker is open: 503.

    The one answer of every shield to a store outage (sessions, CSRF,
    remember-me, rate limits, the JWT replay cache): fail closed, fast, with
    ``Retry-After`` (``retry_after`` seconds, default ``5``: the breaker's
    cool-down). Subclasses keep a shield's own ``kind`` and ``reason``. An
    app's ``@app.errorhandler(503)`` renders it.
    """

    code = 503
    kind = "store"
    reason = "store_unavailable"
    description = "The service is unavailable for a moment. Please try again shortly."
    #: ``Retry-After`` seconds when the raiser gives none.
    default_retry_after = 5

    def __init__(
        self, description: str | None = None, *, retry_after: float | None = None, **kwargs: t.Any
    ) -> None:
        super().__init__(description, **kwargs)
        seconds = self.default_retry_after if retry_after is None else retry_after
        self.extra_headers.setdefault("Retry-After", str(max(1, math.ceil(seconds))))


class ConfigurationError(SettingsError, RuntimeError):
    """An unsafe or incomplete configuration found at start-up (the root of start-up errors).

    The message says what is wrong and how to fix it; :attr:`key` names the
    configuration key at fault, when one is. A
    :class:`~hermetic.settings.SettingsError` (a ``ValueError``) and a
    ``RuntimeError``, so code catching either keeps working.
    """
