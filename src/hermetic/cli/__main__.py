"""Run the ``hermetic`` command: ``python -m hermetic.cli``."""

from __future__ import annotations

from .group import main

main()
