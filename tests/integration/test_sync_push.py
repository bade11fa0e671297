"""`POST /api/v1/sync/push` (DESIGN.md §5): one result per op, in order, after the commit; an op
is applied at most once however often it arrives; one bad op never blocks the rest."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from tests.integration.sync_api import (
    API,
    ID_NUMBERS,
    PHONES,
    SyncClient,
    World,
    household_update_op,
    login,
    make_world,
    new_op,
    raw_text,
    visit_op,
)
from webapp.extensions import db
from webapp.models import Case, Household, Membership, OpLog, Visit
from webapp.sync import dispatch


@pytest.fixture
def world(app) -> World:
    return make_world()


@pytest.fixture
def api(client, login_as, world) -> SyncClient:
    login_as("worker_g1")
    return SyncClient(client)


def fresh(model, key):
    """The row as committed now, not as this test's session last saw it."""
    db.session.expire_all()
    return db.session.get(model, key)


def visit_count(**where) -> int:
    query = select(func.count()).select_from(Visit)
    for name, value in where.items():
        query = query.where(getattr(Visit, name) == value)
    return db.session.scalar(query)


def test_a_visit_op_is_applied_with_version_1_and_its_record_id(api, world):
    op = visit_op(world.households["G1"][0], visit_kind="routine", needs=["medical"])
    [result] = api.results([op])
    assert result == {
        "op_id": op["op_id"],
        "status": "applied",
        "record_id": op["record_id"],
        "version": 1,
        "error": None,
        "current": None,
    }
    visit = fresh(Visit, uuid.UUID(op["record_id"]))
    assert visit.author_id == world.users["worker_g1"].id
    assert visit.needs == ["medical"]


def test_the_server_keeps_client_time_as_told_and_records_its_own_received_at(api, world):
    op = visit_op(world.households["G1"][0])
    op["client_time"] = "2026-11-20T08:00:00+08:00"
    api.results([op])
    visit = fresh(Visit, uuid.UUID(op["record_id"]))
    assert visit.client_time.isoformat() == "2026-11-20T00:00:00+00:00"
    assert visit.received_at is not None
    logged = fresh(OpLog, uuid.UUID(op["op_id"]))
    assert (logged.device_id, logged.client_time) == ("phone-1", visit.client_time)
    assert logged.received_at is not None


def test_a_client_time_without_an_offset_is_read_as_china_time(api, world):
    op = visit_op(world.households["G1"][0])
    op["client_time"] = "2026-11-20T08:00:00"
    api.results([op])
    visit = fresh(Visit, uuid.UUID(op["record_id"]))
    assert visit.client_time.isoformat() == "2026-11-20T00:00:00+00:00"


def test_the_same_op_pushed_ten_times_makes_one_record_and_the_same_result(api, world):
    op = visit_op(world.households["G1"][0])
    results = [api.results([op])[0] for _ in range(10)]
    assert visit_count(id=uuid.UUID(op["record_id"])) == 1
    assert results[0]["status"] == "applied"
    assert {r["status"] for r in results[1:]} == {"duplicate"}
    strip = [{k: v for k, v in r.items() if k != "status"} for r in results]
    assert all(r == strip[0] for r in strip)


def test_the_same_op_twice_in_one_batch_is_applied_once(api, world):
    op = visit_op(world.households["G1"][0])
    first, second = api.results([op, op])
    assert (first["status"], second["status"]) == ("applied", "duplicate")
    assert second["record_id"] == first["record_id"]
    assert visit_count() == 1


def test_key_order_and_whitespace_do_not_make_a_different_op(api, world):
    op = visit_op(world.households["G1"][0], visit_kind="routine")
    api.results([op])
    reordered = dict(reversed(list(op.items())))
    body = json.dumps({"ops": [reordered], "device_id": "phone-1"}, indent=4)
    response = api.client.post(
        "/api/v1/sync/push", data=body, headers={**API, "Content-Type": "application/json"}
    )
    assert response.get_json()["results"][0]["status"] == "duplicate"


def test_a_batch_with_one_invalid_op_applies_the_others_in_order(api, world):
    h1, h2, h3 = world.households["G1"]
    ops = [visit_op(h1), visit_op(h2, visit_kind="no_such_kind"), visit_op(h3)]
    results = api.results(ops)
    assert [r["op_id"] for r in results] == [op["op_id"] for op in ops]
    assert [r["status"] for r in results] == ["applied", "rejected", "applied"]
    assert results[1]["error"]["code"] == "invalid"
    assert "visit_kind" in results[1]["error"]["fields"]
    assert visit_count() == 2


def test_a_rejected_op_is_not_logged_so_it_is_judged_again_when_resent(api, world):
    op = visit_op(999_999)
    assert api.results([op])[0]["status"] == "rejected"
    assert fresh(OpLog, uuid.UUID(op["op_id"])) is None


def test_an_op_id_reused_with_a_different_body_is_rejected_and_the_first_stays(api, world):
    h1, h2, _ = world.households["G1"]
    first = visit_op(h1, notes="第一次")
    api.results([first])
    reused = {**visit_op(h2, notes="第二次"), "op_id": first["op_id"]}
    [result] = api.results([reused])
    assert result["status"] == "rejected"
    assert result["error"]["code"] == "op_id_reused"
    assert result["record_id"] == reused["record_id"]
    assert visit_count() == 1
    assert fresh(Visit, uuid.UUID(first["record_id"])).notes == "第一次"
    # and the original still answers as before
    assert api.results([first])[0]["status"] == "duplicate"


def test_another_users_op_id_is_reused_not_duplicate(app, api, world):
    op = visit_op(world.households["G1"][0])
    api.results([op])
    staff = app.test_client()
    login(staff, "staff_c1")
    [result] = SyncClient(staff).results([op])
    assert result["error"]["code"] == "op_id_reused"


def test_a_stale_base_version_is_a_conflict_with_the_current_copy_as_the_table_shows(api, world):
    household = world.households["G1"][0]
    api.results([household_update_op(household, 1, occupancy="rented_out")])
    [result] = api.results([household_update_op(household, 1, occupancy="vacant")])
    assert result["status"] == "conflict"
    assert result["error"]["code"] == "conflict"
    assert result["current"]["version"] == 2
    assert result["current"]["occupancy"] == "rented_out"
    # The worker of the grid sees its phones in full (DESIGN.md §7); ID numbers never.
    assert result["current"]["contact_phone"] == PHONES[0]
    assert not any(secret in raw_text(result) for secret in ID_NUMBERS)
    assert fresh(Household, household.id).occupancy == "rented_out"


def test_an_update_answers_with_the_new_version(api, world):
    household = world.households["G1"][0]
    [result] = api.results([household_update_op(household, 1, occupancy="vacant")])
    assert (result["status"], result["version"], result["record_id"]) == (
        "applied",
        2,
        household.id,
    )


def test_a_resident_update_applies_through_the_profile_service(api, world):
    resident = world.residents["G1"][1]
    op = new_op(
        "resident.update",
        {"resident_id": resident.id, "changes": {"empty_nest": True}},
        record_id=resident.id,
        base_version=1,
    )
    [result] = api.results([op])
    assert (result["status"], result["version"]) == ("applied", 2)


def test_an_op_on_another_grid_is_rejected_as_out_of_scope(api, world):
    [result] = api.results([visit_op(world.households["G3"][0])])
    assert result["status"] == "rejected"
    assert result["error"]["code"] == "out_of_scope"
    assert visit_count() == 0


def test_an_op_for_a_grid_the_user_once_worked_is_quarantined_for_review(api, world):
    worker = world.users["worker_g1"]
    g2 = world.grids["G2"]
    membership = Membership(
        user_id=worker.id, role="grid_worker", scope_kind="grid", scope_id=g2.id
    )
    db.session.add(membership)
    db.session.commit()
    assert api.results([visit_op(world.households["G2"][0])])[0]["status"] == "applied"
    db.session.delete(db.session.get(Membership, membership.id))
    db.session.commit()

    late = visit_op(world.households["G2"][1], notes="离开网格前写的")
    [result] = api.results([late])
    assert result["status"] == "quarantined"
    assert result["error"]["code"] == "grid_not_held"
    assert visit_count(grid_id=g2.id) == 1  # held, not applied
    held = fresh(OpLog, uuid.UUID(late["op_id"]))
    assert (held.status, held.held_body) == ("quarantined", late)
    assert api.results([late])[0] == result  # a retry gets the same answer


def test_an_out_of_scope_op_for_a_grid_never_worked_is_rejected_not_quarantined(api, world):
    # worker_g1 never recorded anything in G2, so G2 is a stranger's grid to them
    [result] = api.results([visit_op(world.households["G2"][0])])
    assert result["status"] == "rejected"
    assert fresh(OpLog, uuid.UUID(result["op_id"])) is None


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"type": "visit.delete"}, "unknown_type"),
        ({"op_id": "not-a-uuid"}, "malformed_op"),
        ({"record_id": "not-a-uuid"}, "malformed_op"),
        ({"client_time": "yesterday"}, "malformed_op"),
        ({"client_time": None}, "malformed_op"),
        ({"payload": ["not", "an", "object"]}, "malformed_op"),
    ],
)
def test_a_malformed_op_is_rejected_alone(api, world, change, code):
    good = visit_op(world.households["G1"][0])
    bad = {**visit_op(world.households["G1"][1]), **change}
    results = api.results([bad, good])
    assert results[0]["status"] == "rejected"
    assert results[0]["error"]["code"] == code
    assert results[1]["status"] == "applied"


def test_an_op_that_is_not_an_object_is_rejected_alone(api, world):
    results = api.results(["visit", visit_op(world.households["G1"][0])])
    assert [r["status"] for r in results] == ["rejected", "applied"]
    assert results[0]["op_id"] is None


def test_an_update_without_base_version_is_rejected(api, world):
    op = household_update_op(world.households["G1"][0], 1, occupancy="vacant")
    del op["base_version"]
    [result] = api.results([op])
    assert (result["status"], result["error"]["code"]) == ("rejected", "malformed_op")


def test_a_bug_in_one_op_does_not_block_the_others(api, world, monkeypatch):
    def broken(actor, op):
        raise RuntimeError("boom")

    monkeypatch.setitem(dispatch.HANDLERS, "household.update", broken)
    ops = [
        household_update_op(world.households["G1"][0], 1, occupancy="vacant"),
        visit_op(world.households["G1"][0]),
    ]
    results = api.results(ops)
    assert [r["status"] for r in results] == ["rejected", "applied"]
    assert results[0]["error"]["code"] == "server_error"


def test_a_database_that_stays_busy_answers_503_and_acknowledges_nothing(api, world, monkeypatch):
    calls = []

    def busy(*args, **kwargs):
        calls.append(1)
        raise OperationalError("UPDATE change_counter", {}, Exception("database is locked"))

    monkeypatch.setattr("webapp.sync.push.apply_op", busy)
    response = api.push([visit_op(world.households["G1"][0])])
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.get_json()["error"]["code"] == "busy"
    assert len(calls) > 1  # retried before giving up
    assert visit_count() == 0


def test_a_transient_busy_database_is_retried_and_the_result_is_right(api, world, monkeypatch):
    real = dispatch.apply_op
    failures = [1, 1]

    def flaky(*args, **kwargs):
        if failures:
            failures.pop()
            raise OperationalError("UPDATE change_counter", {}, Exception("database is locked"))
        return real(*args, **kwargs)

    monkeypatch.setattr("webapp.sync.push.apply_op", flaky)
    op = visit_op(world.households["G1"][0])
    assert api.results([op])[0]["status"] == "applied"
    assert visit_count() == 1


# --- case actions go through the cases package ------------------------------------------------


def urgent_hazard(world: World) -> dict:
    building_id = world.households["G1"][0].building_id
    return new_op(
        "hazard.create",
        {
            "building_id": building_id,
            "category": "gas",
            "severity": "urgent",
            "description": "燃气泄漏",
        },
    )


def test_a_case_action_is_applied_with_the_cases_new_version(api, world):
    hazard = urgent_hazard(world)
    api.results([hazard])
    case = db.session.scalar(
        select(Case).where(Case.source_record_id == uuid.UUID(hazard["record_id"]))
    )
    note = new_op("case.action", {"case_id": str(case.id), "action": "note", "notes": "已关阀"})
    [result] = api.results([note])
    assert result["status"] == "applied"
    db.session.expire_all()
    assert result["version"] == fresh(Case, case.id).version


def test_a_case_action_that_no_longer_applies_is_a_conflict_with_the_case(api, world):
    hazard = urgent_hazard(world)
    api.results([hazard])
    case_id = str(
        db.session.scalar(
            select(Case.id).where(Case.source_record_id == uuid.UUID(hazard["record_id"]))
        )
    )
    escalate = {"case_id": case_id, "action": "request_escalation"}
    assert api.results([new_op("case.action", escalate)])[0]["status"] == "applied"
    [late] = api.results([new_op("case.action", escalate)])
    assert late["status"] == "conflict"
    assert late["current"]["id"] == case_id
    assert late["current"]["level"] == "street"


def hazard_op(world, **payload):
    building_id = world.households["G1"][0].building_id
    return new_op(
        "hazard.create",
        {
            "building_id": building_id,
            "category": "fire",
            "severity": "high",
            "description": "楼道堆放杂物",
            **payload,
        },
    )


def test_a_record_that_opens_a_case_says_so_in_its_result(api, world):
    [result] = api.results([hazard_op(world)])
    assert result["status"] == "applied"
    case = fresh(Case, uuid.UUID(result["case"]["id"]))
    assert result["case"]["number"] == case.number
    [settled] = api.results([hazard_op(world, fixed_on_site=True)])
    assert "case" not in settled


def test_a_retried_record_reports_the_same_case(api, world):
    op = hazard_op(world)
    [first] = api.results([op])
    [again] = api.results([op])
    assert again["status"] == "duplicate"
    assert again["case"] == first["case"]


def test_a_case_action_from_the_outbox_is_applied(api, world):
    [opened] = api.results([hazard_op(world)])
    case_id = opened["case"]["id"]
    [noted] = api.results(
        [new_op("case.action", {"case_id": case_id, "action": "note", "notes": "已上门劝导"})]
    )
    assert noted["status"] == "applied"
    assert noted["case"]["status"] == "open"
    [escalated] = api.results(
        [new_op("case.action", {"case_id": case_id, "action": "request_escalation"})]
    )
    assert (escalated["status"], escalated["case"]["level"]) == ("applied", "community")


def test_a_follow_up_arriving_after_the_case_closed_is_a_conflict(api, world):
    [opened] = api.results([hazard_op(world)])
    case = fresh(Case, uuid.UUID(opened["case"]["id"]))
    case.status = "closed"
    db.session.commit()
    [late] = api.results(
        [
            new_op(
                "case.action",
                {"case_id": str(case.id), "action": "follow_up", "satisfaction": "satisfied"},
            )
        ]
    )
    assert late["status"] == "conflict"
    assert late["current"]["status"] == "closed"
    assert late["current"]["id"] == str(case.id)


def test_a_staff_action_from_a_worker_is_rejected(api, world):
    [opened] = api.results([hazard_op(world)])
    [refused] = api.results(
        [new_op("case.action", {"case_id": opened["case"]["id"], "action": "accept"})]
    )
    assert refused["status"] == "rejected"


# --- the request as a whole -----------------------------------------------------------------------


def test_more_than_500_ops_is_413(api, world):
    ops = [visit_op(world.households["G1"][0]) for _ in range(501)]
    response = api.push(ops)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_many_ops"
    assert visit_count() == 0


def test_a_body_over_2_mb_is_413(api, world):
    op = visit_op(world.households["G1"][0], notes="x" * (2 * 1024 * 1024))
    response = api.push([op])
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


def test_malformed_json_is_400_json(api):
    response = api.client.post(
        "/api/v1/sync/push",
        data=b'{"device_id": "x", "ops": [',
        headers={**API, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "malformed_json"


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"ops": []},
        {"device_id": "", "ops": []},
        {"device_id": "x" * 65, "ops": []},
        {"device_id": "d"},
    ],
)
def test_a_body_not_shaped_like_a_push_is_400(api, body):
    response = api.client.post("/api/v1/sync/push", json=body, headers=API)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"


def test_an_empty_batch_is_fine(api):
    assert api.results([]) == []


def test_no_answer_carries_more_than_the_masking_table_shows(app, api, world):
    resident = world.residents["G1"][0]

    def phone_edit(phone):
        return new_op(
            "resident.update",
            {"resident_id": resident.id, "changes": {"phone": phone}},
            record_id=resident.id,
            base_version=1,
        )

    api.results([phone_edit("13500000000")])
    [stale] = api.results([phone_edit("13600000000")])
    assert stale["status"] == "conflict"
    assert stale["current"]["phone"] == "13500000000"  # the grid's own worker: in full
    answers = raw_text(stale)
    for secret in ID_NUMBERS:
        assert secret not in answers
    clerk = app.test_client()
    login(clerk, "staff_c1")  # community staff: phones masked, in answers too
    [late] = SyncClient(clerk).results([phone_edit("13700000000")])
    assert late["status"] == "conflict"
    assert late["current"]["phone"] == "135****0000"
    for secret in ("13500000000", *PHONES, *ID_NUMBERS):
        assert secret not in raw_text(late)
