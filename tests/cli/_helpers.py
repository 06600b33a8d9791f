"""Helpers shared by the CLI tests."""

from __future__ import annotations

from hermetic.cli import FlaskGroup


def make_group(**kwargs):
    """Return a FlaskGroup like the ``hermetic`` command."""
    return FlaskGroup(name="hermetic", **kwargs)
