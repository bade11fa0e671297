"""A street's monthly 台账 at scale (issue 11): how long the export takes and what it holds.

    DATABASE_URL=postgresql://…/gr_district .venv/bin/python bench/ledger_export.py \
        [--period 2026-10] [--street-id N] [--out /tmp/ledger.xlsx]

Builds exactly what the dashboard's button and `flask ledger export` build (the dashboard's
figures, then the workbook) and prints the time of each part, the file size and the rows of each
sheet. The export runs in a background thread in the app, so this time is what a clerk waits
watching the progress bar, not a request held open.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openpyxl  # noqa: E402
from sqlalchemy import select  # noqa: E402

from webapp import clock, create_app  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import Street  # noqa: E402
from webapp.reports.dashboard import build_dashboard  # noqa: E402
from webapp.reports.ledger import LedgerPrivacy, build_ledger  # noqa: E402
from webapp.reports.periods import EVERYTHING_SCOPE, parse_area, parse_period  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--period", default="2026-10")
    parser.add_argument("--street-id", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    app = create_app()
    with app.app_context():
        street_id = args.street_id or db.session.scalar(select(Street.id).order_by(Street.id))
        out = args.out or Path(tempfile.mkdtemp()) / "ledger.xlsx"
        now = clock.now()
        area = parse_area(f"street:{street_id}", EVERYTHING_SCOPE)
        started = time.perf_counter()
        board = build_dashboard(area, parse_period(args.period, now), now)
        figures = time.perf_counter() - started
        steps: list[tuple[int, float]] = []
        build_ledger(
            board,
            LedgerPrivacy(),
            out,
            lambda percent: steps.append((percent, time.perf_counter() - started)),
        )
        total = time.perf_counter() - started
    sheets = openpyxl.load_workbook(out, read_only=True)
    print(f"street {street_id} ({area.name}), {len(area.grid_ids)} grids, period {args.period}")
    print(f"figures {figures:.2f} s, workbook written after {total:.2f} s in all")
    print("progress points (percent, s):", ", ".join(f"{p}%@{t:.1f}" for p, t in steps))
    print(f"file {out} {out.stat().st_size / 1024:.0f} KB")
    for sheet in sheets:
        print(f"  {sheet.title:6} {sheet.max_row - 1:7} rows")


if __name__ == "__main__":
    main()
