"""The offline shell on the server side: the service worker script, its version, the offline and
outbox pages and the list of pages "download my grid" fetches (DESIGN.md §5)."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from webapp.extensions import db


def sw_constants(body: str) -> dict:
    """The values /sw.js prepends to the worker's source."""
    found = dict(re.findall(r"^const (\w+) = (.+);$", body, flags=re.M))
    return {name: json.loads(value) for name, value in found.items()}


def test_service_worker_is_served_from_the_root_for_the_whole_site(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.headers["Cache-Control"] == "no-cache"
    assert "importScripts(" in response.get_data(as_text=True)


def test_service_worker_precaches_the_shell_but_not_its_own_source(app, client):
    precache = sw_constants(client.get("/sw.js").get_data(as_text=True))["PRECACHE"]
    assert "/offline" in precache
    static = f"/static/{app.config['STATIC_FINGERPRINT']}"
    for name in (
        "css/app.css",
        "js/outbox.js",
        "js/outbox-core.js",
        "vendor/htmx.min.js",
        "vendor/idb-keyval.js",
        "manifest.webmanifest",
        "icons/icon-192.png",
    ):
        assert f"{static}/{name}" in precache
    assert f"{static}/js/sw.js" not in precache
    assert not [url for url in precache if "licenses" in url or url.endswith(".lock.json")]


def test_service_worker_version_changes_with_the_salt_and_only_then(app, client):
    first = sw_constants(client.get("/sw.js").get_data(as_text=True))["VERSION"]
    assert sw_constants(client.get("/sw.js").get_data(as_text=True))["VERSION"] == first
    app.config["SW_VERSION_SALT"] = "deploy-2"
    assert sw_constants(client.get("/sw.js").get_data(as_text=True))["VERSION"] != first


def test_offline_page_is_public_and_shows_nothing_of_the_signed_in_user(
    client, login_as, gen_user, gen_grid
):
    gen_user("gw-offline", role="grid_worker", scope=gen_grid(), display_name="王小明")
    db.session.commit()
    login_as("gw-offline")
    page = client.get("/offline").get_data(as_text=True)
    assert "当前离线，这个页面还没有下载到本机" in page
    assert "王小明" not in page
    assert "data-user=" not in page
    assert 'href="/outbox"' in page and 'href="/grid"' in page


def test_outbox_page_needs_a_login(client):
    response = client.get("/outbox")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.fixture
def worker_grid(gen_grid, gen_building, gen_household, gen_resident, gen_user):
    grid = gen_grid()
    building = gen_building(grid=grid)
    household = gen_household(building=building)
    alone = gen_resident(household=household, living_alone=True, birth_date=date(1950, 1, 1))
    plain = gen_resident(household=household, birth_date=date(1985, 1, 1))
    gone = gen_resident(household=household, living_alone=True, moved_out=True)
    other = gen_household(grid=gen_grid())
    gen_user("gw-download", role="grid_worker", scope=grid)
    db.session.commit()
    return grid, building, household, alone, plain, gone, other


def test_offline_urls_list_only_the_pages_kept_as_pages(client, login_as, worker_grid):
    """Field pages are rendered from the phone's copy of the grid (their shells); only pages of
    other areas are still kept as pages."""
    grid, building, household, alone, plain, gone, other = worker_grid
    login_as("gw-download")
    urls = client.get("/pwa/offline-urls").get_json()["urls"]
    assert "/notifications" in urls
    assert not [url for url in urls if url.startswith(("/grid", "/buildings", "/households"))]
    assert len(urls) == len(set(urls))
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_every_field_page_has_a_shell_holding_nothing_of_anyone(client, login_as, worker_grid):
    from webapp.pwa.offline_pages import OFFLINE_PAGES

    grid, building, household, alone, plain, gone, other = worker_grid
    login_as("gw-download")
    for page in OFFLINE_PAGES:
        response = client.get(f"/pwa/shell/{page.name}")
        body = response.get_data(as_text=True)
        assert response.status_code == 200, page.name
        assert f'<meta name="gridrounds-shell" content="{page.name}">' in body
        assert household.address not in body and alone.name not in body, page.name
        assert "data-user=" not in body  # a shell is the same for everyone: no user in it
    assert client.get("/pwa/shell/nothing-like-this").status_code == 404


def test_the_service_worker_knows_the_route_of_every_shell(client):
    from webapp.pwa.offline_pages import OFFLINE_PAGES

    routes = sw_constants(client.get("/sw.js").get_data(as_text=True))["OFFLINE_ROUTES"]
    assert sorted(name for _, name in routes) == sorted(page.name for page in OFFLINE_PAGES)
    assert ["^/households/(?<household_id>[^/]+)$", "household"] in routes


def test_offline_urls_are_for_grid_workers_only(client, login_as, gen_user, gen_community):
    gen_user("cs-download", role="community_staff", scope=gen_community())
    db.session.commit()
    login_as("cs-download")
    assert client.get("/pwa/offline-urls").status_code == 403


def test_pages_carry_the_words_of_the_outbox_as_a_json_data_block(client):
    page = client.get("/login").get_data(as_text=True)
    block = re.search(
        r'<script type="application/json" id="gridrounds-strings">(.*?)</script>', page, re.S
    )
    strings = json.loads(block.group(1))
    assert strings["count"] == "{n} 条待同步"
    assert strings["saved_offline"] == "已保存到本机，联网后自动同步"
    assert strings["op_visit_create"] == "入户走访"
