"""Every route × every role × an object in scope and one outside it (DESIGN.md §2).

World: street S1 has community C1 (grids G1, G2) and C2 (grid G3); street S2 has C3 (grid G4).
Out of scope answers 404 and the body carries none of the object's data.
"""

from dataclasses import dataclass

import pytest

from tests import factories as f
from webapp.extensions import db


@dataclass
class World:
    grids: dict
    communities: dict
    buildings: dict
    households: dict
    cases: dict
    secrets: dict  # per grid: strings that must never leak outside scope


@pytest.fixture
def world(app):
    s1, s2 = f.gen_street(name="一号街道"), f.gen_street(name="二号街道")
    c1, c2, c3 = f.gen_community(s1), f.gen_community(s1), f.gen_community(s2)
    grids = {"G1": f.gen_grid(c1), "G2": f.gen_grid(c1), "G3": f.gen_grid(c2), "G4": f.gen_grid(c3)}
    buildings, households, cases, secrets = {}, {}, {}, {}
    for key, grid in grids.items():
        building = f.gen_building(grid, name=f"{key}秘密楼")
        household = f.gen_household(building=building, room="808")
        f.gen_resident(household, name=f"{key}欧阳居民", phone="13900001111")
        buildings[key], households[key] = building, household
        cases[key] = f.gen_case(grid, title=f"{key}案件标题", level="street", status="escalated")
        secrets[key] = [f"{key}秘密楼", f"{key}案件标题", "13900001111", f"{key}欧阳居民"]
    f.gen_user("worker_g1", "grid_worker", grids["G1"])
    f.gen_user("staff_c1", "community_staff", c1)
    f.gen_user("staff_s1", "street_staff", s1)
    f.gen_user("root", "admin")
    db.session.commit()
    return World(grids, {"C1": c1, "C2": c2, "C3": c3}, buildings, households, cases, secrets)


# Which grids (and communities) each role sees.
VISIBLE_GRIDS = {
    "worker_g1": {"G1"},
    "staff_c1": {"G1", "G2"},
    "staff_s1": {"G1", "G2", "G3"},
    "root": {"G1", "G2", "G3", "G4"},
}
VISIBLE_COMMUNITIES = {
    "worker_g1": None,  # not a community page user at all: 403
    "staff_c1": {"C1"},
    "staff_s1": {"C1", "C2"},
    "root": {"C1", "C2", "C3"},
}

GRID_OBJECT_ROUTES = {
    "grid": lambda w, k: f"/grids/{w.grids[k].id}",
    "building": lambda w, k: f"/buildings/{w.buildings[k].id}",
    "household": lambda w, k: f"/households/{w.households[k].id}",
    "case": lambda w, k: f"/cases/{w.cases[k].id}",
}

# Routes without an object: who gets the page (200); everyone else signed in gets 403.
HOME_ROUTES = {
    "/grid": {"worker_g1"},
    "/community": {"staff_c1"},
    "/communities": {"staff_c1", "staff_s1", "root"},
    "/cases/triage": {"staff_c1", "staff_s1", "root"},
    "/admin/org": {"root"},
}

USERS = list(VISIBLE_GRIDS)


@pytest.mark.parametrize("username", USERS)
@pytest.mark.parametrize("route", list(GRID_OBJECT_ROUTES))
def test_grid_objects_are_visible_only_in_scope(world, client, login_as, username, route):
    login_as(username)
    for key in world.grids:
        response = client.get(GRID_OBJECT_ROUTES[route](world, key))
        body = response.get_data(as_text=True)
        if key in VISIBLE_GRIDS[username]:
            assert response.status_code == 200, (route, key)
        else:
            assert response.status_code == 404, (route, key)
            for secret in world.secrets[key]:
                assert secret not in body, (route, key, secret)


@pytest.mark.parametrize("username", USERS)
def test_communities_are_visible_only_in_scope(world, client, login_as, username):
    login_as(username)
    for key, community in world.communities.items():
        response = client.get(f"/communities/{community.id}")
        visible = VISIBLE_COMMUNITIES[username]
        if visible is None:
            assert response.status_code == 403
        elif key in visible:
            assert response.status_code == 200
        else:
            assert response.status_code == 404
            assert community.name not in response.get_data(as_text=True)


@pytest.mark.parametrize("username", USERS)
@pytest.mark.parametrize("route", list(HOME_ROUTES))
def test_role_homes_admit_only_their_roles(world, client, login_as, username, route):
    login_as(username)
    status = client.get(route).status_code
    if username in HOME_ROUTES[route]:
        assert status in (200, 303)  # a one-community list redirects to that community
    else:
        assert status == 403


@pytest.mark.parametrize(
    "route", [*HOME_ROUTES, "/grids/1", "/buildings/1", "/households/1", "/communities/1"]
)
def test_anonymous_visitors_are_sent_to_login(world, client, route):
    response = client.get(route)
    assert response.status_code == 302
    assert "/login" in response.location


def test_household_page_follows_the_masking_table(world, client, login_as):
    login_as("worker_g1")  # the grid's own worker: name and phone in full, ID masked
    body = client.get(f"/households/{world.households['G1'].id}").get_data(as_text=True)
    assert "13900001111" in body
    assert "G1欧阳居民" in body
    assert "1101**********1234" in body
    assert "110101195003071234" not in body


def test_worker_home_lists_only_their_grid(world, client, login_as):
    login_as("worker_g1")
    body = client.get("/grid").get_data(as_text=True)
    assert world.grids["G1"].name in body
    for key in ("G2", "G3", "G4"):
        assert world.grids[key].name not in body


def test_triage_board_shows_only_the_streets_cases(world, client, login_as):
    login_as("staff_s1")
    body = client.get("/cases/triage").get_data(as_text=True)
    for key in ("G1", "G2", "G3"):
        assert f"{key}案件标题" in body
    assert "G4案件标题" not in body


def test_out_of_scope_requests_are_audited(world, client, login_as):
    from sqlalchemy import select

    from webapp.models import AuditLog

    login_as("worker_g1")
    client.get(f"/households/{world.households['G4'].id}")
    denial = db.session.scalar(select(AuditLog).where(AuditLog.action == "access_denied"))
    assert denial.target_type == "households"
