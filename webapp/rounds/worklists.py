"""A grid worker's worklists (DESIGN.md §3): cases waiting on them and households not visited
this quarter. Elderly checks due live in `care.py`; `home_counts` brings the three together.

Callers pass the grid ids of the worker's scope (`compute_scope(user, roles=["grid_worker"])`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import lazyload

from webapp.extensions import db
from webapp.i18n import SHANGHAI
from webapp.models import Case, CaseLevel, CaseStatus, Household, Occupancy, Visit
from webapp.rounds.care import DueCheck, due_elderly_checks

LIVED_IN = (Occupancy.OCCUPIED, Occupancy.RENTED_OUT)


def _waiting_on_grid_worker():
    # Open at grid level: the grid is handling it locally. Resolved at any level: the result has
    # come back down and the grid worker owes the resident a follow-up visit (回访).
    return or_(
        and_(Case.status == CaseStatus.OPEN, Case.level == CaseLevel.GRID),
        Case.status == CaseStatus.RESOLVED,
    )


def waiting_cases(grid_ids: Collection[int], limit: int | None = None) -> list[Case]:
    """Cases of these grids waiting on the grid worker; the nearest time limit first."""
    if not grid_ids:
        return []
    query = (
        select(Case)
        .options(lazyload(Case.events))  # the list never shows the timeline
        .where(Case.home_grid_id.in_(list(grid_ids)), _waiting_on_grid_worker())
        .order_by(Case.due_at.is_(None), Case.due_at, Case.opened_at, Case.number)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def count_waiting_cases(grid_ids: Collection[int]) -> int:
    if not grid_ids:
        return 0
    return db.session.scalar(
        select(func.count())
        .select_from(Case)
        .where(Case.home_grid_id.in_(list(grid_ids)), _waiting_on_grid_worker())
    )


def quarter_start(today: date) -> date:
    return date(today.year, (today.month - 1) // 3 * 3 + 1, 1)


def _quarter_start_utc(today: date) -> datetime:
    """Midnight in Shanghai on the quarter's first day, as the UTC instant visits are stored in."""
    return datetime.combine(quarter_start(today), time(0), SHANGHAI).astimezone(UTC)


def _unvisited_filter(grid_ids: Collection[int], today: date) -> list:
    visited = exists().where(
        Visit.household_id == Household.id, Visit.visited_at >= _quarter_start_utc(today)
    )
    return [
        Household.grid_id.in_(list(grid_ids)),
        Household.occupancy.in_(LIVED_IN),
        ~visited,
    ]


def unvisited_households(
    grid_ids: Collection[int], today: date, *, limit: int | None = None, offset: int = 0
) -> list[Household]:
    """Lived-in households of these grids with no visit since the quarter began (Asia/Shanghai),
    in walking order: building, unit, then room (so 501 comes before 1101)."""
    if not grid_ids:
        return []
    query = (
        select(Household)
        .where(*_unvisited_filter(grid_ids, today))
        .order_by(
            Household.building_id,
            Household.unit,
            func.length(Household.room),
            Household.room,
            Household.id,
        )
        .limit(limit)
        .offset(offset)
    )
    return list(db.session.scalars(query))


def count_unvisited_households(grid_ids: Collection[int], today: date) -> int:
    if not grid_ids:
        return 0
    return db.session.scalar(
        select(func.count()).select_from(Household).where(*_unvisited_filter(grid_ids, today))
    )


def last_visit_dates(household_ids: Collection[int]) -> dict[int, date]:
    """Shanghai date of each household's latest visit, in one grouped query."""
    if not household_ids:
        return {}
    rows = db.session.execute(
        select(Visit.household_id, func.max(Visit.visited_at))
        .where(Visit.household_id.in_(list(household_ids)))
        .group_by(Visit.household_id)
    )
    return {household_id: at.astimezone(SHANGHAI).date() for household_id, at in rows if at}


@dataclass(frozen=True)
class HomeCounts:
    due_checks: int
    overdue_checks: int
    waiting_cases: int
    unvisited_households: int


def home_counts(
    grid_ids: Collection[int], today: date, due_checks: list[DueCheck] | None = None
) -> HomeCounts:
    """The three numbers at the top of a worker's home page. Pass `due_checks` when the caller
    already has them, so they are not worked out twice."""
    if due_checks is None:
        due_checks = due_elderly_checks(grid_ids, today)
    return HomeCounts(
        due_checks=len(due_checks),
        overdue_checks=sum(1 for check in due_checks if check.days_overdue > 0),
        waiting_cases=count_waiting_cases(grid_ids),
        unvisited_households=count_unvisited_households(grid_ids, today),
    )
