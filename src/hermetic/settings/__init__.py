"""One declaration per setting: key, type, default, meaning, check.

A feature declares its settings as a frozen dataclass subclassing
:class:`Settings`, one attribute per key (see :func:`setting`), and reads
them with ``FeatureSettings.from_config(app.config)``: every key is read
once, checked, and a wrong type or value raises :class:`SettingsError`
naming the key. The configuration reference (``docs/configuration.md``)
is generated from the declarations (``python -m hermetic.settings``).

This package is part of the core: it imports nothing from the security
layer and needs no extra.
"""

from __future__ import annotations

from ._catalog import MODULES as MODULES
from ._catalog import UnknownKey as UnknownKey
from ._catalog import declared_keys as declared_keys
from ._catalog import load_all as load_all
from ._catalog import reference as reference
from ._catalog import secure_defaults as secure_defaults
from ._catalog import unknown_keys as unknown_keys
from ._declare import UNSET as UNSET
from ._declare import Setting as Setting
from ._declare import Settings as Settings
from ._declare import SettingsError as SettingsError
from ._declare import registry as registry
from ._declare import setting as setting

__all__ = [
    "MODULES",
    "UNSET",
    "Setting",
    "Settings",
    "SettingsError",
    "UnknownKey",
    "declared_keys",
    "load_all",
    "reference",
    "registry",
    "secure_defaults",
    "setting",
    "unknown_keys",
]
