"""JSON providers: the pluggable serializer behind ``app.json``."""

from __future__ import annotations

import dataclasses
import decimal
import json
import json.encoder
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
        return self._response_of(self._prepare_response_obj(args, kwargs))

    def _response_of(self, obj: t.Any) -> Response:
        # response() for one value: what make_response calls for a dict or list.
        compact = self.compact
        if compact is None:
            compact = not self._app.debug
        if type(self).dumps is DefaultJSONProvider.dumps and "dumps" not in self.__dict__:
            # What dumps() would do, with the encoder json.dumps would build
            # for these settings made once (an encoder keeps no state between
            # calls; tests/json/test_json_fast.py compares the two).
            text = _encoder(self.default, self.ensure_ascii, self.sort_keys, compact)(obj)
        elif compact:
            text = self.dumps(obj, separators=(",", ":"))
        else:
            text = self.dumps(obj, indent=2)

        app = self._app
        # The app builds plain text responses directly when that is provably
        # the same as calling response_class (see _response_makers._make_text_maker).
        maker = app._text_maker() if hasattr(app, "_text_maker") else None
        if maker is not None:
            return maker(f"{text}\n", self.mimetype)
        return app.response_class(f"{text}\n", mimetype=self.mimetype)


#: Encoding functions by (default, ensure_ascii, sort_keys, compact): a
#: handful of settings in practice, emptied when an app keeps changing them.
_ENCODERS: dict[tuple[t.Any, ...], t.Callable[[t.Any], str]] = {}


def _encoder(
    default: t.Any, ensure_ascii: t.Any, sort_keys: t.Any, compact: bool
) -> t.Callable[[t.Any], str]:
    """``obj -> str``, as ``json.dumps`` encodes for :meth:`DefaultJSONProvider.response`."""
    key = (default, ensure_ascii, sort_keys, compact)
    try:
        encode = _ENCODERS.get(key)
    except TypeError:  # an unhashable default: made anew, as json.dumps does
        return _make_encoder(default, ensure_ascii, sort_keys, compact)
    if encode is None:
        encode = _make_encoder(default, ensure_ascii, sort_keys, compact)
        if len(_ENCODERS) >= 16:
            _ENCODERS.clear()
        _ENCODERS[key] = encode
    return encode


def _make_encoder(
    default: t.Any, ensure_ascii: t.Any, sort_keys: t.Any, compact: bool
) -> t.Callable[[t.Any], str]:
    layout: dict[str, t.Any] = {"separators": (",", ":")} if compact else {"indent": 2}
    # The encoder json.dumps builds for these arguments; it keeps no state
    # between calls, so one serves every request.
    encoder = json.JSONEncoder(
        default=default, ensure_ascii=ensure_ascii, sort_keys=sort_keys, **layout
    )
    make_c = getattr(json.encoder, "c_make_encoder", None)  # the C accelerator, if built
    if not compact or default is None or make_c is None:
        return encoder.encode
    # For compact output, JSONEncoder.encode of a dict or list runs the C
    # encoder made with a fresh circular-reference table per call: the same
    # call, without the Python layers in between.
    quote = json.encoder.encode_basestring_ascii if ensure_ascii else json.encoder.encode_basestring
    item_sep, key_sep = encoder.item_separator, encoder.key_separator
    join = "".join

    def encode(obj: t.Any) -> str:
        if type(obj) is not dict and type(obj) is not list:
            return encoder.encode(obj)
        chunks = make_c({}, default, quote, None, key_sep, item_sep, sort_keys, False, True)(obj, 0)
        return join(chunks)

    return encode
