"""Shared fixtures: an app on SQLite (default) or on PostgreSQL when DATABASE_URL is set.

The schema is created once per session; each test starts from empty tables.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from tests import factories
from webapp import create_app
from webapp.config import database_url_from_env
from webapp.extensions import db, limiter
from webapp.models import Base

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")


def pytest_report_header(config):
    return f"database: {_database_kind()}"


def _database_kind() -> str:
    return "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if _database_kind() == "postgresql":
        return database_url_from_env("")
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def _schema(database_url):
    engine = create_engine(database_url)
    Base.metadata.drop_all(engine)
    _drop_alembic_version(engine)
    Base.metadata.create_all(engine)
    engine.dispose()
    yield


def _drop_alembic_version(engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


def _empty_all_tables() -> None:
    tables = list(reversed(Base.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{table.name}"' for table in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


class FreshContextClient(FlaskClient):
    """Each request gets its own app context, as in production. Without this, requests made while
    a test holds an app context share its `g` and database session, and caches leak between them."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(database_url, _schema, tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "UPLOAD_FOLDER": str(tmp_path / "uploads"),
            "SERVER_NAME": "localhost",
            # With REDIS_URL set the limiter's counters outlive the app: a fresh prefix per test
            # keeps one test's failed logins from throttling the next.
            "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    )
    app.test_client_class = FreshContextClient
    with app.app_context():
        _empty_all_tables()
        # Counters in Redis outlive the app; every test starts with no failed logins counted.
        limiter.reset()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


CSRF_INPUT = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_token_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "page has no csrf_token field"
    return match.group(1) or match.group(2)


def log_in(client, username: str, password: str = factories.TEST_PASSWORD):
    """Sign `client` in through the real login form (CSRF included): the tests' one login."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
        },
    )
    assert response.status_code == 303, f"login as {username} failed"
    return response


def signed_in_client(app, username: str):
    """A fresh client of `app` signed in as `username`; several users can act side by side."""
    client = app.test_client()
    log_in(client, username)
    return client


@pytest.fixture
def login_as(client):
    """Log the test client in through the real login form (CSRF included)."""

    def login(username: str, password: str = factories.TEST_PASSWORD):
        return log_in(client, username, password)

    return login


# Factories as fixtures, so tests name what they need (CTFd style).
@pytest.fixture
def gen_street(app):
    return factories.gen_street


@pytest.fixture
def gen_community(app):
    return factories.gen_community


@pytest.fixture
def gen_grid(app):
    return factories.gen_grid


@pytest.fixture
def gen_building(app):
    return factories.gen_building


@pytest.fixture
def gen_household(app):
    return factories.gen_household


@pytest.fixture
def gen_resident(app):
    return factories.gen_resident


@pytest.fixture
def gen_user(app):
    return factories.gen_user


@pytest.fixture
def gen_case(app):
    return factories.gen_case


PROJECT_ROOT = Path(__file__).resolve().parent.parent
