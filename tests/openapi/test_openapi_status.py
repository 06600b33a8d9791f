"""OpenAPI: the success status comes from the view's declaration, not always 200."""

from __future__ import annotations

from typing import Literal

import pytest

pytest.importorskip("pydantic", reason="OpenAPI schemas need the 'validation' extra")

from pydantic import BaseModel  # noqa: E402

from hermetic.openapi import openapi_spec  # noqa: E402
from hermetic.security.validation import validate  # noqa: E402


class NoteIn(BaseModel):
    title: str


class NoteOut(BaseModel):
    id: int
    title: str


class Conflict(BaseModel):
    existing: int


def _op(app, path="/notes", method="post"):
    return openapi_spec(app)["paths"][path][method]


def test_validate_status_is_documented(app):
    @app.post("/notes")
    @validate(response=NoteOut, status=201)
    def create(body: NoteIn):
        return {"id": 1, "title": body.title}

    responses = _op(app)["responses"]
    assert "201" in responses and "200" not in responses
    assert app.test_client().post("/notes", json={"title": "a"}).status_code == 201


def test_return_annotation_literal_status_is_documented(app):
    @app.post("/notes")
    def create() -> tuple[dict[str, object], Literal[201]]:
        return {"id": 1}, 201

    responses = _op(app)["responses"]
    assert set(responses) == {"201"}


def test_return_annotation_with_model_gives_schema(app):
    @app.post("/notes")
    @validate
    def create(body: NoteIn) -> tuple[NoteOut, Literal[201]]:
        return NoteOut(id=1, title=body.title), 201

    op = _op(app)
    assert "200" not in op["responses"]
    created = op["responses"]["201"]
    assert created["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/NoteOut"
    }
    assert app.test_client().post("/notes", json={"title": "a"}).status_code == 201


def test_explicit_responses_are_documented_and_set_the_status(app):
    @app.post("/notes")
    @validate(response=NoteOut, responses={201: "Created.", 409: Conflict})
    def create(body: NoteIn):
        return {"id": 1, "title": body.title}

    responses = _op(app)["responses"]
    assert "200" not in responses
    assert responses["201"]["description"] == "Created."
    assert responses["201"]["content"]["application/json"]["schema"]["$ref"].endswith("NoteOut")
    assert responses["409"]["content"]["application/json"]["schema"]["$ref"].endswith("Conflict")
    # The runtime status follows the declaration.
    assert app.test_client().post("/notes", json={"title": "a"}).status_code == 201


def test_explicit_status_wins_over_responses(app):
    @app.post("/notes")
    @validate(status=202, responses={201: "Created."})
    def create(body: NoteIn):
        return {"ok": True}

    responses = _op(app)["responses"]
    assert "202" in responses and "201" in responses


def test_bad_responses_declaration_is_refused():
    with pytest.raises(TypeError, match="responses"):

        @validate(responses={"201": "Created."})
        def view():
            return ""


def test_plain_view_still_documents_200(app):
    @app.get("/notes")
    def index() -> dict[str, object]:
        return {}

    assert set(_op(app, method="get")["responses"]) == {"200"}


def test_unresolvable_annotation_does_not_break_the_document(app):
    @app.post("/notes")
    def create() -> tuple[Missing, Literal[201]]:  # noqa: F821
        return {}, 201

    assert set(_op(app)["responses"]) == {"200"}
