"""Check a configuration value against a type expression, and describe the type.

The type expressions are the ones settings are annotated with: ``bool``,
``int``, ``float``, ``str``, ``bytes``, ``None``, ``typing.Any``, classes
(``timedelta``, ``re.Pattern``), unions (``str | None``), ``Literal[...]``,
sequences (``tuple[str, ...]``, ``list[str]``, ``Sequence[str]``,
``frozenset[str]``) and mappings (``dict[str, int]``, ``Mapping[str, Any]``).
A list given for a sequence type comes back as a tuple, so a frozen settings
object holds no mutable list.
"""

from __future__ import annotations

import collections.abc as cabc
import types
import typing as t

#: Returned by :func:`convert` when a value does not fit the type.
MISMATCH: t.Any = object()

_SEQUENCES = (tuple, list, cabc.Sequence, frozenset, set, cabc.Set, cabc.Iterable)
_MAPPINGS = (dict, cabc.Mapping)
_NAMES: dict[t.Any, tuple[str, str]] = {
    # type: (short name for the reference, phrase for error messages)
    bool: ("bool", "True or False"),
    int: ("int", "an integer"),
    float: ("float", "a number"),
    str: ("str", "a string"),
    bytes: ("bytes", "bytes"),
    type(None): ("None", "None"),
}


def _is_union(tp: t.Any) -> bool:
    return t.get_origin(tp) is t.Union or isinstance(tp, types.UnionType)


def convert(tp: t.Any, value: t.Any) -> t.Any:
    """Return ``value`` fitted to ``tp`` (lists become tuples), or :data:`MISMATCH`."""
    if tp is t.Any or tp is object:
        return value
    if tp is None or tp is type(None):
        return None if value is None else MISMATCH
    if _is_union(tp):
        for arg in t.get_args(tp):
            converted = convert(arg, value)
            if converted is not MISMATCH:
                return converted
        return MISMATCH
    origin = t.get_origin(tp)
    if origin is t.Literal:
        choices = t.get_args(tp)
        # ``True == 1``: a choice must match in type too.
        return value if any(value == c and type(value) is type(c) for c in choices) else MISMATCH
    if origin in _SEQUENCES:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, set, frozenset)):
            return MISMATCH
        args = t.get_args(tp)
        item_type = args[0] if args else t.Any
        items = [convert(item_type, item) for item in value]
        if any(item is MISMATCH for item in items):
            return MISMATCH
        return frozenset(items) if origin in (frozenset, set, cabc.Set) else tuple(items)
    if origin in _MAPPINGS:
        if not isinstance(value, cabc.Mapping):
            return MISMATCH
        key_type, value_type = t.get_args(tp) or (t.Any, t.Any)
        result = {}
        for key, item in value.items():
            converted_key = convert(key_type, key)
            converted_item = convert(value_type, item)
            if converted_key is MISMATCH or converted_item is MISMATCH:
                return MISMATCH
            result[converted_key] = converted_item
        return result
    if isinstance(origin, type):
        # A generic class that is not a container (``re.Pattern[str]``).
        return value if isinstance(value, origin) else MISMATCH
    if tp is bool:
        return value if isinstance(value, bool) else MISMATCH
    if tp is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else MISMATCH
    if tp is float:
        return (
            value if isinstance(value, (int, float)) and not isinstance(value, bool) else MISMATCH
        )
    if isinstance(tp, type):
        return value if isinstance(value, tp) else MISMATCH
    raise TypeError(f"Settings cannot check values of type {tp!r}; use parse= instead.")


def name(tp: t.Any) -> str:
    """Return the short name of ``tp`` for the reference (``str | None``, ``list[str]``)."""
    if tp is t.Any or tp is object:
        return "any"
    if tp is None:
        return "None"
    if _is_union(tp):
        return " | ".join(name(arg) for arg in t.get_args(tp))
    origin = t.get_origin(tp)
    if origin is t.Literal:
        return " | ".join(repr(c) for c in t.get_args(tp))
    if origin in _SEQUENCES:
        args = t.get_args(tp)
        return f"list[{name(args[0]) if args else 'any'}]"
    if origin in _MAPPINGS:
        args = t.get_args(tp) or (t.Any, t.Any)
        return f"dict[{name(args[0])}, {name(args[1])}]"
    if tp in _NAMES:
        return _NAMES[tp][0]
    return getattr(tp, "__name__", repr(tp))


def phrase(tp: t.Any) -> str:
    """Return ``tp`` in words for an error message (``a string or None``)."""
    if tp is t.Any or tp is object:
        return "any value"
    if tp is None:
        return "None"
    if _is_union(tp):
        parts = [phrase(arg) for arg in t.get_args(tp)]
        return ", ".join(parts[:-1]) + " or " + parts[-1] if len(parts) > 1 else parts[0]
    origin = t.get_origin(tp)
    if origin is t.Literal:
        choices = [repr(c) for c in t.get_args(tp)]
        return "one of " + ", ".join(choices)
    if origin in _SEQUENCES:
        args = t.get_args(tp)
        return f"a list of {_plural(args[0])}" if args and args[0] is not t.Any else "a list"
    if origin in _MAPPINGS:
        args = t.get_args(tp) or (t.Any, t.Any)
        if args == (t.Any, t.Any):
            return "a dict"
        return f"a dict of {name(args[0])} to {name(args[1])}"
    if tp in _NAMES:
        return _NAMES[tp][1]
    return f"a {getattr(tp, '__name__', repr(tp))}"


def _plural(tp: t.Any) -> str:
    words = phrase(tp)
    for article in ("a ", "an "):
        if words.startswith(article) and " or " not in words:
            return words[len(article) :] + "s"
    return f"items ({words})"
