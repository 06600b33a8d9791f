"""Check every name of a Flask names file (see _dump_flask_names.py) on the alias.

Run by test_flask_names.py in a fresh interpreter of hermetic's environment:
``python _check_alias_names.py NAMES.json``. Installs the alias, then prints a
JSON list of ``[module, name, problem]``: empty when every module and name of
real Flask is on the alias and is the object Flask would give.
"""

from __future__ import annotations

import importlib
import json
import sys

from _dump_flask_names import category


def resolve_type(dotted: str) -> type | None:
    """The public type ``module.Name`` names, or ``None`` (private or unknown)."""
    module_name, _, name = dotted.rpartition(".")
    if any(part.startswith("_") for part in dotted.split(".")):
        return None
    try:
        found = getattr(importlib.import_module(module_name), name, None)
    except ImportError:
        return None
    return found if isinstance(found, type) else None


def type_problem(value: object, dotted: str) -> str | None:
    if dotted.split(".")[0] == "flask":  # hermetic's own class stands for Flask's
        expected_name = dotted.rpartition(".")[2]
        if type(value).__qualname__ != expected_name:
            return f"is a {type(value).__qualname__}, Flask's is a {expected_name}"
        return None
    expected = resolve_type(dotted)
    if expected is not None and not isinstance(value, expected):
        return f"is a {type(value).__qualname__}, Flask's is a {dotted}"
    return None


def problem(hint: dict[str, str], value: object) -> str | None:
    kind = hint["kind"]
    if kind == "module":
        expected = sys.modules.get(hint["module"]) or importlib.import_module(hint["module"])
        if value is not expected:
            return f"is {value!r}, not the module {hint['module']}"
    elif kind == "object":
        expected = getattr(importlib.import_module(hint["module"]), hint["name"])
        if value is not expected:
            return f"is {value!r}, not {hint['module']}.{hint['name']}"
    elif kind == "same":
        reference = f"{hint['module']}.{hint['name']}"
        try:
            expected = getattr(sys.modules[hint["module"]], hint["name"])
        except (KeyError, AttributeError):
            return f"{reference}, the object it is in Flask, is missing"
        if value is not expected:
            return f"is not {reference}, as it is in Flask"
        if category(value) != hint["category"]:
            return f"is a {category(value)}, Flask's is a {hint['category']}"
        return type_problem(value, hint["type"])
    elif kind == "value":
        return type_problem(value, hint["type"])
    else:
        return f"unknown hint {hint!r}"
    return None


def check(modules: dict[str, dict[str, dict[str, str]]]) -> list[list[str]]:
    from hermetic.compat import install_as_flask

    install_as_flask()
    missing = object()
    problems = []
    for module_name, names in modules.items():
        module = sys.modules.get(module_name)
        if module is None:
            problems.append([module_name, "", "module not registered by install_as_flask()"])
            continue
        for name, hint in names.items():
            value = getattr(module, name, missing)
            found = "missing" if value is missing else problem(hint, value)
            if found:
                problems.append([module_name, name, found])
        unlisted = sorted(set(names) - set(dir(module)) - {p[1] for p in problems})
        if unlisted:
            problems.append([module_name, "", f"dir() does not list {unlisted}"])
    return problems


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as file:
        json.dump(check(json.load(file)["modules"]), sys.stdout, indent=1)
    sys.stdout.write("\n")
