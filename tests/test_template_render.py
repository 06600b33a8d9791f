"""The template render shortcut (hermetic/_template_render.py) against Jinja's Template.render."""

from __future__ import annotations

import asyncio
from collections import ChainMap, OrderedDict

import pytest
from jinja2 import (
    DictLoader,
    Environment,
    StrictUndefined,
    Template,
    UndefinedError,
    pass_context,
    pass_environment,
    pass_eval_context,
)
from jinja2.runtime import Context

import hermetic
from hermetic import _template_render

SOURCE = "{{ a }}|{{ b }}|{{ shared }}|{{ peek() }}"


@pass_context
def peek(context):
    """Show what the context was built from: its parent (keys in order, values) and globals."""
    parent = ", ".join(f"{k}={v!r}" for k, v in context.parent.items() if k != "peek")
    return f"[{parent}] keys={sorted(context.globals_keys)} name={context.name}"


def make_env(**options):
    env = Environment(
        loader=DictLoader({"page.html": SOURCE, "raise.html": "{{ 1 // 0 }}"}), **options
    )
    env.globals.update(shared="env", peek=peek, b="env b")
    return env


def both(template, context):
    """Render through the shortcut and through Jinja; return both strings."""
    return _template_render.render(template, dict(context)), template.render(dict(context))


def test_plain_template_renders_as_jinja():
    template = make_env().get_template("page.html")
    fast, jinja = both(template, {"a": 1})
    assert fast == jinja
    assert "a=1" in fast and "shared='env'" in fast


def test_caller_values_win_over_globals_as_in_jinja():
    template = make_env().get_template("page.html")
    fast, jinja = both(template, {"a": 1, "shared": "caller", "b": None})
    assert fast == jinja
    assert fast.startswith("1|None|caller|")


def test_template_globals_over_environment_globals():
    env = make_env()
    # Template-specific globals: the chain has two non-empty maps with a key in common.
    template = env.get_template("page.html", globals={"shared": "template", "extra": 2})
    fast, jinja = both(template, {"a": 1})
    assert fast == jinja
    assert "|template|" in fast and "extra=2" in fast


def test_deeper_chain_keeps_chainmap_order_and_priority():
    env = make_env()
    template = env.from_string(SOURCE)
    template.globals = ChainMap({"b": "top"}, {"shared": "middle", "z": 0}, env.globals)
    fast, jinja = both(template, {"a": 1})
    assert fast == jinja
    assert fast.startswith("1|top|middle|")


def test_globals_replaced_by_a_plain_dict():
    env = make_env()
    template = env.from_string(SOURCE)
    template.globals = {"shared": "dict", "peek": peek}
    assert both(template, {"a": 1})[0] == both(template, {"a": 1})[1]


def test_globals_changed_after_the_first_render_are_seen():
    env = make_env()
    template = env.get_template("page.html")
    _template_render.render(template, {"a": 1})
    env.globals["shared"] = "later"
    fast, jinja = both(template, {"a": 1})
    assert fast == jinja
    assert "|later|" in fast


def test_empty_globals():
    env = make_env()
    template = env.from_string("{{ a }}")
    template.globals = ChainMap({}, {})
    assert both(template, {"a": 1}) == ("1", "1")


def test_non_string_key_fails_as_in_jinja():
    template = make_env().get_template("page.html")
    with pytest.raises(TypeError) as jinja:
        template.render({1: "x"})
    with pytest.raises(TypeError) as fast:
        _template_render.render(template, {1: "x"})
    assert str(fast.value) == str(jinja.value)


def _last_frame(call):
    """Return where the exception of ``call()`` was raised (file name, line)."""
    with pytest.raises(ZeroDivisionError) as info:
        call()
    tb = info.value.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_filename, tb.tb_lineno


def test_errors_are_raised_as_jinja_raises_them():
    template = make_env().get_template("raise.html")
    # Jinja's traceback rewriting still points at the template's line.
    fast = _last_frame(lambda: _template_render.render(template, {}))
    assert fast == _last_frame(lambda: template.render({}))
    assert fast == ("<template>", 1)  # DictLoader templates have no file name


def test_the_shortcut_does_not_call_template_render(monkeypatch):
    template = make_env().get_template("page.html")
    expected = template.render({"a": 1})

    def refuse(*args, **kwargs):
        raise AssertionError("Template.render called")

    monkeypatch.setattr(Template, "render", refuse)
    assert _template_render.render(template, {"a": 1}) == expected


class OwnTemplate(Template):
    pass


class OwnContext(Context):
    pass


def _env_with_template_class():
    env = make_env()
    env.template_class = OwnTemplate
    return env


def _env_with_context_class():
    env = make_env()
    env.context_class = OwnContext
    return env


def _template_with_mapping_globals():
    template = make_env().from_string(SOURCE)
    template.globals = ChainMap(OrderedDict(shared="ordered"), template.environment.globals)
    return template


@pytest.mark.parametrize(
    "make_template",
    [
        lambda: _env_with_template_class().get_template("page.html"),
        lambda: _env_with_context_class().get_template("page.html"),
        _template_with_mapping_globals,
    ],
    ids=["template subclass", "context subclass", "globals not plain dicts"],
)
def test_other_templates_fall_back_to_template_render(monkeypatch, make_template):
    template = make_template()
    calls = []
    original = type(template).render

    def spy(self, *args, **kwargs):
        calls.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(template), "render", spy)
    rv = _template_render.render(template, {"a": 1})
    assert calls == [({"a": 1},)]
    assert rv.startswith("1|env b|")


def test_async_environment_falls_back_to_template_render():
    env = make_env(enable_async=True)
    template = env.get_template("page.html")
    assert _template_render.render(template, {"a": 1}) == template.render({"a": 1})

    async def in_a_loop():
        return await template.render_async({"a": 1})

    assert asyncio.run(in_a_loop()) == template.render({"a": 1})


def test_render_template_goes_through_the_shortcut(monkeypatch):
    app = hermetic.Flask(__name__)
    app.jinja_loader = DictLoader({"page.html": "{{ a }} {{ request.path }} {{ g.x }}"})
    seen = []
    original = _template_render.render

    def spy(template, context):
        seen.append(sorted(context))
        return original(template, context)

    monkeypatch.setattr("hermetic.templating._render_template", spy)
    with app.test_request_context("/here"):
        hermetic.g.x = "gx"
        assert hermetic.render_template("page.html", a=1) == "1 /here gx"
    assert seen == [["a", "g", "request", "session"]]


# -- DirectCallContext: calls from templates, against Context.call ------------


def plain(*args, **kwargs):
    return f"plain{args}{kwargs or ''}"


def stops():
    raise StopIteration


@pass_context
def wants_context(context, *args):
    return f"context {context.get('item', '-')} {type(context).__mro__[-2].__name__}{args}"


@pass_eval_context
def wants_eval_context(eval_ctx, *args):
    return f"eval autoescape={eval_ctx.autoescape}{args}"


@pass_environment
def wants_environment(env, *args):
    return f"environment {env is not None}{args}"


class Greeter:
    def hello(self, *args):
        return f"method{args}"

    @pass_context
    def marked(self, context, *args):
        return f"marked method {context.get('item', '-')}{args}"


class CallableWithContext:
    @pass_context
    def __call__(self, context, *args):
        return f"callable object {context.get('item', '-')}{args}"


class PlainCallable:
    def __call__(self, *args):
        return f"plain object{args}"


CALLS = (
    "{{ plain() }} {{ plain(1, 'a') }} {{ plain(x=2) }}|"
    "{{ wants_context(1) }}|{{ wants_eval_context(2) }}|{{ wants_environment(3) }}|"
    "{{ greeter.hello(4) }}|{{ greeter.marked(5) }}|{{ hello(6) }}|"
    "{{ callable_with_context(7) }}|{{ plain_callable(8) }}|[{{ stops() }}]|"
    "{% for item in [10, 11] %}{{ wants_context() }} {{ plain(item) }};{% endfor %}|"
    "{% set item = 'set' %}{{ wants_context() }}|{{ lookup(9) }}"
)


def call_env(**options):
    env = Environment(**options)
    greeter = Greeter()
    env.globals.update(
        plain=plain,
        stops=stops,
        wants_context=wants_context,
        wants_eval_context=wants_eval_context,
        wants_environment=wants_environment,
        greeter=greeter,
        hello=greeter.hello,
        callable_with_context=CallableWithContext(),
        plain_callable=PlainCallable(),
        lookup={9: "nine"}.get,
    )
    return env


@pytest.mark.parametrize("autoescape", [False, True])
def test_calls_from_templates_as_context_call(autoescape):
    template = call_env(autoescape=autoescape).from_string(CALLS)
    fast, jinja = both(template, {})
    assert fast == jinja
    assert "plain(1, &#39;a&#39;)" in fast if autoescape else "plain(1, 'a')" in fast
    assert "context set Context" in fast and "plain(11,)" in fast
    assert "[]" in fast  # StopIteration: undefined, as in Jinja


def test_stop_iteration_is_undefined_as_in_jinja():
    env = call_env(undefined=StrictUndefined)
    template = env.from_string("{{ stops() }}")
    with pytest.raises(UndefinedError) as jinja:
        template.render()
    with pytest.raises(UndefinedError) as fast:
        _template_render.render(template, {})
    assert str(fast.value) == str(jinja.value)


def test_plain_functions_and_methods_skip_context_call(monkeypatch):
    template = call_env().from_string(
        "{{ plain(1) }} {{ hello(2) }} {{ wants_context() }} {{ plain_callable(3) }}"
    )
    expected = template.render()
    called = []
    original = Context.call

    def spy(self, obj, *args, **kwargs):
        called.append(getattr(obj, "__name__", type(obj).__name__))
        return original(self, obj, *args, **kwargs)

    monkeypatch.setattr(Context, "call", spy)
    assert _template_render.render(template, {}) == expected
    # Only the marked function and the callable object go through Context.call.
    assert called == ["wants_context", "PlainCallable"]


def test_function_marked_after_registration_gets_its_context():
    env = call_env()

    def late(*args):
        return f"late {isinstance(args[0], Context) and args[0].name}{args[1:]}"

    env.globals["late"] = late
    template = env.from_string("{{ late('x', 1) }}", globals={})
    template.name = "named"
    assert _template_render.render(template, {}) == "late False(1,)"
    pass_context(late)
    assert _template_render.render(template, {}) == "late named('x', 1)" == template.render()
