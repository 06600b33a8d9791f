"""The input limits shield's Content-Length check reads MAX_CONTENT_LENGTH as the request does.

The shield reads the app's config itself for :class:`hermetic.wrappers.Request`
(no property call); a value set on the request, or a request class with its
own ``max_content_length``, must still be the limit it checks.
"""

from __future__ import annotations

import typing as t

import pytest

from hermetic import Flask
from hermetic.security.input_limits import InputLimitsShield
from hermetic.wrappers import Request


class _OwnLimit(Request):
    """A request class whose limit is its own property, not the config's."""

    @property
    def max_content_length(self) -> int | None:
        return 5

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        raise AssertionError("not set in these tests")


class _SetLimit(Request):
    """A request class that sets the limit on each request."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_content_length = 5


def _status(request_class: type[Request] | None, config_limit: int | None, size: int) -> int:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config_limit
    if request_class is not None:
        app.request_class = request_class
    InputLimitsShield().init_app(app)

    @app.post("/")
    def view() -> str:
        return "not read"  # only the shield can refuse the body

    return app.test_client().post("/", data=b"x" * size).status_code


@pytest.mark.parametrize(
    ("request_class", "config_limit", "size", "expected"),
    [
        (None, 5, 5, 200),
        (None, 5, 6, 413),
        (None, None, 6_000, 200),
        (_OwnLimit, None, 5, 200),
        (_OwnLimit, None, 6, 413),
        (_OwnLimit, 1_000, 6, 413),
        (_SetLimit, None, 6, 413),
        (_SetLimit, 1_000, 6, 413),
        (_SetLimit, 1_000, 5, 200),
    ],
)
def test_the_limit_checked_is_the_requests(
    request_class: type[Request] | None, config_limit: int | None, size: int, expected: int
) -> None:
    assert _status(request_class, config_limit, size) == expected


def test_a_refusal_names_the_limit(audit_events: t.Any) -> None:
    assert _status(None, 5, 6) == 413
    (event,) = audit_events("limit")
    assert (event["reason"], event["limit"], event["max"]) == (
        "body_too_large",
        "MAX_CONTENT_LENGTH",
        5,
    )
