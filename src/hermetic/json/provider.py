"""JSON providers: the pluggable serializer behind ``app.json``."""

from __future__ import annotations

import dataclasses
import decimal
import json
import typing as t
import uuid
import weakref
from datetime import date

from werkzeug.http import http_date

if t.TYPE_CHECKING:  # pragma: no cover
    from werkzeug.sansio.response import Response

    from ..app import Flask

__all__ = [
    "DefaultJSONProvider",
    "JSONProvider",
]


class JSONProvider:
    """Base class for the JSON operations of an app.

    Subclass it and set :attr:`~hermetic.Flask.json_provider_class`, or
    assign an instance to ``app.json``, to use another JSON library. A
    subclass must implement :meth:`dumps` and :meth:`loads`; the other
    methods build on those two.
    """

    def __init__(self, app: Flask) -> None:
        # A weak reference, because the app holds the provider.
        self._app: Flask = weakref.proxy(app) if app is not None else None  # type: ignore[assignment]

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialize ``obj`` to a JSON string."""
        raise NotImplementedError

    def dump(self, obj: t.Any, fp: t.IO[str], **kwargs: t.Any) -> None:
        """Serialize ``obj`` as JSON and write it to the text file ``fp``."""
        fp.write(self.dumps(obj, **kwargs))

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        """Deserialize a JSON string or bytes."""
        raise NotImplementedError

    def load(self, fp: t.IO[t.AnyStr], **kwargs: t.Any) -> t.Any:
        """Read the file ``fp`` and deserialize its JSON content."""
        return self.loads(fp.read(), **kwargs)

    def _prepare_response_obj(self, args: tuple[t.Any, ...], kwargs: dict[str, t.Any]) -> t.Any:
        """Pick the data to serialize from ``response()``'s arguments."""
        if args and kwargs:
            raise TypeError("app.json.response() takes either args or kwargs, not both")

        if not args and not kwargs:
            return None

        if len(args) == 1:
            return args[0]

        return args or kwargs

    def response(self, *args: t.Any, **kwargs: t.Any) -> Response:
        """Return an ``application/json`` response serializing the arguments.

        Pass either one value, several positional values (sent as a list)
        or keyword arguments (sent as an object), not both.
        """
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(self.dumps(obj), mimetype="application/json")


def _default(o: t.Any) -> t.Any:
    """Convert the types the ``json`` module does not know to JSON values."""
    if isinstance(o, date):
        # datetime is a date subclass; both become an HTTP date string.
        return http_date(o)

    if isinstance(o, (decimal.Decimal, uuid.UUID)):
        return str(o)

    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return dataclasses.asdict(o)

    if hasattr(o, "__html__"):
        return str(o.__html__())

    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


class DefaultJSONProvider(JSONProvider):
    """Serialize with the standard library's :mod:`json`.

    Besides the usual JSON types it handles :class:`datetime.date` and
    :class:`~datetime.datetime` (as RFC 822 HTTP dates), :class:`decimal.Decimal`,
    :class:`uuid.UUID`, dataclasses and objects with an ``__html__`` method.
    """

    #: Called for objects :mod:`json` cannot serialize; return a
    #: serializable value or raise ``TypeError``. Replaceable per instance.
    default: t.Callable[[t.Any], t.Any] = staticmethod(_default)

    #: Escape non-ASCII characters. Turning it off is faster but some
    #: consumers cannot handle the raw characters.
    ensure_ascii = True

    #: Sort the keys of objects so the output is stable, for example for caching.
    sort_keys = True

    #: ``True``, or ``None`` outside debug mode: responses are compact.
    #: ``False``, or ``None`` in debug mode: responses are indented.
    compact: bool | None = None

    #: The mimetype of :meth:`response`.
    mimetype = "application/json"

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialize ``obj`` with :func:`json.dumps`, applying this provider's settings.

        Keyword arguments override :attr:`default`, :attr:`ensure_ascii`
        and :attr:`sort_keys`.
        """
        kwargs.setdefault("default", self.default)
        kwargs.setdefault("ensure_ascii", self.ensure_ascii)
        kwargs.setdefault("sort_keys", self.sort_keys)
        return json.dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        """Deserialize with :func:`json.loads`."""
        return json.loads(s, **kwargs)

    def response(self, *args: t.Any, **kwargs: t.Any) -> Response:
        """Return a JSON response with :attr:`mimetype`, ending with a newline.

        The output is indented in debug mode unless :attr:`compact` says
        otherwise.
        """
        obj = self._prepare_response_obj(args, kwargs)
        compact = self.compact

        if compact is None:
            compact = not self._app.debug

        if compact:
            text = self.dumps(obj, separators=(",", ":"))
        else:
            text = self.dumps(obj, indent=2)

        app = self._app
        # The app builds plain text responses directly when that is provably
        # the same as calling response_class (see wrappers._make_text_maker).
        maker = app._text_maker() if hasattr(app, "_text_maker") else None
        if maker is not None:
            return maker(f"{text}\n", self.mimetype)
        return app.response_class(f"{text}\n", mimetype=self.mimetype)
