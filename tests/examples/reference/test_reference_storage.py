"""Storage: each service's migrations build exactly its models' tables, and go back down."""

from __future__ import annotations

import os
import secrets

import examples.reference.api as api_pkg
import examples.reference.identity as identity_pkg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from examples.reference.api import create_app as create_api
from examples.reference.api.models import Base as ApiBase
from examples.reference.api.models import Note
from examples.reference.common.db import Database
from examples.reference.common.db import session as db_session
from examples.reference.common.settings import base_config, read_secret
from examples.reference.identity.models import Base as IdentityBase
from sqlalchemy import create_engine, inspect, select

from hermetic.security import public

SERVICES = [
    ("identity", identity_pkg, IdentityBase),
    ("api", api_pkg, ApiBase),
]


@pytest.mark.parametrize(("service", "package", "base"), SERVICES, ids=[s[0] for s in SERVICES])
def test_migrations_match_the_models(tmp_path, service, package, base):
    migrations = os.path.join(os.path.dirname(package.__file__), "migrations")
    db = Database(f"sqlite:///{tmp_path}/{service}.db", base.metadata, migrations, service)
    db.upgrade()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": db.version_table, "compare_type": True}
        )
        assert compare_metadata(context, base.metadata) == []
        assert f"alembic_version_{service}" in inspect(connection).get_table_names()
    cfg = db.alembic_config()
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "base")
    with db.engine.connect() as connection:
        assert inspect(connection).get_table_names() == [f"alembic_version_{service}"]


def test_two_services_share_one_database(tmp_path):
    url = f"sqlite:///{tmp_path}/shared.db"
    for service, package, base in SERVICES:
        migrations = os.path.join(os.path.dirname(package.__file__), "migrations")
        Database(url, base.metadata, migrations, service).upgrade()
    db = Database(url, ApiBase.metadata, "", "api")
    with db.engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
    assert {
        "users",
        "roles",
        "notes",
        "members",
        "alembic_version_api",
        "alembic_version_identity",
    } <= tables


def test_settings_come_from_the_environment_and_secret_files(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file\n")
    env = {"DATABASE_URL": "postgresql://db/app", "WEB_CLIENT_SECRET_FILE": str(secret_file)}
    assert base_config("api", {}, env)["DATABASE_URL"] == "postgresql://db/app"
    assert read_secret("WEB_CLIENT_SECRET", env) == "from-a-file"
    (tmp_path / "web_client_secret").write_text("from-the-folder")
    assert (
        read_secret("WEB_CLIENT_SECRET", {"HERMETIC_SECRETS_DIR": str(tmp_path)})
        == "from-the-folder"
    )
    assert (
        read_secret("WEB_CLIENT_SECRET", {"HERMETIC_SECRETS_DIR": str(tmp_path / "none")}) is None
    )


def test_development_and_production_cookie_settings():
    dev = base_config("web", {}, {})
    prod = base_config("web", {}, {"REFERENCE_ENV": "production"})
    assert dev["SESSION_COOKIE_SECURE"] is False and "SESSION_COOKIE_SECURE" not in prod
    with pytest.raises(ValueError, match="REFERENCE_ENV"):
        base_config("web", {}, {"REFERENCE_ENV": "staging"})


def test_a_database_outage_is_a_503(tmp_path):
    app = create_api(
        {
            "TESTING": True,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": "sqlite://",
            "JWT_TRUSTED_ISSUERS": {"https://identity.test": []},
        }
    )
    # The database goes away: its file cannot be opened any more.
    gone = create_engine(f"sqlite:///{tmp_path}/missing-dir/api.db")
    app.extensions["reference.db"].sessions.configure(bind=gone)

    @app.get("/probe")
    @public
    def probe():
        db_session().scalars(select(Note)).all()
        return "unreachable"

    response = app.test_client().get("/probe", headers={"Accept": "application/json"})
    assert response.status_code == 503
    assert response.json["detail"] == "Try again shortly." and "missing-dir" not in response.text


def test_migrations_can_run_apart_from_the_app(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_AUTO_MIGRATE", "0")
    config = {
        "TESTING": True,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": f"sqlite:///{tmp_path}/api.db",
        "JWT_TRUSTED_ISSUERS": {"https://identity.test": []},
    }
    app = create_api(config)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db-current"]).output.strip() == "none"
    result = runner.invoke(args=["db-upgrade"])
    assert result.exit_code == 0 and "upgraded to head" in result.output
    assert runner.invoke(args=["db-current"]).output.strip() == "0001"


def test_database_url_and_metrics_token_can_come_from_secret_files(tmp_path):
    (tmp_path / "database_url").write_text("postgresql+psycopg://app:pw@db/app\n")
    (tmp_path / "metrics_token").write_text("scrape-me")
    config = base_config("api", {}, {"HERMETIC_SECRETS_DIR": str(tmp_path)})
    assert config["DATABASE_URL"] == "postgresql+psycopg://app:pw@db/app"
    assert config["METRICS_TOKEN"] == "scrape-me"
