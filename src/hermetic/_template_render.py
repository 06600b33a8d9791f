"""Render a Jinja template without walking its globals chain in Python.

Jinja's ``Template.render(context)`` builds the template's context with
``dict(template.globals, **context)`` and ``set(template.globals)``, where
``template.globals`` is a ``ChainMap`` of the template's own globals over the
environment's. Both walk the chain through ``ChainMap``'s Python methods: on
a page with a handful of variables that is most of the cost of starting a
render. Here the chain is flattened with C-level dict operations into the
same keys, in the same order, with the same values, and the context is
built from that, as Jinja builds it, then rendered as ``Template.render``
renders it.

The context is a :class:`DirectCallContext`: Jinja's ``Context.call`` asks
every callable, on every call from a template (``{{ csrf_token() }}``),
whether it wants the context, the eval context or the environment passed
first, with two failed ``hasattr`` lookups; a plain function or bound method
says so in its ``__dict__``, which is read instead. Everything else is
``Context.call``'s.

Only a plain ``Template`` of a synchronous environment with Jinja's own
``Context``, and globals made of plain dicts, take this path; anything else
(a template or context subclass, async rendering, a mapping of another kind)
goes through ``Template.render``, which stays the authority.
"""

from __future__ import annotations

import typing as t
from collections import ChainMap
from types import FunctionType, MethodType

from jinja2 import Template
from jinja2.runtime import Context
from jinja2.utils import internalcode

__all__ = ["DirectCallContext", "render"]

#: The attribute ``pass_context``, ``pass_eval_context`` and
#: ``pass_environment`` set on the callables they mark.
_PASS_ARG = "jinja_pass_arg"  # nosec B105  # an attribute name of Jinja's, not a password


class DirectCallContext(Context):
    """Jinja's ``Context``, calling plain functions and methods without the probing.

    ``Context.call`` passes the context (or the eval context, or the
    environment) first to a callable marked with ``jinja_pass_arg``, or
    whose ``__call__`` is marked. A function's attributes live in its
    ``__dict__`` (its type has no such attribute, and a function's
    ``__call__`` carries none), and a bound method's are its function's: for
    those, unmarked and called without keyword arguments (the loop and block
    variables Jinja passes are keyword arguments), the call is made directly.
    """

    @internalcode
    def call(
        __self,  # noqa: N805  # Jinja's own signature: "self" may be a keyword argument
        __obj: t.Callable[..., t.Any],
        *args: t.Any,
        **kwargs: t.Any,
    ) -> t.Any:
        """Call ``__obj`` as :meth:`jinja2.runtime.Context.call` does."""
        if not kwargs:
            kind = type(__obj)
            func: t.Any = __obj
            if kind is MethodType:
                func = __obj.__func__  # type: ignore[attr-defined]  # a bound method
                kind = type(func)
            if kind is FunctionType and _PASS_ARG not in func.__dict__:
                try:
                    return __obj(*args)
                except StopIteration:
                    return __self.environment.undefined(
                        "value was undefined because a callable raised a StopIteration exception"
                    )
        return Context.call(__self, __obj, *args, **kwargs)


def flat_globals(template: Template) -> dict[str, t.Any] | None:
    """Return ``template``'s globals as one dict (iteration order and values as
    the chain gives them), or ``None`` when they are not plain dicts.

    The returned dict may be the environment's own ``globals``: read it, never
    change it.
    """
    chain = template.globals
    if type(chain) is dict:
        return chain
    if type(chain) is not ChainMap:
        return None
    maps = chain.maps
    if len(maps) == 2:
        own, shared = maps
        # The usual case: no template-specific globals over the environment's.
        if not own and type(own) is dict and type(shared) is dict:
            return shared
    if not all(type(m) is dict for m in maps):
        return None
    flat: dict[str, t.Any] = {}
    # A key keeps the place of its first appearance from the bottom of the
    # chain and takes the value of the topmost map, as ChainMap iterates.
    for m in reversed(maps):
        flat.update(m)
    return flat


def _takes_fast_path(template: Template) -> bool:
    cls = type(template)
    return (
        cls is Template
        and not template.environment.is_async
        and template.environment.context_class is Context
    )


def render(template: Template, context: dict[str, t.Any]) -> str:
    """Render ``template`` with ``context``: the same string as ``template.render(context)``."""
    if not _takes_fast_path(template):
        return template.render(context)
    flat = flat_globals(template)
    if flat is None:
        return template.render(context)
    env = template.environment
    # What jinja2.runtime.new_context builds for a context that is not shared:
    # the globals, then the variables over them (``**`` so that a key that is
    # not a string fails as it does there).
    ctx = DirectCallContext(
        env, dict(flat, **context), template.name, template.blocks, globals=flat
    )
    try:
        return env.concat(template.root_render_func(ctx))
    except Exception:
        env.handle_exception()
