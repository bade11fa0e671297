"""One table says who may take which action at which level and status (DESIGN.md §4): for every
role × level × status (and each state a department's part can be in), the actions a page offers
are exactly the actions that succeed. Generated, so a rule added to one side only fails here."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from tests.factories import gen_case
from webapp.cases import limits
from webapp.cases.actions import ACTIONS, available_actions, perform
from webapp.extensions import db
from webapp.models import CaseEvent, CasePart, Department, utcnow
from webapp.ops import Conflict, Invalid

LEVELS = ("grid", "community", "street")
STATUSES = ("open", "escalated", "accepted", "resolved", "closed")
PART_STATES = (None, "assigned", "signed", "reported")
ROLES = ("worker", "community", "street", "admin", "department")


def valid_payload(action: str) -> dict:
    soon = (utcnow() + timedelta(days=3)).isoformat()
    return {
        "note": {"notes": "已上门"},
        "assign": {"department": "城管"},
        "supervise": {"deadline": soon},
        "pause": {"notes": "等待住户回来"},
        "request_extension": {"days": 3, "notes": "需要协调"},
        "report_back": {"result": "已清理"},
        "return": {"reason": "不属本部门"},
        "review": {"decision": "approve"},
        "resolve": {"result": "已解决"},
        "close_unresolvable": {"reason": "产权纠纷", "measures": "设置警示"},
        "follow_up": {"satisfaction": "satisfied"},
        "reopen": {"notes": "住户反映未解决"},
    }.get(action, {})


@pytest.fixture
def world(gen_street, gen_community, gen_grid, gen_user):
    street = gen_street()
    community = gen_community(street)
    grid = gen_grid(community)
    city = Department(street_id=street.id, name="城管")
    db.session.add(city)
    db.session.flush()
    users = dict(
        worker=gen_user("worker", "grid_worker", grid),
        community=gen_user("community", "community_staff", community),
        street=gen_user("street", "street_staff", street),
        admin=gen_user("admin", "admin"),
        department=gen_user("dept", "department_staff", city),
    )
    db.session.commit()
    return dict(grid=grid, city=city, users=users)


def a_case(world, level: str, status: str, part_state: str | None):
    now = utcnow()
    case = gen_case(grid=world["grid"], level=level, status=status, stage_started_at=now)
    limits.start_stage(case, now)
    # A local attempt on record, so escalation is possible where the table allows it.
    db.session.add(
        CaseEvent(
            case_id=case.id,
            action="note",
            from_status=status,
            to_status=status,
            from_level=level,
            to_level=level,
            note="已劝导",
            at=now,
        )
    )
    if part_state is not None:
        db.session.add(
            CasePart(
                case_id=case.id,
                department_id=world["city"].id,
                status=part_state,
                assigned_at=now,
                stage_started_at=now,
                due_at=now + timedelta(days=1),
            )
        )
    db.session.commit()
    return case


def succeeds(case, user, action) -> bool:
    savepoint = db.session.begin_nested()
    try:
        perform(case, user, action, valid_payload(action))
        return True
    except (Invalid, Conflict):
        return False
    finally:
        savepoint.rollback()
        db.session.expire_all()


STATES = [
    (level, status, part)
    for level, status, part in itertools.product(LEVELS, STATUSES, PART_STATES)
    # A part exists only once a community or the street has a case to hand out.
    if part is None or (level != "grid" and status in ("accepted", "resolved", "escalated"))
]


@pytest.mark.parametrize(("level", "status", "part"), STATES)
def test_the_offered_actions_are_exactly_those_that_succeed(world, level, status, part):
    case = a_case(world, level, status, part)
    for role in ROLES:
        user = world["users"][role]
        offered = set(available_actions(case, user))
        worked = {action for action in ACTIONS if succeeds(case, user, action)}
        assert offered == worked, (role, level, status, part)


def test_the_table_is_not_empty_handed(world):
    """The generated test means something only if the table lets people act at all."""
    case = a_case(world, "street", "accepted", "assigned")
    assert "sign" in available_actions(case, world["users"]["department"])
    assert {"assign", "close_unresolvable", "supervise"} <= set(
        available_actions(case, world["users"]["street"])
    )
    assert available_actions(case, world["users"]["worker"]) == ["note"]
