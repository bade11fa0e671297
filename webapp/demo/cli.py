"""`flask --app webapp demo-data [--scale small|district] [--seed N]` (DESIGN.md §9)."""

from __future__ import annotations

import time
from datetime import datetime

import click
from flask import Flask
from sqlalchemy import select

from webapp.demo.generator import DEMO_PASSWORD, SCALES, DemoDataExists, load_demo_data
from webapp.extensions import db
from webapp.models import Street
from webapp.stats import analyze_all

REFUSAL = (
    "数据库中已有数据，未加载演示数据。请使用空数据库。\n"
    "The database already holds data; demo data was not loaded. Use an empty database."
)


def register_demo_commands(app: Flask) -> None:
    @app.cli.command("demo-data")
    @click.option(
        "--scale",
        type=click.Choice(sorted(SCALES)),
        default="small",
        show_default=True,
        help="small: 1 street, 12 grids; district: 24 streets, ~2,000 grids (benchmarks).",
    )
    @click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same data.")
    @click.option(
        "--today",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        help="Pretend today is this date (default: today in Asia/Shanghai).",
    )
    @click.option(
        "--if-empty",
        is_flag=True,
        help="Do nothing (and succeed) when the database already holds data, as `make run` does.",
    )
    def demo_data_command(scale: str, seed: int, today: datetime | None, if_empty: bool) -> None:
        """Load deterministic Chinese demo data into an empty database."""
        if db.session.scalar(select(Street.id).limit(1)) is not None:
            if if_empty:
                click.echo(
                    "数据库中已有数据，跳过演示数据。/ The database already holds data; skipped."
                )
                return
            raise click.ClickException(REFUSAL)
        day = today.date() if today is not None else None
        started = time.perf_counter()
        last_report = [started]

        def progress(done: int, total: int) -> None:
            now = time.perf_counter()
            if now - last_report[0] >= 5 or done == total:
                last_report[0] = now
                click.echo(f"  {done:,}/{total:,} 网格 / grids  ({now - started:.0f} s)", err=True)

        try:
            counts = load_demo_data(
                db.session, scale=scale, seed=seed, today=day, progress=progress
            )
            db.session.commit()
        except DemoDataExists as exc:
            db.session.rollback()
            raise click.ClickException(f"{REFUSAL}\n{exc}") from exc
        # Fresh statistics, or the planner guesses from empty tables (and autovacuum, which would
        # gather them later, may be off).
        analyze_all()
        elapsed = time.perf_counter() - started
        width = max(len(name) for name in counts)
        for name, count in counts.items():
            click.echo(f"{name:<{width}}  {count:>9,}")
        click.echo(f"演示数据已加载 / demo data loaded ({scale}, seed {seed}) in {elapsed:.1f} s")
        click.echo(
            "演示账号 / demo accounts: admin, street1, community1, worker1…worker12, dept1, fire1;"
            " second street: street2, worker13, dept2 "
            f"(密码 / password: {DEMO_PASSWORD})"
        )
