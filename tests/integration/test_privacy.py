"""The masking table (DESIGN.md §7, webapp/privacy.py) on pages, reveal, and search.

World: street S1 has community C1 (grids G1, G2) and C2 (grid G3); street S2 has C3 (grid G4).
Every resident has the same full name, phone and ID number, so a leak shows whichever grid it
comes from.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.conftest import csrf_token_from
from webapp.extensions import db
from webapp.models import AuditLog, Membership, User

NAME, PHONE, ID_NUMBER = "欧阳小明", "13900001111", "110101195003071234"
MASKED_NAME, MASKED_PHONE, MASKED_ID = "欧**明", "139****1111", "1101**********1234"


@pytest.fixture
def world(app):
    s1, s2 = f.gen_street(name="一号街道"), f.gen_street(name="二号街道")
    c1, c2, c3 = f.gen_community(s1), f.gen_community(s1), f.gen_community(s2)
    grids = {"G1": f.gen_grid(c1), "G2": f.gen_grid(c1), "G3": f.gen_grid(c2), "G4": f.gen_grid(c3)}
    households, residents = {}, {}
    for key, grid in grids.items():
        households[key] = f.gen_household(grid=grid, contact_phone="13700002222")
        residents[key] = f.gen_resident(
            households[key], name=NAME, phone=PHONE, id_number=ID_NUMBER
        )
    f.gen_user("worker_g1", "grid_worker", grids["G1"])
    f.gen_user("staff_c1", "community_staff", c1)
    f.gen_user("staff_s1", "street_staff", s1)
    f.gen_user("root", "admin")
    db.session.commit()
    return {"grids": grids, "households": households, "residents": residents}


def household_page(client, world, key: str) -> str:
    response = client.get(f"/households/{world['households'][key].id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


# --- pages follow the table -------------------------------------------------------------------


def test_the_worker_sees_names_and_phones_of_their_grid_in_full_and_ids_masked(
    world, client, login_as
):
    login_as("worker_g1")
    body = household_page(client, world, "G1")
    assert NAME in body
    assert f'href="tel:{PHONE}"' in body
    assert "13700002222" in body  # the household's contact phone
    assert MASKED_ID in body and ID_NUMBER not in body


def test_community_staff_see_names_in_full_and_phones_and_ids_masked(world, client, login_as):
    login_as("staff_c1")
    body = household_page(client, world, "G2")
    assert NAME in body
    assert MASKED_PHONE in body and PHONE not in body
    assert "137****2222" in body and "13700002222" not in body
    assert MASKED_ID in body and ID_NUMBER not in body


@pytest.mark.parametrize("username", ["staff_s1", "root"])
def test_street_staff_and_admin_see_everything_masked(world, client, login_as, username):
    login_as(username)
    body = household_page(client, world, "G3")
    assert MASKED_NAME in body and NAME not in body
    assert MASKED_PHONE in body and PHONE not in body
    assert MASKED_ID in body and ID_NUMBER not in body


def test_a_community_clerk_who_is_also_a_grids_worker_sees_that_grid_as_its_worker(
    world, client, login_as
):

    clerk = db.session.scalar(select(User).where(User.username == "staff_c1"))
    db.session.add(
        Membership(
            user_id=clerk.id,
            role="grid_worker",
            scope_kind="grid",
            scope_id=world["grids"]["G2"].id,
        )
    )
    db.session.commit()
    login_as("staff_c1")
    assert PHONE in household_page(client, world, "G2")
    assert PHONE not in household_page(client, world, "G1")


# --- reveal ------------------------------------------------------------------------------------


def reveal(client, world, key: str, field: str, reason: str = "办理低保复核", htmx: bool = True):
    page = client.get(f"/households/{world['households'][key].id}")
    token = csrf_token_from(page.get_data(as_text=True)) if page.status_code == 200 else ""
    if not token:
        token = csrf_token_from(client.get("/search").get_data(as_text=True))
    return client.post(
        f"/residents/{world['residents'][key].id}/reveal",
        data={"field": field, "reason": reason, "csrf_token": token},
        headers={"HX-Request": "true"} if htmx else {},
    )


def audit_rows(action: str) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))


def test_the_worker_reveals_an_id_number_of_their_grid_with_a_reason_and_it_is_audited(
    world, client, login_as
):
    login_as("worker_g1")
    response = reveal(client, world, "G1", "id_number")
    assert response.status_code == 200
    assert ID_NUMBER in response.get_data(as_text=True)
    [row] = audit_rows("reveal")
    assert row.actor_name == "worker_g1"
    assert row.target_type == "residents"
    assert row.target_id == str(world["residents"]["G1"].id)
    assert row.detail["field"] == "id_number"
    assert row.detail["reason"] == "办理低保复核"
    assert ID_NUMBER not in str(row.detail)  # the audit says what was shown, never the value


def test_the_household_page_offers_reveal_only_where_the_table_allows_it(world, client, login_as):
    login_as("worker_g1")
    body = household_page(client, world, "G1")
    assert 'name="field" value="id_number"' in body
    assert 'name="field" value="phone"' not in body  # the worker sees the phone already


def test_a_reveal_without_a_reason_is_refused_and_shows_nothing(world, client, login_as):
    login_as("staff_c1")
    response = reveal(client, world, "G1", "phone", reason="   ", htmx=False)
    assert response.status_code == 400
    assert PHONE not in response.get_data(as_text=True)
    assert "说明" in response.get_data(as_text=True) or "reason" in response.get_data(as_text=True)
    assert audit_rows("reveal") == []


def test_community_staff_may_reveal_a_phone_but_not_an_id_number(world, client, login_as):
    login_as("staff_c1")
    assert PHONE in reveal(client, world, "G2", "phone").get_data(as_text=True)
    refused = reveal(client, world, "G2", "id_number")
    assert refused.status_code == 403
    assert ID_NUMBER not in refused.get_data(as_text=True)
    [denied] = audit_rows("reveal_denied")
    assert denied.detail["field"] == "id_number"


def test_street_staff_may_reveal_both_in_their_street(world, client, login_as):
    login_as("staff_s1")
    assert PHONE in reveal(client, world, "G3", "phone").get_data(as_text=True)
    assert ID_NUMBER in reveal(client, world, "G3", "id_number").get_data(as_text=True)
    assert len(audit_rows("reveal")) == 2


@pytest.mark.parametrize("username", ["worker_g1", "staff_c1", "staff_s1"])
def test_a_resident_outside_the_scope_cannot_be_revealed(world, client, login_as, username):
    login_as(username)
    response = reveal(client, world, "G4", "phone")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert PHONE not in body and ID_NUMBER not in body
    assert audit_rows("reveal") == []


def test_reveals_are_rate_limited_per_user(app, world, client, login_as):
    app.config["REVEAL_LIMIT"] = "2 per hour"
    login_as("staff_s1")
    assert reveal(client, world, "G1", "phone").status_code == 200
    assert reveal(client, world, "G2", "phone").status_code == 200
    limited = reveal(client, world, "G3", "phone")
    assert limited.status_code == 429
    assert PHONE not in limited.get_data(as_text=True)
    assert len(audit_rows("reveal")) == 2


def test_anonymous_visitors_cannot_reveal(world, client):
    response = client.post(
        f"/residents/{world['residents']['G1'].id}/reveal", data={"field": "phone", "reason": "x"}
    )
    assert response.status_code in (302, 400, 401)
    assert PHONE not in response.get_data(as_text=True)


# --- search never matches on what the searcher sees masked -----------------------------------


def search(client, query: str) -> str:
    token = csrf_token_from(client.get("/search").get_data(as_text=True))
    response = client.post("/search", data={"q": query, "csrf_token": token})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def found_households(body: str, world) -> set[str]:
    return {key for key, h in world["households"].items() if f"/households/{h.id}" in body}


def test_the_worker_finds_their_residents_by_a_phone_tail(world, client, login_as):
    login_as("worker_g1")
    assert found_households(search(client, "1111"), world) == {"G1"}


@pytest.mark.parametrize("username", ["staff_c1", "staff_s1", "root"])
def test_staff_who_see_phones_masked_never_find_anyone_by_phone_digits(
    world, client, login_as, username
):
    login_as(username)
    for query in ("1111", "00001111", PHONE, "9000"):
        assert found_households(search(client, query), world) == set(), query


def test_community_staff_find_residents_by_name_in_their_community(world, client, login_as):
    login_as("staff_c1")
    assert found_households(search(client, "欧阳"), world) == {"G1", "G2"}


@pytest.mark.parametrize("username", ["staff_s1", "root"])
def test_viewers_who_see_names_masked_never_find_anyone_by_name(world, client, login_as, username):
    login_as(username)
    assert found_households(search(client, "欧阳"), world) == set()


@pytest.mark.parametrize("username", ["worker_g1", "staff_c1", "staff_s1", "root"])
def test_nobody_finds_anyone_by_id_number(world, client, login_as, username):
    login_as(username)
    for query in (ID_NUMBER, "1234", "19500307"):
        assert found_households(search(client, query), world) == set(), query
