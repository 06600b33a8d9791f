"""A view's parameter annotations as objects, for ``@validate``'s plan."""

from __future__ import annotations

import inspect
import typing as t


def resolve_hints(view: t.Callable[..., t.Any], known: t.Iterable[t.Any]) -> dict[str, t.Any]:
    """Return the view's parameter annotations as objects (strings resolved)."""
    try:
        return t.get_type_hints(view)
    # bandit B110: a name get_type_hints cannot resolve; each annotation is tried below.
    except Exception:  # nosec B110
        pass
    namespace = dict(getattr(view, "__globals__", {}))
    namespace.update({m.__name__: m for m in known if isinstance(m, type)})
    hints: dict[str, t.Any] = {}
    for name, param in inspect.signature(view).parameters.items():
        ann = param.annotation
        if ann is inspect.Parameter.empty:
            continue
        if isinstance(ann, str):
            try:
                # bandit B307: the view's own annotation, written by the app's developer
                # (a string under `from __future__ import annotations`), never request data.
                ann = eval(ann, namespace)  # nosec B307
            except Exception:
                raise TypeError(
                    f"@validate cannot resolve the annotation {ann!r} of parameter"
                    f" {name!r} of {view.__qualname__}. Define the type at module level"
                    " or pass it to @validate(body=..., query=..., path=...)."
                ) from None
        hints[name] = ann
    return hints
