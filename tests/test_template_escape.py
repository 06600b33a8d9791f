"""Autoescaping in compiled templates (hermetic/_template_escape.py) against Jinja's own."""

from __future__ import annotations

import pytest
from jinja2 import DictLoader, Environment, StrictUndefined, Undefined
from markupsafe import Markup
from markupsafe import escape as markupsafe_escape

import hermetic
from hermetic import _template_escape
from hermetic._template_escape import TemplateCodeGenerator, escape


class Html:
    def __html__(self):
        return "<b>safe</b>"


class Text(str):
    """A subclass of str: not the plain-string case."""


class Proxyish:
    """Reports str as its class, as a proxy would: still not a plain string."""

    __class__ = str  # type: ignore[assignment]

    def __str__(self):
        return "<proxied>"


VALUES = [
    "",
    "plain",
    "<script>alert('x') & \"y\"</script>",
    "é ü 日本 \x00 \u2028",
    "&amp; already",
    Markup("<i>marked</i>"),
    Text("<sub>"),
    Html(),
    Proxyish(),
    0,
    42,
    3.5,
    None,
    True,
    b"<bytes>",
    ["<list>"],
    Undefined(name="missing"),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__ + repr(str(v))[:20])
def test_escape_is_markupsafe_escape(value):
    ours, theirs = escape(value), markupsafe_escape(value)
    assert type(ours) is type(theirs) is Markup
    assert str.__eq__(ours, theirs)


def test_escape_raises_as_markupsafe_does():
    class Broken:
        def __str__(self):
            raise ValueError("no text")

    with pytest.raises(ValueError, match="no text"):
        escape(Broken())


TEMPLATES = {
    "values.html": "{% for v in values %}[{{ v }}]{% endfor %}|{{ name }}|{{ name|safe }}"
    "|{{ name|e }}|{{ name ~ '<' }}|{{ number + 1 }}|{{ missing }}",
    "base.html": "<title>{% block title %}{{ name }}{% endblock %}</title>{% block body %}{% endblock %}",
    "child.html": "{% extends 'base.html' %}{% block title %}{{ super() }}-{{ name }}{% endblock %}"
    "{% block body %}{% include 'macros.html' %}{% endblock %}",
    "macros.html": '{% macro link(href, text) %}<a href="{{ href }}">{{ text }}</a>{% endmacro %}'
    "{{ link(name, name) }}{% set block_var %}<{{ name }}>{% endset %}{{ block_var }}",
    "switch.html": "{{ name }}{% autoescape false %}{{ name }}{% endautoescape %}"
    "{% autoescape true %}{{ name }}{% endautoescape %}",
    "call.html": "{% macro wrap() %}<div>{{ caller() }}</div>{% endmacro %}"
    "{% call wrap() %}{{ name }}{% endcall %}{{ 'a<b'|upper }}{{ values|join(',') }}",
    "plain.txt": "{{ name }}|{{ values|first }}",
}
CONTEXT = {
    "name": '<Ada & "Bob">',
    "values": VALUES[:-1],
    "number": 41,
}


def environments(**options):
    """Jinja's plain environment, and the same with hermetic's code generator."""

    class Ours(Environment):
        code_generator_class = TemplateCodeGenerator

    loader = DictLoader(TEMPLATES)
    return Environment(loader=loader, **options), Ours(loader=loader, **options)


@pytest.mark.parametrize("autoescape", [True, False, lambda name: name.endswith(".html")])
@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_templates_render_as_with_jinja_code(autoescape, name):
    jinja, ours = environments(autoescape=autoescape)
    assert ours.get_template(name).render(CONTEXT) == jinja.get_template(name).render(CONTEXT)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_streamed_pieces_are_the_same_objects_of_the_same_types(name):
    jinja, ours = environments(autoescape=True)
    theirs = list(jinja.get_template(name).generate(CONTEXT))
    mine = list(ours.get_template(name).generate(CONTEXT))
    assert [type(p) for p in mine] == [type(p) for p in theirs]
    assert mine == theirs


def test_strict_undefined_fails_as_in_jinja():
    jinja, ours = environments(autoescape=True, undefined=StrictUndefined)
    for env in (jinja, ours):
        with pytest.raises(Exception) as caught:
            env.from_string("{{ nothing }}").render()
        assert type(caught.value).__name__ == "UndefinedError"


def test_async_templates_render_as_with_jinja_code():
    jinja, ours = environments(autoescape=True, enable_async=True)
    import asyncio

    for name in ("values.html", "child.html", "call.html"):
        theirs = asyncio.run(jinja.get_template(name).render_async(CONTEXT))
        assert asyncio.run(ours.get_template(name).render_async(CONTEXT)) == theirs


def test_compiled_module_escapes_with_hermetic_escape():
    _, ours = environments(autoescape=True)
    template = ours.get_template("values.html")
    assert template.root_render_func.__globals__["escape"] is _template_escape.escape
    source = ours.compile(TEMPLATES["values.html"], raw=True)
    # Jinja's code, plus the one line at the end.
    assert source.rstrip().endswith("from hermetic._template_escape import escape")
    jinja_source = Environment(autoescape=True).compile(TEMPLATES["values.html"], raw=True)
    assert source.rstrip()[: len(jinja_source.rstrip())] == jinja_source.rstrip()


def test_app_environment_uses_the_generator_and_renders_as_jinja():
    app = hermetic.Flask(__name__)
    app.jinja_loader = DictLoader(TEMPLATES)  # type: ignore[assignment]
    assert app.jinja_env.code_generator_class is TemplateCodeGenerator
    jinja, _ = environments(autoescape=True)
    with app.test_request_context():
        for name in ("values.html", "child.html", "switch.html"):
            got = hermetic.render_template(name, **CONTEXT)
            assert got == jinja.get_template(name).render(CONTEXT)
        got = hermetic.render_template_string("{{ name }}{{ '<x>'|safe }}", name="<y>")
        assert got == "&lt;y&gt;<x>"


def test_an_environment_class_with_its_own_generator_keeps_it():
    class Mine(TemplateCodeGenerator.__mro__[1]):  # Jinja's CodeGenerator
        pass

    class Env(hermetic.templating.Environment):
        code_generator_class = Mine

    class App(hermetic.Flask):
        jinja_environment = Env

    app = App(__name__)
    template = app.jinja_env.from_string("{{ x }}")
    assert template.root_render_func.__globals__["escape"] is markupsafe_escape
    assert template.render(x="<") == "&lt;"
