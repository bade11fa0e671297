"""Register changes as ops through the sync API: households and residents created, leaving and
moving (DESIGN.md §3), with idempotency, conflicts, scope and what the next pull says."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from tests.integration.sync_api import SyncClient, login, make_world, new_op
from webapp.extensions import db
from webapp.models import Household, Resident, Tombstone
from webapp.notices.guard import id_check_char
from webapp.rounds.care import due_elderly_checks


def valid_id(body17: str = "11010119400501001") -> str:
    return body17 + id_check_char(body17)


@pytest.fixture
def world(app):
    return make_world()


@pytest.fixture
def worker(client, world):
    login(client, "worker_g1")
    return SyncClient(client)


def household_op(building_id: int, room: str = "901", record_id: str | None = None, **payload):
    return new_op(
        "household.create",
        {"building_id": building_id, "unit": 1, "room": room, "occupancy": "occupied", **payload},
        record_id=record_id,
    )


def resident_op(household_id, record_id: str | None = None, **payload):
    body = {"household_id": household_id, "name": "李新生", "relation": "子", **payload}
    return new_op("resident.create", body, record_id=record_id)


def change_op(op_type: str, resident: Resident, base_version: int, **payload):
    return new_op(
        op_type,
        {"resident_id": resident.id, **payload},
        record_id=resident.id,
        base_version=base_version,
    )


def changes_of(sync: SyncClient, cursor: str, entity: str) -> list[dict]:
    page = sync.page(cursor)
    return [c for c in page["changes"] if c["entity"] == entity]


def building_of(world, grid: str) -> int:
    return world.households[grid][0].building_id


def test_a_worker_records_a_new_household_and_gets_its_id(worker, world):
    op = household_op(building_of(world, "G1"), contact_phone="13811112222")

    [result] = worker.results([op])

    assert result["status"] == "applied"
    household = db.session.get(Household, result["household"]["id"])
    assert household.grid_id == world.grids["G1"].id
    assert household.client_uuid == uuid.UUID(op["record_id"])
    assert household.address.endswith("1单元901")


def test_a_create_sent_again_answers_duplicate_with_the_same_id(worker, world):
    op = household_op(building_of(world, "G1"))
    [first] = worker.results([op])
    [again] = worker.results([op])
    # The same create under a new op_id (the phone rebuilt its outbox) finds the same row.
    [rebuilt] = worker.results([{**op, "op_id": str(uuid.uuid4())}])

    assert again["status"] == "duplicate"
    assert again["household"]["id"] == first["household"]["id"]
    assert rebuilt["status"] == "applied"
    assert rebuilt["household"]["id"] == first["household"]["id"]
    assert db.session.query(Household).filter_by(room="901").count() == 1


def test_a_household_in_another_workers_building_is_refused(worker, world):
    [result] = worker.results([household_op(building_of(world, "G2"))])

    assert result["status"] == "rejected"
    assert result["error"]["code"] == "out_of_scope"
    assert db.session.query(Household).filter_by(room="901").count() == 0


def test_a_resident_joins_a_household_made_offline_by_its_uuid(worker, world):
    household = household_op(building_of(world, "G1"))
    resident = resident_op(household["record_id"], birth_date="2026-10-01", gender="F")

    results = worker.results([household, resident])

    assert [r["status"] for r in results] == ["applied", "applied"]
    row = db.session.get(Resident, results[1]["resident"]["id"])
    assert row.household_id == results[0]["household"]["id"]
    assert row.birth_date == date(2026, 10, 1)
    assert row.status == "active"


def test_the_id_number_sets_birth_date_and_gender_and_must_agree(worker, world):
    household_id = world.households["G1"][0].id
    good = resident_op(household_id, id_number=valid_id())
    wrong_date = resident_op(household_id, id_number=valid_id(), birth_date="1941-01-01")
    bad_check = resident_op(household_id, id_number=valid_id()[:17] + "0")

    results = worker.results([good, wrong_date, bad_check])

    assert results[0]["status"] == "applied"
    row = db.session.get(Resident, results[0]["resident"]["id"])
    assert (row.birth_date, row.gender) == (date(1940, 5, 1), "M")  # 17th digit odd
    assert results[1]["status"] == "rejected"
    assert "birth_date" in results[1]["error"]["fields"]
    assert results[2]["status"] == "rejected"
    assert "id_number" in results[2]["error"]["fields"]


def test_a_second_resident_with_the_same_id_number_needs_confirmation(worker, world):
    household_id = world.households["G1"][1].id
    number = valid_id("11010119800101002")
    worker.results([resident_op(household_id, id_number=number)])

    [refused] = worker.results([resident_op(household_id, id_number=number)])
    [confirmed] = worker.results(
        [resident_op(household_id, id_number=number, confirm_duplicate=True)]
    )

    assert refused["status"] == "rejected"
    assert "id_number" in refused["error"]["fields"]
    assert confirmed["status"] == "applied"
    assert confirmed["duplicates"][0]["reason"] == "id_number"


def test_the_same_name_and_birth_date_comes_back_as_a_hint(worker, world):
    existing = world.residents["G1"][0]
    op = resident_op(
        world.households["G1"][2].id, name=existing.name, birth_date=str(existing.birth_date)
    )

    [result] = worker.results([op])

    assert result["status"] == "applied"
    [hint] = result["duplicates"]
    assert hint["resident_id"] == existing.id and hint["reason"] == "name_and_birth_date"
    assert existing.name not in str(result)  # masked, as on the phone


def test_hints_never_name_a_resident_of_another_grid(worker, world):
    other = world.residents["G2"][0]
    op = resident_op(world.households["G1"][2].id, name=other.name, birth_date="1940-05-01")

    [result] = worker.results([op])

    assert all(h["grid_id"] == world.grids["G1"].id for h in result["duplicates"])


def test_floating_arrival_keeps_the_residence_permit(worker, world):
    op = resident_op(
        world.households["G1"][0].id,
        birth_date="1995-03-02",
        permit_number="京居字12345",
        permit_expires_on="2028-01-01",
        origin_place="河南省周口市",
    )

    [result] = worker.results([op])

    row = db.session.get(Resident, result["resident"]["id"])
    assert row.floating and row.permit_number == "京居字12345"
    assert row.permit_expires_on == date(2028, 1, 1)


def test_a_move_out_leaves_the_due_list_and_reaches_the_pull(worker, world):
    elder = world.residents["G1"][0]  # living alone, over 80: due
    grid_id = world.grids["G1"].id
    today = date(2026, 11, 22)
    assert elder.id in {d.resident.id for d in due_elderly_checks([grid_id], today)}
    cursor = worker.page()["next_cursor"]

    [result] = worker.results(
        [change_op("resident.move_out", elder, elder.version, date="2026-11-20", notes="随子女")]
    )

    assert result["status"] == "applied" and result["resident"]["status"] == "moved_out"
    db.session.expire_all()
    assert elder.id not in {d.resident.id for d in due_elderly_checks([grid_id], today)}
    page = worker.page(cursor)
    [resident] = [c for c in page["changes"] if c["entity"] == "resident"]
    assert resident["data"]["status"] == "moved_out" and resident["data"]["moved_out"] is True
    assert {"entity": "care_task", "id": elder.id} in [
        {"entity": c["entity"], "id": c["id"]} for c in page["changes"] if c["deleted"]
    ]


def test_a_death_is_recorded_once_and_a_stale_second_one_conflicts(worker, world):
    elder = world.residents["G1"][1]
    version = elder.version
    first = change_op("resident.deceased", elder, version, date="2026-11-19")

    [applied] = worker.results([first])
    [again] = worker.results([first])
    [stale] = worker.results([change_op("resident.move_out", elder, version, date="2026-11-19")])

    assert applied["status"] == "applied" and again["status"] == "duplicate"
    assert stale["status"] == "conflict"
    assert stale["current"]["status"] == "deceased"
    db.session.expire_all()
    row = db.session.get(Resident, elder.id)
    assert (row.status, row.left_on, row.version) == ("deceased", date(2026, 11, 19), version + 1)


def test_a_leaving_date_in_the_future_is_refused(worker, world):
    elder = world.residents["G1"][1]

    [result] = worker.results(
        [change_op("resident.move_out", elder, elder.version, date="2099-01-01")]
    )

    assert result["status"] == "rejected" and "date" in result["error"]["fields"]


def test_a_transfer_across_grids_reaches_the_other_worker_and_leaves_a_tombstone(
    app, world, worker
):
    mover = world.residents["G1"][2]
    target = world.households["G2"][0]
    other = SyncClient(app.test_client())
    login(other.client, "worker_g2")
    mine, theirs = worker.page()["next_cursor"], other.page()["next_cursor"]

    [result] = worker.results(
        [change_op("resident.transfer", mover, mover.version, to_household_id=target.id)]
    )

    assert result["status"] == "applied"
    assert result["resident"]["grid_id"] == world.grids["G2"].id
    gone = changes_of(worker, mine, "resident")
    assert gone == [
        {"entity": "resident", "id": mover.id, "version": None, "deleted": True, "data": None}
    ]
    arrived = changes_of(other, theirs, "resident")
    assert [c["id"] for c in arrived] == [mover.id]
    assert arrived[0]["data"]["household_id"] == target.id
    assert db.session.query(Tombstone).filter_by(entity="resident").count() == 1


def test_a_transfer_to_another_street_is_refused(worker, world, gen_household):
    far = gen_household()  # a new street of its own
    db.session.commit()
    mover = world.residents["G1"][2]

    [result] = worker.results(
        [change_op("resident.transfer", mover, mover.version, to_household_id=far.id)]
    )

    assert result["status"] == "rejected" and result["error"]["code"] == "out_of_scope"


def test_a_resident_of_another_grid_cannot_be_moved_out(worker, world):
    stranger = world.residents["G2"][0]

    [result] = worker.results(
        [change_op("resident.move_out", stranger, stranger.version, date="2026-11-20")]
    )

    assert result["status"] == "rejected"
    db.session.expire_all()
    assert db.session.get(Resident, stranger.id).status == "active"


def test_occupancy_changes_through_household_update(worker, world):
    household = world.households["G1"][0]
    op = new_op(
        "household.update",
        {"household_id": household.id, "changes": {"occupancy": "rented_out"}},
        record_id=household.id,
        base_version=household.version,
    )

    [result] = worker.results([op])

    assert result["status"] == "applied"
    db.session.expire_all()
    assert db.session.get(Household, household.id).occupancy == "rented_out"


def test_community_staff_may_create_in_any_grid_of_their_community(client, world):
    login(client, "staff_c1")
    sync = SyncClient(client)

    [result] = sync.results([household_op(building_of(world, "G2"), room="1201")])

    assert result["status"] == "applied"


def test_the_moved_out_tick_and_the_register_status_agree(worker, world):
    resident = world.residents["G1"][1]
    tick = new_op(
        "resident.update",
        {"resident_id": resident.id, "changes": {"moved_out": True}},
        record_id=resident.id,
        base_version=resident.version,
    )
    [result] = worker.results([tick])
    db.session.expire_all()
    assert db.session.get(Resident, resident.id).status == "moved_out"

    back = new_op(
        "resident.update",
        {"resident_id": resident.id, "changes": {"moved_out": False}},
        record_id=resident.id,
        base_version=result["version"],
    )
    worker.results([back])
    db.session.expire_all()
    assert db.session.get(Resident, resident.id).status == "active"


def test_a_deceased_resident_cannot_be_ticked_back(worker, world):
    resident = world.residents["G1"][1]
    [died] = worker.results(
        [change_op("resident.deceased", resident, resident.version, date="2026-11-01")]
    )
    untick = new_op(
        "resident.update",
        {"resident_id": resident.id, "changes": {"moved_out": False}},
        record_id=resident.id,
        base_version=died["version"],
    )

    [result] = worker.results([untick])

    assert result["status"] == "rejected"
    db.session.expire_all()
    assert db.session.get(Resident, resident.id).status == "deceased"


def test_moves_and_deaths_reach_the_ledger(app, worker, world, tmp_path):
    import openpyxl

    from webapp.i18n import local_today

    today = local_today()
    elder, other = world.residents["G1"][0], world.residents["G1"][1]
    results = worker.results(
        [
            change_op("resident.deceased", elder, elder.version, date=today.isoformat()),
            change_op("resident.move_out", other, other.version, date=today.isoformat()),
            resident_op(
                world.households["G1"][2].id, birth_date="1990-01-01", moved_in_on=str(today)
            ),
        ]
    )
    assert [r["status"] for r in results] == ["applied"] * 3, results
    db.session.expire_all()  # the CLI below runs in this test's session: no stale residents
    out = tmp_path / "grid.xlsx"

    result = app.test_cli_runner().invoke(
        args=[
            "ledger",
            "export",
            "--period",
            f"{today:%Y-%m}",
            "--scope",
            f"grid:{world.grids['G1'].id}",
            "--out",
            str(out),
        ]
    )

    assert result.exit_code == 0, result.output
    rows = list(openpyxl.load_workbook(out)["人口变动"].iter_rows(min_row=2, values_only=True))
    assert sorted(row[1] for row in rows) == ["死亡", "迁入", "迁出"], result.output
