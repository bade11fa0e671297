"""Demo departments (DESIGN.md §9, issue 13): each street office gets the functional departments
the demo cases are assigned to (城管执法中队, 消防救援站…, see names.DEPARTMENTS_BY_CATEGORY), which
also become the list the assign forms offer; department accounts `dept1` (the first street's
城管执法中队), `fire1` (its 消防救援站) and `dept2` (城管 of the second street, when there is one).
Accepted cases the demo assigned to a department get that department's part, so the boards are
not empty.

Deterministic and free of Flask, like the notices: it runs on the generator's session after the
rest of the demo data.
"""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from webapp.cases import limits
from webapp.cases.departments import SETTING_KEY
from webapp.demo.names import DEPARTMENTS_BY_CATEGORY
from webapp.models import (
    Case,
    CaseLevel,
    CasePart,
    CaseStatus,
    Community,
    Department,
    Grid,
    Membership,
    PartRole,
    PartStatus,
    Role,
    ScopeKind,
    Setting,
    Street,
    User,
)

DEMO_DEPARTMENTS = list(
    dict.fromkeys(name for group in DEPARTMENTS_BY_CATEGORY.values() for name in group)
)
# (username, display name, work phone, street index from 1, department)
DEMO_DEPARTMENT_ACCOUNTS = [
    ("dept1", "王建军", "13907310001", 1, "城管执法中队"),
    ("fire1", "李志强", "13907310002", 1, "消防救援站"),
    ("dept2", "赵海涛", "13907310003", 2, "城管执法中队"),
]


def load_demo_departments(session: Session, password_hash: str, imported_at) -> int:
    session.add(Setting(key=SETTING_KEY, value=DEMO_DEPARTMENTS, updated_at=imported_at))
    streets = session.scalars(select(Street).order_by(Street.id)).all()
    made: dict[tuple[int, str], Department] = {}
    for street in streets:
        for name in DEMO_DEPARTMENTS:
            department = Department(street_id=street.id, name=name, created_at=imported_at)
            session.add(department)
            made[(street.id, name)] = department
    session.flush()
    for username, display_name, work_phone, street_index, name in DEMO_DEPARTMENT_ACCOUNTS:
        if street_index > len(streets):
            continue
        department = made[(streets[street_index - 1].id, name)]
        user = User(
            username=username,
            display_name=display_name,
            work_phone=work_phone,
            password_hash=password_hash,
            created_at=imported_at,
        )
        user.memberships.append(
            Membership(
                role=Role.DEPARTMENT_STAFF,
                scope_kind=ScopeKind.DEPARTMENT,
                scope_id=department.id,
                created_at=imported_at,
            )
        )
        session.add(user)
    _parts_for_assigned_cases(session, made)
    session.flush()
    return len(made)


def _parts_for_assigned_cases(session: Session, made: dict[tuple[int, str], Department]) -> None:
    """A street case the demo assigned to a department waits on that department's board, on the
    department's own clock from the moment of the assignment."""
    rows = session.execute(
        select(Case, Community.street_id)
        .join(Grid, Grid.id == Case.home_grid_id)
        .join(Community, Community.id == Grid.community_id)
        .where(
            Case.level.in_((CaseLevel.COMMUNITY, CaseLevel.STREET)),
            Case.status == CaseStatus.ACCEPTED,
            Case.assigned_department != "",
        )
        .order_by(Case.number)
    ).all()
    parts = []
    for case, street_id in rows:
        department = made.get((street_id, case.assigned_department))
        if department is None:
            continue
        # The demo assigns a case when the street accepts it: the part's clock starts there.
        assigned_at = case.stage_started_at
        limit = limits.limit_for(
            limits.Stage.SIGN, case.category, case.severity, limits.DEFAULT_LIMITS
        )
        warn_at, due_at = limit.deadlines(assigned_at)
        parts.append(
            {
                "case_id": case.id,
                "department_id": department.id,
                "role": PartRole.LEAD.value,
                "status": PartStatus.ASSIGNED.value,
                "task": "",
                "assigned_at": assigned_at,
                "stage_started_at": assigned_at,
                "warn_at": warn_at,
                "due_at": due_at,
                "result": "",
                "photo_ids": [],
                "return_reason": "",
            }
        )
    if parts:
        session.execute(insert(CasePart.__table__), parts)
