"""The grid tree a worker walks: grid → building → household. Each page renders one view model
(webapp/rounds/pages.py), the same shape the phone builds offline from its copy of the grid."""

from flask import render_template

from webapp import clock
from webapp.auth.scope import get_scoped_or_404, role_required
from webapp.i18n import local_today
from webapp.models import Building, Grid, Household, Role
from webapp.rounds import bp, pages

# Who may browse the grid tree: the worker of the grid and the staff above it, all scope-limited.
FIELD_VIEWERS = (Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN)


@bp.get("/grids/<int:grid_id>")
@role_required(*FIELD_VIEWERS)
def grid_page(grid_id: int):
    grid = get_scoped_or_404(Grid, grid_id)
    return render_template("rounds/grid.html", vm=pages.grid_vm(grid))


@bp.get("/buildings/<int:building_id>")
@role_required(*FIELD_VIEWERS)
def building_page(building_id: int):
    building = get_scoped_or_404(Building, building_id)
    return render_template("rounds/building.html", vm=pages.building_vm(building))


@bp.get("/households/<int:household_id>")
@role_required(*FIELD_VIEWERS)
def household_page(household_id: int):
    household = get_scoped_or_404(Household, household_id)
    vm = pages.household_vm(household, local_today(), clock.now())
    return render_template("rounds/household.html", vm=vm)
