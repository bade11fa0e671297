"""Household and resident edits with optimistic concurrency: a stale edit is refused with both
values, never silently overwritten."""

import uuid

import pytest

from tests.conftest import csrf_token_from
from webapp.extensions import db
from webapp.models import Household, Resident
from webapp.ops import Conflict, Invalid, Op, OutOfScope
from webapp.rounds.profiles import update_household, update_resident


@pytest.fixture
def home(gen_grid, gen_household, gen_resident, gen_user):
    grid = gen_grid()
    household = gen_household(grid=grid, contact_phone="13911112222")
    resident = gen_resident(household, phone="13812345678")
    worker = gen_user("w1", "grid_worker", grid)
    db.session.commit()
    return household, resident, worker


def edit(kind, target_id, base_version, changes):
    return Op(
        op_id=uuid.uuid4(),
        type=f"{kind}.update",
        record_id=target_id,
        base_version=base_version,
        payload={f"{kind}_id": target_id, "changes": changes},
    )


def test_an_edit_on_the_current_version_applies_and_bumps_it(home):
    household, _, worker = home
    update_household(worker, edit("household", household.id, 1, {"occupancy": "rented_out"}))
    db.session.commit()
    stored = db.session.get(Household, household.id)
    assert (stored.occupancy, stored.version) == ("rented_out", 2)
    assert stored.change_seq > 0


def test_a_stale_edit_is_refused_with_the_current_copy(home):
    _, resident, worker = home
    update_resident(worker, edit("resident", resident.id, 1, {"phone": "13700000001"}))
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        update_resident(worker, edit("resident", resident.id, 1, {"phone": "13600000002"}))
    db.session.rollback()
    assert refused.value.current["version"] == 2
    assert refused.value.current["phone"] == "137****0001"  # masked, even here
    assert db.session.get(Resident, resident.id).phone == "13700000001"


@pytest.mark.parametrize(
    ("changes", "bad_field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"living_alone": "yes"}, "living_alone"),
        ({"name": "改名"}, "name"),
        ({"id_number": "1"}, "id_number"),
    ],
)
def test_invalid_resident_changes_are_refused(home, changes, bad_field):
    _, resident, worker = home
    with pytest.raises(Invalid) as refused:
        update_resident(worker, edit("resident", resident.id, 1, changes))
    assert bad_field in refused.value.errors


def test_an_edit_without_base_version_is_refused(home):
    household, _, worker = home
    with pytest.raises(Invalid):
        update_household(worker, edit("household", household.id, None, {"notes": "x"}))


def test_editing_another_grids_resident_is_refused(home, gen_resident):
    _, _, worker = home
    stranger = gen_resident()
    db.session.commit()
    with pytest.raises(OutOfScope):
        update_resident(worker, edit("resident", stranger.id, 1, {"notes": "x"}))


def test_care_flags_and_moved_out_are_editable(home):
    _, resident, worker = home
    update_resident(
        worker, edit("resident", resident.id, 1, {"empty_nest": True, "moved_out": True})
    )
    db.session.commit()
    stored = db.session.get(Resident, resident.id)
    assert stored.empty_nest and stored.moved_out


def test_the_edit_form_shows_both_values_on_conflict(home, client, login_as):
    household, _, _ = home
    login_as("w1")
    page = client.get(f"/households/{household.id}/edit").get_data(as_text=True)
    token = csrf_token_from(page)
    # Someone else saves first.
    first = client.post(
        f"/households/{household.id}/edit",
        data={"csrf_token": token, "base_version": "1", "occupancy": "vacant", "notes": ""},
    )
    assert first.status_code == 303
    second = client.post(
        f"/households/{household.id}/edit",
        data={"csrf_token": token, "base_version": "1", "occupancy": "rented_out", "notes": ""},
    )
    body = second.get_data(as_text=True)
    assert second.status_code == 409
    assert "出租" in body and "空置" in body  # mine and theirs
    db.session.expire_all()
    assert db.session.get(Household, household.id).occupancy == "vacant"


def test_the_phone_box_left_blank_keeps_the_number(home, client, login_as):
    household, resident, _ = home
    login_as("w1")
    token = csrf_token_from(client.get(f"/residents/{resident.id}/edit").get_data(as_text=True))
    response = client.post(
        f"/residents/{resident.id}/edit",
        data={
            "csrf_token": token,
            "base_version": "1",
            "phone": "",
            "notes": "腿脚不便",
            "living_alone": "on",
        },
    )
    assert response.status_code == 303
    stored = db.session.get(Resident, resident.id)
    db.session.refresh(stored)
    assert stored.phone == "13812345678"
    assert stored.notes == "腿脚不便"
    assert stored.living_alone is True
