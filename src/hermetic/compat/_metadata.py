"""The ``flask`` distribution metadata, answered by hermetic."""

from __future__ import annotations

import importlib.abc
import importlib.metadata
import os
import typing as t

from ._version import FLASK_VERSION

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


class FlaskDistribution(importlib.metadata.Distribution):
    """The ``flask`` distribution metadata, answered by hermetic."""

    def read_text(self, filename: str) -> str | None:
        if filename == "METADATA":
            return _METADATA
        return None

    def locate_file(self, path: t.Any) -> t.Any:
        import hermetic

        return os.path.join(os.path.dirname(hermetic.__file__), str(path))


class FlaskDistributionFinder(importlib.abc.MetaPathFinder):
    """Answer ``importlib.metadata`` lookups for ``flask``; find no modules."""

    def find_spec(self, *args: t.Any, **kwargs: t.Any) -> None:
        return None

    def find_distributions(
        self, context: t.Any = None
    ) -> t.Iterator[importlib.metadata.Distribution]:
        name = getattr(context, "name", None)
        if name is None or name.replace("-", "_").lower() == "flask":
            yield FlaskDistribution()
