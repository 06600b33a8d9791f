"""api's tables: the members it has seen, their notes, and who a note is shared with."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, DateTime, ForeignKey, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    """The api service's tables."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


note_shares = Table(
    "note_shares",
    Base.metadata,
    Column("note_id", ForeignKey("notes.id", ondelete="CASCADE"), primary_key=True),
    Column("member_sub", ForeignKey("members.sub", ondelete="CASCADE"), primary_key=True),
)


class Member(Base):
    """A user as api knows them: the token's ``sub`` and e-mail, recorded on each call."""

    __tablename__ = "members"

    sub: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, index=True)


class Note(Base):
    """A note: its owner may edit, share and delete it; those it is shared with may read it."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_sub: Mapped[str] = mapped_column(ForeignKey("members.sub"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_now, onupdate=_now
    )
    owner: Mapped[Member] = relationship(lazy="joined")
    shared_with: Mapped[list[Member]] = relationship(secondary=note_shares, lazy="selectin")
