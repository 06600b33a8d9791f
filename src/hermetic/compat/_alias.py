"""The module objects that stand for Flask's modules once hermetic is ``flask``."""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import types
import typing as t

#: hermetic module name -> the alias that stands for it (the first one
#: registered, e.g. ``flask.blueprints`` rather than ``flask.sansio.blueprints``).
ALIAS_OF: dict[str, types.ModuleType] = {}


def resolve(where: str) -> t.Any:
    """Return the object ``"package.module:attribute"`` or the module ``where`` names."""
    module_name, _, attribute = where.partition(":")
    module = sys.modules.get(module_name) or importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


class AliasModule(types.ModuleType):
    """A ``flask.*`` module: a hermetic module plus Flask's incidental names.

    Reading an attribute looks, in order, at the alias's own attributes (its
    submodules, and names set on it), at the hermetic module, then at
    ``extra`` (name -> ``"module:attribute"`` or a module name, see
    ``_names.py``), resolved on each access so that the alias never holds a
    stale copy. A hermetic module found there is answered with its alias.

    Setting or deleting a name the hermetic module had when the alias was made
    acts on the hermetic module, so ``monkeypatch.setattr(flask.app, ...)``
    reaches the code that uses it; any other name is set on the alias only, and
    the hermetic module's namespace stays its own.
    """

    def __init__(self, name: str, module: types.ModuleType, extra: dict[str, str]) -> None:
        super().__init__(name, module.__doc__)
        namespace = self.__dict__
        namespace["__hermetic_module__"] = module
        namespace["__hermetic_extra__"] = extra
        # The names that belong to the hermetic module: setting one through the
        # alias (even after deleting it) acts on the module, where its code looks.
        namespace["__hermetic_names__"] = frozenset(
            name for name in vars(module) if not name.startswith("__")
        )
        namespace["__file__"] = getattr(module, "__file__", None)
        is_package = hasattr(module, "__path__")
        namespace["__spec__"] = importlib.machinery.ModuleSpec(name, None, is_package=is_package)
        if is_package:
            # A package whose submodules are aliases registered in sys.modules;
            # an empty path keeps the import system from loading a second copy.
            namespace["__path__"] = []

    def __getattr__(self, name: str) -> t.Any:
        namespace = self.__dict__
        try:
            value = getattr(namespace["__hermetic_module__"], name)
        except AttributeError:
            pass
        else:
            if isinstance(value, types.ModuleType):  # `flask.wrappers.json` is `flask.json`
                return ALIAS_OF.get(value.__name__, value)
            return value
        where = namespace["__hermetic_extra__"].get(name)
        if where is not None:
            return resolve(where)
        if name == "__all__":  # `from flask.x import *`, as for a module without __all__
            return [n for n in self.__dir__() if not n.startswith("_")]
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")

    def __setattr__(self, name: str, value: t.Any) -> None:
        namespace = self.__dict__
        if name in namespace["__hermetic_names__"]:
            setattr(namespace["__hermetic_module__"], name, value)
        else:
            super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        namespace = self.__dict__
        if name in namespace["__hermetic_names__"]:
            delattr(namespace["__hermetic_module__"], name)
        else:
            super().__delattr__(name)

    def __dir__(self) -> list[str]:
        namespace = self.__dict__
        names = set(namespace) | set(dir(namespace["__hermetic_module__"]))
        return sorted(names | set(namespace["__hermetic_extra__"]))

    def __repr__(self) -> str:
        module = self.__dict__["__hermetic_module__"]
        return f"<module {self.__name__!r} (alias of {module.__name__!r})>"
