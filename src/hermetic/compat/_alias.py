"""The module objects that stand for Flask's modules once hermetic is ``flask``."""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import types
import typing as t


def resolve(where: str) -> t.Any:
    """Return the object ``"package.module:attribute"`` or the module ``where`` names."""
    module_name, _, attribute = where.partition(":")
    module = sys.modules.get(module_name) or importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


class AliasModule(types.ModuleType):
    """A ``flask.*`` module: a hermetic module plus Flask's incidental names.

    Made by ``alias_module()``. Its namespace holds the hermetic module's public
    names (a plain lookup, as fast as the module's own), a hermetic module
    among them replaced by its alias (``flask.wrappers.json`` is ``flask.json``).
    Any other name is looked up when read (PEP 562 ``__getattr__``): first on
    the hermetic module (its private names, always current), then in
    ``extra``, Flask's incidental names (``_names.py``), resolved on first use.
    hermetic never rebinds a public module-level name; one rebound directly on
    the hermetic module by other code is not seen through the alias (rebind it
    through the alias, which updates both).

    Setting or deleting a name the hermetic module had when the alias was made
    acts on the hermetic module too, so ``monkeypatch.setattr(flask.app, ...)``
    reaches the code that uses it; any other name is set on the alias only, and
    the hermetic module's namespace stays its own.
    """

    def __setattr__(self, name: str, value: t.Any) -> None:
        namespace = self.__dict__
        if name in namespace["__hermetic_names__"]:
            setattr(namespace["__hermetic_module__"], name, value)
            if name.startswith("_"):  # private names are read through, never copied
                return
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        namespace = self.__dict__
        if name in namespace["__hermetic_names__"]:
            delattr(namespace["__hermetic_module__"], name)
            namespace.pop(name, None)
        else:
            super().__delattr__(name)

    def __repr__(self) -> str:
        module = self.__dict__["__hermetic_module__"]
        return f"<module {self.__name__!r} (alias of {module.__name__!r})>"


def alias_module(
    name: str, module: types.ModuleType, extra: dict[str, str], *, writes_through: bool = True
) -> AliasModule:
    """Make the alias ``name`` of ``module``; ``mirror()`` fills it in.

    ``writes_through=False``: names set on the alias stay on it (the ``flask``
    package, which only re-exports, as Flask's does).
    """
    alias = AliasModule(name, module.__doc__)
    namespace = alias.__dict__
    namespace["__hermetic_module__"] = module
    namespace["__hermetic_names__"] = frozenset(
        n for n in vars(module) if writes_through and not n.startswith("__")
    )
    namespace["__file__"] = getattr(module, "__file__", None)
    is_package = hasattr(module, "__path__")
    namespace["__spec__"] = importlib.machinery.ModuleSpec(name, None, is_package=is_package)
    if is_package:
        # Its submodules are aliases registered in sys.modules; an empty path
        # keeps the import system from loading a second copy of hermetic's files.
        namespace["__path__"] = []

    def __getattr__(attribute: str) -> t.Any:
        if attribute == "__all__":
            # `from flask.x import *` gives every public name, as Flask's modules
            # (which define no __all__) do -- not the hermetic module's __all__,
            # which lists hermetic's own API only.
            return [n for n in __dir__() if not n.startswith("_")]
        try:
            return getattr(module, attribute)
        except AttributeError:
            pass
        where = extra.get(attribute)
        if where is not None:
            # Resolved once, on first use, then held as Flask's module holds it.
            value = namespace[attribute] = resolve(where)
            return value
        raise AttributeError(f"module {name!r} has no attribute {attribute!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(dir(module)) | set(extra))

    namespace["__getattr__"] = __getattr__
    namespace["__dir__"] = __dir__
    return alias


def mirror(alias: AliasModule, alias_of: dict[str, types.ModuleType]) -> None:
    """Copy the public names of ``alias``'s hermetic module, modules as their aliases."""
    namespace = alias.__dict__
    for name, value in vars(namespace["__hermetic_module__"]).items():
        if not name.startswith("_") and name not in namespace:
            if isinstance(value, types.ModuleType):
                value = alias_of.get(value.__name__, value)
            namespace[name] = value
