"""Making ledgers: who may see what in them, and running a long export off the request path.

A street-quarter workbook at district scale takes seconds, more than a request should hold a
gunicorn worker; the dashboard's button writes a `LedgerExport` row and a thread builds the
file, writing its progress to the row so any worker can answer the page's polling.
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime
from pathlib import Path

from flask import Flask, current_app

from webapp import clock
from webapp.audit import record_audit
from webapp.auth.scope import Scope, compute_scope
from webapp.background import start_job
from webapp.extensions import db
from webapp.models import ExportStatus, LedgerExport, Role, User, utcnow
from webapp.reports.dashboard import build_dashboard
from webapp.reports.ledger import LedgerPrivacy, build_ledger
from webapp.reports.periods import Area, parse_area, parse_period

REPORT_ROLES = (Role.STREET_STAFF, Role.COMMUNITY_STAFF, Role.GRID_WORKER, Role.ADMIN)


def report_scope(user: User) -> Scope:
    return compute_scope(user, roles=REPORT_ROLES)


def ledger_privacy(user: User, area: Area) -> LedgerPrivacy:
    """DESIGN.md §7 for the whole workbook: names in full only for those who see them in full on
    every page it covers — the grid worker of all its grids, or the staff of its community."""
    grids = set(area.grid_ids)
    if not grids:
        return LedgerPrivacy()
    worker = compute_scope(user, roles=[Role.GRID_WORKER])
    if grids <= worker.grid_ids:
        return LedgerPrivacy(full_names=True, full_phones=True)
    community = compute_scope(user, roles=[Role.COMMUNITY_STAFF])
    if grids <= community.grid_ids:
        return LedgerPrivacy(full_names=True)
    return LedgerPrivacy()


def export_dir(app: Flask | None = None) -> Path:
    app = app or current_app
    return Path(app.config.get("LEDGER_EXPORT_FOLDER") or Path(app.instance_path) / "exports")


def export_path(job: LedgerExport, app: Flask | None = None) -> Path:
    return export_dir(app) / job.file_name


def download_name(job: LedgerExport, area_name: str) -> str:
    return f"台账_{area_name}_{job.period}.xlsx"


def start_export(user: User, period_code: str, area_code: str) -> LedgerExport:
    """Check the request, record it (audited) and queue it. Raises BadReportRequest."""
    now = clock.now()
    period = parse_period(period_code, now)
    area = parse_area(area_code, report_scope(user))
    privacy = ledger_privacy(user, area)
    job = LedgerExport(
        id=uuid.uuid4(),
        user_id=user.id,
        period=period.code,
        area=area.code,
        masked=privacy.masked,
        file_name=f"{uuid.uuid4().hex}.xlsx",
    )
    db.session.add(job)
    record_audit(
        "ledger_export",
        actor=user,
        target_type="area",
        target_id=area.code,
        period=period.code,
        masked=privacy.masked,
    )
    return job


def run_in_background(job_id: uuid.UUID) -> threading.Thread:
    """Build the workbook off the request path (webapp/background.py)."""
    return start_job(f"ledger-{job_id}", run_export, job_id)


def run_export(job_id: uuid.UUID, now: datetime | None = None) -> LedgerExport:
    job = db.session.get(LedgerExport, job_id)
    if job is None or job.status not in (ExportStatus.QUEUED, ExportStatus.RUNNING):
        return job
    job.status = ExportStatus.RUNNING
    db.session.commit()
    try:
        user = db.session.get(User, job.user_id)
        now = now or clock.now()
        area = parse_area(job.area, report_scope(user))
        board = build_dashboard(area, parse_period(job.period, now), now)

        def progress(percent: int) -> None:
            job.progress = min(percent, 99)
            db.session.commit()

        build_ledger(board, ledger_privacy(user, area), export_path(job), progress)
        job.status, job.progress = ExportStatus.DONE, 100
    except Exception as error:  # the page must say it failed, whatever failed
        db.session.rollback()
        job = db.session.get(LedgerExport, job_id)
        job.status, job.error = ExportStatus.FAILED, str(error)[:500]
        current_app.logger.exception("ledger export %s failed", job_id)
    job.finished_at = utcnow()
    db.session.commit()
    return job
