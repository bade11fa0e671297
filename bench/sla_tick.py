"""`flask sla tick` at scale (DESIGN.md §10): how long a tick takes over the cases of the
database, the first time (escalations and alerts to write) and the minute after (nothing new).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/gr_district .venv/bin/python bench/sla_tick.py

It writes what a real tick writes (escalations, alerts): run it on a database you may change.

`--reopen N` first sets N closed cases (the most recently opened) back to `accepted` at their
level, red (stage started 10 days ago, yellow 2 days ago, due an hour ago), so that the tick runs
over that many more active cases — the district data has ~2,400 active of ~200,000 (DESIGN.md §10
asks for a tick over 200,000 open cases). It changes the database for good: use a copy.

Each tick prints its progress (chunks of candidate cases committed, every ~10 s), then its time,
the time per candidate case, and the budget it is held to: DESIGN.md §10 only asks that the tick
over 200,000 open cases be measured; a tick with nothing new must stay well within the one-minute
cron interval, or ticks would pile up behind the run lock.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webapp import create_app  # noqa: E402
from webapp.cases.sla import ACTIVE, tick  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import Case  # noqa: E402

REOPEN = """
UPDATE cases SET status = 'accepted', closed_at = NULL, resolved_at = NULL,
    stage_started_at = :now - interval '10 days', warn_at = :now - interval '2 days',
    due_at = :now - interval '1 hour', paused_at = NULL, paused_seconds = 0,
    version = version + 1
WHERE id IN (SELECT id FROM cases WHERE status = 'closed' ORDER BY opened_at DESC LIMIT :n)
"""


def reopen(count: int, now: datetime) -> None:
    started = time.perf_counter()
    done = db.session.execute(text(REOPEN), {"now": now, "n": count}).rowcount
    db.session.commit()
    db.session.execute(text("ANALYZE cases"))
    db.session.commit()
    elapsed = time.perf_counter() - started
    print(f"reopened {done:,} closed cases as accepted and red in {elapsed:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument(
        "--reopen",
        type=int,
        default=0,
        metavar="N",
        help="first set N closed cases back to accepted, past their due (changes the database)",
    )
    args = parser.parse_args()
    if not args.database_url:
        parser.error("set DATABASE_URL or --database-url")
    os.environ["DATABASE_URL"] = args.database_url
    app = create_app()
    with app.app_context():
        print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {db.engine.url.database}")
        if args.reopen:
            if db.engine.dialect.name != "postgresql":
                parser.error("--reopen needs PostgreSQL")
            reopen(args.reopen, datetime.now(UTC))
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
        print(f"cases {total:,} · active {active:,} · past their yellow threshold {due:,}")
        budgets = {
            "first tick": 'measured (DESIGN.md §10: "sla tick over 200,000 open cases measured")',
            "a minute later": "well under the 60 s cron interval",
        }
        for label, moment in (("first tick", now), ("a minute later", now + timedelta(minutes=1))):
            started = time.perf_counter()
            progress = Progress(label, started)
            report = tick(moment, progress=progress)
            elapsed = time.perf_counter() - started
            per_case = elapsed / progress.total * 1000 if progress.total else 0.0
            print(
                f"{label:<16} {elapsed:8.2f} s  over {progress.total:,} candidate cases"
                f" ({per_case:.2f} ms each)"
                f"  escalated {len(report.escalated):,}, overdue alerts"
                f" {report.overdue_alerts:,}, due-soon alerts {report.due_soon_alerts:,},"
                f" department alerts {report.department_alerts:,},"
                f" skipped races {report.skipped_races:,}  · budget: {budgets[label]}",
                flush=True,
            )
    return 0


class Progress:
    """Prints how many candidate cases a tick has committed, at most every 10 seconds."""

    def __init__(self, label: str, started: float) -> None:
        self.label, self.started, self.shown = label, started, started
        self.total = 0

    def __call__(self, done: int, total: int) -> None:
        self.total = total
        now = time.perf_counter()
        if now - self.shown >= 10 or done == total:
            self.shown = now
            print(
                f"  {self.label}: {done:,}/{total:,} candidate cases ({now - self.started:.0f} s)",
                flush=True,
            )


if __name__ == "__main__":
    sys.exit(main())
