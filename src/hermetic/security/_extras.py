"""Say which extra to install when an optional dependency is missing."""

from __future__ import annotations

import importlib.util


def require(module: str, extra: str, feature: str) -> None:
    """Raise an ImportError naming the extra when ``module`` is not installed."""
    if importlib.util.find_spec(module) is None:
        raise ImportError(
            f"{feature} needs an optional dependency ({module!r} cannot be imported):"
            f" pip install 'hermetic[{extra}]'"
        )
