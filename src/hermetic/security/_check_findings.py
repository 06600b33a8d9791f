"""What every ``hermetic check`` family shares: :class:`Finding`, its levels,
and :func:`declared` (re-exported by :mod:`.checks`)."""

from __future__ import annotations

import typing as t

from ..settings import Settings, SettingsError
from ._store_base import StoreSettings, store_settings

ERROR = "error"
WARNING = "warning"
INFO = "info"
#: The order findings are reported in: errors first.
RANK = {ERROR: 0, WARNING: 1, INFO: 2}


class Finding(t.NamedTuple):
    """One result of the self-audit."""

    level: str
    id: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """Return the finding as a JSON-ready dict."""
        return {"level": self.level, "id": self.id, "message": self.message}


S = t.TypeVar("S", bound=Settings)


def declared(
    cls: type[S], config: t.Mapping[str, t.Any], environ: t.Mapping[str, str] | None = None
) -> S | None:
    """Return ``cls``'s checked settings, or ``None`` when one is invalid.

    An invalid value is reported once, as ``invalid_setting``; the checks
    then skip what they cannot read.
    """
    try:
        if cls is StoreSettings:
            return t.cast(S, store_settings(config, environ))
        return cls.from_config(config)
    except SettingsError:
        return None
