"""The database: one SQLAlchemy engine per app, one session per request, Alembic migrations.

SQLite by default (a file under the instance folder, or ``sqlite://`` in
memory for tests); PostgreSQL (or any SQLAlchemy URL) from ``DATABASE_URL``.
Each service migrates its own tables with its own Alembic version table,
so two services may share one database.
"""

from __future__ import annotations

import os
import typing as t

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from hermetic import current_app, g

if t.TYPE_CHECKING:  # pragma: no cover
    from hermetic import Flask

EXTENSION_KEY = "reference.db"


def _engine(url: str) -> Engine:
    options: dict[str, t.Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        options = {"connect_args": {"check_same_thread": False}}
        if url in ("sqlite://", "sqlite:///:memory:"):
            # One connection shared by every thread, or each would see an empty database.
            options["poolclass"] = StaticPool
        else:
            os.makedirs(os.path.dirname(url.removeprefix("sqlite:///")) or ".", exist_ok=True)
    engine = create_engine(url, **options)
    in_memory = url in ("sqlite://", "sqlite:///:memory:")
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: t.Any, _record: t.Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if not in_memory:
                # Readers do not wait for a writer, and writers queue for up to
                # 15 s rather than 5: 16 concurrent writers under load
                # (bench/reference_load.py) got "database is locked" as a 503.
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA busy_timeout=15000")
            cursor.close()

    return engine


class Database:
    """An app's engine, its session factory and its migrations.

    :param url: the SQLAlchemy URL.
    :param metadata: the service's tables (its models' ``Base.metadata``).
    :param migrations: the service's Alembic script folder.
    :param service: names the Alembic version table (``alembic_version_<service>``).
    """

    def __init__(self, url: str, metadata: MetaData, migrations: str, service: str) -> None:
        self.url = url
        self.engine = _engine(url)
        self.metadata = metadata
        self.migrations = migrations
        self.version_table = f"alembic_version_{service}"
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def init_app(self, app: Flask) -> None:
        """Close the request's session at teardown; answer 503 when the database is down.

        Migrate to the head now unless ``DATABASE_AUTO_MIGRATE`` is off (config,
        or ``0`` in the environment): with several replicas, run
        ``hermetic --app ... db-upgrade`` once per release instead.
        """
        app.extensions[EXTENSION_KEY] = self
        self.add_commands(app)
        auto = app.config.get("DATABASE_AUTO_MIGRATE")
        if auto is None:
            auto = os.environ.get("DATABASE_AUTO_MIGRATE", "1") not in ("0", "false", "no")
        if auto:
            self.upgrade()
        app.teardown_appcontext(_close_session)
        app.register_error_handler(OperationalError, _database_unavailable)

    def alembic_config(self) -> AlembicConfig:
        """Return the Alembic configuration of this service (no ``alembic.ini`` needed)."""
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", self.migrations)
        cfg.attributes["target_metadata"] = self.metadata
        cfg.attributes["version_table"] = self.version_table
        return cfg

    def upgrade(self, revision: str = "head") -> None:
        """Apply the migrations up to ``revision``."""
        cfg = self.alembic_config()
        with self.engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
        if self.engine.pool.__class__.__name__ != "StaticPool":
            # A server that forks after create_app (gunicorn --preload) must not
            # hand the parent's open connections to its workers.
            self.engine.dispose()

    def add_commands(self, app: Flask) -> None:
        """Add ``db-upgrade`` and ``db-current`` to the app's ``hermetic`` commands."""
        import click

        @app.cli.command("db-upgrade")
        @click.argument("revision", default="head")
        def db_upgrade(revision: str) -> None:
            """Apply this service's migrations (run once per release, before the workers)."""
            self.upgrade(revision)
            click.echo(f"{self.version_table}: upgraded to {revision}")

        @app.cli.command("db-current")
        def db_current() -> None:
            """Show this service's migration revision."""
            from alembic.migration import MigrationContext

            with self.engine.connect() as connection:
                context = MigrationContext.configure(
                    connection, opts={"version_table": self.version_table}
                )
                click.echo(context.get_current_revision() or "none")


def session() -> Session:
    """Return the current request's database session (made on first use)."""
    s = g.get("_db_session")
    if s is None:
        db: Database = current_app.extensions[EXTENSION_KEY]
        s = g._db_session = db.sessions()
    return t.cast(Session, s)


def _close_session(_exc: BaseException | None) -> None:
    s = g.pop("_db_session", None)
    if s is not None:
        s.close()


def _database_unavailable(_e: Exception) -> t.Any:
    from hermetic.security.audit import audit

    # SECURITY: the driver's message may name hosts and users; log the kind only.
    audit("dependency", reason="database_unavailable")
    body = {"title": "Service Unavailable", "status": 503, "detail": "Try again shortly."}
    return current_app.response_class(
        current_app.json.dumps(body), 503, mimetype="application/problem+json"
    )


def init_service_database(
    app: Flask, metadata: MetaData, package_file: str, service: str
) -> Database:
    """Give ``app`` the database of ``DATABASE_URL`` with the migrations beside ``package_file``."""
    db = Database(
        app.config["DATABASE_URL"],
        metadata,
        os.path.join(os.path.dirname(package_file), "migrations"),
        service,
    )
    db.init_app(app)
    return db
