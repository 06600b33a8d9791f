"""The declared authorization settings (:class:`AuthzSettings`)."""

from __future__ import annotations

import dataclasses
import typing as t

from ..settings import Settings, SettingsError, setting

#: ``AUTHZ_DEFAULT`` values.
ALLOW = "allow"
DENY = "deny"


def _roles(value: t.Mapping[t.Any, t.Any]) -> dict[str, frozenset[str]]:
    roles = {}
    for role, perms in value.items():
        if isinstance(perms, str) or not isinstance(perms, t.Iterable):
            raise SettingsError(
                f"AUTHZ_ROLES[{role!r}] must be a list of permissions, got {perms!r}."
                ' Fix: write {"editor": ["notes:edit", "notes:read"]}.',
                key="AUTHZ_ROLES",
            )
        roles[str(role)] = frozenset(str(p) for p in perms)
    return roles


@dataclasses.dataclass(frozen=True)
class AuthzSettings(Settings, feature="authz", title="Authorization", prefixes=("AUTHZ_",)):
    """The ``AUTHZ_*`` settings of :mod:`hermetic.security.policy`."""

    default: str = setting(
        "AUTHZ_DEFAULT",
        default=ALLOW,
        secure_default=ALLOW,
        choices=(ALLOW, DENY),
        doc="A route without a policy: `allow` it, or `deny` it (and `Hermetic`"
        " refuses to start while one exists).",
    )
    roles: dict[str, frozenset[str]] = setting(
        "AUTHZ_ROLES",
        default={},
        secure_default={},
        accepts=t.Mapping[str, t.Any],
        parse=_roles,
        doc='Each role\'s permissions (`{"editor": ["notes:edit"]}`).',
    )
