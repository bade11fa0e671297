"""Per-community figures for residents (DESIGN.md §6): outcomes, not counts, and nothing personal.

Definitions (shown on the page in short, kept here in full):

- Window: cases whose home grid is in the community and that were closed (回访 done, status
  `closed`) in the last 90 days.
- Closed: how many such cases.
- On time: the case's last 办结 (`resolve` timeline entry) came no later than the handling
  deadline in force at that moment. That deadline is replayed from the timeline, the way the
  case page computed it then: the handling stage starts at the last entry that moved the case
  into `open` or `accepted`; its limit is the red threshold for (handle, category, severity) in
  the current time-limit settings, counted in working days (in clock hours where the limit is
  set in hours, as for urgent cases: 黄金24小时); an `assign` with a due time replaces it; an
  approved extension moves it (to its `due_at`, or by its `days` in working days); time paused
  waiting on a resident (pause → resume, or pause → resolve) pushes it out. The rate is on-time
  cases over closed cases.
- Working days to resolve: working days (Chinese government calendar, webapp.cases.workdays)
  from the day the case was opened to the day of its last 办结, averaged. 办结 rather than the
  回访 that closes it: the resident's problem is solved at 办结; the follow-up visit is ours.
- Satisfaction: among the follow-up visits (回访, `follow_up` timeline entries) made in the
  window on the community's cases, the share that recorded "satisfied" or "basically satisfied",
  with the split. Visits, not closed cases' `satisfaction`: a dissatisfied visit reopens the
  case, so every closed case ends (basically) satisfied and that share would always be 100 %.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import median

from sqlalchemy import case as sql_case
from sqlalchemy import null, select, type_coerce

from webapp.cases import limits
from webapp.cases.workdays import add_workdays, workdays_between
from webapp.extensions import db
from webapp.i18n import SHANGHAI
from webapp.models import Case, CaseEvent, CaseStatus, Community, Grid
from webapp.side_by_side import side_by_side

WINDOW_DAYS = 90
HANDLING_STATUSES = (CaseStatus.OPEN, CaseStatus.ACCEPTED)
SATISFIED = ("satisfied", "basically_satisfied")


@dataclass
class CommunityFigures:
    since: date
    closed: int = 0
    on_time: int = 0
    with_deadline: int = 0
    workday_total: int = 0
    resolved: int = 0
    satisfaction: dict[str, int] = field(default_factory=dict)
    workdays: list[int] = field(default_factory=list)  # per resolved case, for the median

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.with_deadline if self.with_deadline else None

    @property
    def average_workdays(self) -> float | None:
        return self.workday_total / self.resolved if self.resolved else None

    @property
    def median_workdays(self) -> float | None:
        return float(median(self.workdays)) if self.workdays else None

    @property
    def rated(self) -> int:
        return sum(self.satisfaction.values())

    @property
    def satisfied_rate(self) -> float | None:
        if not self.rated:
            return None
        return sum(self.satisfaction.get(code, 0) for code in SATISFIED) / self.rated

    def share(self, code: str) -> float | None:
        return self.satisfaction.get(code, 0) / self.rated if self.rated else None


def _parse(value: object) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=SHANGHAI)


# The timeline entries whose data `handling_deadline` reads (a new deadline or an extension).
REPLAY_DATA_ACTIONS = ("assign", "approve_extension")


def handling_deadline(
    case: Case, events: list[CaseEvent], configured: list[limits.Limit]
) -> tuple[datetime, datetime] | None:
    """(time of the last 办结, the deadline in force then), replayed from the timeline (ordered by
    time). `case` and `events` may be mapped objects or column rows with the same names."""
    resolves = [i for i, event in enumerate(events) if event.action == "resolve"]
    if not resolves:
        return None
    resolve = events[resolves[-1]]
    before = events[: resolves[-1]]
    starts = [
        i
        for i, event in enumerate(before)
        if event.to_status in HANDLING_STATUSES and event.to_status != event.from_status
    ]
    if not starts:
        return None
    stage = before[starts[-1] :]
    limit = limits.limit_for(limits.Stage.HANDLE, case.category, case.severity, configured)
    # Clock hours for urgent matters (黄金24小时), working days otherwise: the limit's own rule.
    due = limit.deadlines(stage[0].at)[1]
    paused = timedelta(0)
    paused_since: datetime | None = None
    for event in stage:
        data = event.data or {}
        if event.action == "assign" and data.get("due_at"):
            due = _parse(data["due_at"]) or due
        elif event.action == "approve_extension":
            if data.get("due_at"):
                due = _parse(data["due_at"]) or due
            elif data.get("days"):
                due = add_workdays(due, int(data["days"]))
        elif event.action == "pause":
            paused_since = event.at
        elif event.action == "resume" and paused_since is not None:
            paused += event.at - paused_since
            paused_since = None
    if paused_since is not None:
        paused += resolve.at - paused_since
    return resolve.at, due + paused


def community_figures(community: Community, now: datetime) -> CommunityFigures:
    """The public page's figures: the community's grids over the last WINDOW_DAYS."""
    since = now - timedelta(days=WINDOW_DAYS)
    grid_ids = list(db.session.scalars(select(Grid.id).where(Grid.community_id == community.id)))
    return combine(outcomes_by_grid(grid_ids, since, now).values(), since)


def combine(parts: Iterable[CommunityFigures], since: datetime) -> CommunityFigures:
    """Figures of a wider area from those of its parts (sums, and the pooled list for medians)."""
    total = CommunityFigures(since=since.astimezone(SHANGHAI).date())
    for part in parts:
        total.closed += part.closed
        total.on_time += part.on_time
        total.with_deadline += part.with_deadline
        total.workday_total += part.workday_total
        total.resolved += part.resolved
        total.workdays.extend(part.workdays)
        for code, count in part.satisfaction.items():
            total.satisfaction[code] = total.satisfaction.get(code, 0) + count
    return total


def outcomes_by_grid(
    grid_ids: Collection[int], since: datetime, until: datetime
) -> dict[int, CommunityFigures]:
    """The outcome figures of each grid for cases closed (and 回访 made) in [since, until).

    The one computation behind the public page, the staff dashboards, evaluation and ledgers, so
    a figure a resident reads and the one a supervisor reads cannot disagree. Grouped by home
    grid (属地); a department dimension groups the same replay by `assigned_department`.
    """
    figures = {
        grid_id: CommunityFigures(since=since.astimezone(SHANGHAI).date()) for grid_id in grid_ids
    }
    if not figures:
        return figures
    ids = list(figures)
    # The 回访 are counted on their own connection meanwhile (webapp/side_by_side.py).
    _replayed, satisfaction_by_grid = side_by_side(
        lambda: _replay_closed_cases(figures, ids, since, until),
        lambda: _satisfaction_by_grid(ids, since, until),
    )
    for grid_id, counts in satisfaction_by_grid.items():
        figures[grid_id].satisfaction = counts
    return figures


def _replay_closed_cases(
    figures: dict[int, CommunityFigures], ids: list[int], since: datetime, until: datetime
) -> None:
    """Closed, on time and working days to 办结 of each grid's cases closed in the window."""
    closed_in_window = (
        Case.home_grid_id.in_(ids),
        Case.status == CaseStatus.CLOSED,
        Case.closed_at >= since,
        Case.closed_at < until,
    )
    # Column rows, not ORM objects: a street-month replays hundreds of cases and thousands of
    # timeline entries, and building mapped instances for them cost more than the replay. The
    # rows carry the attribute names `handling_deadline` reads.
    cases = db.session.execute(
        select(Case.id, Case.home_grid_id, Case.category, Case.severity, Case.opened_at).where(
            *closed_in_window
        )
    ).all()
    timelines: dict = {case.id: [] for case in cases}
    if timelines:
        for event in db.session.execute(
            select(
                CaseEvent.case_id,
                CaseEvent.id,
                CaseEvent.action,
                CaseEvent.from_status,
                CaseEvent.to_status,
                CaseEvent.at,
                # Only the entries the replay reads data from: decoding every entry's JSON was
                # a third of a street's 90 days.
                type_coerce(
                    sql_case(
                        (CaseEvent.action.in_(REPLAY_DATA_ACTIONS), CaseEvent.data), else_=null()
                    ),
                    CaseEvent.data.type,
                ).label("data"),
            )
            .where(CaseEvent.case_id.in_(select(Case.id).where(*closed_in_window)))
            .order_by(CaseEvent.case_id, CaseEvent.at, CaseEvent.id)
        ):
            timelines[event.case_id].append(event)
    configured = limits.configured_limits()
    for case in cases:
        grid = figures[case.home_grid_id]
        grid.closed += 1
        replay = handling_deadline(case, timelines[case.id], configured)
        if replay is not None:
            resolved_at, deadline = replay
            grid.with_deadline += 1
            grid.on_time += resolved_at <= deadline
            days = max(0, workdays_between(case.opened_at, resolved_at))
            grid.workday_total += days
            grid.workdays.append(days)
            grid.resolved += 1


def _satisfaction_by_grid(ids: list[int], since: datetime, until: datetime) -> dict:
    """{grid id: {satisfaction code: 回访 made in the window}}."""
    counts: dict[int, dict[str, int]] = {}
    visits = db.session.execute(
        select(Case.home_grid_id, CaseEvent.data["satisfaction"].as_string())
        .join(Case, Case.id == CaseEvent.case_id)
        .where(
            CaseEvent.action == "follow_up",
            CaseEvent.at >= since,
            CaseEvent.at < until,
            Case.home_grid_id.in_(ids),
        )
    )
    for grid_id, code in visits:
        if code:
            of_grid = counts.setdefault(grid_id, {})
            of_grid[code] = of_grid.get(code, 0) + 1
    return counts
