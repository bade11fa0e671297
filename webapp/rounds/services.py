"""A grid worker's view of their grids: reads go through `scoped()`, rules live here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from webapp.auth.scope import Scope, scoped
from webapp.extensions import db
from webapp.masking import mask_name
from webapp.models import (
    Building,
    Case,
    CaseStatus,
    Dispute,
    ElderlyCheck,
    Grid,
    Household,
    Resident,
    Visit,
)
from webapp.privacy import PUBLIC_VIEWER, Viewer


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


@dataclass(frozen=True)
class RecentRecord:
    kind: str
    record: object
    at: datetime
    summary: str


def recent_records(household: Household, limit: int = 10) -> list[RecentRecord]:
    """The household's latest records of every kind: visits, disputes and checks of its members."""
    from webapp.labels import CHECK_STATUS_LABELS, DISPUTE_CATEGORY_LABELS, VISIT_KIND_LABELS

    items: list[RecentRecord] = []
    for visit in db.session.scalars(
        select(Visit)
        .where(Visit.household_id == household.id)
        .order_by(Visit.visited_at.desc())
        .limit(limit)
    ):
        items.append(
            RecentRecord(
                "visit", visit, visit.visited_at, str(VISIT_KIND_LABELS.get(visit.visit_kind, ""))
            )
        )
    for dispute in db.session.scalars(
        select(Dispute)
        .where(Dispute.household_id == household.id)
        .order_by(Dispute.received_at.desc())
        .limit(limit)
    ):
        items.append(
            RecentRecord(
                "dispute",
                dispute,
                dispute.received_at,
                str(DISPUTE_CATEGORY_LABELS.get(dispute.category, "")),
            )
        )
    for check, name in db.session.execute(
        select(ElderlyCheck, Resident.name)
        .join(Resident, Resident.id == ElderlyCheck.resident_id)
        .where(Resident.household_id == household.id)
        .order_by(ElderlyCheck.checked_at.desc())
        .limit(limit)
    ):
        items.append(
            RecentRecord(
                "elderly_check",
                check,
                check.checked_at,
                f"{mask_name(name)} {CHECK_STATUS_LABELS.get(check.status, '')}",
            )
        )
    items.sort(key=lambda item: item.at, reverse=True)
    return items[:limit]


def open_cases_of(household: Household) -> list[Case]:
    return list(
        db.session.scalars(
            select(Case)
            .where(Case.household_id == household.id, Case.status != CaseStatus.CLOSED)
            .order_by(Case.opened_at.desc())
        )
    )


def search_grid(
    scope: Scope, query: str, limit: int = 30, viewer: Viewer | None = None
) -> tuple[list[Household], list[Resident]]:
    """Households by address and residents by name or phone, inside the scope. Phone numbers
    match on their last digits too, as workers are often told "the one ending 5678".

    A search never matches on a field the searcher cannot see in full (DESIGN.md §7): otherwise
    23 searches on phone tails recover a masked number. So names match only in the grids where
    `viewer` sees names in full, phones only where it sees phones in full (its own grids, for a
    worker), and ID numbers, masked for everyone, never."""
    query = query.strip()
    if not query:
        return [], []
    viewer = viewer or PUBLIC_VIEWER
    pattern = f"%{query}%"
    households = list(
        db.session.scalars(
            scoped(Household, scope=scope)
            .where(Household.address.like(pattern))
            .order_by(Household.address)
            .limit(limit)
        )
    )
    resident_filter = Resident.name.like(f"{query}%") & Resident.grid_id.in_(
        viewer.grids_seeing_in_full("name")
    )
    digits = "".join(ch for ch in query if ch.isdigit())
    if len(digits) >= 4:
        resident_filter = resident_filter | (
            Resident.phone.like(f"%{digits}")
            & Resident.grid_id.in_(viewer.grids_seeing_in_full("phone"))
        )
    residents = list(
        db.session.scalars(
            scoped(Resident, scope=scope)
            .where(resident_filter)
            .order_by(Resident.name)
            .limit(limit)
        )
    )
    return households, residents
