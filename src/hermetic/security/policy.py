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
from ..settings import SettingsError
from ._authz_settings import AuthzSettings as AuthzSettings
from .audit import audit
from .errors import AuthenticationRequired, ConfigurationError, PermissionDenied

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask
    from ..wrappers import Response

__all__ = [
    "AuthorizationShield",
    "AuthzSettings",
    "Policy",
    "PolicyRegistry",
    "authorize",
    "can",
    "permissions_of",
    "policy",
    "policy_of",
    "public",
    "registry_for",
    "requires",
    "requires_any",
    "routes_without_policy",
]

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


def _current_user_module() -> t.Any:
    # Imported late: auth imports this module for its decorators.
    global _auth
    if _auth is None:
        from .auth import _current_user

        _auth = _current_user
    return _auth


def check(policy: Policy) -> Response | None:
    """Enforce ``policy`` on the current request: ``None`` to go on, or refuse.

    Not logged in: the login manager's answer (a redirect to the login page
    or :class:`AuthenticationRequired`); missing permissions:
    :class:`PermissionDenied`. Every refusal is audited.
    """
    if policy.public:
        return None
    auth = _current_user_module()
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
            inner = view.__wrapped__  # our own: wrap once
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

            def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:  # type: ignore[misc]  # decorated with functools.wraps, untyped
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
            try:
                self.roles = AuthzSettings.from_config(config).roles
            except SettingsError as e:
                raise ConfigurationError(str(e), key=e.key) from None
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
        user = _current_user_module().get_user()
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
    user = _current_user_module().get_user()
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


from ._authz_shield import AuthorizationShield as AuthorizationShield  # noqa: E402
