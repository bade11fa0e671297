"""`flask sla tick`: escalate cases whose stage went red, and send due-soon / overdue alerts.

Safe to run every minute from cron on several machines at once: each case is moved inside its own
transaction under optimistic locking (Case.version), so when two ticks race for the same case one
wins and the other sees StaleDataError and skips it. Running it twice in a row changes nothing the
second time: an escalated case starts a new stage with new deadlines. Alerts are once per stage by
a unique key (Notification.dedup_key, see `stage_key`): two ticks that both found a stage not yet
alerted write one alert per person between them, with or without the run lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import lazyload
from sqlalchemy.orm.exc import StaleDataError

from webapp.cases import limits
from webapp.cases.actions import HANDLER_ROLE, NEXT_LEVEL, notify_escalation, write_event
from webapp.cases.departments import department_staff, part_sla, staff_of_departments
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
from webapp.notify import members_for_grid, notify, remembering_members

ACTIVE = (CaseStatus.OPEN, CaseStatus.ESCALATED, CaseStatus.ACCEPTED, CaseStatus.RESOLVED)


@dataclass
class TickReport:
    escalated: list[str] = field(default_factory=list)
    overdue_alerts: int = 0
    due_soon_alerts: int = 0
    skipped_races: int = 0
    department_alerts: int = 0


def tick(now: datetime) -> TickReport:
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
    db.session.rollback()
    for part_id in _parts_needing_alerts(part_ids, now):
        # A department's part never escalates (the street holds the case); it only alerts.
        if _alert_part_once(part_id, now):
            report.department_alerts += 1
        db.session.commit()
    with remembering_members():
        for case_id in _needing_work(candidate_ids, now):
            try:
                _tick_one(case_id, now, report)
                db.session.commit()
            except (StaleDataError, OperationalError):
                # Another tick (or a clerk) changed the case first; its state is the newer truth.
                db.session.rollback()
                report.skipped_races += 1
    return report


CHUNK = 500


def _needing_work(case_ids: list, now: datetime) -> list:
    """The candidates a tick has something to do for. A case already alerted in its current
    stage, with no escalation due, is most of them on a tick a minute after the last one: they
    are read in chunks (cases without their timelines, and their alerts, one query each) instead
    of one transaction per case."""
    busy = []
    for start in range(0, len(case_ids), CHUNK):
        chunk = case_ids[start : start + CHUNK]
        cases = db.session.scalars(
            select(Case).where(Case.id.in_(chunk)).options(lazyload(Case.events))
        ).all()
        last_alert = {
            (case_id, kind): at
            for case_id, kind, at in db.session.execute(
                select(Notification.case_id, Notification.kind, func.max(Notification.created_at))
                .where(
                    Notification.case_id.in_(chunk),
                    Notification.kind.in_(("overdue", "due_soon")),
                )
                .group_by(Notification.case_id, Notification.kind)
            )
        }
        for case in cases:
            state = limits.sla_state(case, now)
            if state is limits.SlaState.RED and _escalates(case):
                busy.append(case.id)
                continue
            kind = {limits.SlaState.RED: "overdue", limits.SlaState.YELLOW: "due_soon"}.get(state)
            alerted = last_alert.get((case.id, kind))
            if kind is not None and (alerted is None or alerted < case.stage_started_at):
                busy.append(case.id)
        db.session.rollback()
    return busy


def _parts_needing_alerts(part_ids: list, now: datetime) -> list:
    """The departments' parts whose current stage has an alert still to send. A tick a minute
    after the last finds almost every part already alerted: that is read in chunks, by the
    alerts' own keys, instead of one transaction per part."""
    busy = []
    for start in range(0, len(part_ids), CHUNK):
        parts = db.session.scalars(
            select(CasePart).where(CasePart.id.in_(part_ids[start : start + CHUNK]))
        ).all()
        # A department nobody staffs yet has nobody to alert (and is alerted once somebody is).
        staffed = staff_of_departments({part.department_id for part in parts})
        keys = {}
        for part in parts:
            if not staffed.get(part.department_id):
                continue
            state = part_sla(part, now)
            if state is limits.SlaState.RED:
                kind = "department_overdue"
            elif state is limits.SlaState.YELLOW:
                kind = "department_due_soon"
            else:
                continue
            keys[stage_key(kind, f"part-{part.id}", part.stage_started_at)] = part.id
        sent = set(
            db.session.scalars(
                select(Notification.dedup_key).where(Notification.dedup_key.in_(list(keys)))
            )
        )
        busy.extend(part_id for key, part_id in keys.items() if key not in sent)
        db.session.rollback()
    return busy


def _tick_one(case_id, now: datetime, report: TickReport) -> None:
    case = db.session.get(Case, case_id)
    if case is None or case.status not in ACTIVE:
        return
    state = limits.sla_state(case, now)
    # A tick that runs late must not grant extra time: each escalation happens at the moment the
    # stage went red, and a case that has been red through several stages climbs all of them.
    while state is limits.SlaState.RED and _escalates(case):
        went_red = limits.effective(case.due_at, case, now)
        _escalate(case, max(went_red, case.stage_started_at))
        report.escalated.append(case.number)
        state = limits.sla_state(case, now)
    if state is limits.SlaState.RED:
        if _alert_once(case, "overdue", _("Overdue: %(title)s", title=case.title), now, True):
            report.overdue_alerts += 1
    elif state is limits.SlaState.YELLOW:
        if _alert_once(case, "due_soon", _("Due soon: %(title)s", title=case.title), now, False):
            report.due_soon_alerts += 1


def stage_key(kind: str, subject, stage_started_at: datetime) -> str:
    """The dedup key of an alert due once per stage: a stage is known by what it belongs to (a case
    or a department's part) and the moment it started, written the same way by every server."""
    started = stage_started_at.astimezone(UTC).isoformat(timespec="microseconds")
    return f"{kind}:{subject}:{started}"


def _escalates(case: Case) -> bool:
    return case.status != CaseStatus.RESOLVED and CaseLevel(case.level) in NEXT_LEVEL


def _escalate(case: Case, now: datetime) -> None:
    from_status, from_level = case.status, case.level
    case.level = NEXT_LEVEL[CaseLevel(case.level)]
    case.status = CaseStatus.ESCALATED
    limits.start_stage(case, now)
    write_event(
        case,
        "auto_escalate",
        actor_id=None,
        at=now,
        from_status=from_status,
        from_level=from_level,
        data={"reason": "red"},
    )
    bump(case)
    db.session.flush()  # the version check happens here
    notify_escalation(
        case, at=now, dedup_key=stage_key("escalated", case.id, case.stage_started_at)
    )


def _alerted_in_stage(case_id, kind: str, since: datetime, users=None) -> bool:
    """Whether an alert of `kind` went out for the case since the stage began. Only a shortcut:
    a concurrent tick may write one right after this reads none, and the key then drops ours."""
    query = select(Notification.id).where(
        Notification.case_id == case_id,
        Notification.kind == kind,
        Notification.created_at >= since,
    )
    if users is not None:
        query = query.where(Notification.user_id.in_(users))
    return db.session.scalar(query.limit(1)) is not None


def _alert_once(case: Case, kind: str, title: str, now: datetime, urgent: bool) -> bool:
    """One alert of each kind per stage, to whoever handles the case at its level."""
    if _alerted_in_stage(case.id, kind, case.stage_started_at):
        return False
    role = HANDLER_ROLE[CaseLevel(case.level)]
    users = set(members_for_grid(case.home_grid_id, role))
    if case.assigned_user_id:
        users.add(case.assigned_user_id)
    if case.status == CaseStatus.RESOLVED:
        users = set(members_for_grid(case.home_grid_id, Role.GRID_WORKER))
    made = notify(
        users,
        kind,
        title,
        url=f"/cases/{case.id}",
        case_id=case.id,
        urgent=urgent,
        at=now,
        dedup_key=stage_key(kind, case.id, case.stage_started_at),
    )
    return bool(made)


def _alert_part_once(part_id: int, now: datetime) -> bool:
    """One due-soon and one overdue alert per stage of a department's part, to its staff."""
    part = db.session.get(CasePart, part_id)
    if part is None or part.status not in (PartStatus.ASSIGNED, PartStatus.SIGNED):
        return False
    state = part_sla(part, now)
    if state not in (limits.SlaState.RED, limits.SlaState.YELLOW):
        return False
    kind = "department_overdue" if state is limits.SlaState.RED else "department_due_soon"
    staff = department_staff(part.department_id)
    if not staff:
        return False
    if _alerted_in_stage(part.case_id, kind, part.stage_started_at, users=staff):
        return False
    case = db.session.get(Case, part.case_id)
    title = (
        _("Overdue: %(title)s", title=case.title)
        if state is limits.SlaState.RED
        else _("Due soon: %(title)s", title=case.title)
    )
    made = notify(
        staff,
        kind,
        title,
        url=f"/cases/{case.id}",
        case_id=case.id,
        urgent=state is limits.SlaState.RED,
        at=now,
        dedup_key=stage_key(kind, f"part-{part.id}", part.stage_started_at),
    )
    return bool(made)
