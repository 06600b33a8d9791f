"""api alone: tokens from a test issuer, every refusal it owes a caller."""

from __future__ import annotations

import secrets
import time

import pytest
from cryptography.hazmat.primitives import serialization
from examples.reference.api import create_app
from examples.reference.api.schemas import MAX_PAGE_SIZE

from hermetic.security.jwt import SigningKey, TokenIssuer, generate_signing_key

ISSUER = "https://identity.test"
MEMBER = "notes:read notes:write"
ADMIN = "notes:read notes:write notes:admin"


def _public_pem(key: SigningKey) -> bytes:
    return key.verification_key.key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture
def key():
    return generate_signing_key("EdDSA")


@pytest.fixture
def app(key):
    # Local: the example's own create_app with a JWT issuer, not the shared bare app.
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": "sqlite://",
            "JWT_TRUSTED_ISSUERS": {
                ISSUER: [{"alg": "EdDSA", "pem": _public_pem(key), "kid": key.kid}]
            },
        }
    )


class Caller:
    """Calls api as one user through web (a fresh token per call)."""

    def __init__(self, client, issuer, sub, email, scope=MEMBER, actor="web"):
        self.client, self.issuer = client, issuer
        self.sub, self.email, self.scope, self.actor = sub, email, scope, actor

    def token(self, **kw):
        claims = {"email": self.email}
        if self.actor is not None:
            claims["act"] = {"sub": self.actor}
        return self.issuer.issue(
            self.sub, kw.pop("aud", "api"), self.scope, extra_claims=claims, **kw
        )

    def __call__(self, method, path, json=None, token=None):
        headers = {
            "Authorization": "Bearer " + (token or self.token()),
            "Accept": "application/json",
        }
        return self.client.open(path, method=method, json=json, headers=headers)


@pytest.fixture
def issuer(key):
    return TokenIssuer(key, ISSUER)


@pytest.fixture
def ann(app, issuer):
    return Caller(app.test_client(), issuer, "1", "ann@example.com")


@pytest.fixture
def bob(app, issuer):
    return Caller(app.test_client(), issuer, "2", "bob@example.com")


@pytest.fixture
def admin(app, issuer):
    return Caller(app.test_client(), issuer, "3", "ada@example.com", scope=ADMIN)


def test_crud_round_trip(ann):
    created = ann("POST", "/v1/notes", {"title": "  Groceries ", "body": "milk"})
    assert created.status_code == 201
    note = created.json
    assert note["title"] == "Groceries" and note["owner"] == "ann@example.com"
    assert ann("GET", f"/v1/notes/{note['id']}").json["body"] == "milk"
    patched = ann("PATCH", f"/v1/notes/{note['id']}", {"body": "milk, eggs"})
    assert patched.status_code == 200 and patched.json["body"] == "milk, eggs"
    assert ann("GET", "/v1/notes").json["total"] == 1
    assert ann("DELETE", f"/v1/notes/{note['id']}").status_code == 204
    assert ann("GET", f"/v1/notes/{note['id']}").status_code == 404


def test_responses_never_leak_internal_fields(ann):
    note = ann("POST", "/v1/notes", {"title": "t"}).json
    assert set(note) == {
        "id",
        "title",
        "body",
        "owner",
        "shared_with",
        "can_edit",
        "created_at",
        "updated_at",
    }
    listed = ann("GET", "/v1/notes").json["items"][0]
    assert "owner_sub" not in listed and "sub" not in str(listed)


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("per_page=100", 200),
        (f"per_page={MAX_PAGE_SIZE + 1}", 422),
        ("per_page=0", 422),
        ("page=0", 422),
        ("page=abc", 422),
        ("per_page=10&extra=1", 422),
    ],
)
def test_page_size_is_bounded(ann, query, status):
    assert ann("GET", f"/v1/notes?{query}").status_code == status


def test_pagination_pages_through_everything(ann):
    for i in range(5):
        ann("POST", "/v1/notes", {"title": f"n{i}"})
    first = ann("GET", "/v1/notes?per_page=2").json
    third = ann("GET", "/v1/notes?per_page=2&page=3").json
    assert first["total"] == 5 and [n["title"] for n in first["items"]] == ["n4", "n3"]
    assert [n["title"] for n in third["items"]] == ["n0"]


@pytest.mark.parametrize(
    "body",
    [
        {"title": ""},
        {"title": "   "},
        {"title": "x" * 201},
        {"title": "t", "owner": "bob"},
        {"body": "no title"},
    ],
)
def test_invalid_bodies_are_422(ann, body):
    response = ann("POST", "/v1/notes", body)
    assert response.status_code == 422
    assert response.json["errors"]


def test_no_token_is_401(app):
    response = app.test_client().get("/v1/notes", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_token_without_the_scope_is_403(app, issuer):
    reader = Caller(app.test_client(), issuer, "1", "ann@example.com", scope="notes:read")
    assert reader("GET", "/v1/notes").status_code == 200
    assert reader("POST", "/v1/notes", {"title": "t"}).status_code == 403


def test_member_token_cannot_read_admin_stats(ann, admin):
    assert ann("GET", "/v1/admin/stats").status_code == 403
    ann("POST", "/v1/notes", {"title": "t"})
    assert admin("GET", "/v1/admin/stats").json == {"notes": 1, "members": 2, "shares": 0}


def test_forged_token_is_401(app, ann):
    # Same kid, same issuer, same claims -- signed by a key that is not identity's.
    forger = TokenIssuer(generate_signing_key("EdDSA", kid=ann.issuer.key.kid), ISSUER)
    forged = Caller(app.test_client(), forger, "1", "ann@example.com", scope=ADMIN)
    assert forged("GET", "/v1/admin/stats").status_code == 401


@pytest.mark.parametrize(
    "mutate",
    [
        {"aud": "identity"},  # a token for another service
        {"now": time.time() - 3600},  # expired
    ],
)
def test_wrong_audience_or_expired_token_is_401(ann, mutate):
    assert ann("GET", "/v1/notes", token=ann.token(**mutate)).status_code == 401


def test_a_token_works_once(ann):
    token = ann.token()
    assert ann("GET", "/v1/notes", token=token).status_code == 200
    assert ann("GET", "/v1/notes", token=token).status_code == 401


@pytest.mark.parametrize("actor", [None, "billing"])
def test_user_routes_need_a_user_token_from_a_trusted_client(app, issuer, actor):
    caller = Caller(app.test_client(), issuer, "svc", "svc@example.com", actor=actor)
    response = caller("GET", "/v1/notes")
    assert response.status_code == 403


def test_another_users_note_is_not_found(ann, bob):
    note = ann("POST", "/v1/notes", {"title": "private"}).json
    for method, body in (("GET", None), ("PATCH", {"title": "mine"}), ("DELETE", None)):
        assert bob(method, f"/v1/notes/{note['id']}", body).status_code == 404
    assert bob("GET", "/v1/notes").json["total"] == 0
    assert ann("GET", f"/v1/notes/{note['id']}").json["title"] == "private"


def test_sharing_gives_read_access_only(ann, bob):
    bob("GET", "/v1/notes")  # api learns bob's address from his first call
    note = ann("POST", "/v1/notes", {"title": "shared"}).json
    shared = ann("POST", f"/v1/notes/{note['id']}/shares", {"email": "BOB@example.com"})
    assert shared.status_code == 200 and shared.json["shared_with"] == ["bob@example.com"]
    seen = bob("GET", f"/v1/notes/{note['id']}").json
    assert seen["title"] == "shared" and seen["can_edit"] is False
    assert seen["shared_with"] == []  # who else has it is the owner's business
    assert bob("PATCH", f"/v1/notes/{note['id']}", {"title": "x"}).status_code == 403
    assert bob("DELETE", f"/v1/notes/{note['id']}").status_code == 403
    assert (
        bob("POST", f"/v1/notes/{note['id']}/shares", {"email": "bob@example.com"}).status_code
        == 403
    )
    unshared = ann("DELETE", f"/v1/notes/{note['id']}/shares/bob@example.com")
    assert unshared.json["shared_with"] == []
    assert bob("GET", f"/v1/notes/{note['id']}").status_code == 404


def test_sharing_with_an_unknown_address_is_422(ann):
    note = ann("POST", "/v1/notes", {"title": "t"}).json
    response = ann("POST", f"/v1/notes/{note['id']}/shares", {"email": "nobody@example.com"})
    assert response.status_code == 422


def test_admin_may_read_edit_and_delete_any_note(ann, admin):
    note = ann("POST", "/v1/notes", {"title": "t"}).json
    assert admin("GET", f"/v1/notes/{note['id']}").json["can_edit"] is True
    assert admin("PATCH", f"/v1/notes/{note['id']}", {"title": "moderated"}).status_code == 200
    assert admin("DELETE", f"/v1/notes/{note['id']}").status_code == 204


def test_writes_are_rate_limited_per_subject(ann, bob):
    statuses = [ann("POST", "/v1/notes", {"title": f"n{i}"}).status_code for i in range(31)]
    assert statuses[:30] == [201] * 30 and statuses[30] == 429
    assert bob("POST", "/v1/notes", {"title": "mine"}).status_code == 201


def test_openapi_document_and_docs_page(app):
    client = app.test_client()
    spec = client.get("/openapi.json").json
    assert "/v1/notes" in spec["paths"] and "/v1/notes/{note_id}" in spec["paths"]
    page = client.get("/docs")
    assert page.status_code == 200 and "<script" in page.text
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
