"""Helpers used inside views: URLs, redirects, flashing, files, streaming."""

from __future__ import annotations

import importlib.util
import os
import sys
import typing as t
from functools import lru_cache, update_wrapper

import werkzeug.utils
from werkzeug.exceptions import abort as _werkzeug_abort
from werkzeug.utils import redirect as _werkzeug_redirect

from .globals import _cv_app, _cv_request, current_app, request, request_ctx, session
from .signals import message_flashed

if t.TYPE_CHECKING:  # pragma: no cover
    from werkzeug.wrappers import Response as BaseResponse

    from .wrappers import Response

__all__ = [
    "abort",
    "flash",
    "get_debug_flag",
    "get_flashed_messages",
    "get_load_dotenv",
    "get_root_path",
    "get_template_attribute",
    "make_response",
    "redirect",
    "send_file",
    "send_from_directory",
    "stream_with_context",
    "url_for",
]

_FALSE_WORDS = frozenset({"0", "false", "no"})


def get_debug_flag() -> bool:
    """Tell whether debug mode is asked for by ``HERMETIC_DEBUG`` or ``FLASK_DEBUG``."""
    value = os.environ.get("HERMETIC_DEBUG") or os.environ.get("FLASK_DEBUG")
    return bool(value and value.lower() not in _FALSE_WORDS)


def get_load_dotenv(default: bool = True) -> bool:
    """Tell whether dotenv files are loaded (``FLASK_SKIP_DOTENV`` turns them off)."""
    value = os.environ.get("HERMETIC_SKIP_DOTENV") or os.environ.get("FLASK_SKIP_DOTENV")
    if not value:
        return default
    return value.lower() in _FALSE_WORDS


def stream_with_context(generator_or_function: t.Any) -> t.Any:
    """Keep the request context alive while a streamed response is generated.

    Accepts a generator, or a generator function to use as a decorator.
    """
    try:
        gen = iter(generator_or_function)
    except TypeError:

        def decorator(*args: t.Any, **kwargs: t.Any) -> t.Any:
            return stream_with_context(generator_or_function(*args, **kwargs))

        return update_wrapper(decorator, generator_or_function)

    def wrapper() -> t.Iterator[t.Any]:
        req_ctx = _cv_request.get(None)
        if req_ctx is None:
            raise RuntimeError(
                "'stream_with_context' can only be used when a request"
                " context is active, such as in a view function."
            )
        app_ctx = _cv_app.get()
        # The first next() below runs up to here, inside the view, recording
        # the contexts. They are pushed only when the body is iterated, in the
        # server's own context (an async view runs in another one).
        yield None
        # The app context first, so the request context does not push another.
        with app_ctx, req_ctx:
            try:
                yield from gen
            finally:
                close = getattr(gen, "close", None)
                if close is not None:
                    close()

    wrapped = wrapper()
    next(wrapped)
    return wrapped


def make_response(*args: t.Any) -> Response:
    """Turn a view's return value into a response object to add headers to."""
    if not args:
        return current_app.response_class()
    value = args[0] if len(args) == 1 else args
    return current_app.make_response(value)


def url_for(
    endpoint: str,
    *,
    _anchor: str | None = None,
    _method: str | None = None,
    _scheme: str | None = None,
    _external: bool | None = None,
    **values: t.Any,
) -> str:
    """Build the URL of an endpoint (see :meth:`Flask.url_for`)."""
    return current_app.url_for(
        endpoint,
        _anchor=_anchor,
        _method=_method,
        _scheme=_scheme,
        _external=_external,
        **values,
    )


def redirect(
    location: str, code: int = 302, Response: type[BaseResponse] | None = None
) -> BaseResponse:
    """Return a redirect response, made by the current app when there is one."""
    ctx = _cv_app.get(None)
    if ctx is not None:
        return ctx.app.redirect(location, code=code)
    return _werkzeug_redirect(location, code=code, Response=Response)


def abort(code: int | BaseResponse, *args: t.Any, **kwargs: t.Any) -> t.NoReturn:
    """Raise the HTTP exception for ``code`` (the app's aborter when there is one)."""
    ctx = _cv_app.get(None)
    if ctx is not None:
        ctx.app.aborter(code, *args, **kwargs)
    _werkzeug_abort(code, *args, **kwargs)


def get_template_attribute(template_name: str, attribute: str) -> t.Any:
    """Load a macro (or variable) that a template exports."""
    return getattr(current_app.jinja_env.get_template(template_name).module, attribute)


def flash(message: str, category: str = "message") -> None:
    """Store a message in the session for the next request to show."""
    flashes = session.get("_flashes", [])
    flashes.append((category, message))
    session["_flashes"] = flashes
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # current_app is typed as the app; it is a LocalProxy
    message_flashed.send(app, _async_wrapper=app.ensure_sync, message=message, category=category)


def get_flashed_messages(
    with_categories: bool = False, category_filter: t.Iterable[str] = ()
) -> list[str] | list[tuple[str, str]]:
    """Pop the flashed messages; the same list is returned for the rest of the request."""
    flashes = request_ctx.flashes
    if flashes is None:
        flashes = session.pop("_flashes") if "_flashes" in session else []
        request_ctx.flashes = flashes
    if category_filter:
        wanted = set(category_filter)
        flashes = [item for item in flashes if item[0] in wanted]
    if not with_categories:
        return [item[1] for item in flashes]
    return flashes


def _send_file_options(**kwargs: t.Any) -> dict[str, t.Any]:
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # current_app is typed as the app; it is a LocalProxy
    if kwargs.get("max_age") is None:
        kwargs["max_age"] = app.get_send_file_max_age
    kwargs.update(
        environ=request.environ,
        use_x_sendfile=app.config["USE_X_SENDFILE"],
        response_class=app.response_class,
        _root_path=app.root_path,
    )
    return kwargs


def send_file(
    path_or_file: t.Any,
    mimetype: str | None = None,
    as_attachment: bool = False,
    download_name: str | None = None,
    conditional: bool = True,
    etag: bool | str = True,
    last_modified: t.Any = None,
    max_age: t.Any = None,
) -> Response:
    """Send a file or file-like object (see :func:`werkzeug.utils.send_file`)."""
    return werkzeug.utils.send_file(  # type: ignore[return-value]  # Werkzeug returns its Response; the app's class is passed in
        **_send_file_options(
            path_or_file=path_or_file,
            mimetype=mimetype,
            as_attachment=as_attachment,
            download_name=download_name,
            conditional=conditional,
            etag=etag,
            last_modified=last_modified,
            max_age=max_age,
        )
    )


def send_from_directory(directory: t.Any, path: t.Any, **kwargs: t.Any) -> Response:
    """Send a file from inside ``directory``; paths escaping it are a 404."""
    return werkzeug.utils.send_from_directory(  # type: ignore[return-value]  # Werkzeug returns its Response; the app's class is passed in
        directory, path, **_send_file_options(**kwargs)
    )


def get_root_path(import_name: str) -> str:
    """Find the folder of a module or package, for resources next to it."""
    module = sys.modules.get(import_name)
    module_file: str | None = getattr(module, "__file__", None) if module is not None else None
    if module_file is not None:
        return os.path.dirname(os.path.abspath(module_file))
    try:
        spec = importlib.util.find_spec(import_name)
        if spec is None:
            raise ValueError
    except (ImportError, ValueError):
        loader = None
    else:
        loader = spec.loader
    if loader is None:
        return os.getcwd()
    filepath: str | None
    if hasattr(loader, "get_filename"):
        filepath = loader.get_filename(import_name)
    else:
        __import__(import_name)
        filepath = getattr(sys.modules[import_name], "__file__", None)
        if filepath is None:
            raise RuntimeError(
                "No root path can be found for the provided module"
                f" {import_name!r}. This can happen because the module came"
                " from an import hook that does not provide file name"
                " information or because it's a namespace package. In this"
                " case the root path needs to be explicitly provided."
            )
    return os.path.dirname(os.path.abspath(t.cast(str, filepath)))  # set, or raised above


@lru_cache(maxsize=300)
def _split_blueprint_path(name: str) -> list[str]:
    parts = [name]
    while "." in name:
        name = name.rpartition(".")[0]
        parts.append(name)
    return parts
