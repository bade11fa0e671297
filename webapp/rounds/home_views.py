"""A grid worker's home (我的网格) and its full worklists: elderly checks due, cases waiting on
them, households not visited this quarter. Every list is limited to the grids held as a worker."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from webapp.auth.scope import compute_scope, role_required
from webapp.i18n import local_today
from webapp.models import Grid, Role
from webapp.rounds import bp, services, worklists
from webapp.rounds.care import due_elderly_checks

HOME_LIST_LENGTH = 5
UNVISITED_PAGE_SIZE = 50


def _worker_grids() -> list[Grid]:
    return services.grids_in_scope(compute_scope(current_user, roles=[Role.GRID_WORKER]))


@bp.get("/grid")
@role_required(Role.GRID_WORKER)
def home():
    """我的网格: what is due today at a glance, the top of each list, and the grid cards."""
    grids = _worker_grids()
    grid_ids = [grid.id for grid in grids]
    today = local_today()
    due_checks = due_elderly_checks(grid_ids, today)
    unvisited = worklists.unvisited_households(grid_ids, today, limit=HOME_LIST_LENGTH)
    return render_template(
        "rounds/home.html",
        summaries=services.summarize_grids(grids),
        counts=worklists.home_counts(grid_ids, today, due_checks=due_checks),
        due_checks=due_checks[:HOME_LIST_LENGTH],
        cases=worklists.waiting_cases(grid_ids, limit=HOME_LIST_LENGTH),
        households=unvisited,
        last_visits=worklists.last_visit_dates([household.id for household in unvisited]),
        today=today,
    )


@bp.get("/grid/checks")
@role_required(Role.GRID_WORKER)
def due_checks_page():
    today = local_today()
    checks = due_elderly_checks([grid.id for grid in _worker_grids()], today)
    return render_template("rounds/due_checks.html", due_checks=checks, today=today)


@bp.get("/grid/cases")
@role_required(Role.GRID_WORKER)
def waiting_cases_page():
    cases = worklists.waiting_cases([grid.id for grid in _worker_grids()])
    return render_template("rounds/waiting_cases.html", cases=cases)


@bp.get("/grid/unvisited")
@role_required(Role.GRID_WORKER)
def unvisited_page():
    grid_ids = [grid.id for grid in _worker_grids()]
    today = local_today()
    total = worklists.count_unvisited_households(grid_ids, today)
    page_count = max(1, -(-total // UNVISITED_PAGE_SIZE))
    # A page that emptied while the worker was out visiting shows the last one, not an error.
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), page_count)
    households = worklists.unvisited_households(
        grid_ids, today, limit=UNVISITED_PAGE_SIZE, offset=(page - 1) * UNVISITED_PAGE_SIZE
    )
    return render_template(
        "rounds/unvisited.html",
        households=households,
        last_visits=worklists.last_visit_dates([household.id for household in households]),
        total=total,
        page=page,
        page_count=page_count,
        quarter_start=worklists.quarter_start(today),
    )
