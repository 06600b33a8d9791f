"""The template scan: html.parser over Jinja sources, each finding by line."""

from __future__ import annotations

import pytest

from hermetic import Blueprint, Flask
from hermetic.security.template_scan import (
    format_csp,
    neutralise,
    scan_app,
    scan_source,
    suggest_csp,
)


def kinds(source):
    return [(i.line, i.kind) for i in scan_source(source)]


def test_neutralise_keeps_lines():
    text, tags = neutralise("a{{ x\n }}b{% if y\n%}c{# no\n#}d")
    assert text.count("\n") == 3
    assert tags == ["{{ x\n }}", "{% if y\n%}"]


@pytest.mark.parametrize(
    "source, found",
    [
        ('<button onclick="go()">', [(1, "inline_handler")]),
        ("<body\n onload='x()'>", [(1, "inline_handler")]),
        ('<a href=" JavaScript:void(0)">', [(1, "javascript_url")]),
        ("<form action='javascript:x()'>", [(1, "javascript_url")]),
        ("\n<script>run()</script>", [(2, "inline_script")]),
        ('<script nonce="{{ csp_nonce() }}">run()</script>', []),
        ('<script src="/static/a.js"></script>', []),
        ("<script></script>", []),
        ('<script type="application/ld+json">{}</script>', []),
        ("<style>p { }</style>", [(1, "inline_style")]),
        ('<p style="color:red">', [(1, "style_attribute")]),
        ('<p style="">', []),
        ("<p>onclick=go() javascript:x</p>", []),
        ('<img src="//img.example.org/a.png"/>', [(1, "external_origin")]),
        ("<img src=\"{{ url_for('static', filename='a.png') }}\">", []),
        ('{% if a %}\n\n<div onclick="{{ js }}">{% endif %}', [(3, "inline_handler")]),
        ("<p>\n\n{{ moment.include_moment() }}</p>", [(3, "script_helper")]),
        ("{{ bootstrap.load_js() }}", [(1, "script_helper")]),
        ('<form method="POST"></form>', [(1, "form_without_csrf")]),
        ('<form method="get"></form>', []),
        ("<form method=post>{{ form.csrf_token }}</form>", []),
        ('<form method=post><input type=hidden name=csrf_token value="{{ t }}"></form>', []),
        ("<form method=post>{{ form.hidden_tag() }}</form>", []),
    ],
)
def test_findings(source, found):
    assert kinds(source) == found


def test_jinja_inside_an_attribute_does_not_confuse_the_tokenizer():
    source = '<a href="{{ url_for("x", a=">") }}" title="{% if a %}>{% endif %}">ok</a>'
    assert kinds(source) == []


def test_suggest_csp_lists_each_origin_once():
    issues = scan_source(
        '<script src="https://a.example/x.js"></script><script src="https://a.example/y.js">'
        '</script><link rel="preload" as="font" href="https://fonts.example/f.woff2">'
    )
    csp = suggest_csp(issues)
    assert csp["script-src"] == ["'self'", "'nonce-{nonce}'", "https://a.example"]
    assert csp["font-src"] == ["'self'", "https://fonts.example"]
    assert format_csp(csp).startswith("SECURITY_CSP = {\n    'default-src': [\"'self'\"],")
    assert suggest_csp(scan_source("<p>hi</p>")) is None


def test_scan_app_reads_blueprint_templates(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "a.html").write_text("<p onclick='x()'>")
    (tmp_path / "admin" / "templates").mkdir(parents=True)
    (tmp_path / "admin" / "templates" / "b.html").write_text("<script>x()</script>")
    (tmp_path / "templates" / "notes.txt").write_text("<p onclick='x()'>")
    app = Flask("scan_app", root_path=str(tmp_path))
    app.register_blueprint(
        Blueprint(
            "admin", "scan_app", root_path=str(tmp_path / "admin"), template_folder="templates"
        )
    )
    found = sorted((i.file.rsplit("/", 1)[1], i.kind) for i in scan_app(app))
    assert found == [("a.html", "inline_handler"), ("b.html", "inline_script")]
