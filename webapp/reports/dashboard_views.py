"""Supervision pages: dashboards for street and community staff, 我的本月 for a grid worker, the
evaluation, the printable monthly summary and one-click ledgers. Views only read the request and
render; the figures come from `dashboard.build_dashboard`, one computation for every page."""

from __future__ import annotations

import uuid
from operator import attrgetter

from flask import abort, make_response, redirect, render_template, request, send_file, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField

from webapp import clock
from webapp.auth.scope import compute_scope, role_required
from webapp.extensions import db
from webapp.labels import (
    CASE_CATEGORY_LABELS,
    CASE_LEVEL_LABELS,
    CASE_STATUS_LABELS,
    RECORD_KIND_LABELS,
    SATISFACTION_LABELS,
)
from webapp.models import ExportStatus, LedgerExport, Role
from webapp.reports import bp, evaluation, exports
from webapp.reports.dashboard import HAZARD_AGE_BUCKETS, build_dashboard
from webapp.reports.periods import (
    BadReportRequest,
    area_choices,
    current_month,
    default_area_code,
    parse_area,
    parse_period,
    period_choices,
    previous_month,
)
from webapp.residents.services import SOURCE_LABELS as REPORT_SOURCE_LABELS

STAFF = (Role.STREET_STAFF, Role.COMMUNITY_STAFF, Role.ADMIN)
EXPORT_POLL_SECONDS = 1


class ExportForm(FlaskForm):
    period = HiddenField()
    area = HiddenField()


@bp.after_request
def _no_store(response):
    # Every reports page is personal to its viewer's scope; nothing of it belongs in a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def _board_from_request(default_period: str, roles):
    """(dashboard, scope) for the period and area asked for; a bad or foreign one raises
    BadReportRequest, answered with a page that says why in Chinese."""
    now = clock.now()
    scope = compute_scope(current_user, roles=roles)
    area_code = request.args.get("area") or default_area_code(scope)
    if area_code is None:
        abort(403)
    period = parse_period(request.args.get("period") or default_period, now)
    area = parse_area(area_code, scope)
    return build_dashboard(area, period, now), scope


def _filters(scope, board) -> dict:
    return {
        "period_options": [
            (code, parse_period(code, board.now).label) for code in period_choices(board.now)
        ],
        "area_options": area_choices(scope),
    }


LABEL_TABLES = {
    "category": CASE_CATEGORY_LABELS,
    "status": CASE_STATUS_LABELS,
    "level": CASE_LEVEL_LABELS,
    "source": {
        **RECORD_KIND_LABELS,
        **REPORT_SOURCE_LABELS,
        "report": _l("Resident report"),
    },
}


@bp.app_template_filter("labelled")
def labelled(rows, kind: str) -> list[tuple[str, int]]:
    """[(code, n)] → [(label, n)] for a chart; an unknown code shows as itself."""
    table = LABEL_TABLES[kind]
    return [(str(table.get(code, code)), n) for code, n in rows]


@bp.app_template_filter("unit_series")
def unit_series(units, attribute: str) -> list[tuple[str, float | None]]:
    value = attrgetter(attribute)
    return [(unit.name, value(unit)) for unit in units]


@bp.app_template_filter("satisfaction_series")
def satisfaction_series(outcomes) -> list[tuple[str, int]]:
    return [
        (str(label), outcomes.satisfaction.get(code, 0))
        for code, label in SATISFACTION_LABELS.items()
    ]


@bp.app_template_filter("dictsum")
def dictsum(counts: dict) -> int:
    return sum(counts.values())


SUPERVISION_OUTCOME_LABELS = {
    "on_time": _l("Resolved by the deadline"),
    "late": _l("Resolved after the deadline"),
    "overdue": _l("Past the deadline, not resolved"),
    "in_progress": _l("In progress"),
}


@bp.errorhandler(BadReportRequest)
def _bad_request(error: BadReportRequest):
    return render_template("reports/bad_request.html", message=str(error)), 400


def _labels() -> dict:
    return {
        "grade_labels": evaluation.GRADE_LABELS,
        "component_labels": evaluation.COMPONENT_LABELS,
        "age_buckets": [code for code, _lower in HAZARD_AGE_BUCKETS],
        "outcome_labels": SUPERVISION_OUTCOME_LABELS,
    }


@bp.get("/reports")
@role_required(*STAFF)
def dashboard():
    """街道/社区 dashboard: outcomes by community and grid for a period."""
    board, scope = _board_from_request(previous_month(clock.now()), roles=STAFF)
    return render_template(
        "reports/dashboard.html",
        board=board,
        evaluations=evaluation.grid_evaluations(board),
        export_form=ExportForm(period=board.period.code, area=board.area.code),
        **_filters(scope, board),
        **_labels(),
    )


@bp.get("/reports/me")
@role_required(Role.GRID_WORKER)
def my_month():
    """我的本月: a grid worker's own grids this month, judged the way their supervisor sees them."""
    board, scope = _board_from_request(current_month(clock.now()), roles=[Role.GRID_WORKER])
    return render_template(
        "reports/my_month.html",
        board=board,
        evaluations=evaluation.grid_evaluations(board),
        **_filters(scope, board),
        **_labels(),
    )


@bp.get("/reports/evaluation")
@role_required(*STAFF)
def evaluation_page():
    """考评 per grid and per worker, with the formula."""
    board, scope = _board_from_request(previous_month(clock.now()), roles=STAFF)
    return render_template(
        "reports/evaluation.html",
        board=board,
        grids=evaluation.grid_evaluations(board),
        workers=evaluation.worker_evaluations(board),
        formula=evaluation.formula_text(),
        thresholds=evaluation.grade_thresholds(),
        **_filters(scope, board),
        **_labels(),
    )


@bp.get("/reports/summary")
@role_required(*STAFF)
def printable_summary():
    """The monthly summary on A4, for the noticeboard and the meeting."""
    board, _scope = _board_from_request(previous_month(clock.now()), roles=STAFF)
    return render_template(
        "reports/summary.html",
        board=board,
        grids=evaluation.grid_evaluations(board),
        formula=evaluation.formula_text(),
        **_labels(),
    )


@bp.post("/reports/exports")
@role_required(*STAFF)
def export_start():
    """One click: queue the ledger, answer at once, build it in the background."""
    form = ExportForm()
    if not form.validate_on_submit():
        abort(400)
    job = exports.start_export(current_user, form.period.data, form.area.data)
    db.session.commit()
    exports.run_in_background(job.id)
    return redirect(url_for("reports.export_page", job_id=job.id), 303)


def _own_job(job_id: uuid.UUID) -> LedgerExport:
    job = db.session.get(LedgerExport, job_id)
    if job is None or job.user_id != current_user.id:
        abort(404)  # someone else's export is as good as absent
    return job


@bp.get("/reports/exports/<uuid:job_id>")
@role_required(*STAFF)
def export_page(job_id: uuid.UUID):
    job = _own_job(job_id)
    template = (
        "reports/_export_progress.html"
        if request.headers.get("HX-Request")
        else "reports/export.html"
    )
    response = make_response(
        render_template(
            template, job=job, poll_seconds=EXPORT_POLL_SECONDS, ExportStatus=ExportStatus
        )
    )
    if job.status in (ExportStatus.DONE, ExportStatus.FAILED) and request.headers.get("HX-Request"):
        # htmx stops polling when the fragment it swaps in no longer asks to poll.
        response.headers["HX-Trigger"] = "ledger-ready"
    return response


@bp.get("/reports/exports/<uuid:job_id>/file")
@role_required(*STAFF)
def export_file(job_id: uuid.UUID):
    job = _own_job(job_id)
    path = exports.export_path(job)
    if job.status != ExportStatus.DONE or not path.exists():
        abort(404)
    area = parse_area(job.area, exports.report_scope(current_user))
    return send_file(
        path,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=exports.download_name(job, area.name),
    )
