"""Recently scanned Cookie headers are kept: a header sent again reads exactly as Werkzeug's.

cookie_value keeps the scan of a header (read-only, shared between
requests) so that a visitor's next request with the same header skips the
scan. What is kept must answer as Werkzeug's parser does, cannot be changed
by a request, and stays bounded whatever headers arrive.
"""

from __future__ import annotations

import pytest
from tests.security.test_session_cookie_scan import NAMES, _headers
from werkzeug.test import EnvironBuilder

from hermetic.security import _session_cookie
from hermetic.security._session_cookie import (
    RECENT_SCAN_MAX_LENGTH,
    RECENT_SCANS_SIZE,
    SCANNED_KEY,
    cookie_value,
)
from hermetic.wrappers import Request


def _request(header):
    return Request(EnvironBuilder(headers={"Cookie": header}).get_environ())


@pytest.fixture(autouse=True)
def _no_kept_scans():
    _session_cookie._recent_scans.clear()
    yield
    _session_cookie._recent_scans.clear()


def test_a_header_sent_again_reads_as_werkzeugs_parser():
    headers = _headers()
    for _ in range(2):  # scanned, then (most) from the kept scans
        for header in headers:
            expected = _request(header).cookies
            request = _request(header)
            for name in NAMES:
                assert cookie_value(request, name) == expected.get(name), (header, name)
    assert _session_cookie._recent_scans  # some were kept and read


def test_a_kept_scan_cannot_be_changed_by_a_request():
    first = _request("session=mine")
    assert cookie_value(first, "session") == "mine"
    scanned = first.__dict__[SCANNED_KEY]
    with pytest.raises(TypeError):
        scanned["session"] = "theirs"  # type: ignore[index]
    second = _request("session=mine")
    assert cookie_value(second, "session") == "mine"
    assert second.__dict__[SCANNED_KEY] is scanned  # shared, read-only


def test_quoted_headers_are_parsed_by_werkzeug_and_not_kept():
    header = 'session="a\\"b"; x=1'
    for _ in range(2):
        request = _request(header)
        assert cookie_value(request, "session") == _request(header).cookies.get("session")
        assert "cookies" in request.__dict__
    assert header not in _session_cookie._recent_scans


def test_the_kept_scans_are_bounded_in_number_and_length():
    for number in range(RECENT_SCANS_SIZE + 50):
        assert cookie_value(_request(f"session=v{number}"), "session") == f"v{number}"
    kept = _session_cookie._recent_scans
    assert len(kept) == RECENT_SCANS_SIZE
    assert "session=v0" not in kept  # the oldest went first
    assert f"session=v{RECENT_SCANS_SIZE + 49}" in kept
    long_header = "session=" + "v" * RECENT_SCAN_MAX_LENGTH
    assert cookie_value(_request(long_header), "session") == "v" * RECENT_SCAN_MAX_LENGTH
    assert long_header not in kept
    assert len(kept) == RECENT_SCANS_SIZE
