"""A matcher for rules made of whole-segment variables: ``/hello/<name>``, ``/items/<int:id>``.

Werkzeug's state machine stays the authority. This table answers only when
exactly one rule of the whole map can match the path: it never has to know
Werkzeug's priorities (static before dynamic, converter weights), because it
never chooses between rules. A rule is *simple* when every segment is either
plain text or one variable taking the whole segment with a built-in,
part-isolating converter, and it has no trailing slash, no ``//``, no host,
subdomain, redirect, alias or websocket flag. Every other rule (a ``path``
converter, ``/file-<int:n>.txt``, ``/dir/``, a custom converter) *blocks* the
paths that begin with its leading plain segments; a blocked path, a path
with an empty segment (``//``, a trailing slash), two candidate rules or a
converter that refuses the value: the table says nothing and Werkzeug
matches.

For one candidate, what this table does is what Werkzeug's matcher does for
it: each variable segment is tested with ``re.match(f"(?:{regex})\\Z")`` (an
equivalent string test for the default ``string`` and ``int`` converters)
and converted with the converter's own ``to_python``.
``tests/test_segment_router.py`` compares the two over many generated rule
sets and paths.
"""

from __future__ import annotations

import re
import typing as t

from werkzeug.routing.converters import (
    AnyConverter,
    FloatConverter,
    IntegerConverter,
    UnicodeConverter,
    UUIDConverter,
)

if t.TYPE_CHECKING:  # pragma: no cover
    from werkzeug.routing import Map, Rule

__all__ = ["SegmentTable"]

# Converters whose regex never matches "/" (part-isolating) and whose
# to_python depends on the value only.
_BUILTIN = (UnicodeConverter, IntegerConverter, FloatConverter, UUIDConverter, AnyConverter)
_VARIABLE = re.compile(
    r"<(?:[a-zA-Z_][a-zA-Z0-9_]*(?:\(.*?\))?:)?(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>\Z"
)

# How a variable segment is tested: None (any non-empty segment), _INT
# (str.isdecimal: what ``\d+\Z`` accepts, Unicode digits included), or a
# compiled regex.
_INT = "int"
_Test = t.Union[None, str, "re.Pattern[str]"]
# One variable: its position, its name, its test, the converter's to_python.
_Var = tuple[int, str, _Test, t.Callable[[str], t.Any]]
# One simple rule: its static segments (position, text), its variables, the rule.
_Pattern = tuple[tuple[tuple[int, str], ...], tuple[_Var, ...], "Rule"]


def _test_for(converter: t.Any) -> _Test:
    if type(converter) is UnicodeConverter and converter.regex == "[^/]{1,}":
        return None
    if (
        type(converter) is IntegerConverter
        and converter.regex == r"\d+"
        and not converter.fixed_digits
    ):
        return _INT
    return re.compile(f"(?:{converter.regex})\\Z")


def _parse(rule: Rule) -> tuple[list[str], _Pattern | None]:
    """Return the rule's leading plain segments, and its pattern when it is simple."""
    segments = rule.rule.split("/")[1:]
    prefix: list[str] = []
    for segment in segments:
        if "<" in segment or segment == "":
            break
        prefix.append(segment)
    if (
        not rule.rule.startswith("/")
        or rule.redirect_to is not None
        or rule.build_only
        or rule.alias
        or rule.websocket
        or rule.host
        or rule.subdomain
    ):
        return prefix, None
    statics: list[tuple[int, str]] = []
    variables: list[_Var] = []
    converters = rule._converters
    for position, segment in enumerate(segments):
        if segment == "":
            return prefix, None  # a trailing slash or "//": Werkzeug's redirects
        if "<" not in segment and ">" not in segment:
            statics.append((position, segment))
            continue
        found = _VARIABLE.match(segment)
        if found is None:
            return prefix, None
        name = found.group("name")
        converter = converters.get(name)
        if converter is None or type(converter) not in _BUILTIN or not converter.part_isolating:
            return prefix, None
        variables.append((position, name, _test_for(converter), converter.to_python))
    if [name for _, name, _, _ in variables] != list(converters):
        return prefix, None
    return prefix, (tuple(statics), tuple(variables), rule)


# A pattern as the table keeps it: the plain segments still to compare, the
# variable segments to test, the (position, to_python) conversions, the rule.
_Entry = tuple[
    tuple[tuple[int, str], ...],
    tuple[tuple[int, t.Any], ...],
    tuple[tuple[int, str, t.Callable[[str], t.Any] | None], ...],
    "Rule",
]


def _entry(pattern: _Pattern, keyed: bool) -> _Entry:
    statics, variables, rule = pattern
    return (
        statics[1:] if keyed else statics,
        tuple((position, test) for position, _, test, _ in variables if test is not None),
        tuple(
            (position, name, _plain_conversion(rule._converters[name], to_python))
            for position, name, _, to_python in variables
        ),
        rule,
    )


def _plain_conversion(converter: t.Any, to_python: t.Any) -> t.Any:
    """``to_python``, or what it amounts to for the default converters.

    ``string``'s ``to_python`` returns the segment as it is (``None`` here:
    nothing to call); ``int`` without ``fixed_digits``, ``min`` or ``max``
    returns ``int(segment)`` of a segment already known to be decimal digits.
    """
    if type(converter) is UnicodeConverter:
        return None
    if (
        type(converter) is IntegerConverter
        and _test_for(converter) is _INT
        and converter.min is None
        and converter.max is None
        and converter.num_convert is int
    ):
        return int
    return to_python


class SegmentTable:
    """Rules with whole-segment variables, indexed by segment count and first segment."""

    __slots__ = ("_by_first", "_by_count", "_blocked", "_block_all")

    def __init__(self, rules: t.Iterable[Rule]) -> None:
        by_first: dict[tuple[int, str], list[_Entry]] = {}
        by_count: dict[int, list[_Entry]] = {}
        blocked: set[str] = set()
        block_all = False
        for rule in rules:
            prefix, pattern = _parse(rule)
            if pattern is None:
                if rule.rule == "/" and not rule.host and not rule.subdomain:
                    continue  # matches "/" alone, which the table never answers
                if prefix:
                    blocked.add(prefix[0])
                else:
                    block_all = True
                continue
            count = rule.rule.count("/")
            statics = pattern[0]
            if statics and statics[0][0] == 0:
                by_first.setdefault((count, statics[0][1]), []).append(_entry(pattern, True))
            else:
                by_count.setdefault(count, []).append(_entry(pattern, False))
        self._by_first = {key: tuple(group) for key, group in by_first.items()}
        self._by_count = {key: tuple(group) for key, group in by_count.items()}
        self._blocked = frozenset(blocked)
        self._block_all = block_all

    @classmethod
    def for_map(cls, url_map: Map) -> SegmentTable:
        """Build the table for every rule of ``url_map``."""
        return cls(url_map.iter_rules())

    def match(self, path: str, method: str) -> tuple[Rule, dict[str, t.Any]] | None:
        """Return the only rule matching ``path`` for ``method``, with its values.

        ``path`` is the decoded path (``str`` as Werkzeug matches it); ``None``
        means "ask Werkzeug".
        """
        if self._block_all or path[:1] != "/":
            return None
        segments = path[1:].split("/")
        first = segments[0]
        if "" in segments or first in self._blocked:
            return None
        count = len(segments)
        found: _Entry | None = None
        for group in (self._by_first.get((count, first), ()), self._by_count.get(count, ())):
            for entry in group:
                for position, text in entry[0]:
                    if segments[position] != text:
                        break
                else:
                    if entry[1] and not _segments_pass(entry[1], segments):
                        continue
                    methods = entry[3].methods
                    if methods is not None and method not in methods:
                        continue
                    if found is not None:
                        return None  # two rules could answer: Werkzeug chooses
                    found = entry
        if found is None:
            return None
        values: dict[str, t.Any] = {}
        try:
            for position, name, to_python in found[2]:
                if to_python is None:
                    values[name] = segments[position]
                else:
                    values[name] = to_python(segments[position])
        except Exception:
            return None  # a refused value: Werkzeug answers (a 404, usually)
        rule = found[3]
        if rule.defaults:
            values.update(rule.defaults)
        return rule, values


def _segments_pass(tests: tuple[tuple[int, t.Any], ...], segments: list[str]) -> bool:
    for position, test in tests:
        segment = segments[position]
        if test is _INT:
            if not segment.isdecimal():
                return False
        elif test.match(segment) is None:
            return False
    return True
