"""api's routes: notes with sharing, for users calling through a trusted client."""

from __future__ import annotations

import typing as t

from sqlalchemy import func, or_, select

from hermetic import Blueprint, abort, current_app
from hermetic.security import PermissionDenied, authorize, can, requires
from hermetic.security.audit import audit
from hermetic.security.jwt import current_principal
from hermetic.security.ratelimit import rate_limit
from hermetic.security.validation import validate

from ..common.db import session as db_session
from .models import Member, Note, note_shares
from .schemas import NoteIn, NoteOut, NotePage, NotePatch, PageQuery, ShareIn, StatsOut

bp = Blueprint("notes", __name__, url_prefix="/v1")

#: Per token subject (the user): reads and writes.
READ_LIMIT = "120/minute"
WRITE_LIMIT = "30/minute"


def current_member() -> Member:
    """Return the member the token speaks for, recorded or updated; 403 for other tokens.

    A user token names its user in ``sub`` and ``email`` and the client that
    asked for it in ``act.sub``; only clients in ``API_TRUSTED_ACTORS`` may
    speak for users.
    """
    # --8<-- [start:trusted-actor]
    principal = current_principal()
    claims = principal.claims if principal is not None else {}
    actor = claims.get("act")
    email = claims.get("email")
    trusted = current_app.config["API_TRUSTED_ACTORS"]
    if not isinstance(actor, dict) or actor.get("sub") not in trusted or not isinstance(email, str):
        audit("authz", reason="not_a_user_token")
        raise PermissionDenied("This route needs a user token from a trusted client.")
    # --8<-- [end:trusted-actor]
    db = db_session()
    member = db.get(Member, principal.sub)  # type: ignore[union-attr]
    if member is None:
        member = Member(sub=principal.sub, email=email)  # type: ignore[union-attr]
        db.add(member)
        db.commit()
    elif member.email != email:
        member.email = email
        db.commit()
    return member


def _is_admin() -> bool:
    return can("notes:admin")


def _out(note: Note, member: Member) -> dict[str, t.Any]:
    manages = note.owner_sub == member.sub or _is_admin()
    return {
        "id": note.id,
        "title": note.title,
        "body": note.body,
        "owner": note.owner.email,
        "owner_sub": note.owner_sub,  # dropped by the response model: never sent
        "shared_with": sorted(m.email for m in note.shared_with) if manages else [],
        "can_edit": can("note:write", note),
        "created_at": note.created_at,
        "updated_at": note.updated_at,
    }


# --8<-- [start:object-check]
def _note(note_id: int, action: str = "note:read") -> Note:
    note = db_session().get(Note, note_id)
    # SECURITY: a note you may not read is "not found", not "forbidden":
    # ids of other people's notes are not confirmed.
    if note is None or not can("note:read", note):
        if note is not None:
            audit("authz", reason="not_readable", note=note_id)
        abort(404)
    if action != "note:read":
        authorize(action, note)
    return note


# --8<-- [end:object-check]


@bp.get("/notes")
@rate_limit(READ_LIMIT, key="subject", scope="notes-read")
@requires("notes:read")
@validate(query=PageQuery, response=NotePage)
def list_notes(query: PageQuery) -> dict[str, t.Any]:
    member = current_member()
    db = db_session()
    shared = select(note_shares.c.note_id).where(note_shares.c.member_sub == member.sub)
    where = or_(Note.owner_sub == member.sub, Note.id.in_(shared))
    total = db.scalar(select(func.count()).select_from(Note).where(where)) or 0
    notes = db.scalars(
        select(Note)
        .where(where)
        .order_by(Note.updated_at.desc(), Note.id.desc())
        .offset((query.page - 1) * query.per_page)
        .limit(query.per_page)
    ).all()
    return {
        "items": [_out(n, member) for n in notes],
        "page": query.page,
        "per_page": query.per_page,
        "total": total,
    }


# --8<-- [start:route-stack]
@bp.post("/notes")
@rate_limit(WRITE_LIMIT, key="subject", scope="notes-write")
@requires("notes:write")
@validate(response=NoteOut, status=201)
def create_note(body: NoteIn) -> dict[str, t.Any]:
    # --8<-- [end:route-stack]
    member = current_member()
    note = Note(owner_sub=member.sub, title=body.title, body=body.body)
    db = db_session()
    db.add(note)
    db.commit()
    return _out(note, member)


@bp.get("/notes/<int:note_id>")
@rate_limit(READ_LIMIT, key="subject", scope="notes-read")
@requires("notes:read")
@validate(response=NoteOut)
def get_note(note_id: int) -> dict[str, t.Any]:
    member = current_member()
    return _out(_note(note_id), member)


@bp.patch("/notes/<int:note_id>")
@rate_limit(WRITE_LIMIT, key="subject", scope="notes-write")
@requires("notes:write")
@validate(response=NoteOut)
def update_note(note_id: int, body: NotePatch) -> dict[str, t.Any]:
    member = current_member()
    note = _note(note_id, "note:write")
    if body.title is not None:
        note.title = body.title
    if body.body is not None:
        note.body = body.body
    db_session().commit()
    return _out(note, member)


@bp.delete("/notes/<int:note_id>")
@rate_limit(WRITE_LIMIT, key="subject", scope="notes-write")
@requires("notes:write")
def delete_note(note_id: int) -> t.Any:
    current_member()
    note = _note(note_id, "note:delete")
    db = db_session()
    db.delete(note)
    db.commit()
    audit("note", result="deleted", note=note_id)
    return "", 204


@bp.post("/notes/<int:note_id>/shares")
@rate_limit(WRITE_LIMIT, key="subject", scope="notes-write")
@requires("notes:write")
@validate(response=NoteOut)
def share_note(note_id: int, body: ShareIn) -> t.Any:
    member = current_member()
    note = _note(note_id, "note:share")
    db = db_session()
    other = db.scalar(select(Member).where(Member.email == body.email.lower()))
    if other is None:
        abort(422, "Nobody with that e-mail address has used the notes app yet.")
    if other.sub == note.owner_sub:
        abort(422, "The owner has the note already.")
    if other not in note.shared_with:
        note.shared_with.append(other)
        db.commit()
    return _out(note, member)


@bp.delete("/notes/<int:note_id>/shares/<path:email>")
@rate_limit(WRITE_LIMIT, key="subject", scope="notes-write")
@requires("notes:write")
@validate(response=NoteOut)
def unshare_note(note_id: int, email: str) -> t.Any:
    member = current_member()
    note = _note(note_id, "note:share")
    note.shared_with = [m for m in note.shared_with if m.email != email.lower()]
    db_session().commit()
    return _out(note, member)


@bp.get("/admin/stats")
@rate_limit(READ_LIMIT, key="subject", scope="notes-read")
@requires("notes:admin")
@validate(response=StatsOut)
def stats() -> dict[str, int]:
    current_member()
    db = db_session()
    return {
        "notes": db.scalar(select(func.count()).select_from(Note)) or 0,
        "members": db.scalar(select(func.count()).select_from(Member)) or 0,
        "shares": db.scalar(select(func.count()).select_from(note_shares)) or 0,
    }
