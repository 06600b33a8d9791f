"""Class-based views."""

from __future__ import annotations

import typing as t

from .globals import current_app, request

if t.TYPE_CHECKING:  # pragma: no cover
    from .typing import ResponseReturnValue, RouteCallable

__all__ = [
    "http_method_funcs",
    "MethodView",
    "View",
]

#: The lowercase method names a :class:`MethodView` looks for.
http_method_funcs = frozenset(["get", "post", "head", "options", "delete", "put", "trace", "patch"])


class View:
    """Subclass and implement :meth:`dispatch_request`, then register
    ``YourView.as_view("name")`` as a view function.

    Class attributes set defaults for the route: :attr:`methods`,
    :attr:`provide_automatic_options` and :attr:`decorators`. By default a new
    instance serves each request; set :attr:`init_every_request` to ``False``
    to share one instance (then keep per-request data off ``self``).
    """

    #: The methods the view accepts, used when the route doesn't name any.
    methods: t.ClassVar[t.Collection[str] | None] = None

    #: Whether the route answers ``OPTIONS`` automatically; ``None`` lets the app decide.
    provide_automatic_options: t.ClassVar[bool | None] = None

    #: Decorators applied, in order, to the function :meth:`as_view` returns.
    decorators: t.ClassVar[list[t.Callable[..., t.Any]]] = []

    #: Whether each request gets a fresh instance.
    init_every_request: t.ClassVar[bool] = True

    def dispatch_request(self) -> ResponseReturnValue:
        """Handle the request; URL arguments arrive as keyword arguments."""
        raise NotImplementedError()

    @classmethod
    def as_view(cls, name: str, *class_args: t.Any, **class_kwargs: t.Any) -> RouteCallable:
        """Return a view function for the class, registered under ``name``.

        ``class_args`` and ``class_kwargs`` are passed to the constructor. The
        returned function's ``view_class`` attribute names the class to build,
        and may be replaced to swap the implementation.
        """
        if cls.init_every_request:

            def view(**kwargs: t.Any) -> ResponseReturnValue:
                # Read view_class at call time from the final (possibly
                # decorated) function so reassigning it takes effect.
                self = view.view_class(*class_args, **class_kwargs)  # type: ignore[attr-defined]
                return current_app.ensure_sync(self.dispatch_request)(**kwargs)  # type: ignore[no-any-return]  # ensure_sync returns an untyped callable

        else:
            instance = cls(*class_args, **class_kwargs)

            def view(**kwargs: t.Any) -> ResponseReturnValue:
                return current_app.ensure_sync(instance.dispatch_request)(**kwargs)  # type: ignore[no-any-return]  # ensure_sync returns an untyped callable

        if cls.decorators:
            # Decorators using functools.wraps copy these, so set them first.
            view.__name__ = name
            view.__module__ = cls.__module__
            for decorator in cls.decorators:
                view = decorator(view)

        view.view_class = cls  # type: ignore[attr-defined]  # Flask's attribute on a view function
        view.__name__ = name
        view.__doc__ = cls.__doc__
        view.__module__ = cls.__module__
        view.methods = cls.methods  # type: ignore[attr-defined]  # Flask's attribute on a view function
        view.provide_automatic_options = cls.provide_automatic_options  # type: ignore[attr-defined]  # Flask's attribute on a view function
        return view


class MethodView(View):
    """Dispatch each request to the method named after the HTTP method
    (``get``, ``post``, ...); ``HEAD`` falls back to ``get``.

    :attr:`methods` is filled in from the methods the class defines, plus the
    ``methods`` of its bases, unless the class sets it itself.
    """

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)

        if "methods" in cls.__dict__:
            return

        methods: set[str] = set()
        for base in cls.__bases__:
            base_methods = getattr(base, "methods", None)
            if base_methods:
                methods.update(base_methods)
        methods.update(name.upper() for name in http_method_funcs if hasattr(cls, name))
        if methods:
            cls.methods = methods

    def dispatch_request(self, **kwargs: t.Any) -> ResponseReturnValue:
        """Call the method for the request's HTTP method."""
        method = request.method
        handler = getattr(self, method.lower(), None)

        if handler is None and method == "HEAD":
            handler = getattr(self, "get", None)

        # bandit B101: Flask's MethodView raises AssertionError here; kept for parity.
        assert handler is not None, f"Unimplemented method {method!r}"  # nosec B101
        return current_app.ensure_sync(handler)(**kwargs)  # type: ignore[no-any-return]  # ensure_sync returns an untyped callable
