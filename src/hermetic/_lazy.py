"""An attribute made on first read: what the request and the app context share."""

from __future__ import annotations

import typing as t

__all__ = ["MadeOnFirstRead"]


class MadeOnFirstRead:
    """An attribute made by ``factory(instance)`` on first read, then kept.

    A non-data descriptor: the value lands in the instance dict, which wins
    from then on, so later reads cost what an attribute costs and assignment
    (by a user, or by Werkzeug's constructor) works as for a plain attribute.
    Most requests and contexts never read these, so most never pay for them.
    """

    __slots__ = ("factory", "name")

    def __init__(self, factory: t.Callable[[t.Any], t.Any]) -> None:
        self.factory = factory
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: t.Any, owner: type | None = None) -> t.Any:
        if instance is None:
            return self
        value = self.factory(instance)
        # setattr, not __dict__: reading __dict__ makes CPython 3.11 build
        # the instance's dict object, which its attributes then go through.
        setattr(instance, self.name, value)
        return value
