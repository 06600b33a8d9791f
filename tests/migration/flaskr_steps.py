"""The steps of docs/moving-from-flask.md ("Moving flaskr, step by step"), as code.

Each step edits a fresh copy of Flask's tutorial app (``examples/tutorial``
of the Flask 3.1.3 sdist) exactly as the guide says, and fails when the
file does not hold the text the guide starts from. The tests apply them in
order.
"""

from __future__ import annotations

import os
import re
import tarfile

FLASK_SDIST = "flask==3.1.3"
TUTORIAL = "flask-3.1.3/examples/tutorial/"

CSRF_FIELD = '    <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">\n'
OLD_DELETE = (
    '<input class="danger" type="submit" value="Delete"'
    " onclick=\"return confirm('Are you sure?');\">"
)
NEW_DELETE = '<input class="danger" type="submit" value="Delete" data-confirm="Are you sure?">'
CONFIRM_JS = """\
// Ask before submitting a form whose button has data-confirm (the CSP blocks onclick=).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
  }
});
"""
CONFIRM_SCRIPT = "<script src=\"{{ url_for('static', filename='confirm.js') }}\" defer></script>\n"
USER_PROVIDER = """
    # Hermetic's login manager reads the user the login view keeps in session["user_id"].
    from hermetic.security.auth import UserMixin
    from hermetic.security.auth.providers import SessionUserIdProvider

    class User(UserMixin):
        def __init__(self, row):
            self.id = row["id"]
            self.username = row["username"]

    def load_user(user_id):
        row = db.get_db().execute(
            "SELECT id, username FROM user WHERE id = ?", (user_id,)
        ).fetchone()
        return User(row) if row is not None else None

    app.login_manager.add_provider(SessionUserIdProvider(load_user))
"""


def extract_tutorial(sdist: str, dest: str) -> str:
    """Extract ``examples/tutorial`` of the Flask sdist into ``dest``; return its path."""
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(TUTORIAL) and m.isfile()]
        for member in members:
            member.name = member.name[len(TUTORIAL) :]
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, members=members, filter="data")
        else:  # pragma: no cover - Python without extraction filters
            tar.extractall(dest, members=members)  # noqa: S202 - names checked above
    return dest


def _edit(path: str, old: str, new: str, count: int = 1) -> None:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    found = text.count(old)
    assert found == count, f"{path}: expected {count} x {old!r}, found {found}"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(old, new))


def step_1_change_the_import(root: str) -> None:
    """``from flask import ...`` becomes ``from hermetic import ...``; the app a Hermetic."""
    pkg = os.path.join(root, "flaskr")
    _edit(
        os.path.join(pkg, "__init__.py"),
        "from flask import Flask\n",
        "from hermetic import Hermetic\n",
    )
    _edit(os.path.join(pkg, "__init__.py"), "app = Flask(__name__", "app = Hermetic(__name__")
    for name in ("auth.py", "blog.py", "db.py"):
        path = os.path.join(pkg, name)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        assert "from flask import" in text
        with open(path, "w", encoding="utf-8") as f:
            f.write(re.sub(r"(?m)^from flask import ", "from hermetic import ", text))


def step_2_remove_the_literal_key(root: str) -> None:
    """Drop ``SECRET_KEY="dev"``: the key comes from ``HERMETIC_SECRET_KEY``."""
    _edit(
        os.path.join(root, "flaskr", "__init__.py"),
        "        # a default secret that should be overridden by instance config\n"
        '        SECRET_KEY="dev",\n',
        "",
    )


def step_3_add_csrf_tokens(root: str) -> None:
    """Put ``{{ csrf_token() }}`` in every POST form."""
    templates = os.path.join(root, "flaskr", "templates")
    forms = {
        "auth/login.html": 1,
        "auth/register.html": 1,
        "blog/create.html": 1,
        "blog/update.html": 2,
    }
    for name, count in forms.items():
        path = os.path.join(templates, name)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        new, done = re.subn(r'(<form[^>]*method="post"[^>]*>\n)', r"\1" + CSRF_FIELD, text)
        assert done == count, f"{name}: {done} POST forms, expected {count}"
        with open(path, "w", encoding="utf-8") as f:
            f.write(new)


def step_4_replace_the_inline_confirm(root: str) -> None:
    """``onclick="return confirm(...)"`` becomes ``data-confirm`` and a script file."""
    pkg = os.path.join(root, "flaskr")
    _edit(os.path.join(pkg, "templates", "blog", "update.html"), OLD_DELETE, NEW_DELETE)
    with open(os.path.join(pkg, "static", "confirm.js"), "w", encoding="utf-8") as f:
        f.write(CONFIRM_JS)
    stylesheet = (
        "<link rel=\"stylesheet\" href=\"{{ url_for('static', filename='style.css') }}\">\n"
    )
    _edit(os.path.join(pkg, "templates", "base.html"), stylesheet, stylesheet + CONFIRM_SCRIPT)


def step_5_read_the_session_user(root: str) -> None:
    """Keep ``session["user_id"]``; let Hermetic's login manager read it."""
    _edit(
        os.path.join(root, "flaskr", "__init__.py"),
        "    db.init_app(app)\n",
        "    db.init_app(app)\n" + USER_PROVIDER,
    )


STEPS = (
    step_1_change_the_import,
    step_2_remove_the_literal_key,
    step_3_add_csrf_tokens,
    step_4_replace_the_inline_confirm,
    step_5_read_the_session_user,
)


def migrate(root: str) -> None:
    """Apply every step of the guide to the flaskr copy in ``root``."""
    for step in STEPS:
        step(root)
