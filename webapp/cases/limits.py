"""Time limits per stage × category × severity, with yellow and red thresholds (DESIGN.md §4).

Limits live in the `settings` table under "case_time_limits" as a list of rows
`{"stage", "category", "severity", "yellow", "red", "unit"}`; "*" matches any category or
severity and the most specific row wins. `unit` is "days" (working days on the calendar table) or
"hours" (clock hours, nights and weekends included: an urgent hazard does not wait for Monday).
Pages derive a colour from timestamps, so they are right even when `flask sla tick` has not run.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from webapp.cases.workdays import add_workdays, is_workday
from webapp.extensions import db
from webapp.i18n import SHANGHAI
from webapp.models import Case, CaseStatus, Setting

SETTING_KEY = "case_time_limits"


class Stage(enum.StrEnum):
    ACCEPT = "accept"  # escalated: the level above must accept (受理)
    HANDLE = "handle"  # open at the grid, or accepted and being handled
    FOLLOW_UP = "follow_up"  # resolved: the home grid's worker visits back (回访)
    SIGN = "sign"  # a department's part: assigned, to be signed for (签收)
    REPORT_BACK = "report_back"  # a department's part: signed, to be reported back (回单)


# Stages the admin table must always cover; the department stages fall back to the defaults.
CASE_STAGES = (Stage.ACCEPT, Stage.HANDLE, Stage.FOLLOW_UP)
UNITS = ("days", "hours")


class SlaState(enum.StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    PAUSED = "paused"
    DONE = "done"


@dataclass(frozen=True)
class Limit:
    stage: str
    category: str
    severity: str
    yellow: int
    red: int
    unit: str = "days"

    def deadlines(self, start: datetime) -> tuple[datetime, datetime]:
        """(yellow, red) for a stage starting at `start`."""
        if self.unit == "hours":
            return start + timedelta(hours=self.yellow), start + timedelta(hours=self.red)
        return add_workdays(start, self.yellow), add_workdays(start, self.red)


# Grids get the handle limit too: a worker mediating has as long as a department. Urgent matters
# count hours (黄金24小时): respond within 2 hours, settle within 24.
DEFAULT_LIMITS: list[Limit] = [
    Limit("accept", "*", "urgent", 1, 2, "hours"),
    Limit("accept", "*", "high", 1, 1),
    Limit("accept", "*", "medium", 1, 2),
    Limit("accept", "*", "low", 2, 3),
    Limit("handle", "*", "urgent", 12, 24, "hours"),
    Limit("handle", "*", "high", 2, 3),
    Limit("handle", "*", "medium", 3, 5),
    Limit("handle", "*", "low", 5, 10),
    Limit("follow_up", "*", "*", 3, 5),
    Limit("sign", "*", "urgent", 1, 2, "hours"),
    Limit("sign", "*", "*", 0, 1),
    Limit("report_back", "*", "urgent", 12, 24, "hours"),
    Limit("report_back", "*", "high", 2, 3),
    Limit("report_back", "*", "*", 3, 5),
]

LEADER_SETTING_KEY = "case_leader_workdays"
DEFAULT_LEADER_WORKDAYS = 20


def stage_of(status: str) -> Stage | None:
    return {
        CaseStatus.ESCALATED: Stage.ACCEPT,
        CaseStatus.OPEN: Stage.HANDLE,
        CaseStatus.ACCEPTED: Stage.HANDLE,
        CaseStatus.RESOLVED: Stage.FOLLOW_UP,
    }.get(CaseStatus(status))


def configured_limits() -> list[Limit]:
    setting = db.session.get(Setting, SETTING_KEY)
    if setting is None or not setting.value:
        return DEFAULT_LIMITS
    return [Limit(**row) for row in setting.value]


def save_limits(limits: list[Limit]) -> None:
    rows = [limit.__dict__ for limit in limits]
    setting = db.session.get(Setting, SETTING_KEY)
    if setting is None:
        db.session.add(Setting(key=SETTING_KEY, value=rows))
    else:
        setting.value = rows


def limit_for(stage: Stage, category: str, severity: str, limits: list[Limit]) -> Limit:
    def specificity(limit: Limit) -> int:
        return (limit.category != "*") * 2 + (limit.severity != "*")

    matching = [
        limit
        for limit in limits
        if limit.stage == stage
        and limit.category in ("*", category)
        and limit.severity in ("*", severity)
    ]
    if not matching:
        matching = [limit for limit in DEFAULT_LIMITS if limit.stage == stage] or DEFAULT_LIMITS
    return max(matching, key=specificity)


def start_stage(case: Case, now: datetime, limits: list[Limit] | None = None) -> None:
    """Start the clock of the stage the case's status puts it in."""
    case.stage_started_at = now
    case.paused_at = None
    case.paused_seconds = 0
    stage = stage_of(case.status)
    if stage is None:
        case.warn_at = case.due_at = None
        return
    limit = limit_for(stage, case.category, case.severity, limits or configured_limits())
    case.warn_at, case.due_at = limit.deadlines(now)


def paused_for(case: Case, now: datetime) -> timedelta:
    running = (now - case.paused_at) if case.paused_at else timedelta(0)
    return timedelta(seconds=case.paused_seconds or 0) + running


def effective(deadline: datetime | None, case: Case, now: datetime) -> datetime | None:
    """A deadline pushed out by the time spent waiting on a resident."""
    return None if deadline is None else deadline + paused_for(case, now)


def sla_state(case: Case, now: datetime) -> SlaState:
    if case.status == CaseStatus.CLOSED:
        return SlaState.DONE
    if case.paused_at is not None:
        return SlaState.PAUSED
    due, warn = effective(case.due_at, case, now), effective(case.warn_at, case, now)
    if due is not None and now > due:
        return SlaState.RED
    if warn is not None and now > warn:
        return SlaState.YELLOW
    return SlaState.GREEN


def time_left(case: Case, now: datetime) -> timedelta | None:
    due = effective(case.due_at, case, now)
    return None if due is None else due - now


def leader_workdays() -> int:
    """A case open longer than this many working days is flagged for a leader (包案)."""
    setting = db.session.get(Setting, LEADER_SETTING_KEY)
    return int(setting.value) if setting is not None and setting.value else DEFAULT_LEADER_WORKDAYS


def save_leader_workdays(days: int) -> None:
    setting = db.session.get(Setting, LEADER_SETTING_KEY)
    if setting is None:
        db.session.add(Setting(key=LEADER_SETTING_KEY, value=days))
    else:
        setting.value = days


def leader_cutoff(now: datetime, threshold: int | None = None) -> date:
    """The last opening day that puts a case over the 包案 line at `now`: a case opened on or
    before it has been open more than `threshold` working days. Computed once per page, so a
    board of 500 cases does not count each case's working days."""
    threshold = leader_workdays() if threshold is None else threshold
    day = now.astimezone(SHANGHAI).date()
    counted = 0
    while True:
        counted += is_workday(day)
        day -= timedelta(days=1)
        if counted > threshold:
            return day


def needs_leader(case: Case, now: datetime, cutoff: date | None = None) -> bool:
    """包案: still not closed after the configured number of working days since it opened."""
    if case.status == CaseStatus.CLOSED:
        return False
    cutoff = leader_cutoff(now) if cutoff is None else cutoff
    return case.opened_at.astimezone(SHANGHAI).date() <= cutoff
