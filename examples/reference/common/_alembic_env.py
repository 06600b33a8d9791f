"""The body of every service's ``migrations/env.py``: migrate on the connection given.

``Database.upgrade`` passes the connection, the metadata and the version
table in ``config.attributes``; run from the ``alembic`` command line
instead, the URL comes from ``DATABASE_URL``.
"""

from __future__ import annotations

import os
import typing as t

from sqlalchemy import MetaData, create_engine


def run(context: t.Any, metadata: MetaData, service: str) -> None:
    """Run the migrations of ``service`` online (offline SQL is not supported)."""
    attributes = context.config.attributes
    version_table = attributes.get("version_table", f"alembic_version_{service}")
    connection = attributes.get("connection")
    if connection is None:
        engine = create_engine(os.environ.get("DATABASE_URL", f"sqlite:///instance/{service}.db"))
        with engine.begin() as connection:
            _migrate(context, connection, metadata, version_table)
        return
    _migrate(context, connection, metadata, version_table)


def _migrate(context: t.Any, connection: t.Any, metadata: MetaData, version_table: str) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=version_table,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
