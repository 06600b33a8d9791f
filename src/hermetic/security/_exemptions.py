"""``exempt``, and exemptions that skip nothing, announced at start-up.

``@exempt("host")`` names a shield no route can skip, and ``@exempt("crsf")``
names no shield at all: either way the protection stays on. That is the safe
outcome, but the developer believes the route skips it; one warning per
route and name says what happens and what to change.
"""

from __future__ import annotations

import difflib
import logging
import typing as t

if t.TYPE_CHECKING:  # pragma: no cover
    from .shields import Shield, ShieldPipeline

logger = logging.getLogger("hermetic.security")

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

#: The view attribute holding the names of the shields a route skips.
EXEMPT_ATTR = "_hermetic_exempt"


def exempt(*names: str) -> t.Callable[[F], F]:
    """Skip the named shields (``"csrf"``, ``"headers"``, ...) on a view."""
    if not names:
        raise TypeError("Name the shields to skip, for example @exempt('csrf').")

    def decorator(view: F) -> F:
        current: frozenset[str] = getattr(view, EXEMPT_ATTR, frozenset())
        setattr(view, EXEMPT_ATTR, frozenset(current) | frozenset(names))
        return view

    return decorator


def _subclasses(base: type[Shield]) -> list[type[Shield]]:
    found, todo = [], list(base.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def warn_about_exemptions(pipeline: ShieldPipeline, base: type[Shield]) -> None:
    """Log each exemption of ``pipeline``'s routes that skips nothing.

    ``base`` is :class:`~hermetic.security.shields.Shield`: every subclass
    defined so far (hermetic's and the app's own) names a known shield.
    """
    known: dict[str, Shield | type[Shield]] = {c.name: c for c in _subclasses(base) if c.name}
    known.update((s.name, s) for s in pipeline)
    for endpoint in list(pipeline._app_views):
        for name in sorted(pipeline.exempted(endpoint)):
            shield = known.get(name)
            if shield is None:
                close = difflib.get_close_matches(name, sorted(known), n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                logger.warning(
                    "Route %r is exempt from %r, which is no shield: nothing is skipped.%s"
                    " Shields: %s.",
                    endpoint,
                    name,
                    hint,
                    ", ".join(sorted(known)),
                )
            elif not shield.exemptable:
                logger.warning(
                    "Route %r is exempt from %r, a shield no route can skip: it still runs."
                    " Remove %r from the route's exemptions.",
                    endpoint,
                    name,
                    name,
                )
