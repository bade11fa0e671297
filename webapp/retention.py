"""`flask retention run` (DESIGN.md §9, §7): anonymise what is past its configured age.

- Field records older than RETENTION_RECORD_TEXT_DAYS (default 3 years, by the server's
  `received_at`): their personal free text is blanked (visit notes, dispute summary and
  mediation notes, elderly-check health and living notes), dispute parties lose their names and
  resident links, and a visit's or check's GPS point is dropped. Kinds, categories, severities,
  dates and grids stay, so figures and ledgers of past years still add up.
- Audit rows older than RETENTION_AUDIT_DETAIL_DAYS (default 2 years): IP address, user agent
  and the typed username of failed logins are blanked, and a reveal's free-text reason removed.
  The row itself (who did what to which object, when) stays: the log is append-only.

Idempotent: each run remembers, per kind, up to which moment it has anonymised (a setting), and
the next run starts there, so a nightly cron costs only the day's worth of rows; running twice
changes nothing the second time. Ages count from the app clock (webapp/clock.py), so a moved demo
clock shows what a run years from now would do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from webapp import clock
from webapp.audit import record_audit, retention_anonymising
from webapp.extensions import db
from webapp.models import AuditLog, Dispute, ElderlyCheck, Setting, Visit

BATCH = 1000
# Per record model: the columns blanked and what they become.
RECORD_TEXT: dict[type, dict[str, Any]] = {
    Visit: {"notes": "", "location": None},
    Dispute: {"summary": "", "mediation_notes": ""},
    ElderlyCheck: {"health_notes": "", "living_notes": "", "location": None},
}
AUDIT_DETAIL_KEYS = ("reason",)  # free text people typed into an audited action


@dataclass
class RetentionReport:
    records_before: datetime
    audit_before: datetime
    records: dict[str, int] = field(default_factory=dict)
    audit_rows: int = 0


def _watermark_key(name: str) -> str:
    return f"retention_done_until:{name}"


def _watermark(name: str) -> datetime | None:
    setting = db.session.get(Setting, _watermark_key(name))
    return datetime.fromisoformat(setting.value) if setting and setting.value else None


def _set_watermark(name: str, moment: datetime) -> None:
    setting = db.session.get(Setting, _watermark_key(name))
    if setting is None:
        db.session.add(Setting(key=_watermark_key(name), value=moment.isoformat()))
    else:
        setting.value = moment.isoformat()


def _anonymised_parties(parties: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [{"name": "", "role": party.get("role", "other")} for party in parties or []]


def _anonymise_records(model: type, blank: dict[str, Any], before: datetime) -> int:
    name = model.__tablename__
    since = _watermark(name)
    if since is not None and since >= before:
        return 0
    blank = {column: value for column, value in blank.items() if hasattr(model, column)}
    changed = 0
    query = select(model).where(model.received_at < before).order_by(model.received_at)
    if since is not None:
        query = query.where(model.received_at >= since)
    for row in db.session.scalars(query.execution_options(yield_per=BATCH)):
        touched = False
        for column, value in blank.items():
            if getattr(row, column) != value:
                setattr(row, column, value)
                touched = True
        if model is Dispute and row.parties:
            parties = _anonymised_parties(row.parties)
            if parties != row.parties:
                row.parties = parties
                touched = True
        changed += touched
    _set_watermark(name, before)
    return changed


def _anonymise_audit(before: datetime) -> int:
    since = _watermark("audit_log")
    if since is not None and since >= before:
        return 0
    query = select(AuditLog).where(AuditLog.at < before).order_by(AuditLog.at)
    if since is not None:
        query = query.where(AuditLog.at >= since)
    changed = 0
    with retention_anonymising():
        for row in db.session.scalars(query.execution_options(yield_per=BATCH)):
            touched = False
            if row.ip or row.user_agent:
                row.ip, row.user_agent = "", ""
                touched = True
            # The username typed on a failed login may be a mistyped password.
            if row.actor_id is None and row.actor_name:
                row.actor_name = ""
                touched = True
            if any(key in (row.detail or {}) for key in AUDIT_DETAIL_KEYS):
                row.detail = {k: v for k, v in row.detail.items() if k not in AUDIT_DETAIL_KEYS}
                touched = True
            changed += touched
        db.session.flush()
    _set_watermark("audit_log", before)
    return changed


def run_retention(now: datetime | None = None) -> RetentionReport:
    """Anonymise everything past its age; the caller commits."""
    now = now or clock.now()
    config = current_app.config
    report = RetentionReport(
        records_before=now - timedelta(days=config["RETENTION_RECORD_TEXT_DAYS"]),
        audit_before=now - timedelta(days=config["RETENTION_AUDIT_DETAIL_DAYS"]),
    )
    for model, blank in RECORD_TEXT.items():
        report.records[model.__tablename__] = _anonymise_records(
            model, blank, report.records_before
        )
    report.audit_rows = _anonymise_audit(report.audit_before)
    record_audit(
        "retention_run",
        target_type="retention",
        records=report.records,
        audit_rows=report.audit_rows,
        records_before=report.records_before.isoformat(),
        audit_before=report.audit_before.isoformat(),
    )
    return report
