"""Departments as actors (DESIGN.md §4): the list of department names, each street's Department
rows, the parts of a case they hold (联合处置: one lead, any number assisting), each part's own
clock, the department board, and the figures the dashboards show per department.

The actions that move a part (sign, report_back, return, review) are in webapp.cases.actions,
with every other case action, so one table says who may do what.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import lazyload

from webapp.cases import limits
from webapp.extensions import db
from webapp.models import (
    ACTIVE_PART_STATUSES,
    Case,
    CasePart,
    Community,
    Department,
    Grid,
    Membership,
    PartStatus,
    Role,
    ScopeKind,
    Setting,
    User,
)

SETTING_KEY = "departments"
DEFAULT_DEPARTMENTS = [
    "城管",
    "派出所",
    "司法所",
    "物业",
    "消防",
    "市场监管",
    "住建",
    "民政",
    "卫健",
    "生态环境",
    "供电",
    "燃气公司",
]


def departments() -> list[str]:
    """The names a case can be assigned to; every street has (or gets) a Department of each."""
    setting = db.session.get(Setting, SETTING_KEY)
    return list(setting.value) if setting is not None and setting.value else DEFAULT_DEPARTMENTS


def save_departments(names: list[str]) -> None:
    cleaned = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    setting = db.session.get(Setting, SETTING_KEY)
    if setting is None:
        db.session.add(Setting(key=SETTING_KEY, value=cleaned))
    else:
        setting.value = cleaned


def street_of_grid(grid_id: int) -> int:
    return db.session.scalar(
        select(Community.street_id)
        .join(Grid, Grid.community_id == Community.id)
        .where(Grid.id == grid_id)
    )


def department_named(street_id: int, name: str) -> Department | None:
    """The street's department of that name, made on first use when the name is on the list:
    the admin keeps one list of names, each street office has its own squad of each."""
    name = name.strip()
    found = db.session.scalar(
        select(Department).where(Department.street_id == street_id, Department.name == name)
    )
    if found is None and name in departments():
        found = Department(street_id=street_id, name=name)
        db.session.add(found)
        db.session.flush()
    return found if found is not None and found.is_active else None


def user_department_ids(user: User) -> set[int]:
    return {
        m.scope_id
        for m in user.memberships
        if m.role == Role.DEPARTMENT_STAFF and m.scope_id is not None
    }


def department_staff(department_id: int) -> list[int]:
    return staff_of_departments([department_id]).get(department_id, [])


def staff_of_departments(department_ids: Iterable[int]) -> dict[int, list[int]]:
    """Active staff accounts of each department (one query, for a batch of departments)."""
    staff: dict[int, list[int]] = {}
    for department_id, user_id in db.session.execute(
        select(Membership.scope_id, Membership.user_id)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.role == Role.DEPARTMENT_STAFF,
            Membership.scope_kind == ScopeKind.DEPARTMENT,
            Membership.scope_id.in_(list(department_ids)),
            User.is_active.is_(True),
        )
        .order_by(Membership.user_id)
    ):
        staff.setdefault(department_id, []).append(user_id)
    return staff


# --- parts and their clocks ---------------------------------------------------------------------


def case_parts(case: Case, *, current_only: bool = True) -> list[CasePart]:
    query = select(CasePart).where(CasePart.case_id == case.id)
    if current_only:
        query = query.where(CasePart.status != PartStatus.WITHDRAWN)
    return list(db.session.scalars(query.order_by(CasePart.role.desc(), CasePart.id)))


def active_parts(case: Case) -> list[CasePart]:
    return [p for p in case_parts(case) if p.status in ACTIVE_PART_STATUSES]


def start_part_stage(part: CasePart, case: Case, stage: limits.Stage, now: datetime) -> None:
    limit = limits.limit_for(stage, case.category, case.severity, limits.configured_limits())
    part.stage_started_at = now
    part.warn_at, part.due_at = limit.deadlines(now)


def stop_part_clock(part: CasePart) -> None:
    part.warn_at = part.due_at = None


def part_sla(part: CasePart, now: datetime) -> limits.SlaState:
    if part.status not in (PartStatus.ASSIGNED, PartStatus.SIGNED):
        return limits.SlaState.DONE
    if part.due_at is not None and now > part.due_at:
        return limits.SlaState.RED
    if part.warn_at is not None and now > part.warn_at:
        return limits.SlaState.YELLOW
    return limits.SlaState.GREEN


def part_time_left(part: CasePart, now: datetime) -> timedelta | None:
    return None if part.due_at is None else part.due_at - now


# --- the department board -----------------------------------------------------------------------


@dataclass(frozen=True)
class PartRow:
    part: CasePart
    case: Case
    sla: limits.SlaState
    time_left: timedelta | None


SLA_RANK = {"red": 0, "yellow": 1, "green": 2, "paused": 3, "done": 4}


def department_board(department_ids: Iterable[int], now: datetime, *, done: bool = False):
    """The parts waiting on these departments (or, with `done`, the last ones they finished),
    most urgent first."""
    ids = list(department_ids)
    if not ids:
        return []
    query = (
        select(CasePart, Case)
        .join(Case, Case.id == CasePart.case_id)
        .where(CasePart.department_id.in_(ids))
        # A board row needs no timeline: don't load every case's events with it.
        .options(lazyload(Case.events))
    )
    if done:
        query = query.where(CasePart.status.in_((PartStatus.APPROVED, PartStatus.RETURNED)))
        query = query.order_by(CasePart.finished_at.desc()).limit(50)
    else:
        query = query.where(CasePart.status.in_(ACTIVE_PART_STATUSES)).limit(500)
    rows = [
        PartRow(part, case, part_sla(part, now), part_time_left(part, now))
        for part, case in db.session.execute(query)
    ]
    if not done:
        far = now + timedelta(days=3650)
        rows.sort(key=lambda r: (SLA_RANK[r.sla], r.part.due_at or far))
    return rows


# --- figures for the dashboards -----------------------------------------------------------------


@dataclass
class DepartmentFigures:
    department_id: int
    name: str
    street_id: int
    assigned: int = 0
    signed: int = 0
    signed_on_time: int = 0
    reported: int = 0
    reported_on_time: int = 0
    returned: int = 0
    open_now: int = 0
    overdue_now: int = 0
    due_soon_now: int = 0
    sign_hours: list[float] = field(default_factory=list)
    report_hours: list[float] = field(default_factory=list)

    @property
    def on_time_rate(self) -> float | None:
        """Share of reports back made within the limit (回单及时率)."""
        return self.reported_on_time / self.reported if self.reported else None

    @property
    def average_sign_hours(self) -> float | None:
        return sum(self.sign_hours) / len(self.sign_hours) if self.sign_hours else None

    @property
    def average_report_hours(self) -> float | None:
        return sum(self.report_hours) / len(self.report_hours) if self.report_hours else None


def department_figures(
    street_ids: Iterable[int] | None,
    since: datetime,
    until: datetime,
    now: datetime,
) -> list[DepartmentFigures]:
    """Each department's time, for the dashboards and the 情况通报: parts assigned in
    [since, until), how many were signed and reported back within their limits, how long each
    took, and what is open, yellow or red at `now`. `street_ids` None means every street."""
    departments_query = select(Department).order_by(Department.street_id, Department.id)
    if street_ids is not None:
        departments_query = departments_query.where(Department.street_id.in_(list(street_ids)))
    figures = {
        d.id: DepartmentFigures(d.id, d.name, d.street_id)
        for d in db.session.scalars(departments_query)
    }
    if not figures:
        return []
    parts = db.session.scalars(
        select(CasePart).where(
            CasePart.department_id.in_(list(figures)),
            CasePart.status != PartStatus.WITHDRAWN,
            # Only what the figures read: the parts open now and those assigned in the period
            # (a street's whole history is thousands of parts).
            or_(
                CasePart.status.in_(list(ACTIVE_PART_STATUSES)),
                (CasePart.assigned_at >= since) & (CasePart.assigned_at < until),
            ),
        )
    )
    for part in parts:
        f = figures[part.department_id]
        if part.status in ACTIVE_PART_STATUSES:
            f.open_now += 1
            state = part_sla(part, now)
            f.overdue_now += state is limits.SlaState.RED
            f.due_soon_now += state is limits.SlaState.YELLOW
        if not since <= part.assigned_at < until:
            continue
        f.assigned += 1
        f.returned += part.status == PartStatus.RETURNED
        if part.signed_at is not None:
            f.signed += 1
            f.signed_on_time += part.signed_late is False
            f.sign_hours.append((part.signed_at - part.assigned_at).total_seconds() / 3600)
        if part.reported_at is not None:
            f.reported += 1
            f.reported_on_time += part.reported_late is False
            started = part.signed_at or part.assigned_at
            f.report_hours.append((part.reported_at - started).total_seconds() / 3600)
    return list(figures.values())
