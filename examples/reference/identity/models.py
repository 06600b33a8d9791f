"""Identity's tables: users and their roles."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Column, DateTime, Float, ForeignKey, String, Table, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from hermetic.security import UserMixin

ADMIN = "admin"
MEMBER = "member"
ROLES = (ADMIN, MEMBER)


class Base(DeclarativeBase):
    """The identity service's tables."""


user_roles = Table(
    "user_roles",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
)


class Role(Base):
    """A role (``admin``, ``member``); what it allows is ``AUTHZ_ROLES``' business."""

    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)

    def __str__(self) -> str:
        return self.name


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class User(UserMixin, Base):
    """An account. ``tokens_valid_after`` (epoch seconds) ends older grants and tokens."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    tokens_valid_after: Mapped[float] = mapped_column(Float, default=0.0)
    roles: Mapped[list[Role]] = relationship(secondary=user_roles, lazy="selectin")

    @property
    def role_names(self) -> list[str]:
        """Return the names of the user's roles, sorted."""
        return sorted(r.name for r in self.roles)

    def __repr__(self) -> str:
        # SECURITY: the password hash stays out of reprs and logs.
        return f"<User {self.id} {self.email!r}>"


def role(db: Session, name: str) -> Role:
    """Return the role ``name``, made if missing."""
    found = db.scalar(select(Role).where(Role.name == name))
    if found is None:
        found = Role(name=name)
        db.add(found)
        db.flush()
    return found


def normalise_email(email: str) -> str:
    """Return ``email`` trimmed and lower-cased (one account per address)."""
    return email.strip().lower()
