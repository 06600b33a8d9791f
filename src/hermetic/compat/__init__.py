"""Make ``import flask`` (and every ``flask.*`` module) resolve to hermetic.

Aliases only. Each Flask module name is registered eagerly in ``sys.modules``
(so that a test fixture which removes modules imported during a test cannot
make Python load a second copy) as an alias module: the hermetic module that
implements it, plus the names Flask's module carries incidentally
(``flask.cli.click``, ``flask.app.Rule``, ...; see ``_names.py``), which
hermetic's own modules do not import.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import types

from ._alias import AliasModule, alias_module, mirror
from ._metadata import FlaskDistributionFinder
from ._names import FLASK_NAMES
from ._version import FLASK_VERSION as FLASK_VERSION

#: flask module name -> hermetic module name.
MODULE_ALIASES = {
    "flask.app": "hermetic.app",
    "flask.blueprints": "hermetic.blueprints",
    "flask.cli": "hermetic.cli",
    "flask.config": "hermetic.config",
    "flask.ctx": "hermetic.ctx",
    "flask.debughelpers": "hermetic.debughelpers",
    "flask.globals": "hermetic.globals",
    "flask.helpers": "hermetic.helpers",
    "flask.json": "hermetic.json",
    "flask.json.provider": "hermetic.json.provider",
    "flask.json.tag": "hermetic.json.tag",
    "flask.logging": "hermetic.logging",
    "flask.sessions": "hermetic.sessions",
    "flask.signals": "hermetic.signals",
    "flask.templating": "hermetic.templating",
    "flask.testing": "hermetic.testing",
    "flask.typing": "hermetic.typing",
    "flask.views": "hermetic.views",
    "flask.wrappers": "hermetic.wrappers",
    "flask.sansio.app": "hermetic._app_base",
    "flask.sansio.blueprints": "hermetic.blueprints",
    "flask.sansio.scaffold": "hermetic.scaffold",
}


def _flask_package() -> AliasModule:
    import hermetic

    package = alias_module("flask", hermetic, FLASK_NAMES["flask"], writes_through=False)
    package.__dict__["__version__"] = FLASK_VERSION
    package.__dict__["__hermetic__"] = True
    return package


def install_as_flask() -> None:
    """Register hermetic as ``flask`` in ``sys.modules`` (idempotent)."""
    if getattr(sys.modules.get("flask"), "__hermetic__", False):
        return
    package = _flask_package()
    sansio = types.ModuleType("flask.sansio", "Flask's IO-free core: app, blueprints, scaffold.")
    sansio.__path__ = []  # a package: its submodules are the aliases below
    sansio.__spec__ = importlib.machinery.ModuleSpec("flask.sansio", None, is_package=True)
    aliases: dict[str, types.ModuleType] = {"flask": package, "flask.sansio": sansio}
    package.__dict__["sansio"] = sansio
    # hermetic module name -> its alias (the first: flask.blueprints, not flask.sansio's).
    alias_of: dict[str, types.ModuleType] = {"hermetic": package}
    for alias, real in MODULE_ALIASES.items():
        module = importlib.import_module(real)
        aliases[alias] = alias_module(alias, module, FLASK_NAMES.get(alias, {}))
        alias_of.setdefault(real, aliases[alias])
        parent, _, child = alias.rpartition(".")
        # Into the parent alias's own namespace: never onto the hermetic module.
        aliases[parent].__dict__[child] = aliases[alias]
    for module in aliases.values():
        if isinstance(module, AliasModule):
            mirror(module, alias_of)
    sys.modules.update(aliases)
    if not any(isinstance(f, FlaskDistributionFinder) for f in sys.meta_path):
        sys.meta_path.append(FlaskDistributionFinder())
