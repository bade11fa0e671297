"""The case lifecycle (DESIGN.md §4): who may do what at which level, the timeline, time limits,
pauses and extensions, follow-up visits, and offline actions that arrive too late."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.factories import gen_hazard_case
from webapp.cases import limits
from webapp.cases.actions import perform
from webapp.extensions import db
from webapp.models import Case, CaseEvent, Notification, utcnow
from webapp.ops import Conflict, Invalid, OutOfScope


@pytest.fixture
def org(gen_street, gen_community, gen_grid, gen_household, gen_user):
    street = gen_street()
    community = gen_community(street)
    grid = gen_grid(community)
    household = gen_household(grid=grid)
    people = dict(
        worker=gen_user("worker", "grid_worker", grid),
        community=gen_user("community", "community_staff", community),
        street=gen_user("street", "street_staff", street),
        admin=gen_user("admin", "admin"),
        stranger=gen_user("stranger", "grid_worker", gen_grid()),
        other_street=gen_user("other_street", "street_staff", gen_street()),
    )
    db.session.commit()
    return dict(grid=grid, household=household, **people)


def open_case(org, severity="medium") -> Case:
    return gen_hazard_case(org["worker"], org["household"], severity)


act = f.act_on_case


def refused(user, case, action, **payload):
    with pytest.raises((Invalid, Conflict, OutOfScope)) as error:
        act(user, case, action, **payload)
    db.session.rollback()
    return error.value


def timeline(case):
    return db.session.scalars(
        select(CaseEvent.action).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    ).all()


def future(days=3):
    return (utcnow() + timedelta(days=days)).isoformat()


# --- opening and escalation ---------------------------------------------------------------------


def test_a_new_case_starts_open_at_its_grid_with_deadlines(org):
    case = open_case(org)
    assert (case.status, case.level, case.home_grid_id) == ("open", "grid", org["grid"].id)
    assert case.warn_at < case.due_at
    assert limits.sla_state(case, utcnow()) is limits.SlaState.GREEN


def test_escalation_needs_a_recorded_local_attempt(org):
    case = open_case(org)
    error = refused(org["worker"], case, "request_escalation")
    assert "action" in error.errors
    act(org["worker"], case, "note", notes="已上门劝导，住户拒不清理")
    act(org["worker"], case, "request_escalation")
    assert (case.status, case.level) == ("escalated", "community")
    assert timeline(case) == ["open", "note", "request_escalation"]


def test_an_urgent_case_skips_to_the_street_without_a_local_attempt(org):
    case = open_case(org, severity="urgent")
    act(org["worker"], case, "request_escalation")
    assert (case.status, case.level) == ("escalated", "street")
    event = db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id.desc())
    ).first()
    assert event.data["skip_level"] is True
    assert (event.from_level, event.to_level) == ("grid", "street")


def test_escalating_keeps_the_home_grid(org):
    case = open_case(org, severity="urgent")
    act(org["worker"], case, "request_escalation")
    assert case.home_grid_id == org["grid"].id


def test_escalation_notifies_the_level_above(org):
    case = open_case(org, severity="urgent")
    act(org["worker"], case, "request_escalation")
    notified = db.session.scalars(
        select(Notification.user_id).where(
            Notification.case_id == case.id, Notification.kind == "escalated"
        )
    ).all()
    assert notified == [org["street"].id]


# --- who may do what at which level -------------------------------------------------------------


def escalated_to_community(org):
    case = open_case(org)
    act(org["worker"], case, "note", notes="劝导无效")
    act(org["worker"], case, "request_escalation")
    return case


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("worker", False),
        ("community", True),
        ("street", False),
        ("admin", True),
    ],
)
def test_who_accepts_at_community_level(org, who, allowed):
    case = escalated_to_community(org)
    if allowed:
        act(org[who], case, "accept")
        assert case.status == "accepted"
    else:
        refused(org[who], case, "accept")
        assert db.session.get(Case, case.id).status == "escalated"


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("worker", False),
        ("community", False),
        ("street", True),
        ("admin", True),
    ],
)
def test_who_accepts_at_street_level(org, who, allowed):
    case = open_case(org, severity="urgent")
    act(org["worker"], case, "request_escalation")
    if allowed:
        act(org[who], case, "accept")
        assert case.status == "accepted"
    else:
        refused(org[who], case, "accept")


@pytest.mark.parametrize("action", ["accept", "assign", "supervise", "pause", "resolve"])
def test_a_grid_worker_cannot_take_staff_actions(org, action):
    case = escalated_to_community(org)
    refused(
        org["worker"], case, action, department="城管", deadline=future(), result="x", notes="x"
    )


def test_only_street_staff_supervise(org):
    case = escalated_to_community(org)
    refused(org["community"], case, "supervise", deadline=future())
    act(org["street"], case, "supervise", deadline=future(), notes="请加快办理")
    assert case.supervised is True
    notified = set(
        db.session.scalars(
            select(Notification.user_id).where(
                Notification.case_id == case.id, Notification.kind == "supervised"
            )
        )
    )
    assert {org["worker"].id, org["community"].id} <= notified


def test_someone_outside_the_scope_gets_out_of_scope(org):
    case = open_case(org)
    for who in ("stranger", "other_street"):
        assert isinstance(refused(org[who], case, "note", notes="x"), OutOfScope)


def test_assign_needs_a_known_department_or_person(org):
    case = escalated_to_community(org)
    act(org["community"], case, "accept")
    assert "department" in refused(org["community"], case, "assign").errors
    assert "department" in refused(org["community"], case, "assign", department="火星局").errors
    act(org["community"], case, "assign", department="城管", due_at=future(2))
    assert case.assigned_department == "城管"
    assert case.due_at > utcnow()


def test_a_due_date_in_the_past_is_refused(org):
    case = escalated_to_community(org)
    act(org["community"], case, "accept")
    error = refused(
        org["community"],
        case,
        "assign",
        department="城管",
        due_at=(utcnow() - timedelta(hours=1)).isoformat(),
    )
    assert "due_at" in error.errors


# --- pause, extension ---------------------------------------------------------------------------


def test_pausing_stops_the_clock_and_resuming_pushes_deadlines_out(org):
    case = escalated_to_community(org)
    act(org["community"], case, "accept")
    due_before = case.due_at
    act(org["community"], case, "pause", notes="等待居民提供材料")
    assert limits.sla_state(case, utcnow() + timedelta(days=30)) is limits.SlaState.PAUSED
    # Pretend the pause lasted two days.
    case.paused_at -= timedelta(days=2)
    db.session.commit()
    act(org["community"], case, "resume")
    assert limits.effective(case.due_at, case, utcnow()) - due_before >= timedelta(days=2)
    assert refused(org["community"], case, "resume").current["paused"] is False


def test_an_extension_is_requested_and_approved_in_working_days(org):
    case = escalated_to_community(org)
    act(org["community"], case, "accept")
    due_before = case.due_at
    refused(org["community"], case, "approve_extension")
    act(org["community"], case, "request_extension", days=3, notes="需协调物业")
    assert isinstance(
        refused(org["community"], case, "request_extension", days=2, notes="x"), Conflict
    )
    refused(org["community"], case, "approve_extension")  # not theirs to approve
    act(org["street"], case, "approve_extension")
    assert case.due_at > due_before + timedelta(days=2)
    assert timeline(case)[-2:] == ["request_extension", "approve_extension"]


def test_extension_days_are_bounded(org):
    case = escalated_to_community(org)
    act(org["community"], case, "accept")
    assert "days" in refused(org["community"], case, "request_extension", days=90, notes="x").errors


# --- resolution and follow-up -------------------------------------------------------------------


def resolved(org):
    case = escalated_to_community(org)
    act(org["community"], case, "accept")
    act(org["community"], case, "resolve", result="已协调物业清理楼道")
    return case


def test_resolving_needs_a_result_and_asks_the_home_worker_to_visit_back(org):
    case = escalated_to_community(org)
    act(org["community"], case, "accept")
    assert "result" in refused(org["community"], case, "resolve").errors
    act(org["community"], case, "resolve", result="已清理")
    assert case.status == "resolved"
    task = db.session.scalar(select(Notification).where(Notification.kind == "follow_up_due"))
    assert task.user_id == org["worker"].id


@pytest.mark.parametrize("satisfaction", ["satisfied", "basically_satisfied"])
def test_a_satisfied_follow_up_closes_the_case(org, satisfaction):
    case = resolved(org)
    act(org["worker"], case, "follow_up", satisfaction=satisfaction, notes="居民认可")
    assert case.status == "closed"
    assert case.closed_at is not None
    assert case.satisfaction == satisfaction


def test_a_dissatisfied_follow_up_reopens_the_case(org):
    case = resolved(org)
    act(org["worker"], case, "follow_up", satisfaction="dissatisfied", notes="杂物又堆回来了")
    assert (case.status, case.level) == ("accepted", "community")
    assert case.resolved_at is None


def test_follow_up_needs_a_satisfaction(org):
    case = resolved(org)
    assert "satisfaction" in refused(org["worker"], case, "follow_up").errors


def test_an_offline_follow_up_arriving_after_the_case_closed_is_a_conflict(org):
    case = resolved(org)
    act(org["community"], case, "follow_up", satisfaction="satisfied")
    late = refused(org["worker"], case, "follow_up", satisfaction="satisfied")
    assert isinstance(late, Conflict)
    assert late.current["status"] == "closed"
    assert late.current["id"] == str(case.id)


def test_an_offline_note_on_a_closed_case_is_a_conflict(org):
    case = resolved(org)
    act(org["worker"], case, "follow_up", satisfaction="satisfied")
    assert isinstance(refused(org["worker"], case, "note", notes="补充"), Conflict)


def test_closed_cases_can_be_reopened_by_staff_with_a_reason(org):
    case = resolved(org)
    act(org["worker"], case, "follow_up", satisfaction="satisfied")
    assert "notes" in refused(org["community"], case, "reopen").errors
    act(org["community"], case, "reopen", notes="居民再次反映")
    assert case.status == "accepted"


def test_every_action_is_one_timeline_entry_with_states(org):
    case = resolved(org)
    events = db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    ).all()
    assert [(e.action, e.from_status, e.to_status) for e in events] == [
        ("open", "", "open"),
        ("note", "open", "open"),
        ("request_escalation", "open", "escalated"),
        ("accept", "escalated", "accepted"),
        ("resolve", "accepted", "resolved"),
    ]
    assert all(e.actor_id for e in events)


def test_case_actions_are_audited(org):
    from webapp.models import AuditLog

    resolved(org)
    count = db.session.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == "case_action")
    )
    assert count == 4


def test_unknown_actions_are_refused(org):
    case = open_case(org)
    assert "action" in refused(org["admin"], case, "teleport").errors


def test_perform_by_the_system_has_no_actor(org):
    case = open_case(org)
    perform(case, None, "note", {"notes": "系统备注"})
    db.session.commit()
    assert (
        db.session.scalars(
            select(CaseEvent.actor_id).where(
                CaseEvent.case_id == case.id, CaseEvent.action == "note"
            )
        ).one()
        is None
    )
