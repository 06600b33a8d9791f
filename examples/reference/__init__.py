"""The reference system: identity, api and web, three services on hermetic.

``./scripts/example`` starts all three on loopback ports with embedded
defaults (see :mod:`examples.reference.run`); ``docs/reference.md`` shows
how the pieces fit together.
"""
