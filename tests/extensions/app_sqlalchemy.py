"""Flask-SQLAlchemy on hermetic: create_all, queries in views, 404s, pagination, teardown.

Run as ``python app_sqlalchemy.py TMPDIR``; the SQLite file goes in TMPDIR.
See ``__init__.py``.
"""

from __future__ import annotations

import os
import sys

from hermetic.compat import install_as_flask

# First: the extension runs `import flask` at import time.
install_as_flask()

import flask  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from _harness import check, run  # noqa: E402
from flask_sqlalchemy import SQLAlchemy  # noqa: E402
from flask_sqlalchemy.record_queries import get_recorded_queries  # noqa: E402
from sqlalchemy.exc import LegacyAPIWarning  # noqa: E402

TMP = sys.argv[1]
DB_PATH = os.path.join(TMP, "notes.sqlite")

db = SQLAlchemy()


class Note(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    text = db.Column(db.String(80), nullable=False)


app = flask.Flask(__name__, instance_path=os.path.join(TMP, "instance"))
app.config.update(
    TESTING=True,
    SQLALCHEMY_DATABASE_URI=f"sqlite:///{DB_PATH}",
    SQLALCHEMY_RECORD_QUERIES=True,
)
db.init_app(app)


@app.post("/notes")
def add_note():
    note = Note(text=flask.request.get_json()["text"])
    db.session.add(note)
    db.session.commit()
    return flask.jsonify(id=note.id), 201


@app.get("/notes/<int:note_id>")
def get_note(note_id: int):
    note = Note.query.get_or_404(note_id)
    return flask.jsonify(id=note.id, text=note.text)


@app.get("/v2/notes/<int:note_id>")
def get_note_v2(note_id: int):
    note = db.get_or_404(Note, note_id, description="no such note")
    return note.text


@app.get("/notes")
def list_notes():
    page = db.paginate(db.select(Note).order_by(Note.id), max_per_page=10)
    return {"page": page.page, "total": page.total, "texts": [n.text for n in page.items]}


@app.get("/first")
def first_note():
    return db.first_or_404(db.select(Note).order_by(Note.id)).text


@app.post("/pending")
def pending():
    # Added but never committed: the app context teardown must discard it.
    db.session.add(Note(text="never committed"))
    return str(len(db.session.new))


@app.get("/queries")
def queries():
    Note.query.count()
    return str(len(get_recorded_queries()))


def count_notes() -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Note))


@check()
def create_all_in_app_context() -> None:
    with app.app_context():
        db.create_all()
        assert db.engine.url.database == DB_PATH
        assert sa.inspect(db.engine).get_table_names() == ["note"]
    assert os.path.exists(DB_PATH)
    assert not os.path.exists(app.instance_path)  # an absolute URI needs no instance folder


@check()
def no_app_context_is_an_error() -> None:
    try:
        db.session.execute(sa.select(1))
    except RuntimeError as e:
        assert "application context" in str(e), e
    else:
        raise AssertionError("db.session worked outside an app context")


@check(LegacyAPIWarning)  # Model.query.get is SQLAlchemy's legacy API, not hermetic's
def insert_then_query_in_views() -> None:
    client = app.test_client()
    ids = [client.post("/notes", json={"text": t}).json["id"] for t in ("one", "two", "three")]
    assert ids == [1, 2, 3], ids
    assert client.get("/notes/2").json == {"id": 2, "text": "two"}
    assert client.get("/v2/notes/3").text == "three"
    assert client.get("/first").text == "one"
    assert count_notes() == 3


@check(LegacyAPIWarning)
def get_or_404_missing_is_404() -> None:
    client = app.test_client()
    response = client.get("/notes/999")
    assert response.status_code == 404 and "Not Found" in response.text
    response = client.get("/v2/notes/999")
    assert response.status_code == 404 and "no such note" in response.text


@check()
def paginate_reads_request_args() -> None:
    client = app.test_client()
    assert client.get("/notes?per_page=2").json == {"page": 1, "total": 3, "texts": ["one", "two"]}
    assert client.get("/notes?page=2&per_page=2").json == {
        "page": 2,
        "total": 3,
        "texts": ["three"],
    }
    assert client.get("/notes?page=5&per_page=2").status_code == 404


@check()
def session_removed_at_teardown() -> None:
    registry = db.session.registry.registry  # scope id -> Session
    registry.clear()
    response = app.test_client().post("/pending")
    assert response.text == "1"
    assert registry == {}, f"sessions left open after the request: {registry}"
    assert count_notes() == 3  # the pending note was rolled back, not committed
    with app.app_context():
        db.session.add(Note(text="also discarded"))
    assert registry == {}
    assert count_notes() == 3


@check()
def record_queries_on_g() -> None:
    assert int(app.test_client().get("/queries").text) >= 1


@check()
def shell_context_has_db_and_models() -> None:
    with app.app_context():
        context = app.make_shell_context()
    assert context["db"] is db and context["Note"] is Note, sorted(context)


@check()
def drop_all() -> None:
    with app.app_context():
        db.drop_all()
        assert sa.inspect(db.engine).get_table_names() == []
        db.engine.dispose()


if __name__ == "__main__":
    run(app)
