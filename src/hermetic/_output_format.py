"""The ``--format text|json`` option of ``hermetic check`` and ``hermetic migrate``.

It lives outside the ``hermetic.cli`` package: ``hermetic.security.checks``
defines ``hermetic check`` and is imported by that package, so importing the
option from inside it would make the two import each other.
"""

from __future__ import annotations

import click

#: ``--format text|json``, for ``hermetic check`` and ``hermetic migrate``.
output_format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="The output format.",
)
