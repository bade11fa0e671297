"""The record services behind `<kind>.create` (DESIGN.md §3): valid, each invalid field, scope,
corrections and the case-opening rules."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Case, CaseEvent, Dispute, ElderlyCheck, Hazard, Visit
from webapp.ops import Invalid, Op, OutOfScope
from webapp.rounds.records import create_record


@pytest.fixture
def field(gen_grid, gen_household, gen_resident, gen_user):
    grid = gen_grid()
    household = gen_household(grid=grid)
    elder = gen_resident(household, name="王桂英", living_alone=True)
    son = gen_resident(household, name="王小明", relation="子女")
    worker = gen_user("w1", "grid_worker", grid)
    other_household = gen_household()  # another grid
    db.session.commit()
    return dict(
        grid=grid,
        household=household,
        elder=elder,
        son=son,
        worker=worker,
        other_household=other_household,
    )


def op(kind, payload, record_id=None, client_time=None):
    return Op(
        op_id=uuid.uuid4(),
        type=f"{kind}.create",
        record_id=record_id or uuid.uuid4(),
        payload=payload,
        client_time=client_time,
    )


def create(worker, kind, payload, **kw):
    record, case = create_record(worker, op(kind, payload, **kw))
    db.session.commit()
    return record, case


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


# --- visit ---


def test_a_valid_visit_is_recorded_with_defaults(field):
    visit, case = create(
        field["worker"],
        "visit",
        {
            "household_id": field["household"].id,
            "present_resident_ids": [field["elder"].id],
            "needs": ["medical"],
            "notes": "血压偏高，已提醒复查",
            "location": {"lat": 39.9, "lng": 116.4, "accuracy_m": 12},
        },
    )
    assert case is None
    stored = db.session.get(Visit, visit.id)
    assert stored.grid_id == field["grid"].id
    assert stored.visit_kind == "routine"
    assert stored.author_id == field["worker"].id
    assert stored.change_seq > 0
    assert stored.location == {"lat": 39.9, "lng": 116.4, "accuracy_m": 12.0}


@pytest.mark.parametrize(
    ("change", "bad_field"),
    [
        ({"household_id": None}, "household_id"),
        ({"household_id": "abc"}, "household_id"),
        ({"visit_kind": "party"}, "visit_kind"),
        ({"needs": ["money", "medical"]}, "needs"),
        ({"needs": "medical"}, "needs"),
        ({"visited_at": "yesterday"}, "visited_at"),
        ({"visited_at": "2099-01-01T10:00:00+08:00"}, "visited_at"),
        ({"present_resident_ids": [999999]}, "present_resident_ids"),
        ({"location": {"lat": 200, "lng": 0}}, "location"),
        ({"location": {"lat": "north"}}, "location"),
        ({"notes": "很" * 4001}, "notes"),
        ({"photo_ids": [str(uuid.uuid4())]}, "photo_ids"),
    ],
)
def test_an_invalid_visit_field_is_refused_by_name(field, change, bad_field):
    payload = {"household_id": field["household"].id, **change}
    with pytest.raises(Invalid) as refused:
        create_record(field["worker"], op("visit", payload))
    assert bad_field in refused.value.errors
    db.session.rollback()
    assert count(Visit) == 0


def test_every_bad_field_is_reported_at_once(field):
    with pytest.raises(Invalid) as refused:
        create_record(
            field["worker"],
            op(
                "visit",
                {
                    "household_id": field["household"].id,
                    "visit_kind": "x",
                    "needs": ["y"],
                    "visited_at": "z",
                },
            ),
        )
    assert {"visit_kind", "needs", "visited_at"} <= set(refused.value.errors)


def test_a_visit_to_a_household_outside_my_grids_is_refused(field):
    with pytest.raises(OutOfScope):
        create_record(field["worker"], op("visit", {"household_id": field["other_household"].id}))


def test_the_same_record_id_twice_makes_one_record(field):
    record_id = uuid.uuid4()
    first, _ = create(
        field["worker"], "visit", {"household_id": field["household"].id}, record_id=record_id
    )
    again, _ = create(
        field["worker"], "visit", {"household_id": field["household"].id}, record_id=record_id
    )
    assert first.id == again.id == record_id
    assert count(Visit) == 1


def test_another_user_cannot_reuse_a_record_id(field, gen_user):
    record_id = uuid.uuid4()
    create(field["worker"], "visit", {"household_id": field["household"].id}, record_id=record_id)
    colleague = gen_user("w2", "grid_worker", field["grid"])
    with pytest.raises(Invalid) as refused:
        create_record(
            colleague, op("visit", {"household_id": field["household"].id}, record_id=record_id)
        )
    assert "record_id" in refused.value.errors


def test_client_time_is_kept_and_large_skew_is_flagged(field):
    told = datetime.now(UTC) - timedelta(hours=3)
    visit, _ = create(
        field["worker"], "visit", {"household_id": field["household"].id}, client_time=told
    )
    assert visit.clock_skew_flagged is True
    assert abs(visit.client_time - told) < timedelta(seconds=1)


def test_a_visit_time_without_offset_is_shanghai_time(field):
    visit, _ = create(
        field["worker"],
        "visit",
        {"household_id": field["household"].id, "visited_at": "2026-03-01T08:30"},
    )
    assert visit.visited_at == datetime(2026, 3, 1, 0, 30, tzinfo=UTC)


# --- corrections ---


def test_a_correction_is_a_new_record_pointing_at_the_old_one(field):
    original, _ = create(
        field["worker"], "visit", {"household_id": field["household"].id, "notes": "写错了"}
    )
    fixed, _ = create(
        field["worker"],
        "visit",
        {"household_id": field["household"].id, "notes": "正确内容", "corrects": str(original.id)},
    )
    assert fixed.id != original.id
    assert fixed.corrects_id == original.id
    assert db.session.get(Visit, original.id).notes == "写错了"


def test_a_correction_must_name_a_record_in_scope(field):
    with pytest.raises(Invalid) as refused:
        create_record(
            field["worker"],
            op("visit", {"household_id": field["household"].id, "corrects": str(uuid.uuid4())}),
        )
    assert "corrects" in refused.value.errors


# --- dispute ---

DISPUTE = {
    "category": "neighbour",
    "summary": "楼上漏水到楼下",
    "severity": "medium",
    "parties": [{"name": "张三", "role": "complainant"}, {"name": "李四", "role": "respondent"}],
}


def test_a_dispute_settled_on_site_opens_no_case(field):
    _, case = create(
        field["worker"],
        "dispute",
        {**DISPUTE, "household_id": field["household"].id, "resolved_on_site": True},
    )
    assert case is None
    assert count(Case) == 0


def test_a_dispute_not_settled_on_site_opens_a_grid_case(field):
    dispute, case = create(
        field["worker"], "dispute", {**DISPUTE, "household_id": field["household"].id}
    )
    assert case is not None
    assert (case.status, case.level, case.home_grid_id) == ("open", "grid", field["grid"].id)
    assert case.source_record_id == dispute.id
    assert case.household_id == field["household"].id
    assert case.number.startswith("AJ")
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)).all()
    assert [e.action for e in events] == ["open"]


def test_a_place_dispute_defaults_to_the_workers_only_grid(field):
    dispute, _ = create(
        field["worker"], "dispute", {**DISPUTE, "place": "3号楼前停车场", "resolved_on_site": True}
    )
    assert dispute.grid_id == field["grid"].id


def test_a_worker_with_two_grids_must_say_which(field, gen_grid):
    from webapp.auth.services import grant

    grant(field["worker"], "grid_worker", gen_grid(community=field["grid"].community).id)
    db.session.commit()
    with pytest.raises(Invalid) as refused:
        create_record(field["worker"], op("dispute", {**DISPUTE, "place": "广场"}))
    assert "grid_id" in refused.value.errors


@pytest.mark.parametrize(
    ("change", "bad_field"),
    [
        ({"summary": ""}, "summary"),
        ({"category": "aliens"}, "category"),
        ({"category": None}, "category"),
        ({"severity": "catastrophic"}, "severity"),
        ({"parties": [{"name": "", "role": "complainant"}]}, "parties"),
        ({"parties": [{"name": "张三", "role": "judge"}]}, "parties"),
        ({"resolved_on_site": "maybe"}, "resolved_on_site"),
    ],
)
def test_an_invalid_dispute_field_is_refused_by_name(field, change, bad_field):
    with pytest.raises(Invalid) as refused:
        create_record(
            field["worker"],
            op("dispute", {**DISPUTE, "household_id": field["household"].id, **change}),
        )
    assert bad_field in refused.value.errors


def test_a_dispute_needs_a_household_or_a_place(field):
    with pytest.raises(Invalid) as refused:
        create_record(field["worker"], op("dispute", DISPUTE))
    assert "place" in refused.value.errors


def test_a_dispute_at_another_grids_household_is_refused(field):
    with pytest.raises(OutOfScope):
        create_record(
            field["worker"], op("dispute", {**DISPUTE, "household_id": field["other_household"].id})
        )


# --- elderly check ---


def check(field, status, minutes_ago=0):
    when = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()
    return create(
        field["worker"],
        "elderly_check",
        {"resident_id": field["elder"].id, "status": status, "checked_at": when},
    )


def test_an_ok_check_opens_no_case(field):
    record, case = check(field, "ok")
    assert case is None
    assert db.session.get(ElderlyCheck, record.id).method == "in_person"


def test_needs_help_opens_a_case_at_once(field):
    _, case = check(field, "needs_help")
    assert case is not None
    assert case.resident_id == field["elder"].id
    assert case.severity == "high"


def test_not_reached_twice_running_opens_one_case(field):
    _, first = check(field, "not_reached", minutes_ago=60 * 24 * 3)
    _, second = check(field, "not_reached", minutes_ago=10)
    _, third = check(field, "not_reached")
    assert first is None
    assert second is not None
    assert third is None
    assert count(Case) == 1


def test_not_reached_after_a_good_check_opens_no_case(field):
    check(field, "not_reached", minutes_ago=60 * 24 * 7)
    check(field, "ok", minutes_ago=60 * 24 * 3)
    _, case = check(field, "not_reached")
    assert case is None


@pytest.mark.parametrize(
    ("change", "bad_field"),
    [
        ({"status": None}, "status"),
        ({"status": "dead"}, "status"),
        ({"method": "telepathy"}, "method"),
        ({"resident_id": None}, "resident_id"),
        ({"needs": ["wishes"]}, "needs"),
        ({"checked_at": "not a time"}, "checked_at"),
    ],
)
def test_an_invalid_check_field_is_refused_by_name(field, change, bad_field):
    with pytest.raises(Invalid) as refused:
        create_record(
            field["worker"],
            op("elderly_check", {"resident_id": field["elder"].id, "status": "ok", **change}),
        )
    assert bad_field in refused.value.errors


def test_a_check_on_a_resident_outside_my_grids_is_refused(field, gen_resident):
    stranger = gen_resident(field["other_household"])
    db.session.commit()
    with pytest.raises(OutOfScope):
        create_record(
            field["worker"], op("elderly_check", {"resident_id": stranger.id, "status": "ok"})
        )


# --- hazard ---

HAZARD = {"category": "fire", "severity": "high", "description": "楼道堆放电动车电池"}


def test_a_hazard_fixed_on_site_opens_no_case(field):
    hazard, case = create(
        field["worker"],
        "hazard",
        {**HAZARD, "building_id": field["household"].building_id, "fixed_on_site": True},
    )
    assert case is None
    assert db.session.get(Hazard, hazard.id).grid_id == field["grid"].id


def test_a_hazard_not_fixed_opens_a_case_with_its_severity(field):
    _, case = create(
        field["worker"], "hazard", {**HAZARD, "building_id": field["household"].building_id}
    )
    assert (case.status, case.level, case.severity, case.category) == (
        "open",
        "grid",
        "high",
        "fire",
    )


@pytest.mark.parametrize(
    ("change", "bad_field"),
    [
        ({"description": " "}, "description"),
        ({"category": "ghosts"}, "category"),
        ({"severity": "meh"}, "severity"),
        ({"fixed_on_site": "perhaps"}, "fixed_on_site"),
        ({"location": {"lat": 1}}, "location"),
    ],
)
def test_an_invalid_hazard_field_is_refused_by_name(field, change, bad_field):
    with pytest.raises(Invalid) as refused:
        create_record(field["worker"], op("hazard", {**HAZARD, "place": "小区东门", **change}))
    assert bad_field in refused.value.errors


def test_a_hazard_needs_a_building_or_a_place(field):
    with pytest.raises(Invalid) as refused:
        create_record(field["worker"], op("hazard", HAZARD))
    assert "place" in refused.value.errors


def test_a_hazard_in_another_grids_building_is_refused(field):
    with pytest.raises(OutOfScope):
        create_record(
            field["worker"],
            op("hazard", {**HAZARD, "building_id": field["other_household"].building_id}),
        )


def test_an_unknown_record_type_is_refused(field):
    with pytest.raises(Invalid):
        create_record(
            field["worker"],
            Op(op_id=uuid.uuid4(), type="party.create", record_id=uuid.uuid4(), payload={}),
        )


def test_each_record_gets_a_new_change_sequence_number(field):
    first, _ = create(field["worker"], "visit", {"household_id": field["household"].id})
    second, _ = create(
        field["worker"], "dispute", {**DISPUTE, "place": "x", "resolved_on_site": True}
    )
    assert second.change_seq > first.change_seq
    assert db.session.get(Dispute, second.id) is not None
