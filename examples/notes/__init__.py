"""A small notes application on hermetic: pages, a form, flashing, a JSON API.

It runs on :class:`hermetic.Hermetic`, so it has the security layer on:
encrypted session cookie, CSRF token in the form, CSP with a nonce and the
other security headers, input limits, audit events on stderr.

Run it with ``./scripts/example`` from the repository root. Everything it
needs is embedded: notes live in memory, and the secret key is generated at
start-up unless ``HERMETIC_SECRET_KEY`` is set (sessions then end when the
process stops).
"""

from __future__ import annotations

import secrets
import threading
from itertools import count

from hermetic import Blueprint, Hermetic, abort, flash, redirect, render_template, request, url_for

api = Blueprint("api", __name__, url_prefix="/api")


class NoteStore:
    """Notes in memory, safe to use from the dev server's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = count(1)
        self._notes: dict[int, dict[str, object]] = {}

    def add(self, title: str, body: str) -> dict[str, object]:
        with self._lock:
            note = {"id": next(self._ids), "title": title, "body": body}
            self._notes[note["id"]] = note  # type: ignore[index]
            return note

    def all(self) -> list[dict[str, object]]:
        with self._lock:
            return list(self._notes.values())

    def get(self, note_id: int) -> dict[str, object] | None:
        with self._lock:
            return self._notes.get(note_id)


def _clean(value: object, limit: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    return text[:limit]


@api.get("/notes")
def list_notes() -> list[dict[str, object]]:
    return store().all()


@api.get("/notes/<int:note_id>")
def get_note(note_id: int) -> dict[str, object]:
    return store().get(note_id) or abort(404)


@api.post("/notes")
def create_note() -> tuple[dict[str, object], int]:
    data = request.get_json()
    if not isinstance(data, dict):
        abort(400, "Send a JSON object with 'title' and 'body'.")
    title = _clean(data.get("title"), 200)
    if not title:
        abort(422, "A note needs a title.")
    return store().add(title, _clean(data.get("body"), 10_000)), 201


def store() -> NoteStore:
    from hermetic import current_app

    return current_app.extensions["notes"]  # type: ignore[no-any-return]


def create_app(config: dict[str, object] | None = None) -> Hermetic:
    """Create the notes app; ``config`` overrides the defaults (tests use it)."""
    app = Hermetic(__name__)
    if not app.config.get("SECRET_KEY"):
        # Only for this demo: a real app gets its key from the environment.
        app.config["SECRET_KEY"] = secrets.token_urlsafe(48)
    app.config.update(MAX_CONTENT_LENGTH=64 * 1024)
    app.config.update(config or {})
    app.extensions["notes"] = NoteStore()
    app.register_blueprint(api)

    @app.get("/")
    def index() -> str:
        return render_template("index.html", notes=store().all())

    @app.post("/")
    def add() -> object:
        title = _clean(request.form.get("title"), 200)
        if not title:
            flash("A note needs a title.", "error")
        else:
            store().add(title, _clean(request.form.get("body"), 10_000))
            flash("Note saved.")
        return redirect(url_for("index"))

    return app
