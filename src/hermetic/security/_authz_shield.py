"""``AuthorizationShield``: each route's declared policy, enforced before the app's hooks."""

from __future__ import annotations

import functools
import typing as t

from . import policy as _policy
from ._authz_settings import DENY, AuthzSettings
from .audit import audit
from .errors import PermissionDenied
from .policy import CHECKED_KEY, REASON_NO_POLICY, Policy, _is_static, can, policy_of
from .shields import ORDER_AUTHORIZATION, Shield

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask
    from ..wrappers import Request, Response


class AuthorizationShield(Shield):
    """Enforce each route's declared policy before the app's own hooks.

    Under ``AUTHZ_DEFAULT = "deny"`` a route without a policy is refused
    (fail closed), though ``Hermetic`` already refuses to start with one.
    Each route's step is chosen once: a public route, or one without a
    policy under ``"allow"``, runs no authorization step at all.
    """

    name = "authz"
    order = ORDER_AUTHORIZATION
    exemptable = False
    settings_class = AuthzSettings
    settings: AuthzSettings

    def __init__(self) -> None:
        self._views: dict[str, t.Callable[..., t.Any]] = {}
        self._deny: bool | None = None

    def init_app(self, app: Flask) -> None:
        """Join ``app``'s pipeline; offer ``can`` to templates."""
        self._views = app.view_functions
        app.jinja_env.globals.setdefault("can", can)
        super().init_app(app)

    def setup(self, app: Flask, settings: AuthzSettings) -> None:
        """Remember whether routes without a policy are refused (``AUTHZ_DEFAULT``)."""
        # SECURITY: the declaration accepts only "allow" and "deny": a
        # misspelt "deny" stops the app rather than silently allowing.
        self._deny = settings.default == DENY

    def _denies_undeclared(self) -> bool:
        if self._deny is None:
            self.configure()
        return t.cast(bool, self._deny)

    def describe(self, endpoint: str | None, view: t.Callable[..., t.Any] | None) -> str:
        """Return ``policy: <label>`` (``public``, ``login``, ``requires ...``, ``none``)."""
        declared = policy_of(view)
        return "policy: " + (declared.describe() if declared is not None else "none")

    def steps_for(
        self, endpoint: str | None, view: t.Callable[..., t.Any] | None
    ) -> tuple[t.Callable[[Request], Response | None] | None, None]:
        """Return the route's check: none when it is public or undeclared under "allow"."""
        if endpoint is None:
            return None, None  # 404 / 405: nothing to authorize
        declared = policy_of(view)
        if declared is None:
            if self._denies_undeclared() and not _is_static(endpoint):
                return _refuse_undeclared, None
            return None, None
        if declared.public:
            return None, None
        return functools.partial(_enforce, declared), None

    def before(self, request: Request) -> Response | None:
        """Refuse the request unless it meets its route's policy."""
        rule = request.url_rule
        if rule is None:
            return None
        step = self.steps_for(rule.endpoint, self._views.get(rule.endpoint))[0]
        return step(request) if step is not None else None


def _refuse_undeclared(request: Request) -> None:
    # SECURITY: fail closed for a route nobody declared a policy for.
    audit("authz", reason=REASON_NO_POLICY)
    raise PermissionDenied(reason=REASON_NO_POLICY)


def _enforce(declared: Policy, request: Request) -> Response | None:
    if request.method == "OPTIONS" and getattr(
        request.url_rule, "provide_automatic_options", False
    ):
        return None  # a CORS preflight; the view does not run
    rv = _policy.check(declared)  # looked up per call: the module is the seam
    if rv is None:
        request.environ[CHECKED_KEY] = declared
    return rv
