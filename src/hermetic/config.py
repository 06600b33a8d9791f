"""The configuration dict of an application and the attributes that forward to it."""

from __future__ import annotations

import errno
import json
import os
import types
import typing as t

from werkzeug.utils import import_string

if t.TYPE_CHECKING:  # pragma: no cover
    from .app import Flask as App

__all__ = [
    "Config",
    "ConfigAttribute",
]

T = t.TypeVar("T")

# Errors that mean "there is no such file"; `silent=True` ignores exactly these.
_MISSING_FILE_ERRNOS = frozenset((errno.ENOENT, errno.EISDIR, errno.ENOTDIR))


class ConfigAttribute(t.Generic[T]):
    """Forward an attribute of the app to one key of its config."""

    def __init__(self, name: str, get_converter: t.Callable[[t.Any], T] | None = None) -> None:
        self.__name__ = name
        self.get_converter = get_converter

    @t.overload
    def __get__(self, obj: None, owner: type[App] | None) -> ConfigAttribute[T]: ...

    @t.overload
    def __get__(self, obj: App, owner: type[App]) -> T: ...

    def __get__(self, obj: App | None, owner: type[App] | None = None) -> T | ConfigAttribute[T]:
        if obj is None:
            return self

        value = obj.config[self.__name__]

        if self.get_converter is not None:
            value = self.get_converter(value)

        return value  # type: ignore[no-any-return]  # config values are Any; the converter or key gives T

    def __set__(self, obj: App, value: t.Any) -> None:
        obj.config[self.__name__] = value


class Config(dict):  # type: ignore[type-arg]  # untyped dict, as Flask subclasses it
    """A dict of settings that can also be filled from files, objects and
    the environment.

    Only uppercase keys are taken from files, objects and mappings, so a
    config file can use lowercase names for temporary values. Relative
    file names are resolved against :attr:`root_path`, usually the app's
    root path.
    """

    def __init__(
        self,
        root_path: str | os.PathLike[str],
        defaults: dict[str, t.Any] | None = None,
    ) -> None:
        super().__init__(defaults or {})
        self.root_path = root_path

    def from_envvar(self, variable_name: str, silent: bool = False) -> bool:
        """Load the Python config file named by an environment variable.

        Return ``True`` if the file was loaded, ``False`` if ``silent`` and
        the variable is unset or the file is missing.
        """
        filename = os.environ.get(variable_name)

        if not filename:
            if silent:
                return False

            raise RuntimeError(
                f"The environment variable {variable_name!r} is not set"
                " and as such configuration could not be loaded. Set"
                " this variable and make it point to a configuration"
                " file."
            )

        return self.from_pyfile(filename, silent=silent)

    def from_prefixed_env(
        self, prefix: str = "FLASK", *, loads: t.Callable[[str], t.Any] = json.loads
    ) -> bool:
        """Load every environment variable named ``{prefix}_*`` into the config.

        The prefix is dropped from the key. Each value is passed through
        ``loads`` to get a typed value, and kept as a string if that fails.
        A ``__`` in the key sets a key of a nested dict, creating the dict
        when it does not exist yet.
        """
        prefix = f"{prefix}_"

        # Sorted so that the result does not depend on the environment's order.
        for key in sorted(os.environ):
            if not key.startswith(prefix):
                continue

            value: t.Any = os.environ[key]
            key = key[len(prefix) :]

            try:
                value = loads(value)
            # bandit B110: a value that is not JSON is kept as the raw string (documented behaviour).
            except Exception:  # nosec B110
                pass  # Not valid for `loads`: the raw string is the value.

            if "__" not in key:
                self[key] = value
                continue

            *parents, leaf = key.split("__")
            target: dict[str, t.Any] = self

            for part in parents:
                target = target.setdefault(part, {})

            target[leaf] = value

        return True

    def from_pyfile(self, filename: str | os.PathLike[str], silent: bool = False) -> bool:
        """Execute a Python file and load its uppercase globals into the config.

        Return ``True`` if the file was loaded, ``False`` if ``silent`` and
        the file is missing.
        """
        filename = os.path.join(self.root_path, filename)
        module = types.ModuleType("config")
        module.__file__ = filename

        try:
            # Bytes, so Python honours a coding cookie in the file.
            with open(filename, mode="rb") as f:
                # Executed inside the try, like Flask: an OSError raised
                # by the file itself is reported the same way.
                # bandit B102: from_pyfile runs the app's own config file, as Flask documents.
                exec(compile(f.read(), filename, "exec"), module.__dict__)  # nosec B102
        except OSError as e:
            return self._file_error(e, silent)

        self.from_object(module)
        return True

    def from_object(self, obj: object | str) -> None:
        """Load the uppercase attributes of an object, class or module.

        A string is imported first, for example ``"myapp.default_config"``.
        Objects are not instantiated, so properties of a class are not
        evaluated; pass an instance for that.
        """
        if isinstance(obj, str):
            obj = import_string(obj)

        for key in dir(obj):
            if key.isupper():
                self[key] = getattr(obj, key)

    def from_file(
        self,
        filename: str | os.PathLike[str],
        load: t.Callable[[t.IO[t.Any]], t.Mapping[str, t.Any]],
        silent: bool = False,
        text: bool = True,
    ) -> bool:
        """Load a data file with ``load`` and add its uppercase keys.

        ``load`` receives the open file, for example ``json.load``, or
        ``tomllib.load`` with ``text=False``. Return ``True`` if the file
        was loaded, ``False`` if ``silent`` and the file is missing.
        """
        filename = os.path.join(self.root_path, filename)

        try:
            with open(filename, "r" if text else "rb") as f:
                obj = load(f)
        except OSError as e:
            return self._file_error(e, silent)

        return self.from_mapping(obj)

    def from_mapping(self, mapping: t.Mapping[str, t.Any] | None = None, **kwargs: t.Any) -> bool:
        """Add the uppercase keys of a mapping and of the keyword arguments."""
        items: dict[str, t.Any] = {}

        if mapping is not None:
            items.update(mapping)

        items.update(kwargs)

        for key, value in items.items():
            if key.isupper():
                self[key] = value

        return True

    def get_namespace(
        self, namespace: str, lowercase: bool = True, trim_namespace: bool = True
    ) -> dict[str, t.Any]:
        """Return the keys starting with ``namespace`` as a new dict.

        For example ``get_namespace("IMAGE_STORE_")`` turns
        ``IMAGE_STORE_BASE_URL`` into ``base_url``. ``trim_namespace=False``
        keeps the prefix, ``lowercase=False`` keeps the case.
        """
        rv = {}
        cut = len(namespace) if trim_namespace else 0

        for key, value in self.items():
            if not key.startswith(namespace):
                continue

            key = key[cut:]

            if lowercase:
                key = key.lower()

            rv[key] = value

        return rv

    @staticmethod
    def _file_error(e: OSError, silent: bool) -> t.Literal[False]:
        """Return ``False`` for a missing file if ``silent``, else re-raise with context."""
        if silent and e.errno in _MISSING_FILE_ERRNOS:
            return False

        # Keep errno and filename so the message reads
        # "[Errno 2] Unable to load configuration file (No such file ...): 'x.cfg'".
        e.strerror = f"Unable to load configuration file ({e.strerror})"
        raise e

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {dict.__repr__(self)}>"
