"""cookie_value scans the Cookie header once per request: every name still reads as Werkzeug's."""

from __future__ import annotations

import random

from werkzeug.test import EnvironBuilder

from hermetic.security._session_cookie import SCANNED_KEY, cookie_value
from hermetic.wrappers import Request

NAMES = ("session", "__Host-session", "remember_token", "sess", "a", "x")
PIECES = [
    "session",
    "__Host-session",
    "remember_token",
    "sess",
    "a",
    "=",
    "==",
    " ",
    "\t",
    ";",
    "; ",
    "v1",
    "x y",
    '"',
    "é",
]


def _headers() -> list[str]:
    rng = random.Random(4321)
    headers = ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 16))) for _ in range(3000)]
    return headers + [
        "session=a b; session=second",  # the first readable one wins
        "session=first; session=second",
        "a=1; __Host-session=v; remember_token=r",
        " remember_token = r ;session=s",
        "sess=1;session=2;sess=3",
        "session\t=\tv\t",
    ]


def test_several_names_asked_of_one_request_read_as_werkzeugs_parser():
    for header in _headers():
        environ = EnvironBuilder(headers={"Cookie": header}).get_environ()
        expected = Request(environ).cookies
        request = Request(environ)
        for name in NAMES + NAMES:  # each twice: the second time from the scan
            assert cookie_value(request, name) == expected.get(name), (header, name)
        assert "cookies" not in request.__dict__ or '"' in header


#: Names the scan cannot answer for (Werkzeug's parser does): empty, with
#: a space, tab, "=", ";" or '"' inside or around.
ODD_NAMES = ("", "x y", "x\ty", " session", "session ", "a=b", "a;b", 'a"b', "=")


def test_a_name_the_scan_cannot_answer_reads_as_werkzeugs_parser():
    # The scan keeps no key such a name could match: asked after the
    # header was scanned (the CSRF shield asks first), or first, each one
    # is answered by Werkzeug's parser.
    for header in _headers() + ["x y=1; session=s", "x\ty=2", " =3; a=b=c"]:
        environ = EnvironBuilder(headers={"Cookie": header}).get_environ()
        expected = Request(environ).cookies
        for name in ODD_NAMES:
            request = Request(environ)
            assert cookie_value(request, "session") == expected.get("session"), header
            assert cookie_value(request, name) == expected.get(name), (header, name)
            assert cookie_value(Request(environ), name) == expected.get(name), (header, name)


def test_the_header_is_scanned_once_per_request_and_not_shared():
    first = Request(EnvironBuilder(headers={"Cookie": "session=one"}).get_environ())
    second = Request(EnvironBuilder(headers={"Cookie": "session=two"}).get_environ())
    assert cookie_value(first, "session") == "one"
    scanned = first.__dict__[SCANNED_KEY]
    assert cookie_value(first, "remember_token") is None
    assert first.__dict__[SCANNED_KEY] is scanned
    assert cookie_value(second, "session") == "two"
    assert cookie_value(first, "session") == "one"


def test_parsed_cookies_are_read_when_werkzeug_parsed_them_first():
    request = Request(EnvironBuilder(headers={"Cookie": "session=one"}).get_environ())
    assert request.cookies["session"] == "one"
    assert cookie_value(request, "session") == "one"
    assert SCANNED_KEY not in request.__dict__
