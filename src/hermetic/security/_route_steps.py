"""The steps of one route, computed once by the pipeline (``shields.py``).

From the shields that run for a route: its ``before`` steps (all, and per
method some step skips), its ``after`` steps innermost first, and those
fused for the usual response when every after step describes its work
(:mod:`hermetic.security._quiet_after`).
"""

from __future__ import annotations

import typing as t

from ._quiet_after import FusedAfter, QuietAfter, QuietText, fuse, fuse_text

if t.TYPE_CHECKING:  # pragma: no cover
    from ..wrappers import Request, Response
    from .shields import Shield

__all__ = ["RouteSteps", "route_steps"]

Before = t.Callable[["Request"], "Response | None"]
After = t.Callable[["Request", "Response"], "Response"]


class RouteSteps:
    """The steps of one route.

    A class with slots rather than a ``NamedTuple``: the plain path reads a
    few of these fields on every request, and a slot is read without the
    descriptor call a ``NamedTuple`` field costs.
    """

    __slots__ = (
        "endpoint",
        "view",
        "before",
        "after",
        "before_by_method",
        "quiet_after",
        "quiet_text",
        "quiet_before",
        "quiet_get",
    )

    #: The endpoint and the view the steps were computed for: a replaced
    #: view gets new steps.
    endpoint: str | None
    view: t.Callable[..., t.Any] | None
    before: tuple[Before, ...]
    after: tuple[After, ...]
    #: The ``before`` steps of the methods some step skips (see
    #: ``Shield.before_skips_methods``); other methods run :attr:`before`.
    before_by_method: dict[str, tuple[Before, ...]]
    #: The after steps fused for the usual response (``Shield.quiet_after``),
    #: or ``None`` when one of them has no description.
    quiet_after: FusedAfter | None
    #: What they do to a text answer without a response object (``_plain_path``
    #: does it), or ``None`` when it must be made into a response for them.
    quiet_text: QuietText | None
    #: Per method of :attr:`before_by_method` whose every step has a
    #: description (``Shield.quiet_before``): the longest ``PATH_INFO`` of a
    #: request without query string or body that the steps do nothing to.
    quiet_before: dict[str, int]
    #: ``quiet_before["GET"]`` (or ``None``): the usual method, without a lookup.
    quiet_get: int | None

    def __init__(
        self,
        endpoint: str | None,
        view: t.Callable[..., t.Any] | None,
        before: tuple[Before, ...],
        after: tuple[After, ...],
        before_by_method: dict[str, tuple[Before, ...]],
        quiet_after: FusedAfter | None,
        quiet_text: QuietText | None,
        quiet_before: dict[str, int],
    ) -> None:
        self.endpoint = endpoint
        self.view = view
        self.before = before
        self.after = after
        self.before_by_method = before_by_method
        self.quiet_after = quiet_after
        self.quiet_text = quiet_text
        self.quiet_before = quiet_before
        self.quiet_get = quiet_before.get("GET")

    def _replace(self, **changes: t.Any) -> RouteSteps:
        """Return a copy with ``changes`` made (as ``NamedTuple._replace``)."""
        fields = {name: getattr(self, name) for name in self.__slots__ if name != "quiet_get"}
        unknown = changes.keys() - fields.keys()
        if unknown:
            raise ValueError(f"RouteSteps has no field {sorted(unknown)!r}")
        fields.update(changes)
        return RouteSteps(**fields)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"RouteSteps({fields})"


def route_steps(
    shields: t.Iterable[Shield], endpoint: str | None, view: t.Callable[..., t.Any] | None
) -> RouteSteps:
    """Return the steps of ``shields`` (those that run for the route, in order)."""
    before: list[tuple[Before, frozenset[str]]] = []
    quiet_paths: dict[Before, int | None] = {}
    after = []
    quiet: list[QuietAfter | None] = []
    for shield in shields:
        before_step, after_step = shield.steps_for(endpoint, view)
        if before_step is not None:
            before.append((before_step, shield.before_skips_methods))
            quiet_paths[before_step] = shield.quiet_before(endpoint, view)
        if after_step is not None:
            after.append(after_step)
            quiet.append(shield.quiet_after(endpoint, view))
    skipping: frozenset[str] = frozenset().union(*(methods for _, methods in before))
    by_method = {
        method: tuple(step for step, skips in before if method not in skips) for method in skipping
    }
    quiet_before = {}
    for method, steps in by_method.items():
        longest = [quiet_paths[step] for step in steps]
        if longest and None not in longest:
            quiet_before[method] = min(t.cast(list[int], longest))
    after.reverse()  # the after steps run innermost first
    quiet.reverse()
    described = t.cast(list[QuietAfter], quiet) if None not in quiet else None
    return RouteSteps(
        endpoint,
        view,
        tuple(step for step, _ in before),
        tuple(after),
        by_method,
        fuse(described) if described else None,
        # No after step at all: a text answer needs nothing done to it.
        fuse_text(described) if described is not None else None,
        quiet_before,
    )
