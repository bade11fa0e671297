"""Planner statistics after bulk writes.

The planner chooses indexes from table statistics. Autovacuum normally gathers them, but it may
be off (it is on the benchmark machines) and it runs only some time after a bulk load, so every
bulk path (demo data, imports) calls `analyze_all()` once it has committed.
"""

from __future__ import annotations

from sqlalchemy import text

from webapp.extensions import db


def analyze_all() -> None:
    """ANALYZE every table (PostgreSQL and SQLite both understand the bare statement)."""
    db.session.execute(text("ANALYZE"))
    db.session.commit()
