"""`flask sla tick`: escalate cases whose stage went red, and send due-soon / overdue alerts.

Set-based: candidates are read with one query, then handled a chunk (`CHUNK` cases) at a time, in
one transaction per chunk whose statements do not grow with it — the chunk's cases and their last
alerts read once, the escalation rule applied in memory, then one UPDATE of the escalated cases
(one statement, a parameter set per case), one INSERT of their timeline entries, the recipients
read once per role for the chunk's grids, and one INSERT … ON CONFLICT DO NOTHING of the alerts
(and one of their push messages), all under one change number. A district with 200,000 red cases
is then a few hundred transactions, not 200,000.

Safe to run every minute from cron on several machines at once. The UPDATE keeps optimistic
locking (Case.version) row by row: it writes a case only if its version is still the one the
chunk read, and the chunk goes on with the cases it wrote, so when two ticks (or a tick and a
clerk) race for a case one wins and the other leaves that case — and only that case — alone.
Running it twice in a row changes nothing the second time: an escalated case starts a new stage
with new deadlines.
Alerts are once per stage by a unique key (Notification.dedup_key, see `stage_key`): two ticks
that both found a stage not yet alerted write one alert per person between them, with or without
the run lock. A chunk that fails on a row (a case deleted meanwhile) is split and tried again, so
one bad case does not hold back the others.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import lazyload

from webapp.cases import limits
from webapp.cases.actions import (
    HANDLER_ROLE,
    NEXT_LEVEL,
    escalation_alert,
    event_row,
    write_events,
)
from webapp.cases.departments import part_sla, staff_of_departments
from webapp.changes import bump
from webapp.extensions import db
from webapp.models import (
    Case,
    CaseLevel,
    CasePart,
    CaseStatus,
    Notification,
    PartStatus,
    Role,
)
from webapp.notify import Alert, members_for_grids, notify_all, remembering_members

ACTIVE = (CaseStatus.OPEN, CaseStatus.ESCALATED, CaseStatus.ACCEPTED, CaseStatus.RESOLVED)
CASE_ALERTS = {limits.SlaState.RED: "overdue", limits.SlaState.YELLOW: "due_soon"}
PART_ALERTS = {
    limits.SlaState.RED: "department_overdue",
    limits.SlaState.YELLOW: "department_due_soon",
}
# Cases per transaction: big enough that a district's 200,000 are a few hundred transactions,
# small enough that a chunk holds its rows' locks for well under a second.
CHUNK = 1000

log = logging.getLogger(__name__)


@dataclass
class TickReport:
    escalated: list[str] = field(default_factory=list)
    overdue_alerts: int = 0
    due_soon_alerts: int = 0
    skipped_races: int = 0
    department_alerts: int = 0

    def add(self, other: TickReport) -> None:
        self.escalated += other.escalated
        self.overdue_alerts += other.overdue_alerts
        self.due_soon_alerts += other.due_soon_alerts
        self.skipped_races += other.skipped_races
        self.department_alerts += other.department_alerts


def tick(now: datetime, progress: Callable[[int, int], None] | None = None) -> TickReport:
    """Escalate and alert what is due at `now`; `progress(done, total)` hears of each chunk of
    candidate cases committed (a long first tick over a district says how far it is)."""
    report = TickReport()
    candidate_ids = list(
        db.session.scalars(
            select(Case.id).where(
                Case.status.in_(ACTIVE),
                Case.paused_at.is_(None),
                Case.warn_at.is_not(None),
                Case.warn_at < now,
            )
        )
    )
    part_ids = list(
        db.session.scalars(
            select(CasePart.id).where(
                CasePart.status.in_((PartStatus.ASSIGNED, PartStatus.SIGNED)),
                CasePart.warn_at.is_not(None),
                CasePart.warn_at < now,
            )
        )
    )
    rules = limits.configured_limits()
    db.session.rollback()
    for start in range(0, len(part_ids), CHUNK):
        # A department's part never escalates (the street holds the case); it only alerts.
        _in_own_transaction(_alert_parts, part_ids[start : start + CHUNK], now, report)
    with remembering_members():
        for start in range(0, len(candidate_ids), CHUNK):
            chunk = candidate_ids[start : start + CHUNK]
            _in_own_transaction(_tick_cases, chunk, now, report, rules)
            if progress is not None:
                progress(start + len(chunk), len(candidate_ids))
    return report


def _in_own_transaction(step, ids: list, now: datetime, report: TickReport, *args) -> None:
    """Run `step` over `ids` and commit; what it reports counts only once committed. A chunk
    another writer holds (a lock, a write it cannot see past) is left to that writer: its state
    is the newer truth. A chunk failing on a row (a case deleted meanwhile) is halved and each
    half read again, so one bad row costs a few retries and never blocks the rest."""
    done = TickReport()
    try:
        step(ids, now, done, *args)
        db.session.commit()
    except OperationalError as error:
        db.session.rollback()
        # The next tick, a minute later, tries these again; say so in case it keeps happening.
        log.warning("sla tick: %d ids left to the next tick: %s", len(ids), error.orig)
        report.skipped_races += len(ids)
        return
    except IntegrityError:
        db.session.rollback()
        if len(ids) == 1:
            report.skipped_races += 1
            return
        middle = len(ids) // 2
        _in_own_transaction(step, ids[:middle], now, report, *args)
        _in_own_transaction(step, ids[middle:], now, report, *args)
        return
    report.add(done)


@dataclass
class _Plan:
    """What a chunk does to one case: the escalations the rule made (in memory), then an alert."""

    case: Case
    read_version: int
    climbs: list[tuple[dict[str, Any], str, datetime]] = field(default_factory=list)
    alert: str | None = None  # "overdue" / "due_soon", when the current stage has not had it


def _tick_cases(case_ids: list, now: datetime, report: TickReport, rules) -> None:
    cases = db.session.scalars(
        select(Case).where(Case.id.in_(case_ids)).options(lazyload(Case.events))
    ).all()
    last_alert = _alerted_in_stage(case_ids)
    plans = []
    for case in cases:
        if case.status not in ACTIVE:
            continue
        plan = _Plan(case, case.version)
        state = limits.sla_state(case, now)
        # A tick that runs late must not grant extra time: each escalation happens at the moment
        # the stage went red, and a case that has been red through several stages climbs all.
        while state is limits.SlaState.RED and _escalates(case):
            if not plan.climbs:
                # The rule changes a detached copy: the chunk's escalations reach the table in
                # one statement, not in a flush of one UPDATE per case.
                db.session.expunge(case)
            went_red = limits.effective(case.due_at, case, now)
            moment = max(went_red, case.stage_started_at)
            plan.climbs.append((_escalate(case, moment, rules), case.level, moment))
            state = limits.sla_state(case, now)
        kind = CASE_ALERTS.get(state)
        alerted = last_alert.get((case.id, kind))
        if kind is not None and (alerted is None or alerted < case.stage_started_at):
            plan.alert = kind
        if plan.climbs or plan.alert:
            plans.append(plan)
    if not plans:
        return
    climbed = [plan for plan in plans if plan.climbs]
    if climbed:
        won = _write_escalations(climbed)
        report.skipped_races += len(climbed) - len(won)
        plans = [plan for plan in plans if not plan.climbs or plan.case.id in won]
        climbed = [plan for plan in climbed if plan.case.id in won]
        write_events([row for plan in climbed for row, _level, _at in plan.climbs])
        for plan in climbed:
            report.escalated += [plan.case.number] * len(plan.climbs)
    made = notify_all(_alerts(plans, now))
    alerted_now = {(n.case_id, n.kind) for n in made}
    report.overdue_alerts += sum(1 for _c, kind in alerted_now if kind == "overdue")
    report.due_soon_alerts += sum(1 for _c, kind in alerted_now if kind == "due_soon")


def _alerts(plans: list[_Plan], now: datetime) -> list[Alert]:
    """The chunk's alerts: an escalation's to the staff of the level reached, a stage's once to
    whoever handles the case at its level. Recipients are read once per role for the chunk."""
    wanted = defaultdict(set)
    for plan in plans:
        grid_id = plan.case.home_grid_id
        for _row, level, _at in plan.climbs:
            wanted[HANDLER_ROLE[CaseLevel(level)]].add(grid_id)
        if plan.alert:
            wanted[_alert_role(plan.case)].add(grid_id)
    members = {role: members_for_grids(grid_ids, role) for role, grid_ids in wanted.items()}
    alerts = []
    for plan in plans:
        case, grid_id = plan.case, plan.case.home_grid_id
        for _row, level, moment in plan.climbs:
            handlers = members[HANDLER_ROLE[CaseLevel(level)]][grid_id]
            key = stage_key("escalated", case.id, moment)
            alerts.append(escalation_alert(case, at=moment, dedup_key=key, handlers=handlers))
        if plan.alert:
            alerts.append(_stage_alert(case, plan.alert, members[_alert_role(case)][grid_id], now))
    return alerts


def _alert_role(case: Case) -> Role:
    """Whom a stage's alert is for: the handlers of the case's level, or while it waits for its
    回访, the grid's workers."""
    if case.status == CaseStatus.RESOLVED:
        return Role.GRID_WORKER
    return HANDLER_ROLE[CaseLevel(case.level)]


def _stage_alert(case: Case, kind: str, members: list[int], now: datetime) -> Alert:
    """One alert of each kind per stage, to whoever handles the case at its level."""
    users = set(members)
    if case.assigned_user_id and case.status != CaseStatus.RESOLVED:
        users.add(case.assigned_user_id)
    overdue = kind == "overdue"
    title = (
        _("Overdue: %(title)s", title=case.title)
        if overdue
        else _("Due soon: %(title)s", title=case.title)
    )
    return Alert(
        users,
        kind,
        title,
        url=f"/cases/{case.id}",
        case_id=case.id,
        urgent=overdue,
        at=now,
        dedup_key=stage_key(kind, case.id, case.stage_started_at),
    )


def stage_key(kind: str, subject, stage_started_at: datetime) -> str:
    """The dedup key of an alert due once per stage: a stage is known by what it belongs to (a case
    or a department's part) and the moment it started, written the same way by every server."""
    started = stage_started_at.astimezone(UTC).isoformat(timespec="microseconds")
    return f"{kind}:{subject}:{started}"


def _escalates(case: Case) -> bool:
    return case.status != CaseStatus.RESOLVED and CaseLevel(case.level) in NEXT_LEVEL


def _escalate(case: Case, at: datetime, rules: list[limits.Limit]) -> dict[str, Any]:
    """The escalation rule: one level up, waiting to be accepted, a new stage from `at`. Returns
    the timeline entry; `_write_escalations` writes the case."""
    from_status, from_level = case.status, case.level
    case.level = NEXT_LEVEL[CaseLevel(case.level)]
    case.status = CaseStatus.ESCALATED
    limits.start_stage(case, at, rules)
    return event_row(
        case,
        "auto_escalate",
        actor_id=None,
        at=at,
        from_status=from_status,
        from_level=from_level,
        data={"reason": "red"},
    )


# What `_escalate` (and `limits.start_stage` within it) and `bump` change on a case.
ESCALATION_COLUMNS = (
    "status",
    "level",
    "stage_started_at",
    "warn_at",
    "due_at",
    "paused_at",
    "paused_seconds",
    "change_seq",
)


def _write_escalations(plans: list[_Plan]) -> set:
    """Write the chunk's escalated cases, each only if its version is still the one the chunk
    read (another tick or a clerk may have moved it since), and return the ids written. One
    UPDATE sent with a parameter set per case (compiled once, pipelined), then one SELECT: the
    cases written are those carrying the chunk's change number, which no other transaction
    has, and which none can overwrite before this one commits (it holds their row locks)."""
    seq = bump(*(plan.case for plan in plans))
    table = Case.__table__
    statement = (
        update(table)
        .where(table.c.id == bindparam("case_id"), table.c.version == bindparam("read_version"))
        .values(
            {name: bindparam(f"new_{name}") for name in ESCALATION_COLUMNS}
            | {"version": table.c.version + 1}
        )
    )
    db.session.execute(
        statement,
        [
            {"case_id": plan.case.id, "read_version": plan.read_version}
            | {f"new_{name}": getattr(plan.case, name) for name in ESCALATION_COLUMNS}
            for plan in plans
        ],
    )
    ids = [plan.case.id for plan in plans]
    return set(db.session.scalars(select(Case.id).where(Case.id.in_(ids), Case.change_seq == seq)))


def _alerted_in_stage(case_ids: list) -> dict[tuple[Any, str], datetime]:
    """When each case last had an overdue or due-soon alert: one sent since its stage began
    means the stage has had it. Only a shortcut: a concurrent tick may write one right after
    this reads none, and the key then drops ours."""
    return {
        (case_id, kind): at
        for case_id, kind, at in db.session.execute(
            select(Notification.case_id, Notification.kind, func.max(Notification.created_at))
            .where(
                Notification.case_id.in_(case_ids),
                Notification.kind.in_(tuple(CASE_ALERTS.values())),
            )
            .group_by(Notification.case_id, Notification.kind)
        )
    }


def _alert_parts(part_ids: list, now: datetime, report: TickReport) -> None:
    """One due-soon and one overdue alert per stage of a department's part, to its staff. A tick
    a minute after the last finds almost every part already alerted: that is read by the
    alerts' own keys, and what is left is written in one INSERT."""
    parts = db.session.scalars(select(CasePart).where(CasePart.id.in_(part_ids))).all()
    # A department nobody staffs yet has nobody to alert (and is alerted once somebody is).
    staffed = staff_of_departments({part.department_id for part in parts})
    due = {}
    for part in parts:
        kind = PART_ALERTS.get(part_sla(part, now))
        if kind is None or not staffed.get(part.department_id):
            continue
        due[stage_key(kind, f"part-{part.id}", part.stage_started_at)] = (part, kind)
    if not due:
        return
    sent = set(
        db.session.scalars(
            select(Notification.dedup_key).where(Notification.dedup_key.in_(list(due)))
        )
    )
    due = {key: part_kind for key, part_kind in due.items() if key not in sent}
    case_ids = {part.case_id for part, _kind in due.values()}
    titles = dict(
        db.session.execute(select(Case.id, Case.title).where(Case.id.in_(case_ids))).all()
    )
    alerts = []
    for key, (part, kind) in due.items():
        if part.case_id not in titles:
            continue
        overdue = kind == "department_overdue"
        title = titles[part.case_id]
        alerts.append(
            Alert(
                staffed[part.department_id],
                kind,
                _("Overdue: %(title)s", title=title)
                if overdue
                else _("Due soon: %(title)s", title=title),
                url=f"/cases/{part.case_id}",
                case_id=part.case_id,
                urgent=overdue,
                at=now,
                dedup_key=key,
            )
        )
    made = notify_all(alerts)
    report.department_alerts += len({n.dedup_key for n in made})
