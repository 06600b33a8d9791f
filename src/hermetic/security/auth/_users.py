"""The user interface the login manager expects, and the anonymous user."""

from __future__ import annotations

import typing as t


class UserMixin:
    """Give a user class the attributes the login manager reads.

    The class must have an ``id`` attribute (or override :meth:`get_id`);
    set ``active = False`` on a user (or override :attr:`is_active`) to stop
    them from logging in.
    """

    __slots__ = ()

    @property
    def is_authenticated(self) -> bool:
        """Tell that this is a real, logged-in user (always ``True``)."""
        return True

    @property
    def is_active(self) -> bool:
        """Tell whether the account may log in; reads ``active``, default ``True``."""
        return bool(getattr(self, "active", True))

    @property
    def is_anonymous(self) -> bool:
        """Tell that this is not the anonymous user (always ``False``)."""
        return False

    def get_id(self) -> str:
        """Return the id stored in the session: ``str(self.id)``."""
        try:
            return str(self.id)  # type: ignore[attr-defined]  # the user class defines id; if not, the error below says so
        except AttributeError:
            raise NotImplementedError(
                f"{type(self).__name__} has no 'id' attribute. Add one or override get_id()."
            ) from None


class AnonymousUser:
    """The user of a request nobody is logged in to."""

    __slots__ = ()

    is_authenticated = False
    is_active = False
    is_anonymous = True
    roles: t.ClassVar[tuple[str, ...]] = ()
    permissions: t.ClassVar[frozenset[str]] = frozenset()

    def get_id(self) -> None:
        """Return ``None``: the anonymous user has no id."""
        return None

    def __repr__(self) -> str:
        return "<AnonymousUser>"
