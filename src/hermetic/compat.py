"""Make ``import flask`` (and every ``flask.*`` module) resolve to hermetic.

Aliases only: each Flask module name points at the hermetic module that
implements it, registered eagerly so that a test fixture which removes
modules imported during a test cannot make Python load a second copy.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.metadata
import os
import sys
import types
import typing as t

#: The Flask release whose API and behaviour hermetic provides.
FLASK_VERSION = "3.1.3"

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

_METADATA = f"""\
Metadata-Version: 2.1
Name: Flask
Version: {FLASK_VERSION}
Summary: Provided by hermetic (hermetic.compat.install_as_flask)
Requires-Dist: Werkzeug>=3.1
Requires-Dist: Jinja2>=3.1.2
Requires-Dist: itsdangerous>=2.2
Requires-Dist: click>=8.1.3
Requires-Dist: blinker>=1.9
"""


class _FlaskDistribution(importlib.metadata.Distribution):
    """The ``flask`` distribution metadata, answered by hermetic."""

    def read_text(self, filename: str) -> str | None:
        if filename == "METADATA":
            return _METADATA
        return None

    def locate_file(self, path: t.Any) -> t.Any:
        import hermetic

        return os.path.join(os.path.dirname(hermetic.__file__), str(path))


class _FlaskDistributionFinder(importlib.abc.MetaPathFinder):
    """Answer ``importlib.metadata`` lookups for ``flask``; find no modules."""

    def find_spec(self, *args: t.Any, **kwargs: t.Any) -> None:
        return None

    def find_distributions(
        self, context: t.Any = None
    ) -> t.Iterator[importlib.metadata.Distribution]:
        name = getattr(context, "name", None)
        if name is None or name.replace("-", "_").lower() == "flask":
            yield _FlaskDistribution()


def _flask_package() -> types.ModuleType:
    import hermetic

    module = types.ModuleType("flask", hermetic.__doc__)
    module.__dict__.update({k: v for k, v in vars(hermetic).items() if not k.startswith("__")})
    module.__file__ = hermetic.__file__
    module.__path__ = []  # a package: its submodules are the aliases below
    module.__version__ = FLASK_VERSION  # type: ignore[attr-defined]
    module.__getattr__ = lambda name: getattr(hermetic, name)  # type: ignore[method-assign]
    return module


def install_as_flask() -> None:
    """Register hermetic as ``flask`` in ``sys.modules`` (idempotent)."""
    if getattr(sys.modules.get("flask"), "__hermetic__", False):
        return
    package = _flask_package()
    package.__hermetic__ = True  # type: ignore[attr-defined]
    sansio = types.ModuleType("flask.sansio")
    sansio.__path__ = []  # type: ignore[attr-defined]
    sys.modules["flask"] = package
    sys.modules["flask.sansio"] = sansio
    package.sansio = sansio  # type: ignore[attr-defined]
    for alias, real in MODULE_ALIASES.items():
        module = importlib.import_module(real)
        sys.modules[alias] = module
        parent_name, _, child = alias.rpartition(".")
        setattr(sys.modules[parent_name], child, module)
    if not any(isinstance(f, _FlaskDistributionFinder) for f in sys.meta_path):
        sys.meta_path.append(_FlaskDistributionFinder())
