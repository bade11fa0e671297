"""Staff and grid-worker pages of residents' voice: the list of reports in scope, a report's page
(verify, mark as spam), its photos, and the intake form for matters received by phone, from the
12345 hotline or through 信访.

A grid worker's verification goes through the outbox like every field write (the form carries
`data-op-form="report.verify"`); the POST view below is the same service for staff and for a
browser without the outbox.
"""

from __future__ import annotations

import uuid

from flask import abort, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from webapp.auth.scope import current_scope, get_scoped_or_404, role_required, scoped
from webapp.extensions import db
from webapp.labels import REPORT_CATEGORY_LABELS, SEVERITY_LABELS
from webapp.models import (
    Case,
    CaseStatus,
    Grid,
    ReportPhoto,
    ReportStatus,
    ResidentReport,
    Role,
)
from webapp.ops import Conflict, Invalid, Op
from webapp.residents import bp, services
from webapp.rounds import photos as photo_pipeline

LIST_LIMIT = 100
READERS = (Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN)
STAFF = (Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN)


@bp.after_request
def _no_store(response):
    if request.path.startswith("/residents/") and response.headers.get("Cache-Control") is None:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/residents/reports")
@role_required(*READERS)
def report_list():
    status = request.args.get("status", ReportStatus.NEW)
    if status not in tuple(ReportStatus) and status != "all":
        status = ReportStatus.NEW
    query = scoped(ResidentReport)
    if status != "all":
        query = query.where(ResidentReport.status == status)
    reports = list(
        db.session.scalars(query.order_by(ResidentReport.received_at.desc()).limit(LIST_LIMIT))
    )
    return render_template(
        "residents/list.html",
        reports=reports,
        status=status,
        statuses=list(ReportStatus),
        status_labels=services.STATUS_LABELS,
        source_labels=services.SOURCE_LABELS,
        can_intake=bool(current_user.roles() & set(STAFF)),
        card_grids=list(db.session.scalars(scoped(Grid).order_by(Grid.code).limit(LIST_LIMIT))),
    )


def _open_cases_of(report: ResidentReport) -> list[Case]:
    """The grid's open cases: what a report may duplicate."""
    return list(
        db.session.scalars(
            scoped(Case)
            .where(Case.home_grid_id == report.grid_id, Case.status != CaseStatus.CLOSED)
            .order_by(Case.opened_at.desc())
            .limit(30)
        )
    )


def _report_page(report: ResidentReport, errors: dict | None = None, status: int = 200):
    is_worker = services.is_responsible_worker(current_user, report)
    response = make_response(
        render_template(
            "residents/report.html",
            report=report,
            view=services.public_view(report),
            contact_phone=services.contact_phone_for(current_user, report),
            contact_name=services.contact_name_for(current_user, report),
            is_worker=is_worker,
            can_spam=bool(current_user.roles() & set(STAFF)),
            open_cases=_open_cases_of(report) if report.status == ReportStatus.NEW else [],
            case=db.session.get(Case, report.case_id) if report.case_id else None,
            outcomes=services.OUTCOME_LABELS,
            severities=SEVERITY_LABELS,
            status_labels=services.STATUS_LABELS,
            source_labels=services.SOURCE_LABELS,
            errors=errors or {},
            values=request.form if errors else {},
        ),
        status,
    )
    return response


@bp.get("/residents/reports/<uuid:report_id>")
@role_required(*READERS)
def report_page(report_id: uuid.UUID):
    return _report_page(get_scoped_or_404(ResidentReport, report_id))


@bp.post("/residents/reports/<uuid:report_id>/verify")
@role_required(*READERS)
def verify(report_id: uuid.UUID):
    report = get_scoped_or_404(ResidentReport, report_id)
    payload = {
        key: request.form.get(key, "").strip()
        for key in ("outcome", "notes", "reply", "case_id", "severity")
        if request.form.get(key, "").strip()
    }
    payload["report_id"] = str(report.id)
    op = Op(op_id=uuid.uuid4(), type="report.verify", record_id=str(uuid.uuid4()), payload=payload)
    try:
        services.verify_report(current_user, op)
    except Invalid as error:
        db.session.rollback()
        return _report_page(report, error.errors, 422)
    except Conflict:
        db.session.rollback()
        report = get_scoped_or_404(ResidentReport, report_id)
        return _report_page(report, {"outcome": _("This report was already handled.")}, 409)
    db.session.commit()
    return redirect(url_for("residents.report_page", report_id=report.id), 303)


@bp.post("/residents/reports/<uuid:report_id>/spam")
@role_required(*STAFF)
def mark_spam(report_id: uuid.UUID):
    report = get_scoped_or_404(ResidentReport, report_id)
    try:
        services.mark_spam(current_user, report)
    except Conflict:
        db.session.rollback()
        report = get_scoped_or_404(ResidentReport, report_id)
        return _report_page(report, {"outcome": _("This report was already handled.")}, 409)
    db.session.commit()
    return redirect(url_for("residents.report_list"), 303)


@bp.get("/residents/reports/<uuid:report_id>/photos/<uuid:photo_id>")
@role_required(*READERS)
def report_photo(report_id: uuid.UUID, photo_id: uuid.UUID):
    report = get_scoped_or_404(ResidentReport, report_id)
    photo = db.session.scalar(
        select(ReportPhoto).where(ReportPhoto.id == photo_id, ReportPhoto.report_id == report.id)
    )
    if photo is None:
        abort(404)
    if not photo_pipeline.STORAGE_NAME.match(photo.storage_name):
        abort(404)
    response = photo_pipeline.send_photo(photo.storage_name, photo.sha256)
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    return response


# --- staff intake: 12345, 信访, phone ------------------------------------------------------------


def _buildings_for_intake(query: str) -> list:
    scope = current_scope()
    street_ids = None if scope.everything else scope.street_ids | _streets_of(scope)
    found = services.buildings_matching(query, street_ids)
    return [b for b in found if scope.covers_grid(b.grid_id)][:20]


def _streets_of(scope) -> set[int]:
    from webapp.models import Community, Grid

    return set(
        db.session.scalars(
            select(Community.street_id)
            .join(Grid, Grid.community_id == Community.id)
            .where(Grid.id.in_(scope.grid_ids))
            .distinct()
        )
    )


@bp.route("/residents/intake", methods=["GET", "POST"])
@role_required(*STAFF)
def intake():
    errors: dict[str, str] = {}
    values = request.form if request.method == "POST" else request.args
    query = (request.args.get("q") or "").strip()[:50]
    matches = _buildings_for_intake(query) if query else []
    building = services.building_or_none(values.get("building_id"))
    if building is not None and not current_scope().covers_grid(building.grid_id):
        building = None
    if request.method == "POST":
        form = services.ReportForm(
            kind=request.form.get("kind", "report"),
            category=request.form.get("category", ""),
            description=request.form.get("description", ""),
            building_id=building.id if building else None,
            place=request.form.get("place", ""),
            contact_phone=request.form.get("contact_phone", ""),
            contact_name=request.form.get("contact_name", ""),
            source=request.form.get("source", ""),
        )
        if form.source not in services.STAFF_SOURCES:
            form.source = ""
        try:
            report = services.submit_report(form, entered_by=current_user)
        except Invalid as error:
            db.session.rollback()
            errors = error.errors
        else:
            db.session.commit()
            return redirect(url_for("residents.report_page", report_id=report.id), 303)
    return make_response(
        render_template(
            "residents/intake.html",
            query=query,
            matches=matches,
            building=building,
            values=request.form if request.method == "POST" else {},
            errors=errors,
            sources={code: services.SOURCE_LABELS[code] for code in services.STAFF_SOURCES},
            categories=REPORT_CATEGORY_LABELS,
        ),
        422 if errors else 200,
    )
