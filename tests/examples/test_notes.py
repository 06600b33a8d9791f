"""The example application behaves as its README promises."""

from __future__ import annotations

import pytest
from examples.notes import create_app


@pytest.fixture
def client():
    return create_app({"TESTING": True}).test_client()


def test_index_lists_notes_and_escapes_them(client):
    client.post("/api/notes", json={"title": "<script>x</script>", "body": "b"})
    page = client.get("/").text
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "<script>x" not in page


def test_form_post_redirects_and_flashes(client):
    response = client.post("/", data={"title": "Groceries", "body": "milk"})
    assert response.status_code == 302
    page = client.get("/").text
    assert "Note saved." in page and "Groceries" in page
    assert "Note saved." not in client.get("/").text


def test_form_without_title_flashes_an_error(client):
    client.post("/", data={"title": "  "})
    assert "A note needs a title." in client.get("/").text


def test_json_api_round_trip(client):
    created = client.post("/api/notes", json={"title": "t", "body": "b"})
    assert created.status_code == 201
    note_id = created.json["id"]
    assert client.get(f"/api/notes/{note_id}").json["title"] == "t"
    assert client.get("/api/notes/999").status_code == 404


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("[", "application/json", 400),
        ("[1, 2]", "application/json", 400),
        ('{"body": "no title"}', "application/json", 422),
        ('{"title": "x"}', "text/plain", 415),
    ],
)
def test_json_api_rejects_bad_input_with_4xx(client, body, content_type, status):
    response = client.post("/api/notes", data=body, content_type=content_type)
    assert response.status_code == status
    assert "Traceback" not in response.text


def test_oversized_body_is_413(client):
    response = client.post("/api/notes", data="x" * (65 * 1024), content_type="application/json")
    assert response.status_code == 413


def test_security_layer_is_on(client):
    response = client.get("/")
    assert "nonce-" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def _token(page: str) -> str:
    marker = 'name="csrf_token" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


def test_form_needs_the_csrf_token_once_a_session_exists():
    client = create_app({"TESTING": True}).test_client(enforce_csrf=True)
    client.post("/", data={"title": "first"})  # starts a session (flash)
    refused = client.post("/", data={"title": "forged"})
    assert refused.status_code == 403
    token = _token(client.get("/").text)
    accepted = client.post("/", data={"title": "real", "csrf_token": token})
    assert accepted.status_code == 302
    page = client.get("/").text
    assert "real" in page and "forged" not in page


def test_cross_site_form_post_is_refused(client):
    response = client.post("/", data={"title": "x"}, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
