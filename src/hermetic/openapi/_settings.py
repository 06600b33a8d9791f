"""The declared ``OPENAPI_*`` settings: the document's title and version."""

from __future__ import annotations

import dataclasses
import typing as t

from ..settings import Settings, SettingsError, setting

__all__ = ["OpenAPISettings"]


def _not_empty(key: str) -> t.Callable[[str | None], str | None]:
    def parse(value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise SettingsError(
                f"{key} must not be empty. Fix: set a value, or remove {key} for the default.",
                key=key,
            )
        return value

    return parse


@dataclasses.dataclass(frozen=True)
class OpenAPISettings(Settings, feature="openapi", title="OpenAPI", prefixes=("OPENAPI_",)):
    """The settings of :func:`~hermetic.openapi.openapi_spec` (arguments override them).

    (``api_title``, not ``title``: :attr:`Settings.title` is the feature's title.)
    """

    api_title: str | None = setting(
        "OPENAPI_TITLE",
        default=None,
        parse=_not_empty("OPENAPI_TITLE"),
        doc="The API's title in the document (`info.title`); `None`: the app's name.",
    )
    api_version: str = setting(
        "OPENAPI_VERSION",
        default="0.1.0",
        parse=_not_empty("OPENAPI_VERSION"),
        doc="The API's version in the document (`info.version`), not OpenAPI's.",
    )
