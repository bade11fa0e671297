"""`flask sla tick` at scale (DESIGN.md §10): how long a tick takes over the cases of the
database, the first time (escalations and alerts to write) and the minute after (nothing new).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/gr_district .venv/bin/python bench/sla_tick.py

It writes what a real tick writes (escalations, alerts): run it on a database you may change.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webapp import create_app  # noqa: E402
from webapp.cases.sla import ACTIVE, tick  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import Case  # noqa: E402


def main() -> int:
    app = create_app()
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Case))
        active = db.session.scalar(
            select(func.count()).select_from(Case).where(Case.status.in_(ACTIVE))
        )
        now = datetime.now(UTC)
        due = db.session.scalar(
            select(func.count())
            .select_from(Case)
            .where(Case.status.in_(ACTIVE), Case.warn_at < now, Case.paused_at.is_(None))
        )
        db.session.rollback()
        print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {db.engine.url.database}")
        print(f"cases {total:,} · active {active:,} · past their yellow threshold {due:,}")
        for label, moment in (("first tick", now), ("a minute later", now + timedelta(minutes=1))):
            started = time.perf_counter()
            report = tick(moment)
            elapsed = time.perf_counter() - started
            print(
                f"{label:<16} {elapsed:8.2f} s  escalated {len(report.escalated):,}, overdue alerts"
                f" {report.overdue_alerts:,}, due-soon alerts {report.due_soon_alerts:,},"
                f" department alerts {report.department_alerts:,}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
