"""Tagged JSON: a compact JSON form that keeps non-JSON types intact.

The session cookie is serialized with it, and the output is byte for byte
what Flask produces, so a session signed by one can be read by the other.

A value JSON cannot represent is wrapped in a one-key object whose key is
a tag, and whose value is the JSON form of the data::

    (1, 2)                  {" t": [1, 2]}
    b"\\xff"                 {" b": "/w=="}           (base64)
    Markup("<b>")           {" m": "<b>"}
    UUID(...)               {" u": "<32 hex digits>"}
    datetime(...)           {" d": "Wed, 21 Oct 2015 07:28:00 GMT"}

Tag keys start with a space so they are unlikely to clash with real keys.
A real one-key dict whose key is a tag is escaped by appending ``__`` to
the key, and wrapped as ``{" di": {"<key>__": value}}``. Dicts and lists
are walked recursively; everything else is passed to JSON as is.

The tags are tried in order and the first whose :meth:`JSONTag.check`
accepts the value wins. Add a tag for another type by subclassing
:class:`JSONTag` and registering it::

    class TagOrderedDict(JSONTag):
        __slots__ = ("serializer",)
        key = " od"

        def check(self, value):
            return isinstance(value, OrderedDict)

        def to_json(self, value):
            return [[k, self.serializer.tag(v)] for k, v in value.items()]

        def to_python(self, value):
            return OrderedDict(value)

    app.session_interface.serializer.register(TagOrderedDict, index=0)
"""

from __future__ import annotations

import typing as t
from base64 import b64decode, b64encode
from datetime import datetime
from uuid import UUID

from markupsafe import Markup
from werkzeug.http import http_date, parse_date

from ..json import dumps, loads

__all__ = [
    "JSONTag",
    "PassDict",
    "PassList",
    "TagBytes",
    "TagDateTime",
    "TagDict",
    "TaggedJSONSerializer",
    "TagMarkup",
    "TagTuple",
    "TagUUID",
]


class JSONTag:
    """Base class for a type tag of :class:`TaggedJSONSerializer`."""

    __slots__ = ("serializer",)

    #: The tag marking the value in JSON. An empty key makes the tag only
    #: transform the value (like :class:`PassDict`), never wrap it.
    key: str = ""

    def __init__(self, serializer: TaggedJSONSerializer) -> None:
        self.serializer = serializer

    def check(self, value: t.Any) -> bool:
        """Return whether this tag should handle ``value``."""
        raise NotImplementedError

    def to_json(self, value: t.Any) -> t.Any:
        """Convert ``value`` to a JSON-serializable form, tagging nested values."""
        raise NotImplementedError

    def to_python(self, value: t.Any) -> t.Any:
        """Rebuild the Python value from its JSON form."""
        raise NotImplementedError

    def tag(self, value: t.Any) -> dict[str, t.Any]:
        """Convert ``value`` and wrap it in a one-key object with this tag's key."""
        return {self.key: self.to_json(value)}


class TagDict(JSONTag):
    """Escape a one-key dict whose key is a registered tag.

    Without this, ``{" t": [1]}`` would load back as a tuple.
    """

    __slots__ = ()
    key = " di"

    def check(self, value: t.Any) -> bool:
        return (
            isinstance(value, dict)
            and len(value) == 1
            and next(iter(value)) in self.serializer.tags
        )

    def to_json(self, value: t.Any) -> t.Any:
        ((key, item),) = value.items()
        return {f"{key}__": self.serializer.tag(item)}

    def to_python(self, value: t.Any) -> t.Any:
        ((key, item),) = value.items()
        return {key[:-2]: item}


class PassDict(JSONTag):
    """Tag the values of a dict, leaving the dict itself unwrapped."""

    __slots__ = ()

    def check(self, value: t.Any) -> bool:
        return isinstance(value, dict)

    def to_json(self, value: t.Any) -> t.Any:
        # JSON keys are strings; only the values may need tagging.
        tag = self.serializer.tag
        return {k: tag(v) for k, v in value.items()}

    tag = to_json


class TagTuple(JSONTag):
    """Keep tuples as tuples (JSON only has arrays)."""

    __slots__ = ()
    key = " t"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, tuple)

    def to_json(self, value: t.Any) -> t.Any:
        tag = self.serializer.tag
        return [tag(item) for item in value]

    def to_python(self, value: t.Any) -> t.Any:
        return tuple(value)


class PassList(JSONTag):
    """Tag the items of a list, leaving the list itself unwrapped."""

    __slots__ = ()

    def check(self, value: t.Any) -> bool:
        return isinstance(value, list)

    def to_json(self, value: t.Any) -> t.Any:
        tag = self.serializer.tag
        return [tag(item) for item in value]

    tag = to_json


class TagBytes(JSONTag):
    """Store bytes as base64 text."""

    __slots__ = ()
    key = " b"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, bytes)

    def to_json(self, value: t.Any) -> t.Any:
        return b64encode(value).decode("ascii")

    def to_python(self, value: t.Any) -> t.Any:
        return b64decode(value)


class TagMarkup(JSONTag):
    """Store objects with an ``__html__`` method as their HTML; load them as
    :class:`~markupsafe.Markup`.
    """

    __slots__ = ()
    key = " m"

    def check(self, value: t.Any) -> bool:
        return callable(getattr(value, "__html__", None))

    def to_json(self, value: t.Any) -> t.Any:
        return str(value.__html__())

    def to_python(self, value: t.Any) -> t.Any:
        # bandit B704: only what this serializer tagged as Markup (signed session data).
        return Markup(value)  # nosec B704


class TagUUID(JSONTag):
    """Store a :class:`~uuid.UUID` as its 32 hex digits."""

    __slots__ = ()
    key = " u"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, UUID)

    def to_json(self, value: t.Any) -> t.Any:
        return value.hex

    def to_python(self, value: t.Any) -> t.Any:
        return UUID(value)


class TagDateTime(JSONTag):
    """Store a :class:`~datetime.datetime` as an HTTP date (second precision, UTC)."""

    __slots__ = ()
    key = " d"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, datetime)

    def to_json(self, value: t.Any) -> t.Any:
        return http_date(value)

    def to_python(self, value: t.Any) -> t.Any:
        return parse_date(value)


class TaggedJSONSerializer:
    """Serialize values to tagged JSON and back; see the module docs for the format."""

    __slots__ = ("tags", "order")

    #: The tags registered by every new serializer, in order. Tags
    #: registered later are tried after these unless given an index.
    default_tags = [
        TagDict,
        PassDict,
        TagTuple,
        PassList,
        TagBytes,
        TagMarkup,
        TagUUID,
        TagDateTime,
    ]

    def __init__(self) -> None:
        self.tags: dict[str, JSONTag] = {}
        self.order: list[JSONTag] = []

        for cls in self.default_tags:
            self.register(cls)

    def register(
        self, tag_class: type[JSONTag], force: bool = False, index: int | None = None
    ) -> None:
        """Add a tag to this serializer.

        :param tag_class: The :class:`JSONTag` subclass; it is instantiated
            with this serializer.
        :param force: Replace a tag already registered with the same key
            instead of raising :exc:`KeyError`.
        :param index: Where to insert the tag in the check order; the end
            by default.
        """
        tag = tag_class(self)
        key = tag.key

        if key:
            if not force and key in self.tags:
                raise KeyError(f"Tag '{key}' is already registered. Pass force=True to replace it.")

            self.tags[key] = tag

        if index is None:
            self.order.append(tag)
        else:
            self.order.insert(index, tag)

    def tag(self, value: t.Any) -> t.Any:
        """Convert ``value`` to its tagged JSON-serializable form."""
        for tag in self.order:
            if tag.check(value):
                return tag.tag(value)

        return value

    def untag(self, value: dict[str, t.Any]) -> t.Any:
        """Rebuild the Python value from a tagged one-key object, if it is one."""
        if len(value) != 1:
            return value

        key = next(iter(value))
        tag = self.tags.get(key)

        if tag is None:
            return value

        return tag.to_python(value[key])

    def _untag_scan(self, value: t.Any) -> t.Any:
        """Untag ``value`` and everything nested in it, innermost first."""
        if isinstance(value, dict):
            value = self.untag({k: self._untag_scan(v) for k, v in value.items()})
        elif isinstance(value, list):
            value = [self._untag_scan(item) for item in value]

        return value

    def dumps(self, value: t.Any) -> str:
        """Tag ``value`` and serialize it to compact JSON."""
        # The app's provider (sorted keys) in an app context, like Flask.
        return dumps(self.tag(value), separators=(",", ":"))

    def loads(self, value: str) -> t.Any:
        """Deserialize tagged JSON, rebuilding the tagged values."""
        return self._untag_scan(loads(value))
