"""MkDocs hooks of the documentation site (mkdocs.yml: ``hooks``).

GitHub's Markdown needs ``\\|`` for a pipe inside a code span in a table
cell (``str \\| None``, as the generated configuration reference writes
types); Python-Markdown keeps the pipe of a code span as it is and would
show the backslash. Drop it inside the code spans of table rows.

The configuration reference (generated, never edited by hand) gets the
whole width: its five-column tables need it more than a table of contents.
"""

from __future__ import annotations

import re
import typing as t

_CODE_SPAN = re.compile(r"`[^`\n]*`")


def _unescape(match: re.Match[str]) -> str:
    return match.group(0).replace("\\|", "|")


#: Pages shown without the table of contents on the right.
WIDE_PAGES = {"configuration.md"}


def on_page_markdown(markdown: str, page: t.Any, **kwargs: object) -> str:
    """Return ``markdown`` with ``\\|`` turned into ``|`` in table code spans."""
    if page.file.src_uri in WIDE_PAGES:
        page.meta.setdefault("hide", ["toc"])
    lines = markdown.split("\n")
    for index, line in enumerate(lines):
        if line.startswith("|") and "\\|" in line:
            lines[index] = _CODE_SPAN.sub(_unescape, line)
    return "\n".join(lines)
