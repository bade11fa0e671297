"""Case queries for the boards and the case page. Writes go through webapp.cases.actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import lazyload

from webapp.auth.scope import Scope, scoped
from webapp.cases import actions, departments, limits
from webapp.cases.actions import HANDLER_ROLE
from webapp.extensions import db
from webapp.i18n import SHANGHAI
from webapp.models import (
    RECORD_MODELS,
    Case,
    CaseEvent,
    CaseLevel,
    CasePart,
    CaseStatus,
    Community,
    Grid,
    RecordKind,
    Role,
    User,
)

SEVERITY_RANK = {"urgent": 0, "high": 1, "medium": 2, "low": 3}
SLA_RANK = {"red": 0, "yellow": 1, "paused": 2, "green": 3, "done": 4}
BOARD_LIMIT = 500


@dataclass(frozen=True)
class BoardFilters:
    community_id: int | None = None
    category: str = ""
    severity: str = ""
    status: str = ""
    sla: str = ""  # red, yellow, overdue (= red)
    supervised: bool = False
    level: str = ""

    @classmethod
    def from_args(cls, args) -> BoardFilters:
        def as_int(value):
            try:
                return int(value)
            except (TypeError, ValueError):
                return None

        return cls(
            community_id=as_int(args.get("community")),
            category=args.get("category", ""),
            severity=args.get("severity", ""),
            status=args.get("status", ""),
            sla=args.get("sla", ""),
            supervised=args.get("supervised") in ("1", "on", "true"),
            level=args.get("level", ""),
        )


@dataclass(frozen=True)
class BoardRow:
    case: Case
    sla: limits.SlaState
    time_left: timedelta | None
    community: str
    grid: str
    leader: bool = False  # 包案: open past the configured working days


def board_rows(scope: Scope, filters: BoardFilters, now: datetime) -> list[BoardRow]:
    """Open cases in scope (closed ones only when asked for), most urgent first: red, then
    yellow, then by severity, then by deadline."""
    query = (
        scoped(Case, scope=scope)
        .add_columns(Grid.name, Community.name)
        .join(Grid, Grid.id == Case.home_grid_id)
        .join(Community, Community.id == Grid.community_id)
        # The board shows no timeline: loading each case's events was half its time at scale.
        .options(lazyload(Case.events))
    )
    if filters.status:
        query = query.where(Case.status == filters.status)
    else:
        query = query.where(Case.status != CaseStatus.CLOSED)
    if filters.community_id:
        query = query.where(Grid.community_id == filters.community_id)
    if filters.category:
        query = query.where(Case.category == filters.category)
    if filters.severity:
        query = query.where(Case.severity == filters.severity)
    if filters.supervised:
        query = query.where(Case.supervised.is_(True))
    if filters.level:
        query = query.where(Case.level == filters.level)
    rows = []
    cutoff = limits.leader_cutoff(now)
    for case, grid_name, community_name in db.session.execute(
        query.order_by(Case.due_at).limit(BOARD_LIMIT)
    ):
        state = limits.sla_state(case, now)
        if filters.sla in ("red", "overdue") and state is not limits.SlaState.RED:
            continue
        if filters.sla == "yellow" and state is not limits.SlaState.YELLOW:
            continue
        rows.append(
            BoardRow(
                case,
                state,
                limits.time_left(case, now),
                community_name,
                grid_name,
                limits.needs_leader(case, now, cutoff),
            )
        )
    far_future = now + timedelta(days=3650)
    rows.sort(
        key=lambda row: (
            SLA_RANK[row.sla],
            not row.case.supervised,
            SEVERITY_RANK.get(row.case.severity, 9),
            limits.effective(row.case.due_at, row.case, now) or far_future,
        )
    )
    return rows


def sla_counts(rows: list[BoardRow]) -> dict[str, int]:
    counts = {"red": 0, "yellow": 0, "total": len(rows)}
    for row in rows:
        if row.sla.value in counts:
            counts[row.sla.value] += 1
    return counts


def source_record(case: Case):
    if case.source_record_id is None:
        return None
    if case.source_kind not in tuple(RecordKind):
        return None  # a resident's report: the case page links to it (templates/residents)
    model = RECORD_MODELS.get(RecordKind(case.source_kind))
    return db.session.get(model, case.source_record_id) if model else None


def available_actions(case: Case, user: User) -> list[str]:
    """The page's buttons, read from the one table in webapp.cases.actions."""
    return actions.available_actions(case, user)


# The action a status calls for, in order: the page shows the first one offered open and first.
NEXT_ACTIONS = (
    "accept",
    "sign",
    "report_back",
    "review",
    "assign",
    "follow_up",
    "resolve",
    "request_escalation",
    "approve_extension",
    "note",
)


def next_action(offered: list[str], case: Case) -> str | None:
    # A handling note is what an open case at the grid calls for; later it is one option of many.
    wanted = NEXT_ACTIONS if case.status == CaseStatus.OPEN else NEXT_ACTIONS[:-1]
    return next((action for action in wanted if action in offered), None)


def leader_list(scope: Scope, now: datetime) -> tuple[list[tuple[Case, CaseEvent]], list[Case]]:
    """A leader's list: cases closed as unresolvable (with their reasons and measures), and
    cases open longer than the configured number of working days (包案)."""
    unresolvable = list(
        db.session.execute(
            scoped(Case, scope=scope)
            .add_columns(CaseEvent)
            .join(CaseEvent, CaseEvent.case_id == Case.id)
            .where(CaseEvent.action == "close_unresolvable", Case.status == CaseStatus.CLOSED)
            .order_by(CaseEvent.at.desc())
            .limit(200)
        ).all()
    )
    cutoff = limits.leader_cutoff(now)
    # Opened before the day after the cutoff, in Shanghai: over the line.
    before = datetime.combine(cutoff + timedelta(days=1), time(0), tzinfo=SHANGHAI)
    long_running = list(
        db.session.scalars(
            scoped(Case, scope=scope)
            .where(Case.status != CaseStatus.CLOSED, Case.opened_at < before)
            .order_by(Case.opened_at)
            .limit(500)
        )
    )
    return unresolvable, long_running


def assignable_people(case: Case) -> list[User]:
    """Staff who can take a case: the handlers of its level."""
    from webapp.notify import members_for_grid

    ids = members_for_grid(case.home_grid_id, HANDLER_ROLE[CaseLevel(case.level)])
    if not ids:
        return []
    return list(db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.username)))


# --- the case page -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    event: CaseEvent
    who: str  # a name, masked when the viewer may not see it; "" for the system
    role: str  # a role code, or "system"
    department: str


def sees_staff_names(case: Case, viewer: User, scope: Scope) -> bool:
    """Staff of the case's own street, community and grid see who did what by name. A department
    sees the case from outside (DESIGN.md §7): other people's names come masked."""
    return scope.covers_grid(case.home_grid_id)


def timeline(case: Case, viewer: User, scope: Scope) -> list[TimelineEntry]:
    from webapp.masking import mask_name

    actor_ids = {e.actor_id for e in case.events if e.actor_id is not None}
    actors = (
        {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(actor_ids)))}
        if actor_ids
        else {}
    )
    full_names = sees_staff_names(case, viewer, scope)
    my_departments = departments.user_department_ids(viewer)
    entries = []
    for event in case.events:
        actor = actors.get(event.actor_id)
        department = str((event.data or {}).get("department") or "")
        if actor is None:
            entries.append(TimelineEntry(event, "", "system", department))
            continue
        role = _acting_role(event, actor)
        same_department = bool(my_departments & departments.user_department_ids(actor))
        name = actor.display_name
        if not (full_names or same_department or actor.id == viewer.id):
            name = mask_name(name)
        entries.append(TimelineEntry(event, name, role, department))
    return entries


def _acting_role(event: CaseEvent, actor: User) -> str:
    """The hat the actor wore for this step: a department action is the department's."""
    held = actor.roles()
    if event.action in actions.DEPARTMENT_ACTIONS and Role.DEPARTMENT_STAFF in held:
        return Role.DEPARTMENT_STAFF.value
    for role in (
        Role.STREET_STAFF,
        Role.COMMUNITY_STAFF,
        Role.GRID_WORKER,
        Role.ADMIN,
        Role.DEPARTMENT_STAFF,
    ):
        if role in held:
            return role.value
    return ""


@dataclass(frozen=True)
class PartView:
    part: CasePart
    sla: limits.SlaState
    time_left: timedelta | None
    mine: bool


def part_views(case: Case, viewer: User, now: datetime) -> list[PartView]:
    mine = departments.user_department_ids(viewer)
    return [
        PartView(
            part,
            departments.part_sla(part, now),
            departments.part_time_left(part, now),
            part.department_id in mine,
        )
        for part in departments.case_parts(case)
    ]


def unresolvable_event(case: Case) -> CaseEvent | None:
    if case.status != CaseStatus.CLOSED:
        return None
    last = case.events[-1] if case.events else None
    return last if last is not None and last.action == "close_unresolvable" else None
