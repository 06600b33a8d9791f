"""Cross-origin resource sharing: deny by default, allow listed origins only.

:class:`CORSShield` answers preflights itself (before the view, which never
runs for them) and adds ``Access-Control-Allow-Origin`` to the responses of
allowed origins. A route is CORS-enabled when ``CORS_ORIGINS`` is set or the
view has a :func:`cors` override; its responses always carry
``Vary: Origin``. An origin that is not allowed gets no CORS header, so the
browser keeps the answer from the page.

Refused preflights (origin, method or header not allowed) are answered
**403** (problem+json or HTML) without CORS headers, and audited: the
browser blocks either way, and a 403 tells the developer and the logs why.

CORS only decides what a browser lets a page *read*. It does not relax CSRF:
unsafe requests from another origin still need that origin in
``CSRF_TRUSTED_ORIGINS`` (or a bearer token instead of cookies). Preflights
use ``OPTIONS``, a safe method for the CSRF shield, and are answered here,
before the rate limit and CSRF steps.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

from .._headers import add_if_absent
from ..globals import _cv_request
from ..settings import SettingsError
from ._cors_settings import _ORIGIN_RE, _names, _origins
from ._cors_settings import DEFAULT_HEADERS as DEFAULT_HEADERS
from ._cors_settings import DEFAULT_MAX_AGE as DEFAULT_MAX_AGE
from ._cors_settings import DEFAULT_METHODS as DEFAULT_METHODS
from ._cors_settings import CORSSettings as CORSSettings
from .audit import audit
from .errors import ConfigurationError, SecurityError

# ORDER_CORS sits between the host check and the body limits: preflights are
# answered before anything reads a body or counts a rate limit.
from .shields import ORDER_CORS, Shield

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask
    from ..wrappers import Request, Response

__all__ = [
    "CORSPolicy",
    "CORSRefused",
    "CORSSettings",
    "CORSShield",
    "cors",
]

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

#: The view attribute holding a route's :class:`_Override`.
CORS_ATTR = "_hermetic_cors"
#: Audit reasons of refused preflights.
REASON_ORIGIN = "origin_not_allowed"
REASON_METHOD = "method_not_allowed"
REASON_HEADERS = "headers_not_allowed"

_STATE_KEY = "hermetic.cors"
_UNSET: t.Any = object()


class CORSRefused(SecurityError):
    """A preflight from an origin, or for a method or header, not allowed: 403."""

    code = 403
    kind = "cors"
    reason = REASON_ORIGIN
    description = "This cross-origin request is not allowed."


# -- policies -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CORSPolicy:
    """The resolved CORS rules of a route."""

    any_origin: bool
    origins: frozenset[str]
    patterns: tuple[re.Pattern[str], ...]
    allow_credentials: bool
    allow_methods: tuple[str, ...]
    allow_headers: tuple[str, ...]
    expose_headers: tuple[str, ...]
    max_age: int | None
    _methods: frozenset[str] = dataclasses.field(init=False, repr=False, compare=False)
    _headers: frozenset[str] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.any_origin and self.allow_credentials:
            raise ConfigurationError(
                "CORS with credentials cannot allow any origin ('*'): every site"
                " could make logged-in requests and read the answers. List the"
                " origins in CORS_ORIGINS, or set CORS_ALLOW_CREDENTIALS = False."
            )
        if self.max_age is not None and (
            isinstance(self.max_age, bool) or not isinstance(self.max_age, int) or self.max_age < 0
        ):
            raise ConfigurationError(
                f"CORS_MAX_AGE must be seconds >= 0 or None, got {self.max_age!r}."
            )
        object.__setattr__(self, "_methods", frozenset(self.allow_methods))
        object.__setattr__(self, "_headers", frozenset(h.lower() for h in self.allow_headers))

    @property
    def enabled(self) -> bool:
        """Tell whether any origin may be allowed at all."""
        return self.any_origin or bool(self.origins) or bool(self.patterns)

    def allows(self, origin: str) -> bool:
        """Tell whether ``origin`` may read this route's responses."""
        if self.any_origin:
            return True
        lowered = origin.lower()
        if lowered in self.origins:
            return True
        # SECURITY: a pattern sees only well-formed origins, so a loose one
        # cannot echo a malformed value back in a header.
        if not self.patterns or _ORIGIN_RE.fullmatch(lowered) is None:
            return False
        return any(p.fullmatch(origin) for p in self.patterns)

    def allows_method(self, method: str) -> bool:
        """Tell whether a preflight may ask for ``method``."""
        return method in self._methods

    def refused_headers(self, requested: t.Iterable[str]) -> list[str]:
        """Return the requested header names that are not allowed."""
        allowed = self._headers
        if "*" in allowed:
            return []
        return [h for h in requested if h not in allowed]

    @classmethod
    def from_settings(cls, settings: CORSSettings) -> CORSPolicy:
        """Build the app-wide policy from the checked ``CORS_*`` settings."""
        any_origin, origins, patterns = _origins(settings.origins, "CORS_ORIGINS")
        return cls(
            any_origin,
            origins,
            patterns,
            settings.allow_credentials,
            settings.allow_methods,
            settings.allow_headers,
            settings.expose_headers,
            settings.max_age,
        )

    @classmethod
    def from_config(cls, config: t.Mapping[str, t.Any]) -> CORSPolicy:
        """Build the app-wide policy from the ``CORS_*`` keys of ``config``."""
        return cls.from_settings(CORSSettings.from_config(config))


def cors(
    *,
    origins: t.Any = None,
    allow_credentials: bool | None = None,
    allow_methods: t.Iterable[str] | None = None,
    allow_headers: t.Iterable[str] | None = None,
    expose_headers: t.Iterable[str] | None = None,
    max_age: int | None = _UNSET,
) -> t.Callable[[F], F]:
    """Override the app's CORS settings for one view; ``None`` keeps the app's value.

    Allowing credentials needs the origins named here: a route cannot
    combine credentials with origins it inherits or with ``"*"``.
    """
    try:
        fields = _override(
            origins, allow_credentials, allow_methods, allow_headers, expose_headers, max_age
        )
    except SettingsError as e:
        raise ConfigurationError(str(e)) from None

    def decorator(view: F) -> F:
        setattr(view, CORS_ATTR, fields)
        return view

    return decorator


def _override(
    origins: t.Any,
    allow_credentials: bool | None,
    allow_methods: t.Iterable[str] | None,
    allow_headers: t.Iterable[str] | None,
    expose_headers: t.Iterable[str] | None,
    max_age: t.Any,
) -> dict[str, t.Any]:
    fields: dict[str, t.Any] = {}
    if origins is not None:
        any_origin, exact, patterns = _origins(origins, "cors(origins=)")
        fields.update(any_origin=any_origin, origins=exact, patterns=patterns)
        if any_origin:
            if allow_credentials:
                raise ConfigurationError(
                    "cors(origins='*', allow_credentials=True) would let every site"
                    " make logged-in requests; list the origins instead."
                )
            allow_credentials = False
    elif allow_credentials:
        raise ConfigurationError(
            "cors(allow_credentials=True) needs origins=[...]: name the origins"
            " that may send credentials to this route."
        )
    if allow_credentials is not None:
        fields["allow_credentials"] = bool(allow_credentials)
    for name, value in (
        ("allow_methods", allow_methods),
        ("allow_headers", allow_headers),
        ("expose_headers", expose_headers),
    ):
        if value is not None:
            fields[name] = _names(value, f"cors({name}=)")
    if max_age is not _UNSET:
        fields["max_age"] = max_age
    return fields


# -- the shield -------------------------------------------------------------------


class CORSShield(Shield):
    """Answer CORS preflights and mark responses readable by allowed origins.

    Settings (:class:`CORSSettings`, read once per app by the pipeline):

    - ``CORS_ORIGINS`` -- default ``()``: no origin (deny). A list of exact
      origins (``"https://app.example.com"``) and ``re.compile()`` patterns
      (matched in full), or ``"*"`` for any origin without credentials.
    - ``CORS_ALLOW_CREDENTIALS`` -- default ``False``; ``True`` with ``"*"``
      stops the app.
    - ``CORS_ALLOW_METHODS`` -- default ``GET, HEAD, POST, PUT, PATCH, DELETE``.
    - ``CORS_ALLOW_HEADERS`` -- default ``("Content-Type",)``; ``"*"`` allows
      any requested header.
    - ``CORS_EXPOSE_HEADERS`` -- default ``()``.
    - ``CORS_MAX_AGE`` -- seconds a browser may cache a preflight, default
      ``600``; ``None`` sends no ``Access-Control-Max-Age``.

    .. warning::
        A regex origin pattern must be anchored in spirit: escape the dots
        (``re.compile(r"https://[a-z0-9-]+\\.example\\.com")``), or
        ``https://evil-example.com`` may match.
    """

    name = "cors"
    order = ORDER_CORS
    settings_class = CORSSettings
    settings: CORSSettings

    def __init__(self) -> None:
        self._policy: CORSPolicy | None = None
        self._routes: dict[str, CORSPolicy] = {}

    def setup(self, app: Flask, settings: CORSSettings) -> None:
        """Build the app-wide policy."""
        self._policy = CORSPolicy.from_settings(settings)
        self._routes.clear()

    def policy_for(self, endpoint: str | None, view: t.Any) -> CORSPolicy | None:
        """Return the CORS policy of a route, ``None`` when CORS is off for it."""
        if endpoint is None or view is None:
            return None
        policy = t.cast(CORSPolicy, self._policy)
        fields = getattr(view, CORS_ATTR, None)
        if fields:
            policy = dataclasses.replace(policy, **fields)
        return policy if policy.enabled else None

    def applies_to(self, endpoint: str | None, view: t.Callable[..., t.Any] | None) -> bool:
        """Run only on CORS-enabled routes."""
        policy = self.policy_for(endpoint, view)
        if policy is None:
            return False
        self._routes[t.cast(str, endpoint)] = policy
        return True

    def describe(self, endpoint: str | None, view: t.Callable[..., t.Any] | None) -> str:
        """Return ``cors(2 origins, credentials)`` for ``hermetic routes``."""
        policy = self.policy_for(endpoint, view)
        if policy is None:
            return self.name
        count = (
            "any origin"
            if policy.any_origin
            else f"{len(policy.origins) + len(policy.patterns)} origins"
        )
        return f"{self.name}({count}{', credentials' if policy.allow_credentials else ''})"

    def before(self, request: Request) -> Response | None:
        """Answer a preflight; note whether an actual request's origin is allowed."""
        environ = request.environ
        origin = environ.get("HTTP_ORIGIN")
        if origin is None:
            return None
        rule = request.url_rule
        policy = self._routes.get(rule.endpoint) if rule is not None else None
        if policy is None:
            return None
        allowed = policy.allows(origin)
        environ[_STATE_KEY] = (policy, origin if allowed else None)
        requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")
        if request.method != "OPTIONS" or requested is None:
            return None
        return self._preflight(request, policy, origin, allowed, requested)

    def _preflight(
        self, request: Request, policy: CORSPolicy, origin: str, allowed: bool, method: str
    ) -> Response:
        requested = [
            h.strip().lower()
            for h in request.environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "").split(",")
            if h.strip()
        ]
        if not allowed:
            self._refuse(REASON_ORIGIN, origin=origin)
        ctx = _cv_request.get()
        if not policy.allows_method(method) or method not in ctx.url_adapter.allowed_methods():
            self._refuse(REASON_METHOD, origin=origin, requested_method=method)
        refused = policy.refused_headers(requested)
        if refused:
            self._refuse(REASON_HEADERS, origin=origin, headers=refused)
        response = ctx.app.response_class(status=204)
        headers = response.headers
        headers["Access-Control-Allow-Methods"] = ", ".join(policy.allow_methods)
        if requested:
            headers["Access-Control-Allow-Headers"] = ", ".join(requested)
        if policy.max_age is not None:
            headers["Access-Control-Max-Age"] = str(policy.max_age)
        return response

    def _refuse(self, reason: str, **fields: t.Any) -> t.NoReturn:
        # SECURITY: the refusal carries no CORS header; the state is cleared
        # so the after step adds none either.
        ctx = _cv_request.get()
        ctx.request.environ[_STATE_KEY] = None
        audit("cors", reason=reason, **fields)
        raise CORSRefused(reason=reason)

    def after(self, request: Request, response: Response) -> Response:
        """Add ``Vary: Origin`` and, for an allowed origin, the CORS headers."""
        headers = response.headers
        # Without a Vary header, what ``response.vary.add`` does, minus
        # parsing and re-serialising Werkzeug's header set.
        if not add_if_absent(headers, "Vary", "Origin"):
            response.vary.add("Origin")
        state = request.environ.get(_STATE_KEY)
        if state is None or state[1] is None:
            return response
        policy, origin = state
        if policy.any_origin:
            headers["Access-Control-Allow-Origin"] = "*"
        else:
            # SECURITY: echo the one allowed origin, never "*", so credentials
            # (when allowed) go to that origin only.
            headers["Access-Control-Allow-Origin"] = origin
            if policy.allow_credentials:
                headers["Access-Control-Allow-Credentials"] = "true"
        if policy.expose_headers and request.method != "OPTIONS":
            headers["Access-Control-Expose-Headers"] = ", ".join(policy.expose_headers)
        return response
