"""Declare settings: :func:`setting`, the :class:`Settings` base and the registry."""

from __future__ import annotations

import copy
import dataclasses
import typing as t

from . import _types

S = t.TypeVar("S", bound="Settings")


class _Unset:
    """The marker of an option that was not given."""

    def __repr__(self) -> str:
        return "UNSET"


#: The marker of a ``secure_default`` that was not given.
UNSET: t.Any = _Unset()

#: The key of a dataclass field's metadata that holds its :class:`Setting`.
METADATA_KEY = "hermetic.setting"


class SettingsError(ValueError):
    """A configuration value of the wrong type or out of range.

    The message names the key, what it holds and what it accepts, and ends
    with the fix. The security layer's ``ConfigurationError`` reports it.
    """

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        #: The configuration key at fault, when one is.
        self.key = key


@dataclasses.dataclass(frozen=True)
class Setting:
    """The declaration of one configuration key."""

    #: The UPPER_CASE configuration key.
    key: str
    #: The value used when the config does not hold the key.
    default: t.Any
    #: One line: what the setting does.
    doc: str
    #: The value :class:`~hermetic.Hermetic` puts in its config (``UNSET``: none).
    secure_default: t.Any = UNSET
    #: Turn the checked value into the attribute's value (raise ``ValueError`` or
    #: :class:`SettingsError` for a bad one).
    parse: t.Callable[[t.Any], t.Any] | None = None
    #: The type the raw value must have, when it differs from the annotation.
    accepts: t.Any = UNSET
    #: A secret: its value never appears in a message or the reference.
    secret: bool = False
    #: The default as the reference shows it, when its repr would not help.
    default_doc: str | None = None

    def initial(self) -> t.Any:
        """Return the attribute's value for the default (a fresh copy; unchecked).

        The dataclass's default, for a settings object built directly;
        :meth:`Settings.from_config` checks the default like a configured value.
        """
        value = copy.deepcopy(self.default)
        return self.parse(value) if self.parse is not None else value


def setting(
    key: str,
    *,
    default: t.Any,
    doc: str,
    secure_default: t.Any = UNSET,
    parse: t.Callable[[t.Any], t.Any] | None = None,
    choices: t.Iterable[t.Any] | None = None,
    accepts: t.Any = UNSET,
    secret: bool = False,
    default_doc: str | None = None,
) -> t.Any:
    """Declare the attribute of a :class:`Settings` class read from ``key``.

    :param default: the value when the config does not hold ``key`` (on
        ``Flask``, and on ``Hermetic`` unless ``secure_default`` is given).
    :param doc: one line for the configuration reference.
    :param secure_default: the value ``Hermetic`` puts in its config.
    :param parse: turns the checked value into the attribute's value.
    :param choices: the only values allowed (a ``Literal`` of them).
    :param accepts: the type of the raw value, when the annotation describes
        the parsed one.
    :param secret: never show the value (tokens, keys).
    """
    if choices is not None:
        accepts = t.Literal[tuple(choices)]
    declared = Setting(key, default, doc, secure_default, parse, accepts, secret, default_doc)
    return dataclasses.field(default_factory=declared.initial, metadata={METADATA_KEY: declared})


_REGISTRY: dict[str, type[Settings]] = {}


def _show(value: t.Any, secret: bool) -> str:
    if secret and value is not None:
        return f"{type(value).__name__} (value hidden)"
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{type(value).__name__} {text}"


@dataclasses.dataclass(frozen=True)
class Settings:
    """The typed, checked settings of one feature (subclass it, frozen dataclass).

    ::

        @dataclasses.dataclass(frozen=True)
        class HeadersSettings(Settings, feature="headers", title="Security headers",
                              prefixes=("SECURITY_",)):
            hsts: str | None = setting("SECURITY_HSTS", default="max-age=63072000",
                                       doc="The Strict-Transport-Security value.")

        settings = HeadersSettings.from_config(app.config)
        settings.hsts

    :meth:`from_config` reads every key once, checks it against the
    attribute's type (or ``accepts``), applies ``parse``, then calls
    :meth:`check` for rules that span keys.
    """

    #: The feature's short name (``headers``, ``cors``).
    feature: t.ClassVar[str] = ""
    #: The feature's title in the configuration reference.
    title: t.ClassVar[str] = ""
    #: The key prefixes the feature owns: ``hermetic check`` reports a key
    #: with one of them that no declaration reads.
    prefixes: t.ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(
        cls,
        *,
        feature: str | None = None,
        title: str = "",
        prefixes: t.Iterable[str] = (),
        **kwargs: t.Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        if feature is None:
            return  # an intermediate base, not registered
        cls.feature = feature
        cls.title = title or feature
        cls.prefixes = tuple(prefixes)
        previous = _REGISTRY.get(feature)
        if previous is not None and previous.__qualname__ != cls.__qualname__:
            raise TypeError(f"The settings feature {feature!r} is already declared by {previous}.")
        _REGISTRY[feature] = cls

    @classmethod
    def declarations(cls) -> list[tuple[str, Setting]]:
        """Return ``(attribute, declaration)`` for each setting, in order."""
        cached = cls.__dict__.get("_hermetic_declarations")
        if cached is None:
            cached = [
                (f.name, f.metadata[METADATA_KEY])
                for f in dataclasses.fields(cls)
                if METADATA_KEY in f.metadata
            ]
            cls._hermetic_declarations = cached  # type: ignore[attr-defined]  # a cache stored on the settings class
        return list(cached)

    @classmethod
    def _accepted_types(cls) -> dict[str, t.Any]:
        cached = cls.__dict__.get("_hermetic_types")
        if cached is None:
            hints = t.get_type_hints(cls)
            cached = {
                attr: (hints[attr] if decl.accepts is UNSET else decl.accepts)
                for attr, decl in cls.declarations()
            }
            cls._hermetic_types = cached  # type: ignore[attr-defined]  # a cache stored on the settings class
        return t.cast("dict[str, t.Any]", cached)

    @classmethod
    def keys(cls) -> list[str]:
        """Return the configuration keys this class reads."""
        return [decl.key for _, decl in cls.declarations()]

    @classmethod
    def from_config(cls: type[S], config: t.Mapping[str, t.Any]) -> S:
        """Read, check and parse every setting of ``config`` (defaults when absent).

        Raise :class:`SettingsError` naming the first bad key.
        """
        types = cls._accepted_types()
        values = {}
        for attr, decl in cls.declarations():
            # A default goes through the same checks as a configured value.
            raw = config[decl.key] if decl.key in config else copy.deepcopy(decl.default)
            values[attr] = _read(decl, types[attr], raw)
        settings = cls(**values)
        settings.check()
        return settings

    @classmethod
    def defaults(cls: type[S]) -> S:
        """Return the settings of an empty config."""
        return cls.from_config({})

    def check(self) -> None:
        """Check rules that span several keys; raise :class:`SettingsError`."""


def _read(decl: Setting, accepted: t.Any, raw: t.Any) -> t.Any:
    value = _types.convert(accepted, raw)
    if value is _types.MISMATCH:
        wanted = _types.phrase(accepted)
        default = "hidden" if decl.secret else repr(decl.default)
        raise SettingsError(
            f"{decl.key} must be {wanted}, got {_show(raw, decl.secret)}."
            f" Fix: set {decl.key} to {wanted}, or remove it to use the default"
            f" ({default}). {decl.key}: {decl.doc}",
            key=decl.key,
        )
    if decl.parse is None:
        return value
    try:
        return decl.parse(value)
    except SettingsError:
        raise
    except (ValueError, TypeError) as e:
        raise SettingsError(
            f"{decl.key} is not valid: {e} Fix: change {decl.key} ({decl.doc})", key=decl.key
        ) from None


def registry() -> dict[str, type[Settings]]:
    """Return the declared settings classes by feature name (those imported so far)."""
    return dict(_REGISTRY)
