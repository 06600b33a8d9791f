"""What api accepts and returns: pydantic models, each field declared.

Response models list exactly what a client may see; anything else a view
returns (the owner's ``sub``, share rows) is dropped by ``@validate``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

#: The largest page a client may ask for; more is a 422, never a silent clamp.
MAX_PAGE_SIZE = 100

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Body = Annotated[str, StringConstraints(max_length=10_000)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254)]


# --8<-- [start:note-in]
class NoteIn(BaseModel):
    """A new note."""

    model_config = ConfigDict(extra="forbid")
    title: Title
    body: Body = ""


# --8<-- [end:note-in]


class NotePatch(BaseModel):
    """Changes to a note; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid")
    title: Title | None = None
    body: Body | None = None


class ShareIn(BaseModel):
    """Share a note with the member who has this e-mail address."""

    model_config = ConfigDict(extra="forbid")
    email: Email


class PageQuery(BaseModel):
    """Pagination: ``page`` from 1, ``per_page`` from 1 to :data:`MAX_PAGE_SIZE`."""

    model_config = ConfigDict(extra="forbid")
    page: int = Field(1, ge=1, le=10_000)
    per_page: int = Field(20, ge=1, le=MAX_PAGE_SIZE)


class NoteOut(BaseModel):
    """A note as its readers see it; ``shared_with`` is empty for those it is shared with."""

    id: int
    title: str
    body: str
    owner: str
    shared_with: list[str]
    can_edit: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class NotePage(BaseModel):
    """One page of notes, newest first."""

    items: list[NoteOut]
    page: int
    per_page: int
    total: int


class StatsOut(BaseModel):
    """Counts for administrators."""

    notes: int
    members: int
    shares: int
