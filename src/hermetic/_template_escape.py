"""Autoescaping in compiled templates without two Python calls per expression.

A template Jinja compiles for autoescaping wraps each ``{{ expression }}`` in
``escape(...)``: markupsafe's ``escape``, a Python function, which for a
plain string returns ``Markup(text)``, whose ``__new__`` is Python again (it
asks the text for ``__html__``, which a plain string never has). On a page
that prints a handful of values, those two frames per value are most of the
cost of printing them.

:func:`escape` gives the same answer: for a ``str`` that is exactly a
``str`` (names, URLs, tokens), the ``Markup`` of markupsafe's escaped text,
made directly; anything else (``Markup``, objects with ``__html__``,
numbers, ``Undefined``, subclasses of ``str``) goes to markupsafe's
``escape``, which stays the authority. With a markupsafe before 3.0 (no
``_escape_inner``; its ``escape`` is C there), :func:`escape` is
markupsafe's own.

:class:`TemplateCodeGenerator` is Jinja's code generator, ending every
compiled template module with one more line that binds the module's global
``escape`` (Jinja imports it from ``jinja2.runtime`` at the top) to
:func:`escape`. The template's functions read that global when they run, so
every output of the module, in every eval context (``{% autoescape %}``
blocks included), uses it. Nothing else in the compiled code changes.
"""

from __future__ import annotations

import typing as t

import markupsafe
from jinja2.compiler import CodeGenerator, Frame
from jinja2.nodes import Template
from markupsafe import Markup
from markupsafe import escape as _markupsafe_escape

__all__ = ["TemplateCodeGenerator", "escape"]

#: ``str.__new__``: makes the ``Markup`` that ``Markup(text)`` makes for a
#: plain ``str`` (whose ``__new__`` finds no ``__html__`` on it).
_new_str = str.__new__


def _escaping_with(escape_inner: t.Callable[[str], str]) -> t.Callable[[t.Any], Markup]:
    def escape(s: t.Any, /) -> Markup:
        """Return ``markupsafe.escape(s)``: the same type, the same text."""
        if type(s) is str:
            # The escaping markupsafe.escape applies to a str; it returns a plain str.
            return _new_str(Markup, escape_inner(s))
        return _markupsafe_escape(s)

    return escape


#: markupsafe's escaping of a ``str`` (C when its speedups are built), from 3.0 on.
_ESCAPE_INNER: t.Callable[[str], str] | None = getattr(markupsafe, "_escape_inner", None)
escape = _markupsafe_escape if _ESCAPE_INNER is None else _escaping_with(_ESCAPE_INNER)

#: The line that rebinds ``escape`` in a compiled template module.
_BIND_ESCAPE = f"from {__name__} import escape"


class TemplateCodeGenerator(CodeGenerator):
    """Jinja's code generator; the compiled module escapes with :func:`escape`."""

    def visit_Template(self, node: Template, frame: Frame | None = None) -> None:
        """Write the module as Jinja does, then rebind its ``escape``."""
        super().visit_Template(node, frame)
        self.writeline(_BIND_ESCAPE)
