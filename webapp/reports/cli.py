"""`flask --app webapp ledger export --period YYYY-MM|YYYY-Qn --scope <kind>:<id> --out FILE.xlsx`
(DESIGN.md §9). The operator at the shell is no user of the app, so the workbook is masked as a
street office's would be, and the export is audited like one from the dashboard."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask.cli import AppGroup

from webapp import clock
from webapp.audit import record_audit
from webapp.extensions import db
from webapp.reports.dashboard import build_dashboard
from webapp.reports.ledger import LedgerPrivacy, build_ledger
from webapp.reports.periods import EVERYTHING_SCOPE, BadReportRequest, parse_area, parse_period

ledger_cli = AppGroup("ledger", help="台账 (ledgers) computed from the records.")


@ledger_cli.command("export")
@click.option("--period", required=True, help="YYYY-MM or YYYY-Qn, e.g. 2026-11 or 2026-Q4.")
@click.option(
    "--scope", "area_code", required=True, help="street:<id>, community:<id> or grid:<id>."
)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def export_command(period: str, area_code: str, out: Path):
    """Write the ledger workbook of an area for a month or a quarter."""
    started = time.perf_counter()
    now = clock.now()
    try:
        chosen = parse_period(period, now)
        area = parse_area(area_code, EVERYTHING_SCOPE)
    except BadReportRequest as error:
        raise click.BadParameter(str(error)) from error
    board = build_dashboard(area, chosen, now)
    build_ledger(board, LedgerPrivacy(), out)
    record_audit(
        "ledger_export",
        actor_name="cli",
        target_type="area",
        target_id=area.code,
        period=chosen.code,
        masked=True,
    )
    db.session.commit()
    click.echo(
        f"ledger {area.code} {chosen.code}: wrote {out} in {time.perf_counter() - started:.1f} s"
    )
