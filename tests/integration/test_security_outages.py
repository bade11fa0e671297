"""Issue 10: Redis down never breaks login (the limiter counts in memory and says so in the log)
and /healthz reports it; the database down makes the sync push a 503 with Retry-After — the
outbox keeps its ops and tries again — never a 500."""

from __future__ import annotations

import logging
import uuid

import pytest

from tests import factories as f
from tests.conftest import FreshContextClient, csrf_token_from
from webapp import create_app
from webapp.extensions import db, limiter

API = {"X-GridRounds-Client": "1"}
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1
DEAD_DATABASES = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/gridrounds",
    "sqlite": "sqlite:////nonexistent-folder/gridrounds.db",
}


@pytest.fixture
def make_app(database_url, tmp_path):
    made = []

    def make(**config):
        built = create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": database_url,
                "UPLOAD_FOLDER": str(tmp_path / "uploads"),
                "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
                **config,
            }
        )
        built.test_client_class = FreshContextClient
        made.append(built)
        return built

    yield make
    # The limiter is one object for the process; leave it believing in its storage again.
    limiter._storage_dead = False
    for built in made:
        with built.app_context():
            db.engine.dispose()


@pytest.fixture
def worker(app, gen_grid, gen_user):
    gen_user("worker", "grid_worker", gen_grid())
    db.session.commit()


def log_in(client, username="worker", password=f.TEST_PASSWORD):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


def test_with_redis_down_login_works_and_is_still_limited_in_memory(worker, make_app, caplog):
    app = make_app(
        REDIS_URL=DEAD_REDIS,
        RATELIMIT_STORAGE_URI=DEAD_REDIS,
        LOGIN_LIMIT_PER_USERNAME="2 per 10 minutes",
    )
    client = app.test_client()
    # The limiter object outlives each test's app, and it warns only when it first finds the
    # storage dead: an earlier test in the same process may have found it already.
    limiter._storage_dead = False
    with caplog.at_level(logging.WARNING):
        assert log_in(client).status_code == 303
    assert any("in-memory" in record.getMessage() for record in caplog.records)

    other = app.test_client()
    codes = [log_in(other, "worker", "wrong").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_healthz_reports_redis_down_but_stays_up_for_the_database(app, make_app):
    response = make_app(REDIS_URL=DEAD_REDIS).test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "degraded", "database": "ok", "redis": "down"}


def test_healthz_reports_redis_when_it_answers(app, make_app):
    response = make_app(REDIS_URL="redis://127.0.0.1:6379/0").test_client().get("/healthz")
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_says_nothing_of_redis_when_none_is_configured(app, make_app):
    response = make_app(REDIS_URL="").test_client().get("/healthz")
    assert response.get_json() == {"status": "ok", "database": "ok"}


@pytest.fixture(params=sorted(DEAD_DATABASES))
def dead_database_client(request, worker, make_app):
    """A client signed in while the database answered, then pointed at one that does not."""
    alive = make_app().test_client()
    assert log_in(alive).status_code == 303
    dead = make_app(SQLALCHEMY_DATABASE_URI=DEAD_DATABASES[request.param]).test_client()
    dead.set_cookie("gridrounds", alive.get_cookie("gridrounds").value, domain="localhost")
    return dead


def test_with_the_database_down_a_push_is_a_503_with_retry_after(dead_database_client):
    op = {
        "op_id": str(uuid.uuid4()),
        "type": "visit.create",
        "record_id": str(uuid.uuid4()),
        "client_time": "2026-11-29T10:00:00+08:00",
        "payload": {},
    }
    response = dead_database_client.post(
        "/api/v1/sync/push", json={"device_id": "phone-1", "ops": [op]}, headers=API
    )

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    error = response.get_json()["error"]
    assert error["code"] == "unavailable" and "数据库" in error["message"]


def test_with_the_database_down_a_page_is_a_503_page(dead_database_client):
    response = dead_database_client.get("/grid")
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "数据库" in response.get_data(as_text=True)
