"""SQL statements per page: a page's count must not grow with the rows it lists (no query per row),
and stays under a ceiling, so a regression in query shape shows here before it shows at district
scale (DESIGN.md §10; the timings themselves are measured by bench/pages.py, never here).

The world has two streets, so the pages' scoping is exercised against rows it must not touch.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event

from tests import factories as f
from tests.integration.sync_api import login
from webapp.extensions import db
from webapp.models import utcnow

# Ceilings measured when this test was written, with a little room. Lower them when a page gets
# cheaper; raising one needs a reason in the commit message.
CEILINGS = {"worker_home": 19, "household": 16, "triage": 12, "case": 21, "dashboard": 28}


@contextmanager
def counting() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def build_world(size: int) -> dict:
    """A street with a grid of `size` households (with residents, visits and cases) and a second
    street with the same, out of scope."""
    worlds = {}
    for name in ("mine", "other"):
        street = f.gen_street()
        community = f.gen_community(street)
        grid = f.gen_grid(community)
        building = f.gen_building(grid=grid)
        households = []
        for n in range(size):
            household = f.gen_household(building=building, room=f"{n + 1}01")
            f.gen_resident(household=household, living_alone=True)
            households.append(household)
        cases = [
            f.gen_case(
                grid,
                status="escalated",
                level="street",
                household_id=households[n].id,
                warn_at=utcnow() + timedelta(hours=n),
                due_at=utcnow() + timedelta(days=1, hours=n),
                stage_started_at=utcnow() - timedelta(hours=2),
            )
            for n in range(size)
        ]
        worlds[name] = {"street": street, "grid": grid, "households": households, "cases": cases}
    worker = f.gen_user(f"qc_worker_{size}", "grid_worker", worlds["mine"]["grid"])
    staff = f.gen_user(f"qc_street_{size}", "street_staff", worlds["mine"]["street"])
    db.session.commit()
    return {**worlds["mine"], "worker": worker.username, "staff": staff.username}


def page_counts(app, world: dict, seen: dict | None = None) -> dict[str, int]:
    counts = {}
    pages = {
        world["worker"]: {
            "worker_home": "/grid",
            "household": f"/households/{world['households'][0].id}",
        },
        world["staff"]: {
            "triage": "/cases/triage",
            "case": f"/cases/{world['cases'][0].id}",
            "dashboard": f"/reports?area=street:{world['street'].id}",
        },
    }
    for username, urls in pages.items():
        client = app.test_client()
        login(client, username)
        for name, url in urls.items():
            client.get(url)  # warm: first-request setup is not the page's cost
            with counting() as statements:
                assert client.get(url).status_code == 200
            counts[name] = len(statements)
            if seen is not None:
                seen[name] = statements
    return counts


def test_pages_ask_no_more_queries_for_more_rows(app):
    statements: dict[str, list[str]] = {}
    few = page_counts(app, build_world(3), statements)
    many = page_counts(app, build_world(15))
    assert many == few, f"queries per page grew with the rows: {few} → {many}"
    for name, count in few.items():
        assert count <= CEILINGS[name], f"{name}: {count} queries (ceiling {CEILINGS[name]})"
    # The board shows no timeline: loading every case's history rows was half its time.
    assert not [sql for sql in statements["triage"] if "FROM case_events" in sql]
