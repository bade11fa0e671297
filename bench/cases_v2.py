"""Case pages of issue 13 against DESIGN.md §10: the triage board (p95 ≤ 150 ms), the department
board and the case page (the table-driven list of actions), the leaders' list, each department's
figures, and `sla tick` with departments' parts.

    [DATABASE_URL=…] .venv/bin/python bench/cases_v2.py [--runs 20] [--extra 500]

Builds its own database (SQLite in a temp folder unless DATABASE_URL is set, which must then be
an empty database): the small demo data, plus `--extra` urgent hazards escalated to the street,
accepted and assigned to 城管 with 消防 assisting — so the board and the department board carry
as many rows as the board shows (500). Pages go through the Flask test client (routing, scope,
rendering), so the numbers are the server's own time. Prints median and p95.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from webapp import create_app  # noqa: E402
from webapp.extensions import db  # noqa: E402

TRIAGE_BUDGET_MS = 150


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--extra", type=int, default=500)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "UPLOAD_FOLDER": tempfile.mkdtemp(),
        }
    )
    with app.app_context():
        from webapp.cases.actions import perform
        from webapp.cases.departments import department_figures
        from webapp.cases.sla import tick
        from webapp.demo.generator import load_demo_data
        from webapp.models import Base, Case, Household, User, utcnow
        from webapp.ops import Op
        from webapp.rounds.records import create_record

        Base.metadata.create_all(db.engine)
        started = time.perf_counter()
        load_demo_data(db.session, "small", seed=1, today=date.today())
        db.session.commit()
        print(f"demo data loaded in {time.perf_counter() - started:.1f} s")
        worker = db.session.scalar(select(User).where(User.username == "worker1"))
        street = db.session.scalar(select(User).where(User.username == "street1"))
        household = db.session.scalar(
            select(Household)
            .where(Household.grid_id == worker.memberships[0].scope_id)
            .order_by(Household.id)
        )
        started = time.perf_counter()
        for n in range(args.extra):
            _record, case = create_record(
                worker,
                Op(
                    op_id=uuid.uuid4(),
                    type="hazard.create",
                    record_id=uuid.uuid4(),
                    payload={
                        "building_id": household.building_id,
                        "category": "fire",
                        "severity": "urgent",
                        "description": f"楼道堆物{n}",
                    },
                ),
            )
            perform(case, worker, "request_escalation", {})
            perform(case, street, "accept", {})
            perform(
                case, street, "assign", {"department": "城管执法中队", "assist": ["消防救援站"]}
            )
            db.session.commit()
        print(f"{args.extra} joint cases made in {time.perf_counter() - started:.1f} s")
        a_case = case.id  # the last joint case: 城管执法中队 leads, so dept1 may open it
        open_cases = db.session.scalar(
            select(db.func.count(Case.id)).where(Case.status != "closed")
        )

        figures = []
        for _ in range(args.runs):
            t = time.perf_counter()
            department_figures(None, utcnow() - timedelta(days=30), utcnow(), utcnow())
            figures.append((time.perf_counter() - t) * 1000)
        db.session.rollback()
        t = time.perf_counter()
        report = tick(utcnow() + timedelta(hours=3))
        tick_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        tick(utcnow() + timedelta(hours=3, minutes=1))
        tick_again_ms = (time.perf_counter() - t) * 1000

    pages = [
        ("street1", "/cases/triage", TRIAGE_BUDGET_MS),
        ("street1", f"/cases/{a_case}", None),
        ("street1", "/cases/leaders", None),
        ("dept1", "/cases/department", None),
        ("dept1", f"/cases/{a_case}", None),
    ]
    print(
        f"database: {db.engine.dialect.name if False else url.split(':')[0]}, "
        f"open cases {open_cases}, runs {args.runs}"
    )
    print(f"{'page':<48} {'median':>8} {'p95':>8}  budget")
    for username, path, budget in pages:
        client = app.test_client()
        client.post("/login", data={"username": username, "password": "gridrounds-demo"})
        samples = []
        for _ in range(args.runs + 2):
            t = time.perf_counter()
            response = client.get(path)
            samples.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        median, p95 = _ms(samples[2:])
        label = f"{username} {path.split('/')[2] if path.count('/') > 1 else path}"
        note = f"≤ {budget} ms p95" if budget else "-"
        print(f"{label:<48} {median:>6.1f}ms {p95:>6.1f}ms  {note}")
    median, p95 = _ms(figures)
    print(f"{'department_figures (all streets, 30 days)':<48} {median:>6.1f}ms {p95:>6.1f}ms  -")
    print(
        f"sla tick with {args.extra * 2} parts red: {tick_ms:.0f} ms "
        f"({report.department_alerts} department alerts, {len(report.escalated)} escalated); "
        f"again: {tick_again_ms:.0f} ms"
    )


if __name__ == "__main__":
    main()
