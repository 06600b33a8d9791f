"""What changes when a Flask project moves to ``Hermetic``: a static scan.

``hermetic migrate`` (:mod:`hermetic.cli.migrate`) and ``hermetic check
--migrate`` call :func:`scan_project`. It reads the project's Python files
with :mod:`ast` and its templates with :mod:`.template_scan`; it imports
nothing, so it works on a project that does not start yet. Each
:class:`MigrationItem` has a file, a line, what happens under ``Hermetic``
and the fix; ``breaks`` tells whether that item stops something working
(the command then exits with status 1).
"""

from __future__ import annotations

import ast
import os
import re
import typing as t

from .secrets import preview, weak_key_reason
from .template_scan import CSP_KINDS, TemplateIssue, scan_file, template_files

#: Folders never scanned (virtual environments, caches, tests, build output).
SKIPPED_DIRS = frozenset(
    (".git", ".hg", ".venv", "venv", "env", "node_modules", "__pycache__", "build", "dist")
    + (".tox", ".nox", "site-packages", "tests", "test", "instance")
)
#: Decorators (by name) that look like a route declaration.
_ROUTE_METHODS = frozenset(("route", "get", "post", "put", "patch", "delete"))
#: Text files where a ``run --host 0.0.0.0`` command line is looked for.
_COMMAND_FILES = re.compile(
    r"(?i)^(readme.*|.*\.(sh|md|rst|txt|toml|ya?ml|cfg|ini)|procfile|dockerfile|makefile|\.flaskenv|\.env)$"
)
_PUBLIC_HOST = re.compile(
    r"(?:(?:flask|hermetic)\b[^\n]*\brun\b[^\n]*(?:--host[= ]|-h )0\.0\.0\.0[^\n]*"
    r"|FLASK_RUN_HOST\s*=\s*['\"]?0\.0\.0\.0[^\n]*)"
)
_USER_LOADER_RE = re.compile(r"user_loader|SessionUserIdProvider|add_provider\(|login_user\(")
_CSRF_FIX = "CSRF"

KEY_FIX = (
    "remove the literal key; give the app its key in the HERMETIC_SECRET_KEY environment"
    " variable (python -c 'import secrets; print(secrets.token_urlsafe(48))') or a file named"
    " by HERMETIC_SECRET_KEY_FILE"
)


class MigrationItem(t.NamedTuple):
    """One thing that changes under ``Hermetic``."""

    file: str
    line: int
    kind: str
    message: str
    fix: str
    breaks: bool

    def format(self, root: str) -> str:
        name = os.path.relpath(self.file, root)
        tag = "breaks" if self.breaks else "note"
        return f"{name}:{self.line}: [{tag}] {self.message}. Fix: {self.fix}."

    def as_dict(self, root: str) -> dict[str, t.Any]:
        return {**self._asdict(), "file": os.path.relpath(self.file, root)}


def project_files(root: str) -> t.Iterator[str]:
    """Yield every file of the project, skipping :data:`SKIPPED_DIRS`."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(files):
            yield os.path.join(folder, name)


# -- Python sources --------------------------------------------------------------


def _literal_strings(node: ast.AST) -> list[str | bytes]:
    """Return the string literals of a value, but not names read from the environment."""
    names: set[int] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Subscript):
            names.add(id(child.slice))  # os.environ["SECRET_KEY"]
        elif (
            isinstance(child, ast.Call)
            and child.args
            and _decorator_name(child.func)
            in (
                "get",
                "getenv",
            )
        ):
            names.add(id(child.args[0]))  # os.environ.get("SECRET_KEY", ...)
    return [
        n.value
        for n in ast.walk(node)
        if isinstance(n, ast.Constant) and isinstance(n.value, (str, bytes)) and id(n) not in names
    ]


def _names_secret_key(node: ast.AST) -> bool:
    """Tell whether an assignment target or a dict key names the secret key."""
    if isinstance(node, ast.Name):
        return node.id == "SECRET_KEY"
    if isinstance(node, ast.Attribute):
        return node.attr in ("secret_key", "SECRET_KEY")
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant) and node.slice.value == "SECRET_KEY"
    return isinstance(node, ast.Constant) and node.value == "SECRET_KEY"


def _decorator_name(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


class _PythonScan(ast.NodeVisitor):
    def __init__(self, file: str, default_deny: bool) -> None:
        self.file = file
        self.default_deny = default_deny
        self.items: list[MigrationItem] = []
        self.hermetic_names: set[str] = set()
        self.session_logins: list[int] = []
        self.imports_flask = 0

    def add(self, node: ast.AST, kind: str, message: str, fix: str, breaks: bool) -> None:
        line = getattr(node, "lineno", 1)
        self.items.append(MigrationItem(self.file, line, kind, message, fix, breaks))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if module.split(".")[0] == "hermetic":
            self.hermetic_names.update(a.asname or a.name for a in node.names)
        if module.split(".")[0] == "flask" and not self.imports_flask:
            self.imports_flask = node.lineno
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        if any(a.name.split(".")[0] == "flask" for a in node.names) and not self.imports_flask:
            self.imports_flask = node.lineno

    def _secret(self, node: ast.AST, value: ast.AST) -> None:
        for literal in _literal_strings(value):
            reason = weak_key_reason(literal)
            shown = preview(literal)
            if reason:
                self.add(
                    node,
                    "weak_secret_key",
                    f"literal SECRET_KEY {shown} is weak ({reason.rstrip('.')})"
                    " and replaces the key Hermetic loads: the app refuses to start",
                    KEY_FIX,
                    True,
                )
            else:
                self.add(
                    node,
                    "literal_secret_key",
                    f"literal SECRET_KEY {shown} in the code:"
                    " anyone with the source can sign sessions",
                    KEY_FIX,
                    False,
                )

    def visit_Assign(self, node: ast.Assign) -> None:
        if any(_names_secret_key(target) for target in node.targets):
            self._secret(node, node.value)
        for target in node.targets:
            if (
                isinstance(target, ast.Subscript)
                and isinstance(target.value, ast.Name)
                and target.value.id == "session"
                and isinstance(target.slice, ast.Constant)
                and isinstance(target.slice.value, str)
                and "user" in target.slice.value
            ):
                self.session_logins.append(node.lineno)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None and _names_secret_key(node.target):
            self._secret(node, node.value)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        for keyword in node.keywords:
            if keyword.arg == "SECRET_KEY":
                self._secret(keyword.value, keyword.value)
        if _decorator_name(node.func) == "run":
            self._run_call(node)
        self.generic_visit(node)

    def visit_Dict(self, node: ast.Dict) -> None:
        for key, value in zip(node.keys, node.values, strict=True):
            if key is not None and _names_secret_key(key):
                self._secret(value, value)
        self.generic_visit(node)

    def _run_call(self, node: ast.Call) -> None:
        kwargs = {k.arg: k.value for k in node.keywords if k.arg}
        host = kwargs.get("host") or (node.args[0] if node.args else None)
        if (
            isinstance(host, ast.Constant)
            # bandit B104: looks for apps that bind to all interfaces; binds nothing itself.
            and host.value in ("0.0.0.0", "::")  # nosec B104
            and "ssl_context" not in kwargs
        ):
            self.add(node, "secure_cookie_http", SECURE_COOKIE_MESSAGE, SECURE_COOKIE_FIX, True)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        routes = [
            d
            for d in node.decorator_list
            if _decorator_name(d) in _ROUTE_METHODS and isinstance(d, ast.Call)
        ]
        if routes and self.default_deny:
            names = {_decorator_name(d) for d in node.decorator_list}
            if not names & self.hermetic_names:
                self.add(
                    routes[0],
                    "route_without_policy",
                    f"route {node.name}() declares no"
                    " Hermetic policy: with AUTHZ_DEFAULT = 'deny' the app refuses to start",
                    "decorate the view with hermetic's @public, @login_required or"
                    " @requires(...) (the app's own login_required is not a policy)",
                    True,
                )
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef


SECURE_COOKIE_MESSAGE = (
    "the server listens on 0.0.0.0 over plain HTTP: browsers on another machine drop"
    " Hermetic's Secure session cookie, so logins silently fail"
)
SECURE_COOKIE_FIX = (
    "browse via http://127.0.0.1, serve HTTPS (--cert adhoc / ssl_context), or set"
    " SESSION_COOKIE_SECURE = False for development only"
)


def _scan_python(path: str, default_deny: bool) -> tuple[list[MigrationItem], _PythonScan | None]:
    try:
        with open(path, "rb") as f:
            tree = ast.parse(f.read(), path)
    except (OSError, SyntaxError, ValueError):
        return [], None
    scan = _PythonScan(path, default_deny)
    scan.visit(tree)
    return scan.items, scan


def _scan_commands(path: str) -> list[MigrationItem]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read(200_000)
    except (OSError, UnicodeDecodeError):
        return []
    items = []
    for match in _PUBLIC_HOST.finditer(text):
        if "--cert" in match.group(0) or "ssl" in match.group(0):
            continue
        line = text.count("\n", 0, match.start()) + 1
        items.append(
            MigrationItem(
                path, line, "secure_cookie_http", SECURE_COOKIE_MESSAGE, SECURE_COOKIE_FIX, True
            )
        )
    return items


# -- templates -------------------------------------------------------------------


def _template_item(issue: TemplateIssue) -> MigrationItem | None:
    if issue.kind == "form_without_csrf":
        message = "POST form without a CSRF token: Hermetic answers its submissions with 403"
    elif issue.kind in CSP_KINDS or issue.kind == "script_helper":
        message = f"{issue.detail}: the default CSP blocks it"
    elif issue.kind == "external_origin":
        message = f"{issue.detail}: the default CSP blocks it"
    else:  # pragma: no cover - every kind is handled above
        return None
    return MigrationItem(issue.file, issue.line, issue.kind, message, issue.fix, True)


def scan_project(
    root: str, *, default_deny: bool = False, template_folders: t.Iterable[str] = ()
) -> list[MigrationItem]:
    """Return what changes under ``Hermetic`` for the project in ``root``, by file and line."""
    root = os.path.abspath(root)
    items: list[MigrationItem] = []
    scans: list[_PythonScan] = []
    templates: set[str] = set()
    for path in project_files(root):
        name = os.path.basename(path)
        if name.endswith(".py"):
            found, scan = _scan_python(path, default_deny)
            items.extend(found)
            if scan is not None:
                scans.append(scan)
        elif _COMMAND_FILES.match(name):
            items.extend(_scan_commands(path))
        if os.sep + "templates" + os.sep in path[len(root) :] and name.endswith(
            (".html", ".htm", ".jinja", ".jinja2", ".j2")
        ):
            templates.add(path)
    for folder in template_folders:
        templates.update(template_files(folder))
    for path in sorted(templates):
        items.extend(i for i in map(_template_item, scan_file(path)) if i is not None)
    loaders = any(_USER_LOADER_RE.search(_read(s.file)) for s in scans)
    if not loaders:
        for scan in scans:
            for line in scan.session_logins:
                items.append(
                    MigrationItem(
                        scan.file,
                        line,
                        "session_login_without_loader",
                        "the login keeps the user id in the session and no user loader is registered:"
                        " Hermetic's @login_required and current_user do not see the user"
                        " (with AUTHZ_DEFAULT = 'deny' every login-only page answers 401)",
                        "keep session['user_id'] and add app.login_manager.add_provider("
                        "SessionUserIdProvider(load_user)), or register a user loader and call"
                        " login_user(user)",
                        default_deny,
                    )
                )
    for scan in scans:
        if scan.imports_flask:
            items.append(
                MigrationItem(
                    scan.file,
                    scan.imports_flask,
                    "imports_flask",
                    "imports flask: it loads only with the alias (hermetic --flask-alias,"
                    " or hermetic.compat.install_as_flask())",
                    "import the same names from hermetic, and make the app a Hermetic(...)",
                    False,
                )
            )
    return sorted(items, key=lambda i: (i.file, i.line, i.kind))


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return ""
