"""Flask-WTF on hermetic: CSRFProtect, FlaskForm validation, csrf_token() in templates.

Run as ``python app_wtf.py TMPDIR``; see ``__init__.py``.
"""

from __future__ import annotations

import io
import re
import sys

from hermetic.compat import install_as_flask

# First: the extension runs `from flask import ...` at import time.
install_as_flask()

import flask  # noqa: E402
from _harness import check, run  # noqa: E402
from flask_wtf import FlaskForm  # noqa: E402
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf  # noqa: E402
from flask_wtf.file import FileAllowed, FileField, FileRequired  # noqa: E402
from wtforms import StringField  # noqa: E402
from wtforms.validators import DataRequired, Length  # noqa: E402

app = flask.Flask(__name__, instance_path=sys.argv[1])
app.config.update(TESTING=True, SECRET_KEY="extension test key")
csrf = CSRFProtect(app)

FORM_PAGE = """<form method="post">{{ form.csrf_token }}{{ form.name }}</form>"""


class NameForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=10)])


class UploadForm(FlaskForm):
    upload = FileField(validators=[FileRequired(), FileAllowed(["txt"], "text files only")])


@app.errorhandler(CSRFError)
def csrf_error(error: CSRFError):
    return f"csrf: {error.description}", 400


@app.route("/form", methods=["GET", "POST"])
def form_view():
    form = NameForm()
    if form.validate_on_submit():
        return f"hello {form.name.data}"
    if form.errors:
        return flask.jsonify(form.errors), 422
    return flask.render_template_string(FORM_PAGE, form=form)


@app.get("/token")
def token_page():
    # CSRFProtect puts csrf_token() in the Jinja globals.
    return flask.render_template_string("{{ csrf_token() }}")


@app.post("/upload")
def upload():
    form = UploadForm()
    if not form.validate_on_submit():
        return flask.jsonify(form.errors), 422
    return f"{form.upload.data.filename}: {form.upload.data.read().decode()}"


@app.post("/api")
def api():
    return "api ok"


@csrf.exempt
@app.post("/webhook")
def webhook():
    return "webhook ok"


def form_token(client) -> str:
    response = client.get("/form")
    assert response.status_code == 200, response.status
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', response.text)
    assert match, response.text
    return match.group(1)


@check()
def post_without_token_is_400() -> None:
    response = app.test_client().post("/api")
    assert response.status_code == 400
    assert response.text == "csrf: The CSRF token is missing.", response.text


@check()
def default_400_page_without_custom_handler() -> None:
    # Another app without an errorhandler: the CSRFError (a BadRequest) renders as HTML.
    bare = flask.Flask(__name__, instance_path=sys.argv[1])
    bare.config.update(SECRET_KEY="extension test key")
    CSRFProtect(bare)
    bare.add_url_rule("/", "index", lambda: "ok", methods=["POST"])
    response = bare.test_client().post("/")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "The CSRF token is missing." in response.text, response.text


@check()
def rendered_form_token_is_accepted() -> None:
    client = app.test_client()
    token = form_token(client)
    response = client.post("/form", data={"csrf_token": token, "name": "bob"})
    assert response.status_code == 200 and response.text == "hello bob", response.text


@check()
def form_validation_errors() -> None:
    client = app.test_client()
    token = form_token(client)
    response = client.post("/form", data={"csrf_token": token, "name": ""})
    assert response.status_code == 422
    assert response.json == {"name": ["This field is required."]}, response.json
    response = client.post("/form", data={"csrf_token": token, "name": "x" * 11})
    assert response.status_code == 422
    assert list(response.json) == ["name"], response.json


@check()
def form_without_token_is_400() -> None:
    client = app.test_client()
    form_token(client)  # a session exists, the token is simply not sent
    response = client.post("/form", data={"name": "bob"})
    assert response.status_code == 400 and "missing" in response.text


@check()
def wrong_token_is_400() -> None:
    client = app.test_client()
    token = form_token(client)
    response = client.post("/form", data={"csrf_token": token[:-2] + "xx", "name": "bob"})
    assert response.status_code == 400
    assert response.text == "csrf: The CSRF token is invalid.", response.text


@check()
def token_from_another_session_is_400() -> None:
    token = form_token(app.test_client())
    response = app.test_client().post("/form", data={"csrf_token": token, "name": "bob"})
    assert response.status_code == 400
    assert response.text == "csrf: The CSRF session token is missing.", response.text


@check()
def header_token_and_json_form() -> None:
    client = app.test_client()
    token = client.get("/token").text
    assert client.post("/api", headers={"X-CSRFToken": token}).text == "api ok"
    # FlaskForm reads a JSON body as form data; the token travels in the header.
    response = client.post("/form", json={"name": "carol"}, headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.text == "hello carol", response.text


@check()
def file_upload_form() -> None:
    client = app.test_client()
    token = client.get("/token").text
    data = {"csrf_token": token, "upload": (io.BytesIO(b"hi there"), "note.txt")}
    response = client.post("/upload", data=data)  # multipart: request.files reaches the form
    assert response.status_code == 200 and response.text == "note.txt: hi there", response.text
    data = {"csrf_token": token, "upload": (io.BytesIO(b"MZ"), "tool.exe")}
    response = client.post("/upload", data=data)
    assert response.status_code == 422 and response.json == {"upload": ["text files only"]}
    response = client.post("/upload", data={"csrf_token": token})
    assert response.status_code == 422 and list(response.json) == ["upload"], response.json


@check()
def exempt_view_skips_csrf() -> None:
    response = app.test_client().post("/webhook")
    assert response.status_code == 200 and response.text == "webhook ok"


@check()
def generate_csrf_in_request_context() -> None:
    with app.test_request_context("/"):
        token = generate_csrf()
        assert token == generate_csrf()  # cached on g for the request
        assert "csrf_token" in flask.session
        form = NameForm(data={"name": "dave"}, meta={"csrf": False})
        assert form.validate(), form.errors


if __name__ == "__main__":
    run(app)
