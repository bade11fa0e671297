"""What a pull sends for each entity: compact, masked `data` (DESIGN.md §5, §7).

The phone keeps only what a worker needs in a stairwell. Names, phones and ID numbers are masked
here on the server; birth dates become an age; free-text notes (health, living conditions,
mediation) are not sent at all and stay on the record's page online.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from webapp.cases import limits
from webapp.extensions import db
from webapp.models import (
    Building,
    Case,
    CaseStatus,
    Community,
    Dispute,
    ElderlyCheck,
    Grid,
    Hazard,
    Household,
    Notice,
    NoticeStatus,
    ReportStatus,
    Resident,
    ResidentReport,
    Visit,
    notice_communities,
)
from webapp.notices.publicity import masked_body, masked_title
from webapp.privacy import PUBLIC_VIEWER, Viewer
from webapp.rounds.care import DueCheck

RECORD_DAYS = 90  # records the phone keeps
CLOSED_CASE_DAYS = 30  # closed cases the phone keeps

# Snapshot order: parents before children, so a phone can insert as it reads.
ENTITIES = (
    "grid",
    "building",
    "household",
    "resident",
    "visit",
    "dispute",
    "elderly_check",
    "hazard",
    "case",
    "care_task",
    "notice",
    # Last, not beside "case": cursors already on phones hold entity indexes.
    "report",
)
ENTITY_INDEX = {entity: index for index, entity in enumerate(ENTITIES)}
TOMBSTONE_INDEX = len(ENTITIES)  # tombstones come last among rows sharing a change_seq
UUID_ENTITIES = frozenset({"visit", "dispute", "elderly_check", "hazard", "case", "report"})


@dataclass(frozen=True)
class Clock:
    """What serializers need besides the rows: the time, and who is looking (the masking table,
    webapp.privacy: the phone gets exactly what a page would show this viewer)."""

    now: datetime
    today: date  # Asia/Shanghai
    viewer: Viewer = PUBLIC_VIEWER

    @property
    def records_since(self) -> datetime:
        return self.now - timedelta(days=RECORD_DAYS)

    @property
    def closed_cases_since(self) -> datetime:
        return self.now - timedelta(days=CLOSED_CASE_DAYS)


def change(
    entity: str, entity_id: Any, version: int | None, data: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "entity": entity,
        "id": entity_id,
        "version": version,
        "deleted": data is None,
        "data": data,
    }


def deleted(entity: str, entity_id: Any) -> dict[str, Any]:
    return change(entity, entity_id, None, None)


def entity_id_from_text(entity: str, text: str) -> Any:
    """A tombstone keeps ids as text; the phone gets them typed as the live rows have them."""
    if entity in UUID_ENTITIES:
        return text
    try:
        return int(text)
    except ValueError:
        return text


def iso(moment: datetime | date | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return moment.isoformat()


def _uuid_text(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


# --- one serializer per entity; each takes a batch so lookups are one query, not one per row ---


def grids_data(rows: list[Grid], clock: Clock) -> list[dict]:
    names = dict(
        db.session.execute(
            select(Community.id, Community.name).where(
                Community.id.in_({grid.community_id for grid in rows})
            )
        ).all()
    )
    return [
        change(
            "grid",
            grid.id,
            1,
            {
                "code": grid.code,
                "name": grid.name,
                "community_id": grid.community_id,
                "community": names.get(grid.community_id, ""),
                "boundary": grid.boundary,
            },
        )
        for grid in rows
    ]


def buildings_data(rows: list[Building], clock: Clock) -> list[dict]:
    return [
        change(
            "building",
            building.id,
            1,
            {
                "grid_id": building.grid_id,
                "name": building.name,
                "address": building.address,
                "unit_count": building.unit_count,
                "floor_count": building.floor_count,
            },
        )
        for building in rows
    ]


def households_data(rows: list[Household], clock: Clock) -> list[dict]:
    return [
        change(
            "household",
            household.id,
            household.version,
            {
                "grid_id": household.grid_id,
                "building_id": household.building_id,
                "unit": household.unit,
                "room": household.room,
                "address": household.address,
                "contact_phone": clock.viewer.phone(household, "contact_phone"),
                "occupancy": household.occupancy,
                "dilapidated": household.dilapidated,
                # Lets a phone match a household it created offline to the server's row.
                "client_uuid": _uuid_text(household.client_uuid),
            },
        )
        for household in rows
    ]


def residents_data(rows: list[Resident], clock: Clock) -> list[dict]:
    from webapp.rounds.care import care_intervals, check_interval

    intervals = care_intervals()
    return [
        change(
            "resident",
            resident.id,
            resident.version,
            {
                "grid_id": resident.grid_id,
                "household_id": resident.household_id,
                "name": clock.viewer.name(resident),
                "gender": resident.gender,
                "age": resident.age_on(clock.today),
                "flags": resident.care_flags(clock.today),
                "relation": resident.relation,
                "moved_out": resident.moved_out,
                "status": resident.status,  # active, moved_out, deceased
                "client_uuid": _uuid_text(resident.client_uuid),
                "phone": clock.viewer.phone(resident),
                "id_number": clock.viewer.id_number(resident),
                # On the care schedule: the household page offers "check on" (a child is no elder).
                "checkable": check_interval(resident, clock.today, intervals) is not None,
            },
        )
        for resident in rows
    ]


def _record_common(record: Any) -> dict[str, Any]:
    return {
        "grid_id": record.grid_id,
        "author_id": record.author_id,
        "received_at": iso(record.received_at),
        "corrects_id": _uuid_text(record.corrects_id),
        "photo_ids": record.photo_ids or [],
    }


def visits_data(rows: list[Visit], clock: Clock) -> list[dict]:
    return [
        change(
            "visit",
            str(visit.id),
            1,
            {
                **_record_common(visit),
                "household_id": visit.household_id,
                "visited_at": iso(visit.visited_at),
                "visit_kind": visit.visit_kind,
                "present_resident_ids": visit.present_resident_ids or [],
                "needs": visit.needs or [],
            },
        )
        for visit in rows
    ]


def _masked_parties(
    parties: Iterable[dict[str, Any]] | None, grid_id: int, viewer: Viewer
) -> list[dict[str, Any]]:
    return [
        {**party, "name": viewer.show("name", party.get("name", ""), grid_id)}
        for party in parties or []
    ]


def disputes_data(rows: list[Dispute], clock: Clock) -> list[dict]:
    return [
        change(
            "dispute",
            str(dispute.id),
            1,
            {
                **_record_common(dispute),
                "household_id": dispute.household_id,
                "place": dispute.place,
                "category": dispute.category,
                "parties": _masked_parties(dispute.parties, dispute.grid_id, clock.viewer),
                "summary": dispute.summary,
                "severity": dispute.severity,
                "resolved_on_site": dispute.resolved_on_site,
            },
        )
        for dispute in rows
    ]


def elderly_checks_data(rows: list[ElderlyCheck], clock: Clock) -> list[dict]:
    return [
        change(
            "elderly_check",
            str(check.id),
            1,
            {
                **_record_common(check),
                "resident_id": check.resident_id,
                "checked_at": iso(check.checked_at),
                "method": check.method,
                "status": check.status,
                "needs": check.needs or [],
            },
        )
        for check in rows
    ]


def hazards_data(rows: list[Hazard], clock: Clock) -> list[dict]:
    return [
        change(
            "hazard",
            str(hazard.id),
            1,
            {
                **_record_common(hazard),
                "building_id": hazard.building_id,
                "place": hazard.place,
                "location": hazard.location,
                "category": hazard.category,
                "severity": hazard.severity,
                "description": hazard.description,
                "fixed_on_site": hazard.fixed_on_site,
            },
        )
        for hazard in rows
    ]


def cases_data(rows: list[Case], clock: Clock) -> list[dict]:
    return [
        change(
            "case",
            str(case.id),
            case.version,
            {
                "number": case.number,
                "title": case.title,
                "category": case.category,
                "severity": case.severity,
                "status": case.status,
                "level": case.level,
                "home_grid_id": case.home_grid_id,
                "source_kind": case.source_kind,
                "source_record_id": _uuid_text(case.source_record_id),
                "household_id": case.household_id,
                "resident_id": case.resident_id,
                "assigned_department": case.assigned_department,
                "opened_at": iso(case.opened_at),
                "stage_started_at": iso(case.stage_started_at),
                # As the case page shows them: pushed out by any time paused so far.
                "warn_at": iso(limits.effective(case.warn_at, case, clock.now)),
                "due_at": iso(limits.effective(case.due_at, case, clock.now)),
                "paused": case.paused_at is not None,
                "supervised": case.supervised,
                "supervise_deadline": iso(case.supervise_deadline),
                "resolved_at": iso(case.resolved_at),
                "closed_at": iso(case.closed_at),
            },
        )
        for case in rows
    ]


def notices_data(rows: list[Notice], clock: Clock) -> list[dict]:
    communities: dict[int, list[int]] = {}
    for notice_id, community_id in db.session.execute(
        select(notice_communities.c.notice_id, notice_communities.c.community_id)
        .where(notice_communities.c.notice_id.in_([notice.id for notice in rows]))
        .order_by(notice_communities.c.community_id)
    ):
        communities.setdefault(notice_id, []).append(community_id)
    return [
        change(
            "notice",
            notice.id,
            1,
            {
                "street_id": notice.street_id,
                "community_ids": communities.get(notice.id, []),
                # The phone gets what the public page shows: 公示 names masked (DESIGN.md §7).
                "title": masked_title(notice),
                "body": masked_body(notice),
                "category": notice.category,
                "publish_at": iso(notice.publish_at),
                "period_start": iso(notice.period_start),
                "period_end": iso(notice.period_end),
            },
        )
        for notice in rows
    ]


def care_task_data(due: DueCheck) -> dict[str, Any]:
    return change(
        "care_task",
        due.resident.id,
        1,
        {
            "resident_id": due.resident.id,
            "household_id": due.household_id,
            "grid_id": due.resident.grid_id,
            "address": due.address,
            "flags": list(due.flags),
            "interval_days": due.interval_days,
            "last_checked_on": iso(due.last_checked_on),
            "due_on": iso(due.due_on),
            "days_overdue": due.days_overdue,
        },
    )


@dataclass(frozen=True)
class Source:
    """A table the pull reads rows of. `grid_column` is what scopes it (None: notices, scoped by
    street); `live` says which of its rows a snapshot sends; `serialize` turns rows into changes."""

    entity: str
    model: type
    grid_column: Any
    serialize: Callable[[list[Any], Clock], list[dict]]
    live: Callable[[Clock], list[Any]]

    @property
    def index(self) -> int:
        return ENTITY_INDEX[self.entity]

    @property
    def id_column(self) -> Any:
        return self.model.__mapper__.primary_key[0]

    def key_value(self, text: Any) -> Any:
        return uuid.UUID(str(text)) if self.entity in UUID_ENTITIES else int(text)


def _always(clock: Clock) -> list[Any]:
    return []


def _recent(model: Any) -> Callable[[Clock], list[Any]]:
    return lambda clock: [model.received_at >= clock.records_since]


def _open_or_recently_closed(clock: Clock) -> list[Any]:
    return [(Case.status != CaseStatus.CLOSED) | (Case.closed_at >= clock.closed_cases_since)]


def _published(clock: Clock) -> list[Any]:
    """Visible now: published, and not scheduled for later."""
    return [
        Notice.status == NoticeStatus.PUBLISHED,
        (Notice.publish_at.is_(None)) | (Notice.publish_at <= clock.now),
    ]


def reports_data(rows: list[ResidentReport], clock: Clock) -> list[dict]:
    """A resident's report as the worker verifies it in the stairwell: the contact phone in full
    only for the grid's own worker, who calls back (DESIGN.md §7); photos stay online."""
    return [
        change(
            "report",
            str(report.id),
            report.version,
            {
                "number": report.number,
                "kind": report.kind,
                "source": report.source,
                "category": report.category,
                "grid_id": report.grid_id,
                "building_id": report.building_id,
                "place": report.place,
                "description": report.description,
                "location": report.location,
                "contact_name": clock.viewer.show("name", report.contact_name, report.grid_id),
                "contact_phone": clock.viewer.phone(report, "contact_phone"),
                "status": report.status,
                "case_id": _uuid_text(report.case_id),
                "received_at": iso(report.received_at),
                "verified_at": iso(report.verified_at),
                "photo_count": len(report.photos),
            },
        )
        for report in rows
    ]


def _waiting_or_recent(clock: Clock) -> list[Any]:
    return [
        (ResidentReport.status == ReportStatus.NEW)
        | (ResidentReport.received_at >= clock.records_since)
    ]


SOURCES: dict[str, Source] = {
    source.entity: source
    for source in (
        Source("grid", Grid, Grid.id, grids_data, _always),
        Source("building", Building, Building.grid_id, buildings_data, _always),
        Source("household", Household, Household.grid_id, households_data, _always),
        Source("resident", Resident, Resident.grid_id, residents_data, _always),
        Source("visit", Visit, Visit.grid_id, visits_data, _recent(Visit)),
        Source("dispute", Dispute, Dispute.grid_id, disputes_data, _recent(Dispute)),
        Source(
            "elderly_check",
            ElderlyCheck,
            ElderlyCheck.grid_id,
            elderly_checks_data,
            _recent(ElderlyCheck),
        ),
        Source("hazard", Hazard, Hazard.grid_id, hazards_data, _recent(Hazard)),
        Source("case", Case, Case.home_grid_id, cases_data, _open_or_recently_closed),
        Source("notice", Notice, None, notices_data, _published),
        Source("report", ResidentReport, ResidentReport.grid_id, reports_data, _waiting_or_recent),
    )
}
