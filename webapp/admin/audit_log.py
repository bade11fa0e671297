"""Reading the audit log for admin: filters, pages, export. Writing it is webapp/audit.py."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, func, select

from webapp.extensions import db
from webapp.i18n import SHANGHAI
from webapp.models import AuditLog
from webapp.moments import parse_day

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000  # one export; narrow the filters for more
# A cell starting with one of these is a formula to Excel/WPS: export it as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AuditFilters:
    who: str = ""
    action: str = ""
    since: date | None = None
    until: date | None = None
    target_type: str = ""
    target_id: str = ""
    page: int = 1

    def query_args(self) -> dict[str, str]:
        """The filters as query-string arguments (for page links and the export link)."""
        args = {
            "who": self.who,
            "action": self.action,
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
            "target_type": self.target_type,
            "target_id": self.target_id,
        }
        return {key: value for key, value in args.items() if value}


def read_filters(args) -> tuple[AuditFilters, dict[str, str]]:
    """Filters from a query string; bad values are reported and left out, never a 500."""
    errors: dict[str, str] = {}
    from flask_babel import gettext as _

    def day(key: str) -> date | None:
        raw = (args.get(key) or "").strip()
        if not raw:
            return None
        try:
            return parse_day(raw)
        except ValueError:
            errors[key] = _("Not a valid date.")
            return None

    raw_page = (args.get("page") or "1").strip()
    page = int(raw_page) if raw_page.isascii() and raw_page.isdigit() else 1
    filters = AuditFilters(
        who=(args.get("who") or "").strip()[:64],
        action=(args.get("action") or "").strip()[:48],
        since=day("from"),
        until=day("to"),
        target_type=(args.get("target_type") or "").strip()[:32],
        target_id=(args.get("target_id") or "").strip()[:64],
        page=max(1, min(page, 1_000_000)),
    )
    return filters, errors


def _local_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=SHANGHAI)


def filtered(filters: AuditFilters) -> Select:
    query = select(AuditLog)
    if filters.who:
        query = query.where(AuditLog.actor_name == filters.who)
    if filters.action:
        query = query.where(AuditLog.action == filters.action)
    if filters.since:
        query = query.where(AuditLog.at >= _local_midnight_utc(filters.since))
    if filters.until:
        query = query.where(AuditLog.at < _local_midnight_utc(filters.until + timedelta(days=1)))
    if filters.target_type:
        query = query.where(AuditLog.target_type == filters.target_type)
    if filters.target_id:
        query = query.where(AuditLog.target_id == filters.target_id)
    return query


def audit_page(filters: AuditFilters) -> tuple[list[AuditLog], int]:
    """One page of rows, newest first, and the number of rows the filters match."""
    query = filtered(filters)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .limit(PAGE_SIZE)
        .offset((filters.page - 1) * PAGE_SIZE)
    )
    return list(rows), total


def known_actions() -> list[str]:
    return sorted(db.session.scalars(select(AuditLog.action).distinct()))


def known_target_types() -> list[str]:
    return sorted(t for t in db.session.scalars(select(AuditLog.target_type).distinct()) if t)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


EXPORT_COLUMNS = ("at", "actor_name", "action", "target_type", "target_id", "ip", "detail")


def export_csv(filters: AuditFilters) -> Iterator[str]:
    """The filtered rows as CSV (UTF-8 with BOM, so Excel and WPS read the Chinese right)."""
    import json

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"
    writer.writerow(EXPORT_COLUMNS)
    rows = db.session.scalars(
        filtered(filters).order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(EXPORT_LIMIT)
    )
    for row in rows:
        writer.writerow(
            [
                _cell(row.at.astimezone(SHANGHAI).isoformat(timespec="seconds")),
                _cell(row.actor_name),
                _cell(row.action),
                _cell(row.target_type),
                _cell(row.target_id),
                _cell(row.ip),
                _cell(json.dumps(row.detail or {}, ensure_ascii=False, sort_keys=True)),
            ]
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
    yield buffer.getvalue()
