"""Supervision pages against the DESIGN.md §10 budget: each dashboard ≤ 300 ms with one client
and ≤ 3× that with 8.

    DATABASE_URL=postgresql://…/gr_district .venv/bin/python bench/dashboards.py \
        [--period 2026-10] [--street-id N] [--runs 10] [--clients 8]

Runs against whatever database DATABASE_URL names (load it first with `flask demo-data`). Each
page is fetched through the Flask test client as that street's staff (or its first community's
staff, or a grid worker), so routing, scoping, rendering and compression-free HTML size are all
counted; no HTTP server, so the numbers are the server's own time. 8 clients are 8 processes,
as 8 gunicorn workers would be, all fetching the same pages at once. Prints median and p95.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from webapp import create_app  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import Community, Grid, Membership, Role, ScopeKind, User  # noqa: E402

BUDGET_MS = 300
PASSWORD = os.environ.get("DEMO_PASSWORD", "gridrounds-demo")


def _app():
    return create_app({"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})


def _user_for(role: Role, kind: ScopeKind, scope_ids: list[int]) -> str | None:
    return db.session.scalar(
        select(User.username)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.role == role,
            Membership.scope_kind == kind,
            Membership.scope_id.in_(scope_ids),
            User.is_active.is_(True),
        )
        .order_by(User.id)
        .limit(1)
    )


def plan(street_id: int | None, period: str) -> list[tuple[str, str]]:
    """(username, url) of each page to measure."""
    app = _app()
    with app.app_context():
        if street_id is None:
            street_id = db.session.scalar(
                select(Membership.scope_id)
                .where(
                    Membership.role == Role.STREET_STAFF, Membership.scope_kind == ScopeKind.STREET
                )
                .order_by(Membership.id)
                .limit(1)
            )
        community_ids = list(
            db.session.scalars(select(Community.id).where(Community.street_id == street_id))
        )
        grid_ids = list(
            db.session.scalars(select(Grid.id).where(Grid.community_id.in_(community_ids)))
        )
        street_user = _user_for(Role.STREET_STAFF, ScopeKind.STREET, [street_id])
        community_user = _user_for(Role.COMMUNITY_STAFF, ScopeKind.COMMUNITY, community_ids)
        worker = _user_for(Role.GRID_WORKER, ScopeKind.GRID, grid_ids)
        print(
            f"street {street_id}: {len(community_ids)} communities, {len(grid_ids)} grids;"
            f" users {street_user}, {community_user}, {worker}"
        )
    pages = [
        (street_user, f"/reports?period={period}&area=street:{street_id}"),
        (street_user, f"/reports/evaluation?period={period}&area=street:{street_id}"),
        (street_user, f"/reports/summary?period={period}&area=street:{street_id}"),
        (street_user, f"/reports?period=last90d&area=street:{street_id}"),
        (community_user, f"/reports?period={period}"),
        (worker, f"/reports/me?period={period}"),
    ]
    # The same-run baseline: the cheapest page, so a loaded machine shows in the numbers.
    return [(user, url) for user, url in pages if user] + [("", "/healthz")]


def _client(app, username: str):
    client = app.test_client()
    answer = client.post("/login", data={"username": username, "password": PASSWORD})
    if answer.status_code != 303:
        raise SystemExit(f"cannot log in as {username} ({answer.status_code})")
    return client


def measure(pages: list[tuple[str, str]], runs: int, cpu: dict | None = None) -> dict:
    """Wall-clock ms per fetch of each page; `cpu` (if given) gets this process's CPU ms too,
    which a shared, loaded machine inflates far less than wall time (the database's is not in
    it)."""
    app = _app()
    clients = {
        user: _client(app, user) if user else app.test_client()
        for user in {user for user, _url in pages}
    }
    timings: dict[str, list[float]] = {}
    for user, url in pages:
        clients[user].get(url)  # warm: templates compiled, calendar cached
        times, cpu_times = [], []
        for _run in range(runs):
            started, cpu_started = time.perf_counter(), time.process_time()
            answer = clients[user].get(url)
            times.append((time.perf_counter() - started) * 1000)
            cpu_times.append((time.process_time() - cpu_started) * 1000)
            if answer.status_code != 200:
                raise SystemExit(f"{url} answered {answer.status_code}")
        timings[url] = times
        if cpu is not None:
            cpu[url] = cpu_times
    return timings


def _worker(args) -> dict[str, list[float]]:
    pages, runs = args
    return measure(pages, runs)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--period", default="2026-10")
    parser.add_argument("--street-id", type=int, default=None)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    pages = plan(args.street_id, args.period)

    cpu: dict[str, list[float]] = {}
    single = measure(pages, args.runs, cpu)
    with multiprocessing.get_context("spawn").Pool(args.clients) as pool:
        parallel = pool.map(_worker, [(pages, args.runs)] * args.clients)
    merged = {url: [t for result in parallel for t in result[url]] for _user, url in pages}

    print(
        f"load average (1 min) after the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"\n{'page':62} {'1 client med/p95 ms':>20} {'app CPU':>8}"
        f" {'8 clients med/p95 ms':>21}  budget"
    )
    for _user, url in pages:
        one, eight = single[url], merged[url]
        verdict = "ok" if p95(one) <= BUDGET_MS and p95(eight) <= 3 * BUDGET_MS else "OVER"
        if not _user:
            verdict = "(baseline)"
        print(
            f"{url[:62]:62} {statistics.median(one):9.0f} / {p95(one):6.0f}"
            f" {statistics.median(cpu[url]):8.0f}"
            f" {statistics.median(eight):10.0f} / {p95(eight):6.0f}"
            f"  ≤{BUDGET_MS} / ≤{3 * BUDGET_MS}  {verdict}"
        )


if __name__ == "__main__":
    main()
