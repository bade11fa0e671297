"""A grid worker's home (我的网格) and its full worklists: elderly checks due, cases waiting on
them, households not visited this quarter. Every list is limited to the grids held as a worker."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from webapp.auth.scope import compute_scope, role_required
from webapp.i18n import local_today
from webapp.models import Grid, Role
from webapp.rounds import bp, pages, services


def _worker_grids() -> list[Grid]:
    return services.grids_in_scope(compute_scope(current_user, roles=[Role.GRID_WORKER]))


@bp.get("/grid")
@role_required(Role.GRID_WORKER)
def home():
    """我的网格: the work first, then what is due today (pages.home_vm)."""
    return render_template("rounds/home.html", vm=pages.home_vm(_worker_grids(), local_today()))


@bp.get("/grid/checks")
@role_required(Role.GRID_WORKER)
def due_checks_page():
    vm = pages.due_checks_vm(_worker_grids(), local_today())
    return render_template("rounds/due_checks.html", vm=vm)


@bp.get("/grid/cases")
@role_required(Role.GRID_WORKER)
def waiting_cases_page():
    return render_template("rounds/waiting_cases.html", vm=pages.waiting_cases_vm(_worker_grids()))


@bp.get("/grid/unvisited")
@role_required(Role.GRID_WORKER)
def unvisited_page():
    page = request.args.get("page", 1, type=int) or 1
    vm = pages.unvisited_vm(_worker_grids(), local_today(), page)
    return render_template("rounds/unvisited.html", vm=vm)
