from flask import render_template

from webapp.auth.scope import get_scoped_or_404, role_required
from webapp.i18n import local_today
from webapp.models import Building, Grid, Household, Role
from webapp.rounds import bp, care, services

# Who may browse the grid tree: the worker of the grid and the staff above it, all scope-limited.
FIELD_VIEWERS = (Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN)


@bp.get("/grids/<int:grid_id>")
@role_required(*FIELD_VIEWERS)
def grid_page(grid_id: int):
    grid = get_scoped_or_404(Grid, grid_id)
    return render_template("rounds/grid.html", grid=grid, buildings=services.buildings_of(grid))


@bp.get("/buildings/<int:building_id>")
@role_required(*FIELD_VIEWERS)
def building_page(building_id: int):
    building = get_scoped_or_404(Building, building_id)
    return render_template(
        "rounds/building.html",
        building=building,
        households_by_unit=services.households_by_unit(building),
    )


@bp.get("/households/<int:household_id>")
@role_required(*FIELD_VIEWERS)
def household_page(household_id: int):
    household = get_scoped_or_404(Household, household_id)
    today = local_today()
    residents = services.residents_of(household)
    intervals = care.care_intervals()
    return render_template(
        "rounds/household.html",
        household=household,
        residents=residents,
        # Only residents on the care schedule get a "check on" button: a child is not an elder.
        checkable_ids={
            r.id for r in residents if care.check_interval(r, today, intervals) is not None
        },
        today=today,
        cases=services.open_cases_of(household),
        recent=services.recent_records(household),
    )
