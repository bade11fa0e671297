"""When a field record opens a case (DESIGN.md §3): a dispute not resolved on site, a hazard not
fixed on site, an elderly check that needs help, or one not reached twice running.

The case lifecycle itself (escalation, time limits) lives in the cases package's services.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from webapp.cases import limits
from webapp.changes import bump
from webapp.extensions import db
from webapp.i18n import SHANGHAI
from webapp.models import (
    Case,
    CaseEvent,
    CaseLevel,
    CaseStatus,
    Dispute,
    ElderlyCheck,
    FieldRecord,
    Hazard,
    RecordKind,
    Resident,
    User,
)


def case_for_record(record_id: uuid.UUID) -> Case | None:
    return db.session.scalar(select(Case).where(Case.source_record_id == record_id))


def may_open_case(record: FieldRecord) -> bool:
    """False when `open_case_if_needed` certainly opens nothing for this record, judged from the
    record alone: the batched push writes such records in bulk, and sends the rest one by one."""
    if isinstance(record, Dispute):
        return not record.resolved_on_site
    if isinstance(record, Hazard):
        return not record.fixed_on_site
    if isinstance(record, ElderlyCheck):
        return record.status in ("needs_help", "not_reached")
    return False


def open_case_if_needed(actor: User, kind: RecordKind, record: FieldRecord) -> Case | None:
    if isinstance(record, Dispute) and not record.resolved_on_site:
        return _open(
            actor,
            kind,
            record,
            record.category,
            record.severity,
            _("Dispute: %(summary)s", summary=record.summary[:60]),
            household_id=record.household_id,
        )
    if isinstance(record, Hazard) and not record.fixed_on_site:
        return _open(
            actor,
            kind,
            record,
            record.category,
            record.severity,
            _("Hazard: %(description)s", description=record.description[:60]),
        )
    if isinstance(record, ElderlyCheck):
        return _case_for_elderly_check(actor, kind, record)
    return None


def _case_for_elderly_check(actor: User, kind: RecordKind, check: ElderlyCheck) -> Case | None:
    if check.status not in ("needs_help", "not_reached"):
        return None
    resident = db.session.get(Resident, check.resident_id)
    # One open case per resident is enough: a third "not reached" adds to it, not beside it.
    already_open = db.session.scalar(
        select(Case).where(
            Case.resident_id == resident.id,
            Case.source_kind == RecordKind.ELDERLY_CHECK,
            Case.status != CaseStatus.CLOSED,
        )
    )
    if already_open is not None:
        return None
    if check.status == "not_reached" and not _previous_check_not_reached(check):
        return None
    title = (
        _("Elderly resident needs help")
        if check.status == "needs_help"
        else _("Elderly resident not reached twice running")
    )
    severity = "high" if check.status == "needs_help" else "medium"
    return _open(
        actor,
        kind,
        check,
        "elderly_care",
        severity,
        title,
        household_id=resident.household_id,
        resident_id=resident.id,
    )


def _previous_check_not_reached(check: ElderlyCheck) -> bool:
    previous = db.session.scalar(
        select(ElderlyCheck.status)
        .where(
            ElderlyCheck.resident_id == check.resident_id,
            ElderlyCheck.id != check.id,
            ElderlyCheck.checked_at <= check.checked_at,
        )
        .order_by(ElderlyCheck.checked_at.desc())
        .limit(1)
    )
    return previous == "not_reached"


def open_case(
    actor: User, kind: str, source: Any, category: str, severity: str, title: str
) -> Case:
    """A grid-level case for something that is not a field record: a resident's report the
    worker verified as a case (webapp/residents). `source` has the `id`, `grid_id` and
    `received_at` a record would have; the case's clock starts at `received_at`."""
    return _open(actor, kind, source, category, severity, title)


def _open(
    actor: User,
    kind: RecordKind,
    record: FieldRecord,
    category: str,
    severity: str,
    title: str,
    *,
    household_id: int | None = None,
    resident_id: int | None = None,
) -> Case:
    case = Case(
        id=uuid.uuid4(),
        number="",
        home_grid_id=record.grid_id,
        source_kind=kind,
        source_record_id=record.id,
        household_id=household_id,
        resident_id=resident_id,
        title=title[:200],
        category=category,
        severity=severity,
        status=CaseStatus.OPEN,
        level=CaseLevel.GRID,
        opened_at=record.received_at,
        stage_started_at=record.received_at,
    )
    limits.start_stage(case, record.received_at)
    seq = bump(case)
    # The change sequence is unique and increasing, so it makes a collision-free case number
    # without a second counter.
    case.number = f"AJ{record.received_at.astimezone(SHANGHAI):%Y%m%d}-{seq:06d}"
    db.session.add(case)
    db.session.add(
        CaseEvent(
            case_id=case.id,
            actor_id=actor.id,
            at=record.received_at,
            action="open",
            from_status="",
            to_status=CaseStatus.OPEN,
            from_level="",
            to_level=CaseLevel.GRID,
            data={"source_kind": str(kind), "source_record_id": str(record.id)},
        )
    )
    db.session.flush()
    return case
