"""Issue 10: every authenticated answer says `Cache-Control: no-store` (public pages and static
files keep their own caching), and behind TRUSTED_PROXIES reverse proxies the login limiter
counts per real client and the sync API's Origin check sees the https origin — while with the
setting off, forged X-Forwarded-* headers change nothing."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from werkzeug.routing import Rule

from tests import factories as f
from tests.conftest import FreshContextClient, csrf_token_from
from tests.integration.notices_world import publicity_notice, signed_in, world  # noqa: F401
from webapp import create_app
from webapp.extensions import db
from webapp.models import Building
from webapp.security import is_public_endpoint

API = {"X-GridRounds-Client": "1"}


def _values_for(rule: Rule, ids: dict) -> dict:
    """A value for each of the rule's variables: a real object of the world where the name says
    which, otherwise something of the right shape (a 404 must say no-store too)."""
    values = {}
    for name in rule.arguments:
        converter = rule._converters[name].__class__.__name__.lower()
        if name in ids:
            values[name] = ids[name]
        elif "uuid" in converter:
            values[name] = uuid.uuid4()
        elif "int" in converter:
            values[name] = 1
        else:
            values[name] = "visit"
    return values


@pytest.fixture
def ids(world):  # noqa: F811
    grid = world.grids["G1"]
    resident = world.residents["张三明"]
    f.gen_user("root", "admin")
    case = f.gen_case(grid)
    notice = publicity_notice(world)
    db.session.commit()
    return {
        "grid_id": grid.id,
        "community_id": world.communities["C1"].id,
        "building_id": db.session.scalar(select(Building.id).where(Building.grid_id == grid.id)),
        "household_id": resident.household_id,
        "resident_id": resident.id,
        "notice_id": notice.id,
        "case_id": case.id,
        "kind": "visit",
    }


@pytest.mark.parametrize("username", ["worker_g1", "staff_c1", "street_s", "root"])
def test_every_authenticated_page_and_api_answer_says_no_store(app, ids, signed_in, username):  # noqa: F811
    # A page that fails must not be cached either: answer its 500 instead of raising here.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = signed_in(username)
    walked = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        url = rule.build(_values_for(rule, ids))[1]
        if is_public_endpoint(rule.endpoint, url):
            continue
        response = client.get(url, headers=API if url.startswith("/api/") else {})
        walked.append(url)
        assert response.headers.get("Cache-Control") == "no-store", (url, response.status_code)
    answers = [
        client.post("/api/v1/sync/push", json={"device_id": "d", "ops": []}, headers=API),
        client.put(f"/api/v1/attachments/{uuid.uuid4()}", data=b"x", headers=API),
        client.post("/logout", data={}),  # refused for its missing token, still not cached
    ]
    for response in answers:
        assert response.headers.get("Cache-Control") == "no-store", response.request.path
    assert len(walked) > 30  # the walk found the app's pages, not an empty map


def test_public_pages_and_static_files_keep_their_own_caching(app, world, signed_in):  # noqa: F811
    client = signed_in("worker_g1")
    assert client.get("/public?choose=1").headers["Cache-Control"] == "private, no-cache"
    assert client.get("/sw.js").headers["Cache-Control"] == "no-cache"
    assert "no-store" not in client.get("/static/css/app.css").headers.get("Cache-Control", "")


# --- behind a reverse proxy ---------------------------------------------------------------------


@pytest.fixture
def make_app(database_url, tmp_path):
    def make(**config):
        built = create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": database_url,
                "UPLOAD_FOLDER": str(tmp_path / "uploads"),
                "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
                "LOGIN_LIMIT_PER_IP": "2 per 10 minutes",
                **config,
            }
        )
        built.test_client_class = FreshContextClient
        return built

    return make


def failed_logins(client, forwarded_for: list[str]) -> list[int]:
    codes = []
    for n, address in enumerate(forwarded_for):
        token = csrf_token_from(client.get("/login").get_data(as_text=True))
        response = client.post(
            "/login",
            data={"username": f"nobody{n}", "password": "wrong", "csrf_token": token},
            headers={"X-Forwarded-For": address},
        )
        codes.append(response.status_code)
    return codes


def test_without_trusted_proxies_a_forged_forwarded_for_does_not_escape_the_limit(app, make_app):
    client = make_app(TRUSTED_PROXIES=0).test_client()
    assert failed_logins(client, ["203.0.113.1", "203.0.113.2", "203.0.113.3"]) == [200, 200, 429]


def test_behind_a_trusted_proxy_the_login_limit_counts_each_real_client(app, make_app):
    client = make_app(TRUSTED_PROXIES=1).test_client()
    assert failed_logins(client, ["203.0.113.1", "203.0.113.2", "203.0.113.3"]) == [200, 200, 200]
    assert failed_logins(client, ["198.51.100.7"] * 3) == [200, 200, 429]


def sync_push_through_proxy(client):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    login = client.post(
        "/login",
        data={"username": "worker", "password": f.TEST_PASSWORD, "csrf_token": token},
    )
    assert login.status_code == 303
    return client.post(
        "/api/v1/sync/push",
        json={"device_id": "phone-1", "ops": []},
        headers={
            **API,
            "Origin": "https://grid.example.org",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "grid.example.org",
            "X-Forwarded-For": "203.0.113.5",
        },
    )


@pytest.fixture
def worker(app, gen_grid, gen_user):
    gen_user("worker", "grid_worker", gen_grid())
    db.session.commit()


def test_behind_a_trusted_proxy_sync_passes_the_origin_check_when_tls_ends_there(worker, make_app):
    response = sync_push_through_proxy(make_app(TRUSTED_PROXIES=1).test_client())
    assert response.status_code == 200, response.get_json()


def test_without_trusted_proxies_forwarded_headers_do_not_make_an_origin_ours(worker, make_app):
    response = sync_push_through_proxy(make_app(TRUSTED_PROXIES=0).test_client())
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "cross_origin"
