"""Authorization: roles, permissions, object policies, and default-deny.

A route declares who may call it with a decorator under ``@app.route``:
``@public``, ``@login_required`` (from :mod:`hermetic.security.auth`),
``@fresh_login_required``, ``@requires("notes:edit")`` (every permission
needed) or ``@requires_any("a", "b")`` (one is enough). Stacked decorators
combine. The declaration is the view attribute ``_hermetic_policy``
(a :class:`Policy`); the :class:`AuthorizationShield` enforces it before the
app's ``before_request`` hooks, and the decorator itself enforces it on an
app without the shield.

A user's permissions (:func:`permissions_of`) are the permissions of its
``roles`` in ``AUTHZ_ROLES`` (``{"editor": ["notes:edit"]}``, default
``{}``), plus its ``permissions`` and ``scopes`` attributes (a token's
scopes; a space-separated string works).

Object-level rules: ``@policy("notes:edit")`` registers
``fn(user, obj) -> bool``; :func:`authorize` and :func:`can` call it.

``AUTHZ_DEFAULT = "deny"`` (default ``"allow"``) makes ``Hermetic`` refuse to
start while a route declares no policy (:func:`routes_without_policy`).
"""

from __future__ import annotations

import functools
import inspect
import typing as t

from ..globals import _cv_app, _cv_request
from .audit import audit
from .errors import AuthenticationRequired, ConfigurationError, PermissionDenied
from .shields import ORDER_AUTHORIZATION, Shield

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask
    from ..wrappers import Request, Response

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

#: The view attribute holding the route's :class:`Policy`.
POLICY_ATTR = "_hermetic_policy"
_WRAPPER_ATTR = "_hermetic_policy_wrapper"
#: The environ key holding the policy the shield already enforced.
CHECKED_KEY = "hermetic.authz_checked"
_PERMS_KEY = "hermetic.permissions"
#: Where the app's :class:`PolicyRegistry` lives.
EXTENSION_KEY = "hermetic.policy"

#: Refusal reasons.
REASON_FORBIDDEN = "forbidden"
REASON_NO_POLICY = "no_policy"


class Policy:
    """What a route requires: nothing (public), a login, permissions."""

    __slots__ = ("all_of", "any_of", "fresh", "login", "public")

    def __init__(
        self,
        *,
        public: bool = False,
        login: bool = False,
        fresh: bool = False,
        all_of: t.Iterable[str] = (),
        any_of: t.Iterable[frozenset[str]] = (),
    ) -> None:
        self.public = public
        self.all_of = frozenset(all_of)
        self.any_of = tuple(any_of)
        self.fresh = fresh
        self.login = login or fresh or bool(self.all_of) or bool(self.any_of)

    def merge(self, other: Policy) -> Policy:
        """Return the policy needing both ``self`` and ``other``."""
        if self.public != other.public:
            raise TypeError("A view cannot be both @public and protected; remove one decorator.")
        return Policy(
            public=self.public,
            login=self.login or other.login,
            fresh=self.fresh or other.fresh,
            all_of=self.all_of | other.all_of,
            any_of=self.any_of + tuple(g for g in other.any_of if g not in self.any_of),
        )

    def describe(self) -> str:
        """Return the label ``hermetic routes`` shows: ``public``, ``login``, ``requires a``."""
        if self.public:
            return "public"
        parts = []
        if self.all_of:
            parts.append(", ".join(sorted(self.all_of)))
        parts.extend("any of " + ", ".join(sorted(g)) for g in self.any_of)
        label = "requires " + "; ".join(parts) if parts else "login"
        return label + " (fresh)" if self.fresh else label

    def __repr__(self) -> str:
        return f"<Policy {self.describe()}>"


#: The policies of ``@public``, ``@login_required``, ``@fresh_login_required``.
PUBLIC = Policy(public=True)
LOGIN = Policy(login=True)
FRESH_LOGIN = Policy(fresh=True)


def policy_of(view: t.Callable[..., t.Any] | None) -> Policy | None:
    """Return the policy ``view`` declares, or ``None``."""
    return getattr(view, POLICY_ATTR, None)


_auth: t.Any = None


def _manager_module() -> t.Any:
    # Imported late: auth imports this module for its decorators.
    global _auth
    if _auth is None:
        from .auth import manager

        _auth = manager
    return _auth


def check(policy: Policy) -> Response | None:
    """Enforce ``policy`` on the current request: ``None`` to go on, or refuse.

    Not logged in: the login manager's answer (a redirect to the login page
    or :class:`AuthenticationRequired`); missing permissions:
    :class:`PermissionDenied`. Every refusal is audited.
    """
    if policy.public:
        return None
    auth = _manager_module()
    user = auth.get_user()
    if not user.is_authenticated:
        return t.cast("Response", auth.unauthorized(auth.REASON_LOGIN_REQUIRED))
    if policy.fresh and not auth.is_fresh():
        return t.cast("Response", auth.unauthorized(auth.REASON_FRESH_LOGIN_REQUIRED))
    if policy.all_of or policy.any_of:
        have = permissions_of(user)
        missing = policy.all_of - have
        if missing or any(have.isdisjoint(group) for group in policy.any_of):
            audit("authz", reason=REASON_FORBIDDEN, required=policy.describe())
            raise PermissionDenied()
    return None


def protect(policy: Policy) -> t.Callable[[F], F]:
    """Return a decorator declaring (and enforcing) ``policy`` on a view."""

    def decorator(view: F) -> F:
        existing = policy_of(view)
        merged = policy if existing is None else existing.merge(policy)
        inner: t.Callable[..., t.Any] = view
        if getattr(view, _WRAPPER_ATTR, None) is view:
            inner = view.__wrapped__  # type: ignore[attr-defined]  # our own: wrap once
        if merged.public:
            setattr(inner, POLICY_ATTR, merged)
            return t.cast(F, inner)

        if inspect.iscoroutinefunction(inner):

            async def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
                ctx = _cv_request.get()
                if ctx.request.environ.get(CHECKED_KEY) is not merged:
                    rv = check(merged)
                    if rv is not None:
                        return rv
                return await inner(*args, **kwargs)

        else:

            def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:  # type: ignore[misc]
                ctx = _cv_request.get()
                # Skip the check the shield made for this very policy.
                if ctx.request.environ.get(CHECKED_KEY) is not merged:
                    rv = check(merged)
                    if rv is not None:
                        return rv
                return inner(*args, **kwargs)

        functools.update_wrapper(wrapper, inner)
        setattr(wrapper, POLICY_ATTR, merged)
        setattr(wrapper, _WRAPPER_ATTR, wrapper)
        return t.cast(F, wrapper)

    return decorator


def public(view: F) -> F:
    """Declare that ``view`` needs no login (an explicit choice under default-deny)."""
    return protect(PUBLIC)(view)


def requires(*permissions: str) -> t.Callable[[F], F]:
    """Let only users holding every one of ``permissions`` call the view."""
    if not permissions:
        raise TypeError("Name at least one permission, e.g. @requires('notes:edit').")
    return protect(Policy(all_of=permissions))


def requires_any(*permissions: str) -> t.Callable[[F], F]:
    """Let only users holding at least one of ``permissions`` call the view."""
    if not permissions:
        raise TypeError("Name at least one permission, e.g. @requires_any('a', 'b').")
    return protect(Policy(any_of=(frozenset(permissions),)))


# -- permissions and object policies -----------------------------------------


class PolicyRegistry:
    """An app's roles (from ``AUTHZ_ROLES``, read once) and object policies."""

    def __init__(self) -> None:
        self.rules: dict[str, t.Callable[[t.Any, t.Any], bool]] = {}
        self.roles: dict[str, frozenset[str]] | None = None

    def register(self, action: str, fn: t.Callable[[t.Any, t.Any], bool]) -> None:
        """Make ``fn(user, obj) -> bool`` decide ``action``."""
        if action in self.rules:
            raise ValueError(f"A policy for {action!r} is already registered.")
        self.rules[action] = fn

    def role_permissions(self, config: t.Mapping[str, t.Any]) -> dict[str, frozenset[str]]:
        """Return role -> permissions, read from ``AUTHZ_ROLES`` on first use."""
        if self.roles is None:
            raw = config.get("AUTHZ_ROLES") or {}
            self.roles = {str(role): frozenset(perms) for role, perms in raw.items()}
        return self.roles


#: Object policies registered without an app (used by every app).
default_registry = PolicyRegistry()


def registry_for(app: Flask) -> PolicyRegistry:
    """Return ``app``'s policy registry, made on first use."""
    registry = app.extensions.get(EXTENSION_KEY)
    if registry is None:
        registry = app.extensions[EXTENSION_KEY] = PolicyRegistry()
    return t.cast(PolicyRegistry, registry)


def policy(action: str, *, app: Flask | None = None) -> t.Callable[[F], F]:
    """Register the decorated ``fn(user, obj) -> bool`` as the rule for ``action``.

    With ``app``, for that app only; without, for every app (an app's own
    rule wins).
    """

    def decorator(fn: F) -> F:
        (default_registry if app is None else registry_for(app)).register(action, fn)
        return fn

    return decorator


def _current_app() -> Flask | None:
    ctx = _cv_app.get(None)
    return ctx.app if ctx is not None else None


def permissions_of(user: t.Any) -> frozenset[str]:
    """Return the permissions of ``user``: its roles', ``permissions`` and ``scopes``."""
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    req = _cv_request.get(None)
    if req is not None:
        cached = req.request.environ.get(_PERMS_KEY)
        if cached is not None and cached[0] is user:
            return t.cast(frozenset[str], cached[1])
    app = _current_app()
    roles = registry_for(app).role_permissions(app.config) if app is not None else {}
    perms: set[str] = set()
    for role in getattr(user, "roles", None) or ():
        perms.update(roles.get(role if isinstance(role, str) else str(role), ()))
    for name in ("permissions", "scopes"):
        extra = getattr(user, name, None)
        if extra:
            perms.update(extra.split() if isinstance(extra, str) else extra)
    result = frozenset(perms)
    if req is not None:
        req.request.environ[_PERMS_KEY] = (user, result)
    return result


def can(action: str, obj: t.Any = None, *, user: t.Any = None) -> bool:
    """Tell whether ``user`` (default: the current user) may do ``action`` (on ``obj``).

    A registered object policy decides; without one, ``action`` is a
    permission name. Asking about an object with no policy registered is a
    programming error (``LookupError``), never a silent yes.
    """
    if user is None:
        user = _manager_module().get_user()
    app = _current_app()
    rule = registry_for(app).rules.get(action) if app is not None else None
    if rule is None:
        rule = default_registry.rules.get(action)
    if rule is not None:
        return bool(rule(user, obj))
    if obj is not None:
        raise LookupError(
            f"No policy for {action!r} on objects. Register one with @policy({action!r})."
        )
    return action in permissions_of(user)


def authorize(action: str, obj: t.Any = None) -> None:
    """Refuse the request unless the current user may do ``action`` (on ``obj``).

    Anonymous: :class:`AuthenticationRequired` (401); otherwise
    :class:`PermissionDenied` (403). Both are audited.
    """
    user = _manager_module().get_user()
    if can(action, obj, user=user):
        return
    if not user.is_authenticated:
        audit("authn", reason="login_required", action=action)
        raise AuthenticationRequired()
    audit("authz", reason=REASON_FORBIDDEN, action=action)
    raise PermissionDenied()


# -- the shield and the start-up check ----------------------------------------


def _is_static(endpoint: str) -> bool:
    return endpoint == "static" or endpoint.endswith(".static")


def routes_without_policy(app: Flask) -> list[str]:
    """Return the endpoints (static files aside) whose views declare no policy."""
    return sorted(
        endpoint
        for endpoint, view in app.view_functions.items()
        if policy_of(view) is None and not _is_static(endpoint)
    )


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

    def __init__(self) -> None:
        self._views: dict[str, t.Callable[..., t.Any]] = {}
        self._config: t.Mapping[str, t.Any] = {}
        self._deny: bool | None = None

    def init_app(self, app: Flask) -> None:
        """Join ``app``'s pipeline; offer ``can`` to templates."""
        self._views = app.view_functions
        self._config = app.config
        app.jinja_env.globals.setdefault("can", can)
        super().init_app(app)

    def configure(self, app: Flask | None = None) -> None:
        """Read ``AUTHZ_DEFAULT`` (``"allow"`` or ``"deny"``, default ``"allow"``)."""
        if app is not None:
            self._config = app.config
        value = self._config.get("AUTHZ_DEFAULT", "allow")
        if value not in ("allow", "deny"):
            # SECURITY: a misspelt "deny" must not silently allow.
            raise ConfigurationError(f"AUTHZ_DEFAULT must be 'allow' or 'deny', not {value!r}.")
        self._deny = value == "deny"

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

    def before(self, request: Request) -> Response | None:  # type: ignore[override]
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
    rv = check(declared)
    if rv is None:
        request.environ[CHECKED_KEY] = declared
    return rv
