"""``hermetic._headers``: the upstream layout it relies on, and its results equal the public API's."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import EnvironHeaders, Headers

from hermetic._headers import (
    add_if_absent,
    append_headers,
    headers_from_pairs,
    live_items,
    setdefault_headers,
)


def test_werkzeug_headers_keep_their_items_in_a_list_of_pairs():
    # The helpers rely on this layout; if Werkzeug changes it, this fails
    # first (and the helpers fall back to the public API, never corrupt).
    headers = Headers([("Content-Type", "text/plain")])
    items = headers.__dict__["_list"]
    assert type(items) is list
    assert items == [("Content-Type", "text/plain")]
    items.append(("X-A", "1"))
    # What was appended is what every public reader sees.
    assert headers["x-a"] == "1"
    assert headers.get_all("X-A") == ["1"]
    assert len(headers) == 2
    assert headers.to_wsgi_list() == [("Content-Type", "text/plain"), ("X-A", "1")]


def _public_setdefault(start, pairs):
    headers = Headers(start)
    for name, value in pairs:
        headers.setdefault(name, value)
    return headers.to_wsgi_list()


CASES = [
    ([], [("RateLimit-Limit", "3"), ("RateLimit-Remaining", "2")]),
    ([("ratelimit-limit", "9")], [("RateLimit-Limit", "3"), ("RateLimit-Remaining", "2")]),
    ([("Vary", "Cookie"), ("X-Y", "z")], [("X-Y", "other"), ("Vary", "Origin")]),
    ([], [("X-A", "1"), ("x-a", "2")]),  # a name twice in the pairs: the first wins
]


@pytest.mark.parametrize(("start", "pairs"), CASES)
def test_setdefault_headers_equals_setdefault(start, pairs):
    headers = Headers(start)
    setdefault_headers(headers, pairs)
    assert headers.to_wsgi_list() == _public_setdefault(start, pairs)


@pytest.mark.parametrize(("start", "pairs"), CASES)
def test_append_headers_equals_add(start, pairs):
    fast, public = Headers(start), Headers(start)
    append_headers(fast, pairs)
    for name, value in pairs:
        public.add(name, value)
    assert fast.to_wsgi_list() == public.to_wsgi_list()


def test_add_if_absent_adds_only_a_missing_header():
    headers = Headers([("Content-Type", "text/html")])
    assert add_if_absent(headers, "Vary", "Origin") is True
    assert headers.get_all("Vary") == ["Origin"]
    assert add_if_absent(headers, "vary", "Cookie") is False
    assert headers.get_all("Vary") == ["Origin"]


class _Subclass(Headers):
    pass


def test_a_headers_subclass_goes_through_its_public_methods():
    headers = _Subclass([("X-A", "1")])
    setdefault_headers(headers, [("X-A", "2"), ("X-B", "3")])
    append_headers(headers, [("X-C", "4")])
    assert headers.to_wsgi_list() == [("X-A", "1"), ("X-B", "3"), ("X-C", "4")]
    # The caller merges with the public API when told nothing was added.
    assert add_if_absent(headers, "X-D", "5") is False


def test_read_only_headers_are_left_to_their_own_methods():
    headers = EnvironHeaders({"HTTP_X_A": "1"})
    assert add_if_absent(headers, "X-B", "2") is False  # type: ignore[arg-type]


def test_headers_from_pairs_behaves_as_headers():
    items = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", "2")]
    headers = headers_from_pairs(list(items))
    assert headers == Headers(items)
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers.to_wsgi_list() == items
    headers.add("X-Extra", "1")
    headers.set("Content-Length", "3")
    assert headers.to_wsgi_list() == [items[0], ("Content-Length", "3"), ("X-Extra", "1")]


def test_live_items_only_for_plain_headers():
    plain = Headers([("X-A", "1")])
    assert live_items(plain) == [("X-A", "1")]
    assert live_items(EnvironHeaders({"HTTP_X_A": "1"})) is None

    class Checked(Headers):
        pass

    assert live_items(Checked()) is None


def test_headers_from_pairs_is_what_the_constructor_builds():
    from hermetic import _headers

    assert _headers._BARE_INSTANCE  # Werkzeug 3.1: the constructor sets only _list
    items = [("Content-Type", "text/plain"), ("Content-Length", "3")]
    built = headers_from_pairs(list(items))
    assert type(built) is Headers
    assert vars(built) == vars(Headers(items))
