"""Supervision figures for an area and a period (issue 11), computed from what workers already
logged (社区减负: nothing is typed twice). The dashboards, the evaluation, the printable summary
and the ledger's summary sheet all read one `Dashboard`, and its case outcomes come from
`webapp.public.figures.outcomes_by_grid`, the function behind the public per-community page.

Rows are per unit one level below the area (a street's communities, a community's grids) and per
grid. Every count is keyed by home grid, so adding a dimension (a department, a report's source)
means grouping the same rows by another key, not writing new queries.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import case as sql_case
from sqlalchemy import func, select
from sqlalchemy.orm import lazyload

from webapp.cases import limits
from webapp.cases.departments import department_figures
from webapp.extensions import db
from webapp.i18n import SHANGHAI
from webapp.models import (
    Building,
    Case,
    CaseEvent,
    CaseLevel,
    CaseStatus,
    Community,
    Grid,
    Household,
    Occupancy,
    Resident,
    ResidentReport,
    Visit,
)
from webapp.public.figures import CommunityFigures, combine, outcomes_by_grid
from webapp.reports.periods import Area, Period, _midnight
from webapp.rounds import care
from webapp.rounds.worklists import LIVED_IN, quarter_start
from webapp.side_by_side import side_by_side

OPEN_STATUSES = (CaseStatus.OPEN, CaseStatus.ESCALATED, CaseStatus.ACCEPTED)
# Ages of open hazards, in days since the case was opened: (label code, lower bound).
HAZARD_AGE_BUCKETS = (("0-7", 0), ("8-30", 8), ("31-90", 31), ("90+", 91))
TREND_MONTHS = 6
LIST_LIMIT = 50


@dataclass
class UnitFigures:
    """One unit's row: a grid, a community or the whole area."""

    kind: str
    id: int
    name: str
    outcomes: CommunityFigures
    care_scheduled: int = 0
    care_overdue: int = 0
    households: int = 0
    visited: int = 0
    open_hazards: int = 0
    overdue_cases: int = 0
    supervised: int = 0
    resolved: int = 0  # cases whose last 办结 in the period …
    resolved_locally: int = 0  # … came while the case was still at grid level

    @property
    def care_rate(self) -> float | None:
        if not self.care_scheduled:
            return None
        return (self.care_scheduled - self.care_overdue) / self.care_scheduled

    @property
    def coverage_rate(self) -> float | None:
        return self.visited / self.households if self.households else None

    @property
    def local_rate(self) -> float | None:
        return self.resolved_locally / self.resolved if self.resolved else None

    def add(self, other: UnitFigures) -> None:
        for name in (
            "care_scheduled",
            "care_overdue",
            "households",
            "visited",
            "open_hazards",
            "overdue_cases",
            "supervised",
            "resolved",
            "resolved_locally",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class BuildingCoverage:
    building_id: int
    name: str
    grid_id: int
    households: int
    visited: int

    @property
    def rate(self) -> float:
        return self.visited / self.households if self.households else 0.0

    @property
    def heat(self) -> int:
        """0–4, the colour step of the heat grid (CSS classes, no inline style)."""
        return min(4, int(self.rate * 5)) if self.households else 0


@dataclass(frozen=True)
class SupervisedCase:
    case: Case
    grid_name: str
    community_name: str
    outcome: str  # "on_time" | "late" | "overdue" | "in_progress"


@dataclass(frozen=True)
class LateCase:
    case: Case
    grid_name: str
    community_name: str
    days_over: int


@dataclass
class Dashboard:
    period: Period
    area: Area
    now: datetime
    total: UnitFigures
    rows: list[UnitFigures]  # one level below the area (itself, for a grid)
    grids: list[UnitFigures]
    by_category: list[tuple[str, int]] = field(default_factory=list)
    by_status: list[tuple[str, int]] = field(default_factory=list)
    by_level: list[tuple[str, int]] = field(default_factory=list)
    by_source: list[tuple[str, int]] = field(default_factory=list)
    reports_by_source: list[tuple[str, int]] = field(default_factory=list)
    trend: list[tuple[str, int, int]] = field(default_factory=list)  # (YYYY-MM, opened, closed)
    # The first LIST_LIMIT by due date; how many there are in all is total.care_overdue.
    overdue_checks: list[care.DueCheck] = field(default_factory=list)
    buildings: list[BuildingCoverage] = field(default_factory=list)
    hazards: list[tuple[str, dict[str, int]]] = field(default_factory=list)
    supervised_cases: list[SupervisedCase] = field(default_factory=list)
    late_cases: list[LateCase] = field(default_factory=list)
    late_by_department: list[tuple[str, int]] = field(default_factory=list)
    grid_names: dict[int, tuple[str, str]] = field(default_factory=dict)
    departments: list = field(default_factory=list)  # webapp.cases.departments.DepartmentFigures

    @property
    def coverage_since(self) -> date:
        return quarter_start(self.period.as_of(self.now))


def _grid_units(grid_ids: Collection[int]) -> list[tuple[int, str, int, str]]:
    """(grid id, grid name, community id, community name) in code order."""
    rows = db.session.execute(
        select(Grid.id, Grid.name, Community.id, Community.name)
        .join(Community, Community.id == Grid.community_id)
        .where(Grid.id.in_(list(grid_ids)))
        .order_by(Community.code, Grid.code)
    )
    return [tuple(row) for row in rows]


def build_dashboard(area: Area, period: Period, now: datetime) -> Dashboard:
    """Every figure of the supervision pages for `area` in `period`, in a fixed number of queries
    whatever the number of grids (the district-scale budget is 300 ms)."""
    grid_ids = list(area.grid_ids)
    until = period.clipped_end(now)
    units = _grid_units(grid_ids)
    no_outcomes = combine([], period.start)
    grids = {
        grid_id: UnitFigures("grid", grid_id, name, no_outcomes)
        for grid_id, name, _cid, _cname in units
    }
    board = Dashboard(
        period=period,
        area=area,
        now=now,
        total=UnitFigures(area.kind, area.id, area.name, no_outcomes),
        rows=[],
        grids=list(grids.values()),
        grid_names={grid_id: (name, cname) for grid_id, name, _cid, cname in units},
    )
    if not grid_ids:
        return board

    def here() -> None:
        # Sections that hand ORM objects to the page stay in the request's session.
        _open_cases(board, grids, grid_ids, now)
        _supervised(board, grids, grid_ids, period, now)
        if area.kind == "street":
            # Departments are the street's: their figures belong on the street's page (issue 13).
            board.departments = department_figures([area.id], period.start, until, now)
        _care(board, grids, grid_ids, period.as_of(now), until)

    def households_and_cases() -> None:
        _coverage(board, grids, grid_ids, until)
        _cases_opened(board, grid_ids, period, until)
        _local_settlement(grids, grid_ids, period.start, until)

    # Each section writes its own fields of `board` and of the grids' rows, so they may run at
    # once (webapp.side_by_side).
    _here, outcomes, _rest = side_by_side(
        here,
        lambda: outcomes_by_grid(grid_ids, period.start, until),
        households_and_cases,
    )
    for grid_id, unit in grids.items():
        unit.outcomes = outcomes[grid_id]
    _roll_up(board, units, grids)
    return board


def _roll_up(board: Dashboard, units, grids: dict[int, UnitFigures]) -> None:
    all_grids = list(grids.values())
    board.total = _sum(board.area.kind, board.area.id, board.area.name, all_grids, board)
    if board.area.kind == "street":
        by_community: dict[int, list[UnitFigures]] = defaultdict(list)
        names: dict[int, str] = {}
        for grid_id, _name, community_id, community_name in units:
            by_community[community_id].append(grids[grid_id])
            names[community_id] = community_name
        board.rows = [
            _sum("community", cid, names[cid], members, board)
            for cid, members in by_community.items()
        ]
    else:
        board.rows = all_grids


def _sum(kind: str, unit_id: int, name: str, members: Iterable[UnitFigures], board) -> UnitFigures:
    members = list(members)
    total = UnitFigures(
        kind, unit_id, name, combine([m.outcomes for m in members], board.period.start)
    )
    for member in members:
        total.add(member)
    return total


class _ScheduledResident:
    """A resident's schedule columns without an ORM instance, for the listed overdue checks. The
    care rule itself stays in one place: these are Resident's own methods."""

    __slots__ = ("_row",)
    care_flags = Resident.care_flags
    age_on = Resident.age_on

    def __init__(self, row) -> None:
        self._row = row

    def __getattr__(self, name: str):
        return getattr(self._row, name)


def _care(board, grids, grid_ids: list[int], as_of: date, until: datetime) -> None:
    """Elderly-check compliance as the schedule stood at the end of the period: of the residents
    on the care schedule, the share whose check was not overdue (webapp.rounds.care's rules)."""
    intervals = care.care_intervals()
    moved_out_households = select(Household.id).where(
        Household.grid_id.in_(grid_ids), Household.occupancy == Occupancy.MOVED_OUT
    )
    rows = db.session.execute(
        select(
            Resident.id,
            Resident.grid_id,
            care.care_flag_mask(as_of),
            care.latest_check_column(until),
        )
        # The few moved-out households as a hashed NOT IN, not a join with all of the area's
        # households: a street has ~20,000 and only the listed few addresses are shown.
        .where(
            *care._candidate_filter(grid_ids, as_of),
            Resident.household_id.not_in(moved_out_households),
        )
    )
    # A street has ~8,000 residents on the schedule, sharing a few dozen combinations of flags:
    # the rule runs once per combination, and each resident is one comparison of times.
    schedule_of_mask: dict[int, tuple[int, datetime] | None] = {}
    # Thousands of overdue checks, of which the page lists LIST_LIMIT: (when the check fell due,
    # resident id, interval, last check) for all, full DueChecks for the listed only.
    overdue: list[tuple] = []
    for resident_id, grid_id, mask, last_checked_at in rows:
        if mask not in schedule_of_mask:
            interval = care.interval_for_flags(care.flags_from_mask(mask), intervals)
            schedule_of_mask[mask] = (
                None
                if interval is None
                else (interval, care.overdue_if_checked_before(as_of, interval))
            )
        schedule = schedule_of_mask[mask]
        if schedule is None:
            continue
        unit = grids[grid_id]
        unit.care_scheduled += 1
        interval, overdue_before = schedule
        if last_checked_at is not None and last_checked_at < overdue_before:
            unit.care_overdue += 1
            overdue.append(
                (last_checked_at + timedelta(days=interval), resident_id, interval, last_checked_at)
            )
    board.overdue_checks = _first_overdue(overdue, as_of)


def _first_overdue(overdue: list[tuple], as_of: date) -> list[care.DueCheck]:
    """The LIST_LIMIT longest overdue, by due day, address and resident; the residents' details
    are read for them (and for those due the same day as the last listed) only."""
    if not overdue:
        return []

    def day_of(moment: datetime) -> date:
        return moment.astimezone(SHANGHAI).date()

    # Due times sort as their days do; the cut falls after the whole day of the last listed.
    cutoff = day_of(heapq.nsmallest(LIST_LIMIT, (entry[0] for entry in overdue))[-1])
    after_cutoff = _midnight(cutoff + timedelta(days=1))
    contenders = {
        entry[1]: (day_of(entry[0]), entry[2], day_of(entry[3]))
        for entry in overdue
        if entry[0] < after_cutoff
    }
    details = db.session.execute(
        select(*care._SCHEDULE_COLUMNS, Household.address)
        .join(Household, Household.id == Resident.household_id)
        .where(Resident.id.in_(list(contenders)))
    ).all()
    details.sort(key=lambda row: (contenders[row.id][0], row.address, row.id))
    listed = []
    for row in details[:LIST_LIMIT]:
        due_on, interval, last_on = contenders[row.id]
        resident = _ScheduledResident(row)
        listed.append(
            care.DueCheck(
                resident=resident,
                household_id=row.household_id,
                address=row.address,
                flags=resident.care_flags(as_of),
                interval_days=interval,
                last_checked_on=last_on,
                due_on=due_on,
                days_overdue=(as_of - due_on).days,
            )
        )
    return listed


def _coverage(board, grids, grid_ids: list[int], until: datetime) -> None:
    """Lived-in households with at least one visit this quarter (up to the period's end), per
    building. Distinct households, so ten visits to one door count once."""
    since = _midnight(board.coverage_since)
    visited = (
        select(Visit.household_id)
        .where(Visit.grid_id.in_(grid_ids), Visit.visited_at >= since, Visit.visited_at < until)
        .distinct()
        .subquery()
    )
    rows = db.session.execute(
        select(
            Building.id,
            Building.name,
            Household.grid_id,
            func.count(Household.id),
            func.count(visited.c.household_id),
        )
        .join(Building, Building.id == Household.building_id)
        .outerjoin(visited, visited.c.household_id == Household.id)
        .where(Household.grid_id.in_(grid_ids), Household.occupancy.in_(LIVED_IN))
        .group_by(Building.id, Building.name, Household.grid_id)
        .order_by(Household.grid_id, Building.id)
    )
    for building_id, name, grid_id, households, visited_count in rows:
        grids[grid_id].households += households
        grids[grid_id].visited += visited_count
        board.buildings.append(
            BuildingCoverage(building_id, name, grid_id, households, visited_count)
        )


def _cases_opened(board, grid_ids: list[int], period: Period, until: datetime) -> None:
    """Cases opened in the period by category, status now, level now and source; and a monthly
    trend of opened and closed cases over the months up to the period's end."""
    rows = db.session.execute(
        select(Case.category, Case.status, Case.level, case_source()).where(
            Case.home_grid_id.in_(grid_ids), Case.opened_at >= period.start, Case.opened_at < until
        )
    ).all()
    board.by_category = Counter(row[0] for row in rows).most_common()
    board.by_status = _ordered(Counter(row[1] for row in rows), list(CaseStatus))
    board.by_level = _ordered(Counter(row[2] for row in rows), list(CaseLevel))
    board.by_source = Counter(row[3] for row in rows).most_common()
    board.reports_by_source = [
        (source, count)
        for source, count in db.session.execute(
            select(ResidentReport.source, func.count())
            .where(
                ResidentReport.grid_id.in_(grid_ids),
                ResidentReport.received_at >= period.start,
                ResidentReport.received_at < until,
            )
            .group_by(ResidentReport.source)
            .order_by(func.count().desc())
        )
    ]

    months: list[str] = []
    year, month = period.last_day.year, period.last_day.month
    for _i in range(TREND_MONTHS):
        months.insert(0, f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    # Counted by the database, month by month (a street's half year is thousands of cases).
    starts = [_midnight(date(int(key[:4]), int(key[5:]), 1)) for key in months]
    ends = [*starts[1:], until]
    in_area = Case.home_grid_id.in_(grid_ids)
    opened_counts = db.session.execute(
        select(
            *(
                func.count().filter(Case.opened_at >= start, Case.opened_at < end)
                for start, end in zip(starts, ends, strict=True)
            )
        ).where(in_area, Case.opened_at >= starts[0], Case.opened_at < until)
    ).one()
    closed_counts = db.session.execute(
        select(
            *(
                func.count().filter(Case.closed_at >= start, Case.closed_at < end)
                for start, end in zip(starts, ends, strict=True)
            )
        ).where(in_area, Case.closed_at >= starts[0], Case.closed_at < until)
    ).one()
    opened = dict(zip(months, opened_counts, strict=True))
    closed = dict(zip(months, closed_counts, strict=True))
    board.trend = [(key, opened.get(key, 0), closed.get(key, 0)) for key in months]


def case_source():
    """Where a case came from: the record kind that opened it, or for a resident's report the
    channel it came in by (public site, 12345 hotline, 信访, Open311…)."""
    report_source = (
        select(ResidentReport.source)
        .where(ResidentReport.case_id == Case.id)
        .order_by(ResidentReport.received_at)
        .limit(1)
        .scalar_subquery()
    )
    return sql_case(
        (Case.source_kind == "report", func.coalesce(report_source, "report")),
        else_=Case.source_kind,
    )


def _ordered(counts: Counter, order: list[str]) -> list[tuple[str, int]]:
    known = [(str(code), counts.get(str(code), 0)) for code in order]
    return known + [(code, n) for code, n in counts.items() if code not in {c for c, _ in known}]


def _local_settlement(grids, grid_ids: list[int], since: datetime, until: datetime) -> None:
    """Of the cases whose last 办结 fell in the period, those resolved while still at grid level
    (化解在基层). A case resolved twice (reopened after a dissatisfied 回访) counts once, by its
    last 办结."""
    rows = db.session.execute(
        select(CaseEvent.case_id, Case.home_grid_id, CaseEvent.from_level)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(
            Case.home_grid_id.in_(grid_ids),
            CaseEvent.action == "resolve",
            CaseEvent.at >= since,
            CaseEvent.at < until,
        )
        .order_by(CaseEvent.at, CaseEvent.id)
    )
    last: dict = {}
    for case_id, grid_id, level in rows:
        last[case_id] = (grid_id, level)
    for grid_id, level in last.values():
        grids[grid_id].resolved += 1
        grids[grid_id].resolved_locally += level == CaseLevel.GRID


def _open_cases(board, grids, grid_ids: list[int], now: datetime) -> None:
    """Open hazards by category and age, and cases past their time limit now (red), with where
    they wait: the level, and the department when one is assigned."""
    cases = db.session.scalars(
        select(Case)
        .options(lazyload(Case.events))
        .where(Case.home_grid_id.in_(grid_ids), Case.status.in_(OPEN_STATUSES))
    ).all()
    hazards: dict[str, Counter] = defaultdict(Counter)
    late: list[LateCase] = []
    departments: Counter = Counter()
    for case in cases:
        if case.source_kind == "hazard":
            grids[case.home_grid_id].open_hazards += 1
            hazards[case.category][_age_bucket((now - case.opened_at).days)] += 1
        if limits.sla_state(case, now) == limits.SlaState.RED:
            grids[case.home_grid_id].overdue_cases += 1
            deadline = limits.effective(case.due_at, case, now) or now
            grid_name, community_name = board.grid_names[case.home_grid_id]
            late.append(LateCase(case, grid_name, community_name, (now - deadline).days))
            departments[case.assigned_department or ""] += 1
    board.hazards = sorted(
        ((category, dict(buckets)) for category, buckets in hazards.items()),
        key=lambda item: -sum(item[1].values()),
    )
    late.sort(key=lambda row: -row.days_over)
    board.late_cases = late
    board.late_by_department = departments.most_common()


def _age_bucket(days: int) -> str:
    label = HAZARD_AGE_BUCKETS[0][0]
    for code, lower in HAZARD_AGE_BUCKETS:
        if days >= lower:
            label = code
    return label


def _supervised(board, grids, grid_ids: list[int], period: Period, now: datetime) -> None:
    """督办 cases open at some time in the period, with their outcome against the 督办 deadline."""
    cases = db.session.scalars(
        select(Case)
        .options(lazyload(Case.events))
        .where(
            Case.home_grid_id.in_(grid_ids),
            Case.supervised.is_(True),
            Case.opened_at < period.end,
            (Case.closed_at.is_(None)) | (Case.closed_at >= period.start),
        )
        .order_by(Case.opened_at)
    ).all()
    for case in cases:
        grids[case.home_grid_id].supervised += 1
        grid_name, community_name = board.grid_names[case.home_grid_id]
        board.supervised_cases.append(
            SupervisedCase(case, grid_name, community_name, supervision_outcome(case, now))
        )


def supervision_outcome(case: Case, now: datetime) -> str:
    deadline = case.supervise_deadline
    if case.resolved_at is not None and case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
        return "on_time" if deadline is None or case.resolved_at <= deadline else "late"
    if deadline is not None and now > deadline:
        return "overdue"
    return "in_progress"
