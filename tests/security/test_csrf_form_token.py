"""Which form value the CSRF check takes as the token: what ``request.form.get`` gives.

For Werkzeug's own storage classes the check reads the field's list of values
itself (no ``get`` call); a repeated field, an empty first value, a storage
class of the app's own must give the token ``form.get`` would, and the same
refusal.
"""

from __future__ import annotations

import typing as t

import pytest
from werkzeug.datastructures import ImmutableMultiDict

import hermetic
from hermetic.security.csrf import REASON_BAD_TOKEN, REASON_NO_TOKEN, csrf_token

KEY = "f" * 4 + "csrf-form-token-tests-key-0123456789abcdefgh"
BAD = "A" * 86


class _LastWins(ImmutableMultiDict):  # type: ignore[type-arg]
    """A storage class of the app's own: ``get`` gives a field's last value."""

    def get(self, key: t.Any, default: t.Any = None, type: t.Any = None) -> t.Any:  # noqa: A002
        values = self.getlist(key)
        return values[-1] if values else default


class _LastWinsRequest(hermetic.Request):
    parameter_storage_class = _LastWins


def _client(request_class: type[hermetic.Request] | None = None) -> t.Any:
    app = hermetic.Hermetic(__name__)
    app.config.update(
        SECRET_KEY=KEY, SESSION_COOKIE_SECURE=False, TESTING=True, CSRF_ENFORCE_IN_TESTS=True
    )
    if request_class is not None:
        app.request_class = request_class

    @app.get("/form")
    def form() -> str:
        return csrf_token()

    @app.post("/notes")
    def notes() -> str:
        return "saved"

    return app.test_client()


def _post(client: t.Any, fields: list[tuple[str, str]], multipart: bool) -> t.Any:
    if multipart:
        data: t.Any = {}
        for name, value in fields:
            data.setdefault(name, []).append(value)
        return client.post("/notes", data=data, content_type="multipart/form-data")
    return client.post(
        "/notes",
        data="&".join(f"{name}={value}" for name, value in fields),
        content_type="application/x-www-form-urlencoded",
    )


def _reason(rv: t.Any, audit_events: t.Any) -> str | None:
    events = audit_events("csrf")
    return events[-1]["reason"] if rv.status_code == 403 else None


@pytest.mark.parametrize("multipart", [False, True], ids=["urlencoded", "multipart"])
@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (("good",), None),
        (("bad",), REASON_BAD_TOKEN),
        (("good", "bad"), None),
        (("bad", "good"), REASON_BAD_TOKEN),
        (("empty", "good"), REASON_NO_TOKEN),
        ((), REASON_NO_TOKEN),
    ],
)
def test_the_first_value_is_the_token(
    audit_events: t.Any, multipart: bool, order: tuple[str, ...], expected: str | None
) -> None:
    client = _client()
    values = {"good": client.get("/form").text, "bad": BAD, "empty": ""}
    fields = [("title", "x")] + [("csrf_token", values[name]) for name in order]
    rv = _post(client, fields, multipart)
    assert (rv.status_code, _reason(rv, audit_events)) == (
        (200, None) if expected is None else (403, expected)
    )


@pytest.mark.parametrize(
    ("order", "expected"),
    [(("bad", "good"), None), (("good", "bad"), REASON_BAD_TOKEN)],
)
def test_a_storage_class_of_the_apps_own_gives_the_token(
    audit_events: t.Any, order: tuple[str, ...], expected: str | None
) -> None:
    client = _client(_LastWinsRequest)
    values = {"good": client.get("/form").text, "bad": BAD}
    rv = _post(client, [("csrf_token", values[name]) for name in order], multipart=False)
    assert (rv.status_code, _reason(rv, audit_events)) == (
        (200, None) if expected is None else (403, expected)
    )
