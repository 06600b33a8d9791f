"""Start-up check of the declared settings read outside a shield (sessions, redirects, secrets).

Shields' settings are checked when the pipeline configures them; these are
read at first use. :func:`settings_problems` reads them all once, so
``Hermetic.security_check`` (and ``hermetic check``) can refuse a bad value
before the first request.
"""

from __future__ import annotations

import typing as t

from ..settings import Settings, SettingsError
from ._session_settings import SessionSettings
from .redirects import RedirectSettings
from .secrets import SecretFileSettings

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask

__all__ = ["OUTSIDE_SHIELDS", "settings_problems"]

#: The settings classes no shield reads.
OUTSIDE_SHIELDS: tuple[type[Settings], ...] = (
    SessionSettings,
    RedirectSettings,
    SecretFileSettings,
)


def settings_problems(app: Flask) -> list[str]:
    """Return one line per bad setting of :data:`OUTSIDE_SHIELDS` ("feature: message")."""
    problems = []
    for cls in OUTSIDE_SHIELDS:
        try:
            cls.from_config(app.config)
        except SettingsError as e:
            problems.append(f"{cls.feature}: {e}")
    return problems
