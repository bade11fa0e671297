"""Case queries for the boards and the case page. Writes go through webapp.cases.actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from webapp.auth.scope import Scope, scoped
from webapp.cases import limits
from webapp.cases.actions import HANDLER_ROLE, Actor, pending_extension
from webapp.extensions import db
from webapp.models import (
    RECORD_MODELS,
    Case,
    CaseLevel,
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


def board_rows(scope: Scope, filters: BoardFilters, now: datetime) -> list[BoardRow]:
    """Open cases in scope (closed ones only when asked for), most urgent first: red, then
    yellow, then by severity, then by deadline."""
    query = (
        scoped(Case, scope=scope)
        .add_columns(Grid.name, Community.name)
        .join(Grid, Grid.id == Case.home_grid_id)
        .join(Community, Community.id == Grid.community_id)
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
    for case, grid_name, community_name in db.session.execute(
        query.order_by(Case.due_at).limit(BOARD_LIMIT)
    ):
        state = limits.sla_state(case, now)
        if filters.sla in ("red", "overdue") and state is not limits.SlaState.RED:
            continue
        if filters.sla == "yellow" and state is not limits.SlaState.YELLOW:
            continue
        rows.append(BoardRow(case, state, limits.time_left(case, now), community_name, grid_name))
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
    model = RECORD_MODELS.get(RecordKind(case.source_kind))
    return db.session.get(model, case.source_record_id) if model else None


def available_actions(case: Case, user: User) -> list[str]:
    """The actions worth offering this user now; the service re-checks everything on submit."""
    actor = Actor(user, case)
    status, level = CaseStatus(case.status), CaseLevel(case.level)
    handler = actor.is_(HANDLER_ROLE[level])
    offered = []
    if status != CaseStatus.CLOSED and actor.is_(
        Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.STREET_STAFF
    ):
        offered.append("note")
    if (
        level is CaseLevel.GRID
        and status is CaseStatus.OPEN
        and actor.is_(Role.GRID_WORKER, Role.COMMUNITY_STAFF)
    ) or (
        level is CaseLevel.COMMUNITY
        and status in (CaseStatus.ACCEPTED, CaseStatus.ESCALATED)
        and actor.is_(Role.COMMUNITY_STAFF)
    ):
        offered.append("request_escalation")
    if handler and status is CaseStatus.ESCALATED:
        offered.append("accept")
    if handler and status in (CaseStatus.ACCEPTED, CaseStatus.ESCALATED) and level != "grid":
        offered.append("assign")
    if actor.is_(Role.STREET_STAFF) and status != CaseStatus.CLOSED:
        offered.append("supervise")
    waiting_extension = pending_extension(case)
    if handler and status in (CaseStatus.OPEN, CaseStatus.ACCEPTED):
        offered.append("resume" if case.paused_at else "pause")
        if waiting_extension is None:
            offered.append("request_extension")
    if actor.is_(Role.STREET_STAFF) and waiting_extension is not None:
        offered.append("approve_extension")
    assignee = case.assigned_user_id == user.id
    if (handler or assignee) and status in (CaseStatus.OPEN, CaseStatus.ACCEPTED):
        offered.append("resolve")
    if status is CaseStatus.RESOLVED and actor.is_(Role.GRID_WORKER, Role.COMMUNITY_STAFF):
        offered.append("follow_up")
    if status in (CaseStatus.RESOLVED, CaseStatus.CLOSED) and actor.is_(
        HANDLER_ROLE[level], Role.STREET_STAFF
    ):
        offered.append("reopen")
    return offered


def assignable_people(case: Case) -> list[User]:
    """Staff who can take a case: the handlers of its level."""
    from webapp.notify import members_for_grid

    ids = members_for_grid(case.home_grid_id, HANDLER_ROLE[CaseLevel(case.level)])
    if not ids:
        return []
    return list(db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.username)))
