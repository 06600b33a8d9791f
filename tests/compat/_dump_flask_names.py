"""Print, as JSON, every public name of every module of Flask, with an identity hint.

Run by test_flask_names.py with the Python of a separate environment that has
real Flask installed (never hermetic's): ``python _dump_flask_names.py``.
Standard library only; importing it has no side effects (the alias checker
reuses ``category`` and ``type_name``).

Output: ``{"flask_version": ..., "modules": {module: {name: hint}}}`` for every
module of the ``flask`` package (``flask.__main__`` aside), where ``hint`` is

- ``{"kind": "module", "module": "click"}``: that module object;
- ``{"kind": "object", "module": "werkzeug.routing", "name": "Rule"}``: an
  object from outside Flask (a dependency, the standard library), as found
  at the shortest public path that holds it under that name;
- ``{"kind": "same", "module": "flask.app", "name": "Flask", "category":
  "class", "type": "builtins.type"}``: Flask's own object; the reference is its
  home module in Flask, else the first Flask module holding it, so names that
  are one object in Flask must be one object on the alias;
- ``{"kind": "value", "type": "flask.cli.FlaskGroup"}``: anything else (an
  instance made by Flask), described by its type.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import types

PLAIN = (str, bytes, int, float, bool, type(None), tuple, frozenset)


def category(obj: object) -> str:
    """``module``, ``class``, ``function`` or ``value``."""
    cls = type(obj)  # not obj.__class__: proxies answer that with their target's
    if issubclass(cls, types.ModuleType):
        return "module"
    if issubclass(cls, type):
        return "class"
    if issubclass(cls, (types.FunctionType, types.BuiltinFunctionType)):
        return "function"
    return "value"


def type_name(obj: object) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def flask_modules() -> list[str]:
    """Every module of the installed ``flask`` package, namespace packages included."""
    import flask

    root = os.path.dirname(flask.__file__)
    names = set()
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [d for d in subdirectories if d != "__pycache__"]
        package = os.path.relpath(directory, os.path.dirname(root)).replace(os.sep, ".")
        for file in files:
            if file.endswith(".py") and file != "__main__.py":
                stem = file[: -len(".py")]
                names.add(package if stem == "__init__" else f"{package}.{stem}")
        if any(f.endswith(".py") for f in files):
            names.add(package)
    return sorted(names)


def public_home(module_name: str, name: str, obj: object) -> tuple[str, str]:
    """The shortest of ``module_name`` and its parents that holds ``obj`` as ``name``."""
    parts = module_name.split(".")
    for end in range(1, len(parts)):
        parent = ".".join(parts[:end])
        if parent.startswith("_") or any(p.startswith("_") for p in parts[:end]):
            break
        try:
            if getattr(importlib.import_module(parent), name, None) is obj:
                return parent, name
        except ImportError:
            break
    return module_name, name


def defined_in(obj: object) -> tuple[str, str] | None:
    """The module and name ``obj`` says it is defined as, if that is true."""
    try:
        module_name = getattr(obj, "__module__", None)
        qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    except Exception:  # a proxy without its context
        return None
    if not isinstance(module_name, str) or not isinstance(qualname, str) or "." in qualname:
        return None
    try:
        if getattr(importlib.import_module(module_name), qualname, None) is obj:
            return module_name, qualname
    except ImportError:
        pass
    # Types of the interpreter (``builtins.traceback``) are named in ``types``.
    for name, value in vars(types).items():
        if value is obj and not name.startswith("_"):
            return "types", name
    return None


def home(obj: object, name: str) -> tuple[str, str] | None:
    """Where ``obj`` is defined and importable from, if it says so truthfully."""
    found = defined_in(obj)
    if found or isinstance(obj, PLAIN):
        return found
    # A value (``__future__.annotations``, Werkzeug's ``default_exceptions``):
    # a module outside Flask that holds it under the same name, the type's own first.
    holders = sorted(
        module_name
        for module_name, module in list(sys.modules.items())
        if module_name.split(".")[0] != "flask" and getattr(module, name, None) is obj
    )
    if type(obj).__module__ in holders:
        return type(obj).__module__, name
    return (holders[0], name) if holders else None


def describe(modules: list[str]) -> dict[str, dict[str, dict[str, str]]]:
    loaded = {name: importlib.import_module(name) for name in modules}
    first_holder: dict[int, tuple[str, str]] = {}
    for module_name, module in loaded.items():
        for name in sorted(dir(module)):
            if not name.startswith("_"):
                first_holder.setdefault(id(getattr(module, name)), (module_name, name))
    result: dict[str, dict[str, dict[str, str]]] = {}
    for module_name, module in loaded.items():
        names: dict[str, dict[str, str]] = {}
        for name in sorted(dir(module)):
            if not name.startswith("_"):
                names[name] = hint(getattr(module, name), name, loaded, first_holder)
        result[module_name] = names
    return result


def hint(
    obj: object,
    name: str,
    loaded: dict[str, types.ModuleType],
    first_holder: dict[int, tuple[str, str]],
) -> dict[str, str]:
    if isinstance(obj, types.ModuleType):
        return {"kind": "module", "module": obj.__name__}
    where = home(obj, name)
    if where and where[0].split(".")[0] != "flask":
        module_name, object_name = public_home(*where, obj)
        return {"kind": "object", "module": module_name, "name": object_name}
    if where and where[0] in loaded:
        reference = where
    elif category(obj) != "value" or type_name(obj).startswith(
        ("werkzeug.local.", "blinker.", "typing.")
    ):
        reference = first_holder[id(obj)]
    else:
        return {"kind": "value", "type": type_name(obj)}
    return {
        "kind": "same",
        "module": reference[0],
        "name": reference[1],
        "category": category(obj),
        "type": type_name(obj),
    }


def main() -> None:
    from importlib.metadata import version

    report = {"flask_version": version("flask"), "modules": describe(flask_modules())}
    json.dump(report, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
