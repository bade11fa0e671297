"""Register change forms without JavaScript: the POST builds the same op the outbox sends."""

from __future__ import annotations

import pytest

from tests.conftest import csrf_token_from
from tests.integration.sync_api import login, make_world
from webapp.extensions import db
from webapp.models import Household, Resident


@pytest.fixture
def world(app):
    return make_world()


def form_token(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return csrf_token_from(response.get_data(as_text=True))


def test_a_worker_adds_a_household_from_the_building_page(client, world):
    login(client, "worker_g1")
    building_id = world.households["G1"][0].building_id
    assert "/households/new" in client.get(f"/buildings/{building_id}").get_data(as_text=True)
    url = f"/buildings/{building_id}/households/new"

    response = client.post(
        url, data={"csrf_token": form_token(client, url), "unit": "1", "room": "1701"}
    )

    assert response.status_code == 303
    assert db.session.query(Household).filter_by(room="1701").count() == 1


def test_a_bad_phone_is_shown_in_chinese_and_nothing_is_saved(client, world):
    login(client, "worker_g1")
    household = world.households["G1"][0]
    url = f"/households/{household.id}/residents/new"

    response = client.post(
        url,
        data={
            "csrf_token": form_token(client, url),
            "name": "王小明",
            "birth_date": "2026-10-01",
            "phone": "12345",
        },
    )

    assert response.status_code == 422
    assert "请输入11位手机号或固定电话号码" in response.get_data(as_text=True)
    assert 'value="王小明"' in response.get_data(as_text=True)  # the worker's input is kept
    assert db.session.query(Resident).filter_by(name="王小明").count() == 0


def test_a_death_is_recorded_from_the_household_page(client, world):
    login(client, "worker_g1")
    elder = world.residents["G1"][0]
    url = f"/residents/{elder.id}/leave/deceased"

    response = client.post(
        url,
        data={
            "csrf_token": form_token(client, url),
            "base_version": str(elder.version),
            "date": "2026-11-01",
        },
    )

    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Resident, elder.id).status == "deceased"


def test_another_grids_resident_has_no_forms(client, world):
    login(client, "worker_g1")
    stranger = world.residents["G2"][0]

    assert client.get(f"/residents/{stranger.id}/leave/move_out").status_code == 404
    assert client.get(f"/residents/{stranger.id}/transfer").status_code == 404
    assert client.get(f"/households/{stranger.household_id}/residents/new").status_code == 404


def test_duplicate_hints_name_a_resident_with_the_same_name_and_birth_date(client, world):
    login(client, "worker_g1")
    existing = world.residents["G1"][1]
    household = world.households["G1"][0]
    token = form_token(client, f"/households/{household.id}/residents/new")

    response = client.post(
        "/residents/duplicates",
        data={"csrf_token": token, "name": existing.name, "birth_date": str(existing.birth_date)},
        headers={"HX-Request": "true"},
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert existing.household.address in html and "姓名和出生日期相同" in html


def test_the_household_page_offers_the_register_changes(client, world):
    login(client, "worker_g1")
    household = world.households["G1"][0]
    resident = world.residents["G1"][0]

    html = client.get(f"/households/{household.id}").get_data(as_text=True)

    assert f"/households/{household.id}/residents/new" in html
    assert f"/residents/{resident.id}/leave/deceased" in html
    assert f"/residents/{resident.id}/transfer" in html
