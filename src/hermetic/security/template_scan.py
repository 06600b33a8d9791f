"""Scan Jinja templates for what a Content-Security-Policy (or CSRF) will break.

``hermetic check`` and ``hermetic migrate`` use :func:`scan_source` on each
template: the Jinja tags are replaced by placeholders that keep the line
numbers, then Python's :mod:`html.parser` tokenizes the HTML. Found, each
by file and line with its fix:

- ``inline_handler``: an event handler attribute (``onclick=``, ...);
- ``javascript_url``: a ``javascript:`` URL in ``href``, ``src``, ``action``;
- ``inline_script`` / ``inline_style``: ``<script>`` or ``<style>`` with
  content and no ``nonce``;
- ``style_attribute``: a ``style=`` attribute;
- ``script_helper``: a template helper that writes ``<script>`` tags
  (``{{ moment.include_moment() }}``, ``bootstrap.load_js()``, ...);
- ``external_origin``: a script, style, font or image from another origin
  (a CDN); :func:`suggest_csp` prints the ``SECURITY_CSP`` allowing exactly
  those origins;
- ``form_without_csrf``: a POST form without ``{{ csrf_token() }}``.
"""

from __future__ import annotations

import html.parser
import os
import re
import typing as t
from urllib.parse import urlsplit

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask

#: The file name endings scanned as HTML templates.
TEMPLATE_SUFFIXES = (".html", ".htm", ".jinja", ".jinja2", ".j2", ".xhtml")

_JINJA_RE = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.S)
_PLACEHOLDER_RE = re.compile(r"__HJ(\d+)__")
_CSRF_RE = re.compile(r"csrf_token|hidden_tag\s*\(")
# Template helpers of Flask extensions that write <script> tags.
_SCRIPT_HELPER_RE = re.compile(
    r"\b[\w.]*?(include_moment|include_jquery|load_js|include_js|render_js|js_include)\s*\("
)
_JS_TYPES = {"", "text/javascript", "module", "application/javascript", "text/ecmascript"}
_URL_ATTRS = {"href", "src", "action", "formaction", "data", "xlink:href"}

FIXES = {
    "inline_handler": 'move the code to a script file (or a <script nonce="{{ csp_nonce() }}">)'
    " and attach it with addEventListener; for a confirmation use a <dialog> or a"
    " confirmation page",
    "javascript_url": "use a <button> with a listener in a script file instead of a"
    " javascript: URL",
    "inline_script": 'add nonce="{{ csp_nonce() }}" to the <script> tag, or move the code'
    " to a file under static/",
    "inline_style": 'add nonce="{{ csp_nonce() }}" to the <style> tag, or move the rules'
    " to a stylesheet under static/",
    "style_attribute": "move the style to a class in a stylesheet (the CSP blocks"
    " style= attributes)",
    "script_helper": "this helper writes a <script> tag: give it the nonce (nonce=csp_nonce()"
    " when it takes one) or host the script under static/ and include it with <script src>",
    "external_origin": "add the origin to SECURITY_CSP (see the suggested setting), or host"
    " the file under static/",
    "form_without_csrf": 'add <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">'
    " inside the form",
}
#: The kinds the CSP blocks (the others are notes or CSRF).
CSP_KINDS = frozenset(
    ("inline_handler", "javascript_url", "inline_script", "inline_style", "style_attribute")
)


class TemplateIssue(t.NamedTuple):
    """One thing found in a template."""

    file: str
    line: int
    kind: str
    detail: str
    #: For ``external_origin``: ``(directive, origin)``.
    source: tuple[str, str] | None = None

    @property
    def fix(self) -> str:
        return FIXES[self.kind]

    def format(self, root: str | None = None) -> str:
        """Return ``file:line: detail. Fix: ...``, the file relative to ``root``."""
        name = os.path.relpath(self.file, root) if root else self.file
        return f"{name}:{self.line}: {self.detail}. Fix: {self.fix}."


def neutralise(source: str) -> tuple[str, list[str]]:
    """Replace each Jinja tag by a placeholder on the same lines; return it and the tags."""
    tags: list[str] = []

    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        if text.startswith("{{"):
            tags.append(text)
            return f"__HJ{len(tags) - 1}__" + "\n" * text.count("\n")
        if text.startswith("{%"):
            tags.append(text)
        return "\n" * text.count("\n")

    return _JINJA_RE.sub(replace, source), tags


def _origin(url: str) -> str | None:
    """Return the origin of an absolute or protocol-relative URL, else ``None``."""
    url = url.strip()
    if url.startswith("//"):
        url = "https:" + url
    if not re.match(r"(?i)https?://", url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}" if parts.netloc else None


class _Scanner(html.parser.HTMLParser):
    def __init__(self, file: str, tags: list[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.file = file
        self.tags = tags
        self.issues: list[TemplateIssue] = []
        self._inline: tuple[str, int, bool] | None = None  # tag, line, has content
        self._forms: list[list[t.Any]] = []  # [line, has csrf]

    def _expand(self, text: str | None) -> str:
        return _PLACEHOLDER_RE.sub(lambda m: self.tags[int(m.group(1))], text or "")

    def _add(self, kind: str, detail: str, source: tuple[str, str] | None = None) -> None:
        self.issues.append(TemplateIssue(self.file, self.getpos()[0], kind, detail, source))

    def _see_jinja(self, text: str, in_data: bool = False) -> None:
        for match in _PLACEHOLDER_RE.finditer(text):
            expr = self.tags[int(match.group(1))]
            if self._forms and _CSRF_RE.search(expr):
                self._forms[-1][1] = True
            if _SCRIPT_HELPER_RE.search(expr):
                # In text, count the lines before the tag (getpos is the text's start).
                line = self.getpos()[0] + (text.count("\n", 0, match.start()) if in_data else 0)
                detail = f"{' '.join(expr.split())} emits a <script> tag"
                self.issues.append(TemplateIssue(self.file, line, "script_helper", detail))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: self._expand(value) for name, value in attrs}
        for name, value in attrs:
            self._see_jinja(name + " " + (value or ""))
            if name.startswith("on") and len(name) > 2:
                self._add("inline_handler", f"inline event handler {name}= on <{tag}>")
            elif name in _URL_ATTRS and values[name].strip().lower().startswith("javascript:"):
                self._add("javascript_url", f"javascript: URL in {name}= on <{tag}>")
            elif name == "style" and values[name].strip():
                self._add("style_attribute", f"style= attribute on <{tag}>")
            elif name == "name" and values[name] == "csrf_token" and self._forms:
                self._forms[-1][1] = True
        self._external(tag, values)
        if tag == "form" and values.get("method", "get").strip().lower() == "post":
            self._forms.append([self.getpos()[0], False])
        if tag in ("script", "style"):
            executable = tag == "style" or values.get("type", "").strip().lower() in _JS_TYPES
            needs_nonce = executable and "nonce" not in values and "src" not in values
            self._inline = (tag, self.getpos()[0], False) if needs_nonce else None

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def _external(self, tag: str, values: dict[str, str]) -> None:
        rel = values.get("rel", "").lower().split()
        if tag == "script":
            directive, url = "script-src", values.get("src")
        elif tag == "link" and "stylesheet" in rel:
            directive, url = "style-src", values.get("href")
        elif tag == "link" and values.get("as", "").lower() == "font":
            directive, url = "font-src", values.get("href")
        elif tag == "link" and ("icon" in rel or values.get("as", "").lower() == "image"):
            directive, url = "img-src", values.get("href")
        elif tag in ("img", "source") and (values.get("src") or values.get("srcset")):
            directive, url = "img-src", values.get("src") or values.get("srcset", "").split()[0]
        else:
            return
        origin = _origin(url or "")
        if origin:
            self._add(
                "external_origin",
                f"<{tag}> loads from {origin} ({directive})",
                (directive, origin),
            )

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._forms:
            line, has_token = self._forms.pop()
            if not has_token:
                self.issues.append(
                    TemplateIssue(
                        self.file, line, "form_without_csrf", "POST form without a CSRF token"
                    )
                )
        if self._inline is not None and self._inline[0] == tag:
            kind, line, has_content = self._inline
            if has_content:
                self.issues.append(
                    TemplateIssue(
                        self.file, line, f"inline_{kind}", f"inline <{kind}> without a nonce"
                    )
                )
            self._inline = None

    def handle_data(self, data: str) -> None:
        self._see_jinja(data, in_data=True)
        if self._inline is not None and data.strip():
            self._inline = (self._inline[0], self._inline[1], True)


def scan_source(source: str, file: str = "<template>") -> list[TemplateIssue]:
    """Return what ``source`` (a Jinja HTML template) holds that the CSP or CSRF breaks."""
    text, tags = neutralise(source)
    scanner = _Scanner(file, tags)
    scanner.feed(text)
    scanner.close()
    return sorted(scanner.issues, key=lambda i: (i.line, i.kind))


def scan_file(path: str) -> list[TemplateIssue]:
    """Scan one template file (unreadable or undecodable files are skipped)."""
    try:
        with open(path, encoding="utf-8") as f:
            return scan_source(f.read(), path)
    except (OSError, UnicodeDecodeError):
        return []


def template_files(folder: str) -> list[str]:
    """Return the template files under ``folder``, sorted."""
    found: list[str] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "node_modules")
        found.extend(os.path.join(root, f) for f in sorted(files) if f.endswith(TEMPLATE_SUFFIXES))
    return found


def app_template_folders(app: Flask) -> list[str]:
    """Return the template folders of ``app`` and its blueprints that exist."""
    folders = []
    for owner in (app, *app.iter_blueprints()):
        folder = getattr(owner, "template_folder", None)
        root = getattr(owner, "root_path", None)
        if folder and root:
            path = os.path.join(root, folder)
            if os.path.isdir(path) and path not in folders:
                folders.append(path)
    return folders


def scan_app(app: Flask) -> list[TemplateIssue]:
    """Scan every template of ``app`` and its blueprints."""
    return [
        i
        for folder in app_template_folders(app)
        for f in template_files(folder)
        for i in scan_file(f)
    ]


def suggest_csp(issues: t.Iterable[TemplateIssue]) -> dict[str, list[str]] | None:
    """Return the ``SECURITY_CSP`` allowing the issues' origins (``None``: the default fits)."""
    from ._header_settings import DEFAULT_CSP

    extra: dict[str, list[str]] = {}
    for issue in issues:
        if issue.source is not None:
            directive, origin = issue.source
            if origin not in extra.setdefault(directive, []):
                extra[directive].append(origin)
    if not extra:
        return None
    csp = {name: list(sources) for name, sources in DEFAULT_CSP.items()}
    for directive, origins in extra.items():
        base = csp.get(directive, ["'self'"])
        csp[directive] = [*base, *sorted(origins)]
    return csp


def format_csp(csp: dict[str, list[str]]) -> str:
    """Return ``csp`` as a ``SECURITY_CSP = {...}`` line for a config file."""
    items = ",\n".join(f"    {name!r}: {sources!r},"[:-1] for name, sources in csp.items())
    return "SECURITY_CSP = {\n" + items + ",\n}"
