"""A grid worker's view of their grids: reads go through `scoped()`, rules live here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from webapp.auth.scope import Scope, scoped
from webapp.extensions import db
from webapp.models import Building, Case, CaseStatus, Grid, Household, Resident


@dataclass(frozen=True)
class GridSummary:
    grid: Grid
    building_count: int
    household_count: int
    resident_count: int
    open_case_count: int


def grids_in_scope(scope: Scope) -> list[Grid]:
    return list(db.session.scalars(scoped(Grid, scope=scope).order_by(Grid.code)))


def summarize_grids(grids: list[Grid]) -> list[GridSummary]:
    """Counts per grid in four grouped queries, not four per grid."""
    ids = [grid.id for grid in grids]

    def counts(column, *where) -> dict[int, int]:
        rows = db.session.execute(
            select(column, func.count()).where(column.in_(ids), *where).group_by(column)
        )
        return dict(rows.all())

    buildings = counts(Building.grid_id)
    households = counts(Household.grid_id)
    residents = counts(Resident.grid_id, Resident.moved_out.is_(False))
    open_cases = counts(Case.home_grid_id, Case.status != CaseStatus.CLOSED)
    return [
        GridSummary(
            grid,
            buildings.get(grid.id, 0),
            households.get(grid.id, 0),
            residents.get(grid.id, 0),
            open_cases.get(grid.id, 0),
        )
        for grid in grids
    ]


def buildings_of(grid: Grid) -> list[tuple[Building, int]]:
    """Buildings with their household counts, in address order."""
    rows = db.session.execute(
        select(Building, func.count(Household.id))
        .outerjoin(Household, Household.building_id == Building.id)
        .where(Building.grid_id == grid.id)
        .group_by(Building.id)
        .order_by(Building.id)
    )
    return list(rows)


def households_by_unit(building: Building) -> dict[int, list[Household]]:
    households = db.session.scalars(
        select(Household)
        .where(Household.building_id == building.id)
        .order_by(Household.unit, Household.room)
    )
    by_unit: dict[int, list[Household]] = {}
    for household in households:
        by_unit.setdefault(household.unit, []).append(household)
    return by_unit


def residents_of(household: Household) -> list[Resident]:
    return list(
        db.session.scalars(
            select(Resident).where(Resident.household_id == household.id).order_by(Resident.id)
        )
    )
