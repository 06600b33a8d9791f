"""``Request.close`` closes the uploads however they got on the request.

``close`` runs on every request; it reads the instance ``__dict__`` (which
CPython 3.11 builds on first read) only when uploads may be there: after
form parsing, after an assignment to ``files``, or for a class that parses
forms its own way. Each case checks the file really is closed.
"""

from __future__ import annotations

import io

from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import EnvironBuilder

import hermetic
from hermetic.wrappers import Request


def _upload_environ():
    builder = EnvironBuilder(method="POST", data={"doc": (io.BytesIO(b"content"), "doc.txt")})
    try:
        return builder.get_environ()
    finally:
        builder.close()


def test_a_parsed_upload_is_closed():
    request = Request(_upload_environ())
    upload = request.files["doc"]
    assert not upload.stream.closed
    request.close()
    assert upload.stream.closed


def test_an_assigned_upload_is_closed():
    request = Request({"REQUEST_METHOD": "GET"})
    upload = FileStorage(io.BytesIO(b"x"), "x.txt")
    request.files = MultiDict({"x": upload})
    request.close()
    assert upload.stream.closed


def test_a_request_without_uploads_is_not_marked_as_having_any():
    request = Request({"REQUEST_METHOD": "GET", "wsgi.url_scheme": "https"})
    assert request._files_made is False
    request.close()
    assert request._files_made is False


def test_a_class_parsing_forms_its_own_way_gets_werkzeugs_close():
    upload = FileStorage(io.BytesIO(b"x"), "x.txt")

    class OwnParsing(Request):
        def _load_form_data(self):
            self.__dict__["form"] = MultiDict()
            self.__dict__["files"] = MultiDict({"x": upload})

    request = OwnParsing({"REQUEST_METHOD": "POST"})
    assert request.files["x"] is upload
    request.close()
    assert upload.stream.closed


def test_uploads_are_closed_when_the_request_ends():
    app = hermetic.Flask(__name__)
    seen = []

    @app.post("/")
    def index():
        seen.append(hermetic.request.files["doc"])
        return "ok"

    assert app.test_client().post("/", data={"doc": (io.BytesIO(b"c"), "d.txt")}).data == b"ok"
    assert seen[0].stream.closed
