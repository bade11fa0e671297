"""Residents' reports and suggestions (DESIGN.md §6): the rules the public form, staff intake,
Open311, the report page and the sync API's `report.verify` all call.

A report is routed to the grid of its place when it arrives, verified there by the grid worker,
and may become a case, from which the wave-1 ladder applies unchanged. What a resident may read
about it (`public_view`) is computed here once, for the status page and Open311 alike.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from webapp import clock
from webapp.audit import record_audit
from webapp.auth.scope import compute_scope, scoped
from webapp.cases import opening
from webapp.changes import bump
from webapp.extensions import db
from webapp.jsonsafe import first_unstorable
from webapp.labels import REPORT_CATEGORY_LABELS, SEVERITY_LABELS
from webapp.models import (
    VERIFY_OUTCOMES,
    Building,
    Case,
    CaseStatus,
    Grid,
    ReportKind,
    ReportPhoto,
    ReportSource,
    ReportStatus,
    ResidentReport,
    Role,
    User,
)
from webapp.notices.guard import mask_text, scan_text
from webapp.notify import members_for_grid, notify
from webapp.ops import Conflict, Invalid, Op, OutOfScope, parse_uuid
from webapp.privacy import Relation, viewer_for
from webapp.rounds import photos as photo_pipeline

# No 0/O, 1/I/L: a number read over the phone or copied by hand survives. 31^9 ≈ 2.6e13.
NUMBER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
NUMBER_LENGTH = 9
MAX_PHOTOS = 3
MAX_DESCRIPTION = 1000
MAX_PLACE = 200
MAX_REPLY = 500
MAX_NOTES = 2000
REPORT_CATEGORIES = tuple(code for code in REPORT_CATEGORY_LABELS if code != "suggestion")
OUTCOMES = VERIFY_OUTCOMES
STAFF_SOURCES = (ReportSource.PHONE, ReportSource.HOTLINE_12345, ReportSource.PETITION)

SOURCE_LABELS = {
    ReportSource.PUBLIC: _l("Public site"),
    ReportSource.PHONE: _l("Phone call"),
    ReportSource.HOTLINE_12345: _l("12345 hotline"),
    ReportSource.PETITION: _l("Letters and visits (信访)"),
    ReportSource.OPEN311: _l("Open311 client"),
}
OUTCOME_LABELS = {
    "settled": _l("Settled on the spot"),
    "case": _l("Becomes a case"),
    "not_found": _l("Nothing found"),
    "duplicate": _l("Same as an existing case"),
}
STATUS_LABELS = {
    ReportStatus.NEW: _l("Waiting to be verified"),
    ReportStatus.SETTLED: _l("Settled on the spot"),
    ReportStatus.CASE: _l("Became a case"),
    ReportStatus.NOT_FOUND: _l("Nothing found"),
    ReportStatus.DUPLICATE: _l("Same as an existing case"),
    ReportStatus.SPAM: _l("Marked as spam"),
}


# --- numbers and places ------------------------------------------------------------------------


def new_number() -> str:
    return "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(NUMBER_LENGTH))


def normalize_number(text: str) -> str:
    """What a resident typed, as stored: upper case, no spaces or dashes; O read as 0 is not
    in the alphabet, so it cannot match by accident."""
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())[:32]


def by_number(number: str) -> ResidentReport | None:
    return db.session.scalar(
        select(ResidentReport).where(ResidentReport.number == normalize_number(number))
    )


def building_or_none(value: Any) -> Building | None:
    try:
        building_id = int(value)
    except (TypeError, ValueError):
        return None
    if not 0 < building_id < 2**63:
        return None
    return db.session.get(Building, building_id)


# --- reading what was sent ---------------------------------------------------------------------


@dataclass
class ReportForm:
    """What a report needs, from any door (public form, staff intake, Open311)."""

    kind: str = ReportKind.REPORT
    category: str = ""
    description: str = ""
    building_id: Any = None
    place: str = ""
    lat: Any = None
    lng: Any = None
    contact_phone: str = ""
    contact_name: str = ""
    source: str = ReportSource.PUBLIC
    photos: list[FileStorage] = field(default_factory=list)


def _phone_ok(phone: str) -> bool:
    digits = phone.replace("-", "").replace(" ", "")
    return digits.isdigit() and 7 <= len(digits) <= 15


def _location(lat: Any, lng: Any, errors: dict[str, str]) -> dict[str, float] | None:
    if lat in (None, "") and lng in (None, ""):
        return None
    try:
        lat_f, lng_f = float(lat), float(lng)
    except (TypeError, ValueError):
        errors["location"] = _("The location could not be read.")
        return None
    if not (-90 <= lat_f <= 90 and -180 <= lng_f <= 180):
        errors["location"] = _("The location could not be read.")
        return None
    return {"lat": round(lat_f, 6), "lng": round(lng_f, 6)}


@dataclass(frozen=True)
class _Checked:
    kind: str
    category: str
    description: str
    place: str
    building: Building
    phone: str
    location: dict[str, float] | None
    uploads: list[FileStorage]


def check_report(form: ReportForm, extra: dict[str, str] | None = None) -> _Checked:
    """Every bad field of `form` (and the caller's `extra` ones) in one Invalid."""
    errors: dict[str, str] = dict(extra or {})
    kind = form.kind if form.kind in tuple(ReportKind) else ""
    if not kind:
        errors["kind"] = _("Choose a report or a suggestion.")
    category = form.category
    if kind == ReportKind.SUGGESTION:
        category = "suggestion"
    elif category not in REPORT_CATEGORIES:
        errors["category"] = _("Choose what it is about.")
    description = (form.description or "").strip()
    if not description:
        errors["description"] = _("Describe what you saw.")
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = _("At most %(n)d characters.", n=MAX_DESCRIPTION)
    place = (form.place or "").strip()
    if len(place) > MAX_PLACE:
        errors["place"] = _("At most %(n)d characters.", n=MAX_PLACE)
    building = building_or_none(form.building_id)
    if building is None:
        errors["building_id"] = _(
            "Choose your building from the search results, or scan the code on its card."
        )
    phone = (form.contact_phone or "").strip()
    if phone and not _phone_ok(phone):
        errors["contact_phone"] = _("This does not look like a phone number.")
    if form.source not in tuple(ReportSource):
        errors["source"] = _("Choose where the matter came from.")
    location = _location(form.lat, form.lng, errors)
    uploads = [p for p in form.photos if p is not None and p.filename]
    if len(uploads) > MAX_PHOTOS:
        errors["photos"] = _("At most %(n)d photos.", n=MAX_PHOTOS)
    for name, value in (("description", description), ("place", place)):
        if name not in errors and first_unstorable(value):
            errors[name] = _("This text holds a character that cannot be stored.")
    if errors:
        raise Invalid(errors)
    return _Checked(kind, category, description, place, building, phone, location, uploads)


def challenge_used(challenge: str) -> bool:
    return (
        db.session.scalar(
            select(ResidentReport.id).where(ResidentReport.challenge == challenge).limit(1)
        )
        is not None
    )


def submit_report(
    form: ReportForm,
    *,
    entered_by: User | None = None,
    open311_client_id: int | None = None,
    challenge: str | None = None,
) -> ResidentReport:
    """Check every field, keep the photos, route the report to its grid and tell the grid's
    worker. Raises Invalid with every bad field at once; nothing is kept then."""
    checked = check_report(form)
    kind, category, description, place = (
        checked.kind,
        checked.category,
        checked.description,
        checked.place,
    )
    building, phone, location, uploads = (
        checked.building,
        checked.phone,
        checked.location,
        checked.uploads,
    )
    report = ResidentReport(
        id=uuid.uuid4(),
        number=_unused_number(),
        kind=kind,
        source=form.source,
        category=category,
        grid_id=building.grid_id,
        building_id=building.id,
        place=place,
        description=description,
        location=location,
        contact_name=(form.contact_name or "").strip()[:50],
        contact_phone=phone[:32],
        status=ReportStatus.NEW,
        received_at=clock.now(),
        entered_by_id=entered_by.id if entered_by else None,
        open311_client_id=open311_client_id,
        challenge=challenge,
    )
    db.session.add(report)
    _keep_photos(report, uploads)
    bump(report)
    db.session.flush()
    _tell_the_grid(report)
    return report


def _unused_number() -> str:
    for _attempt in range(5):
        number = new_number()
        if by_number(number) is None:
            return number
    raise RuntimeError("could not find an unused tracking number")  # 2.6e13 numbers: never


def _keep_photos(report: ResidentReport, uploads: list[FileStorage]) -> None:
    limit = photo_pipeline.max_photo_bytes()
    for position, upload in enumerate(uploads):
        data = upload.stream.read(limit + 1)
        try:
            cleaned = photo_pipeline.clean_and_keep(data, upload.mimetype or "")
        except Invalid as error:
            message = error.errors.get("photo", error.message)
            raise Invalid(
                {"photos": _("Photo %(n)d: %(message)s", n=position + 1, message=message)}
            ) from None
        report.photos.append(
            ReportPhoto(
                id=uuid.uuid4(),
                position=position,
                storage_name=cleaned.storage_name,
                byte_size=cleaned.byte_size,
                width=cleaned.width,
                height=cleaned.height,
                sha256=cleaned.sha256,
            )
        )


def _tell_the_grid(report: ResidentReport) -> None:
    workers = members_for_grid(report.grid_id, Role.GRID_WORKER)
    if not workers:
        workers = members_for_grid(report.grid_id, Role.COMMUNITY_STAFF)
    notify(
        workers,
        "report",
        _("New report from a resident: %(category)s", category=category_label(report.category)),
        body=report.description[:100],
        url=url_for("residents.report_page", report_id=report.id),
        urgent=False,
    )


def category_label(code: str) -> str:
    return str(REPORT_CATEGORY_LABELS.get(code, code))


# --- reading reports in scope ------------------------------------------------------------------


def reports_waiting(grid_ids: Iterable[int], limit: int = 20) -> list[ResidentReport]:
    """Reports not yet verified in these grids, oldest first: the worker's list."""
    ids = list(grid_ids)
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(ResidentReport)
            .where(ResidentReport.grid_id.in_(ids), ResidentReport.status == ReportStatus.NEW)
            .order_by(ResidentReport.received_at)
            .limit(limit)
        )
    )


def is_responsible_worker(viewer: User, report: ResidentReport) -> bool:
    """The grid worker of the report's grid: the one who calls back (DESIGN.md §7)."""
    return viewer_for(viewer).relation(report.grid_id) is Relation.RESPONSIBLE_WORKER


def contact_phone_for(viewer: User, report: ResidentReport) -> str:
    return viewer_for(viewer).phone(report, "contact_phone")


def contact_name_for(viewer: User, report: ResidentReport) -> str:
    return viewer_for(viewer).show("name", report.contact_name, report.grid_id)


def report_snapshot(report: ResidentReport) -> dict[str, Any]:
    """What a conflict answer carries: enough to show the worker what happened, nothing personal."""
    return {
        "id": str(report.id),
        "number": report.number,
        "status": report.status,
        "case_id": str(report.case_id) if report.case_id else None,
        "version": report.version,
    }


# --- verifying (report.verify) -----------------------------------------------------------------


@dataclass(frozen=True)
class _CaseOrigin:
    """What the case-opening code reads of its source: the case's clock starts at verification."""

    id: uuid.UUID
    grid_id: int
    received_at: datetime


def verify_report(actor: User, op: Op) -> ResidentReport:
    """`report.verify` `{"report_id", "outcome", "notes", "case_id" (duplicate), "severity"
    (case), "reply"}`. Raises Invalid, OutOfScope, Conflict (already verified or spam)."""
    payload = op.payload if isinstance(op.payload, dict) else {}
    report_id = parse_uuid(payload.get("report_id"), "report_id")
    # Locked and read afresh: a worker's phone and a clerk may verify the same report at once,
    # and writers no longer wait for each other (webapp/changes.py), so without the lock both
    # would see it new and open two cases.
    report = db.session.get(ResidentReport, report_id, with_for_update=True, populate_existing=True)
    if report is None or not compute_scope(actor).covers_grid(report.grid_id):
        raise OutOfScope(_("This report does not exist or is not in your grids."))
    if report.status != ReportStatus.NEW:
        raise Conflict(_("This report was already handled."), current=report_snapshot(report))

    errors: dict[str, str] = {}
    outcome = payload.get("outcome")
    if outcome not in OUTCOMES:
        errors["outcome"] = _("Choose what you found.")
    notes = payload.get("notes") or ""
    reply = payload.get("reply") or ""
    if not isinstance(notes, str) or len(notes) > MAX_NOTES:
        errors["notes"] = _("At most %(n)d characters.", n=MAX_NOTES)
    if not isinstance(reply, str) or len(reply) > MAX_REPLY:
        errors["reply"] = _("At most %(n)d characters.", n=MAX_REPLY)
    elif scan_text("reply", reply):
        errors["reply"] = _(
            "The reply is shown to the public: leave out phone, ID and bank card numbers."
        )
    severity = payload.get("severity") or "medium"
    if outcome == "case" and severity not in SEVERITY_LABELS:
        errors["severity"] = _("Choose a severity.")
    duplicate_of = None
    if outcome == "duplicate":
        try:
            case_id = parse_uuid(payload.get("case_id"), "case_id")
            duplicate_of = db.session.scalar(
                scoped(Case, actor).where(Case.id == case_id, Case.status != CaseStatus.CLOSED)
            )
        except Invalid:
            duplicate_of = None
        if duplicate_of is None:
            errors["case_id"] = _("Choose the open case this report repeats.")
    if errors:
        raise Invalid(errors)

    now = clock.now()
    report.verified_at = now
    report.verified_by_id = actor.id
    report.verify_notes = notes.strip()
    report.reply = reply.strip()
    if outcome == "case":
        kind_text = _("Resident report") if report.kind == ReportKind.REPORT else _("Suggestion")
        title = f"{kind_text}：{category_label(report.category)}：{report.description[:60]}"
        case = opening.open_case(
            actor,
            "report",
            _CaseOrigin(report.id, report.grid_id, now),
            report.category,
            severity,
            title,
        )
        report.case_id = case.id
        report.status = ReportStatus.CASE
    elif outcome == "duplicate":
        report.case_id = duplicate_of.id
        report.status = ReportStatus.DUPLICATE
    else:
        report.status = ReportStatus(outcome)
    report.version += 1
    bump(report)
    record_audit(
        "report_verified",
        actor=actor,
        target_type="resident_reports",
        target_id=report.id,
        outcome=outcome,
    )
    db.session.flush()
    tell_the_resident(report)
    return report


def tell_the_resident(report: ResidentReport) -> None:
    """Queue a Web Push to browsers following this report (best effort: the page always has it).
    Says only what the status page says."""
    from webapp.push.queue import enqueue_to_topic
    from webapp.push.subscriptions import report_topic

    view = public_view(report)
    enqueue_to_topic(
        report_topic(report.number),
        {
            "title": _(
                "Your report %(number)s: %(status)s", number=report.number, status=view.headline
            ),
            "body": view.result[:120],
            "url": f"/public/r/{report.number}",  # also from `flask sla tick`: no request
            "tag": f"report-{report.number}",
        },
    )


def case_moved(case: Case) -> None:
    """A case changed status: tell the residents whose reports it answers."""
    for report in db.session.scalars(
        select(ResidentReport).where(ResidentReport.case_id == case.id)
    ):
        tell_the_resident(report)


def mark_spam(actor: User, report: ResidentReport) -> ResidentReport:
    """Staff close a report as spam: it leaves the worker's list and its page says only
    "closed". Only an unverified report can be spam; one already handled is a Conflict."""
    if not compute_scope(actor).covers_grid(report.grid_id):
        raise OutOfScope(_("This report does not exist or is not in your grids."))
    if report.status != ReportStatus.NEW:
        raise Conflict(_("This report was already handled."), current=report_snapshot(report))
    report.status = ReportStatus.SPAM
    report.verified_at = clock.now()
    report.verified_by_id = actor.id
    report.version += 1
    bump(report)
    record_audit("report_spam", actor=actor, target_type="resident_reports", target_id=report.id)
    db.session.flush()
    return report


# --- what the public may read ------------------------------------------------------------------

CASE_PUBLIC_WORDS = {
    CaseStatus.OPEN: _l("The grid is handling it."),
    CaseStatus.ESCALATED: _l("Passed up to the community or street office."),
    CaseStatus.ACCEPTED: _l("Accepted by the office in charge and being handled."),
    CaseStatus.RESOLVED: _l("Handled; a follow-up visit comes next."),
    CaseStatus.CLOSED: _l("Handled and followed up."),
}
DEFAULT_RESULTS = {
    ReportStatus.SETTLED: _l("The grid worker checked and settled it on the spot."),
    ReportStatus.NOT_FOUND: _l("The grid worker checked the place and found nothing to fix."),
}


@dataclass
class PublicStage:
    label: str
    done: bool
    at: datetime | None = None
    note: str = ""


@dataclass
class PublicView:
    """A report as the public sees it: no one's name, phone, words or photo."""

    number: str
    kind: str
    category: str
    building_name: str
    received_at: datetime
    headline: str
    is_closed: bool
    stages: list[PublicStage]
    result: str
    updated_at: datetime


def _public_text(text: str) -> str:
    # Guarded when written; masked again when shown, for texts written before the guard or by
    # staff pages that do not pass it (a case result).
    return mask_text(text or "").strip()


def public_views(reports: list[ResidentReport]) -> list[PublicView]:
    """`public_view` of many reports, their buildings and cases read in two queries (Open311)."""
    building_ids = {r.building_id for r in reports if r.building_id}
    case_ids = {r.case_id for r in reports if r.case_id}
    buildings = (
        {b.id: b for b in db.session.scalars(select(Building).where(Building.id.in_(building_ids)))}
        if building_ids
        else {}
    )
    cases = (
        {c.id: c for c in db.session.scalars(select(Case).where(Case.id.in_(case_ids)))}
        if case_ids
        else {}
    )
    return [
        public_view(r, buildings.get(r.building_id), cases.get(r.case_id), loaded=True)
        for r in reports
    ]


def public_view(
    report: ResidentReport,
    building: Building | None = None,
    case: Case | None = None,
    *,
    loaded: bool = False,
) -> PublicView:
    if not loaded:
        building = db.session.get(Building, report.building_id) if report.building_id else None
        case = db.session.get(Case, report.case_id) if report.case_id else None
    stages = [PublicStage(str(_l("Received")), True, report.received_at)]
    result = ""
    closed = False
    updated = report.verified_at or report.received_at
    if report.status == ReportStatus.SPAM:
        stages.append(PublicStage(str(_l("Closed without action")), True, report.verified_at))
        return PublicView(
            report.number,
            report.kind,
            report.category,
            building.name if building else "",
            report.received_at,
            str(_l("Closed without action")),
            True,
            stages,
            "",
            updated,
        )
    verified = report.status != ReportStatus.NEW
    stages.append(
        PublicStage(
            str(_l("Checked on the spot by the grid worker")),
            verified,
            report.verified_at,
            str(STATUS_LABELS[ReportStatus(report.status)]) if verified else "",
        )
    )
    if case is not None:
        stages.append(
            PublicStage(
                str(_l("In hand")),
                True,
                case.opened_at,
                str(CASE_PUBLIC_WORDS[CaseStatus(case.status)]),
            )
        )
        resolved = case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED)
        stages.append(PublicStage(str(_l("Finished")), resolved, case.resolved_at))
        stages.append(
            PublicStage(
                str(_l("Follow-up visit")), case.status == CaseStatus.CLOSED, case.closed_at
            )
        )
        if resolved:
            result = _public_text(case.result) or str(_l("The matter has been handled."))
            closed = True
        moments = (updated, case.opened_at, case.resolved_at, case.closed_at)
        updated = max(moment for moment in moments if moment)
        headline = str(_l("Finished")) if resolved else str(_l("In hand"))
    elif verified:
        stages.append(PublicStage(str(_l("Finished")), True, report.verified_at))
        result = _public_text(report.reply) or str(DEFAULT_RESULTS.get(report.status, ""))
        closed = True
        headline = str(_l("Finished"))
    else:
        headline = str(_l("Waiting to be verified"))
    if report.reply and case is not None:
        result = _public_text(report.reply) + ("\n" + result if result else "")
    return PublicView(
        report.number,
        report.kind,
        report.category,
        building.name if building else "",
        report.received_at,
        headline,
        closed,
        stages,
        result,
        updated,
    )


# --- finding a building from an address anywhere (staff intake, Open311) ---------------------


def buildings_matching(text: str, street_ids: Iterable[int] | None = None) -> list[Building]:
    """Buildings whose name or address holds `text`, across communities (the public search is
    per community). Used where the caller is not inside one community."""
    from webapp.models import Community
    from webapp.public.services import find_buildings

    query = select(Community).order_by(Community.id)
    if street_ids is not None:
        query = query.where(Community.street_id.in_(list(street_ids)))
    found: list[Building] = []
    for community in db.session.scalars(query):
        found.extend(find_buildings(community, text))
        if len(found) > 20:
            break
    return found


def grid_of(report: ResidentReport) -> Grid:
    return db.session.get(Grid, report.grid_id)
