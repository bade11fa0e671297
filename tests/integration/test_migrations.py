"""`flask db upgrade` on an empty database gives exactly the schema the models declare."""

import os
import uuid

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from webapp import create_app
from webapp.config import database_url_from_env
from webapp.extensions import db
from webapp.models import Base
from webapp.models.sync import CHANGE_SEQUENCE_DDL


@pytest.fixture
def empty_database_url(tmp_path):
    """A brand-new empty database of the kind under test (a throwaway PostgreSQL database)."""
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    base_url = make_url(database_url_from_env(""))
    name = f"gr_migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_migrations_create_the_schema_the_models_declare(empty_database_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "TESTING": True})
    with app.app_context():
        flask_migrate.upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
            tables = set(inspect(connection).get_table_names())
        db.engine.dispose()
    assert differences == []
    assert tables == set(Base.metadata.tables) | {"alembic_version"}


def test_downgrade_removes_every_table(empty_database_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "TESTING": True})
    with app.app_context():
        flask_migrate.upgrade()
        flask_migrate.downgrade(revision="base")
        with db.engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
        db.engine.dispose()
    assert tables <= {"alembic_version"}


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the change sequence is PostgreSQL's; SQLite keeps the counter row",
)
def test_the_change_sequence_goes_on_from_the_counter_and_back(empty_database_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "TESTING": True})
    with app.app_context():
        flask_migrate.upgrade(revision="r15c_alert_dedup_keys")
        with db.engine.begin() as connection:
            connection.execute(text("INSERT INTO change_counter (id, value) VALUES (1, 41)"))
        flask_migrate.upgrade()
        with db.engine.begin() as connection:
            assert connection.scalar(text("SELECT change_horizon()")) == 41
            assert connection.scalar(text("SELECT take_change_seq()")) == 42
            installed = {
                name: source
                for name, source in connection.execute(
                    text(
                        "SELECT proname, prosrc FROM pg_proc WHERE proname IN"
                        " ('take_change_seq', 'change_horizon', 'change_counter_from_sequence')"
                    )
                )
            }
        flask_migrate.downgrade(revision="r15c_alert_dedup_keys")
        with db.engine.connect() as connection:
            counter = connection.scalar(text("SELECT value FROM change_counter WHERE id = 1"))
        db.engine.dispose()
    assert counter == 42
    # The migration froze what the models install on a new database (create_all).
    declared = {
        statement.split("FUNCTION ", 1)[1].split("(", 1)[0]: statement.split("$fn$")[1]
        for statement in CHANGE_SEQUENCE_DDL
        if "$fn$" in statement
    }
    assert installed == declared
