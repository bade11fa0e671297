"""Per-community figures for residents (DESIGN.md §6): outcomes, not counts, and nothing personal.

Definitions (shown on the page in short, kept here in full):

- Window: cases whose home grid is in the community and that were closed (回访 done, status
  `closed`) in the last 90 days.
- Closed: how many such cases.
- On time: the case's last 办结 (`resolve` timeline entry) came no later than the handling
  deadline in force at that moment. That deadline is replayed from the timeline, the way the
  case page computed it then: the handling stage starts at the last entry that moved the case
  into `open` or `accepted`; its limit is the red threshold for (handle, category, severity) in
  the current time-limit settings, counted in working days; an `assign` with a due time replaces
  it; an approved extension moves it (to its `due_at`, or by its `days` in working days); time
  paused waiting on a resident (pause → resume, or pause → resolve) pushes it out. The rate is
  on-time cases over closed cases.
- Working days to resolve: working days (Chinese government calendar, webapp.cases.workdays)
  from the day the case was opened to the day of its last 办结, averaged. 办结 rather than the
  回访 that closes it: the resident's problem is solved at 办结; the follow-up visit is ours.
- Satisfaction: among the follow-up visits (回访, `follow_up` timeline entries) made in the
  window on the community's cases, the share that recorded "satisfied" or "basically satisfied",
  with the split. Visits, not closed cases' `satisfaction`: a dissatisfied visit reopens the
  case, so every closed case ends (basically) satisfied and that share would always be 100 %.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select

from webapp.cases import limits
from webapp.cases.workdays import add_workdays, workdays_between
from webapp.extensions import db
from webapp.i18n import SHANGHAI
from webapp.models import Case, CaseEvent, CaseStatus, Community, Grid

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

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.with_deadline if self.with_deadline else None

    @property
    def average_workdays(self) -> float | None:
        return self.workday_total / self.resolved if self.resolved else None

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


def handling_deadline(
    case: Case, events: list[CaseEvent], configured: list[limits.Limit]
) -> tuple[datetime, datetime] | None:
    """(time of the last 办结, the deadline in force then), replayed from the timeline."""
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
    due = add_workdays(stage[0].at, limit.red)
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
    since = now - timedelta(days=WINDOW_DAYS)
    figures = CommunityFigures(since=since.astimezone(SHANGHAI).date())
    grid_ids = select(Grid.id).where(Grid.community_id == community.id)
    cases = db.session.scalars(
        select(Case).where(
            Case.home_grid_id.in_(grid_ids),
            Case.status == CaseStatus.CLOSED,
            Case.closed_at >= since,
        )
    ).all()
    configured = limits.configured_limits()
    for case in cases:
        figures.closed += 1
        events = sorted(case.events, key=lambda event: (event.at, event.id))
        replay = handling_deadline(case, events, configured)
        if replay is not None:
            resolved_at, deadline = replay
            figures.with_deadline += 1
            figures.on_time += resolved_at <= deadline
            figures.workday_total += max(0, workdays_between(case.opened_at, resolved_at))
            figures.resolved += 1
    visits = db.session.scalars(
        select(CaseEvent.data).where(
            CaseEvent.action == "follow_up",
            CaseEvent.at >= since,
            CaseEvent.case_id.in_(select(Case.id).where(Case.home_grid_id.in_(grid_ids))),
        )
    )
    for data in visits:
        code = (data or {}).get("satisfaction")
        if code:
            figures.satisfaction[code] = figures.satisfaction.get(code, 0) + 1
    return figures
