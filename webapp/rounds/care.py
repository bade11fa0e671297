"""Care schedule (DESIGN.md §3): how often each resident with a care flag is checked on, and
which checks are due.

A rule is a group of care flags with an interval in days. Every rule that applies to a resident
counts and the strictest (shortest) wins; 0 switches a rule off. Admins change the intervals in
the `care_intervals` setting; a key missing there falls back to its default.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import aliased, load_only

from webapp.extensions import db
from webapp.i18n import SHANGHAI
from webapp.models import ElderlyCheck, Household, Occupancy, Resident, Setting
from webapp.models.people import EDITABLE_CARE_FLAGS, SEVERE_DISABILITY_GRADES

CARE_INTERVALS_KEY = "care_intervals"
MAX_INTERVAL_DAYS = 365

# Rule keys, in the order an admin reads them. Floating population and minors have no scheduled
# check: those flags call for other work (registration, schooling), not a welfare visit.
DEFAULT_CARE_INTERVALS: dict[str, int] = {
    "living_alone_80_plus": 7,  # 独居且80岁以上
    "living_alone_or_empty_nest": 14,  # 独居或空巢
    "age_80_plus": 30,  # 80岁以上
    "other_care": 90,  # 残疾、低保、优抚
    # Special registers (issue 12). 0 leaves a rule off until an admin sets a number of days.
    "community_correction": 30,  # 社区矫正对象: monthly contact
    "severe_disability": 30,  # 一级、二级残疾
    "party_lost_contact": 30,  # 失联党员: keep looking for them
    "veteran": 0,  # 退役军人
}

OTHER_CARE_FLAGS = ("disabled", "low_income", "special_care")
SPECIAL_REGISTER_RULES = (
    "community_correction",
    "severe_disability",
    "party_lost_contact",
    "veteran",
)

# A check where nobody reached the resident does not tell anyone they are well, so it does not
# reset the schedule: the resident stays due until someone reaches them (two misses in a row
# open a case, DESIGN.md §3).
UNREACHED_STATUS = "not_reached"


def care_intervals() -> dict[str, int]:
    """The interval of every rule: the saved setting over the defaults, unusable values ignored."""
    setting = db.session.get(Setting, CARE_INTERVALS_KEY)
    saved: Any = setting.value if setting is not None else None
    intervals = dict(DEFAULT_CARE_INTERVALS)
    if isinstance(saved, dict):
        for key, value in saved.items():
            if key in intervals and _usable_days(value):
                intervals[key] = int(value)
    return intervals


def _usable_days(value: Any) -> bool:
    return (
        isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_INTERVAL_DAYS
    )


def save_care_intervals(intervals: dict[str, int]) -> dict[str, int]:
    """Store every rule's interval (the caller commits). Unknown keys are refused, not dropped."""
    unknown = set(intervals) - set(DEFAULT_CARE_INTERVALS)
    if unknown:
        raise ValueError(f"unknown care interval rules: {sorted(unknown)}")
    if not all(_usable_days(value) for value in intervals.values()):
        raise ValueError(f"care intervals must be whole days from 0 to {MAX_INTERVAL_DAYS}")
    value = {**care_intervals(), **intervals}
    setting = db.session.get(Setting, CARE_INTERVALS_KEY)
    if setting is None:
        db.session.add(Setting(key=CARE_INTERVALS_KEY, value=value))
    else:
        setting.value = value  # a new dict, so the JSON column sees the change
    return value


def rules_for_flags(flags: Collection[str]) -> list[str]:
    """The rules that apply to a resident with these care flags."""
    rules = []
    if "living_alone" in flags and "age_80_plus" in flags:
        rules.append("living_alone_80_plus")
    if "living_alone" in flags or "empty_nest" in flags:
        rules.append("living_alone_or_empty_nest")
    if "age_80_plus" in flags:
        rules.append("age_80_plus")
    if any(flag in flags for flag in OTHER_CARE_FLAGS):
        rules.append("other_care")
    # A flag that names its own rule (special registers) uses it.
    rules.extend(flag for flag in SPECIAL_REGISTER_RULES if flag in flags)
    return rules


def interval_for_flags(flags: Collection[str], intervals: dict[str, int]) -> int | None:
    """Days between checks: the strictest rule that applies and is switched on, else None."""
    days = [intervals[rule] for rule in rules_for_flags(flags) if intervals.get(rule, 0) > 0]
    return min(days) if days else None


def overdue_if_checked_before(today: date, interval_days: int) -> datetime:
    """A resident checked every `interval_days` is overdue on `today` when their latest check
    came before this instant: the check is due on the (Shanghai) day of the last one plus the
    interval, and overdue once that day is past. For counting thousands of residents without
    turning each check time into a day."""
    due_from = today - timedelta(days=interval_days)
    return datetime.combine(due_from, datetime.min.time(), SHANGHAI)


def check_interval(
    resident: Resident, today: date, intervals: dict[str, int] | None = None
) -> int | None:
    """Days between checks for `resident` on `today` (age counts on that day); None: no schedule."""
    if resident.moved_out:
        return None
    return interval_for_flags(resident.care_flags(today), intervals or care_intervals())


@dataclass(frozen=True)
class DueCheck:
    """An elderly check due today or overdue."""

    resident: Resident
    household_id: int
    address: str
    flags: list[str]
    interval_days: int
    last_checked_on: date | None  # Asia/Shanghai date of the latest check that reached them
    due_on: date
    days_overdue: int

    @property
    def never_checked(self) -> bool:
        return self.last_checked_on is None


_SCHEDULE_COLUMNS = (
    Resident.id,
    Resident.household_id,
    Resident.grid_id,
    Resident.name,
    Resident.birth_date,
    Resident.living_alone,
    Resident.empty_nest,
    Resident.disabled,
    Resident.low_income,
    Resident.special_care,
    Resident.floating,
    Resident.moved_out,
    Resident.community_correction,
    Resident.party_member,
    Resident.party_lost_contact,
    Resident.veteran,
    Resident.disability_grade,
)


def eighty_years_before(today: date) -> date:
    """The latest birth date of someone who is 80 on `today` (a 29 February birthday counts from
    1 March in common years, as `years_between` does)."""
    try:
        return today.replace(year=today.year - 80)
    except ValueError:  # today is 29 February and that year was a common one
        return date(today.year - 80, 2, 28)


# The care flags a rule can read, as the bits of one number the database computes per resident:
# a street's thousands of scheduled residents then come back as a few small numbers each, and the
# rule runs once per distinct combination. `Resident.care_flags` stays the definition ("minor"
# aside, which no rule reads); tests check that the two agree.
MASK_FLAGS = (*EDITABLE_CARE_FLAGS, "age_80_plus", "severe_disability")


def care_flag_mask(today: date):
    """A column of a query over Resident: the bits of MASK_FLAGS that apply on `today`."""
    conditions = {flag: getattr(Resident, flag).is_(True) for flag in EDITABLE_CARE_FLAGS}
    conditions["age_80_plus"] = Resident.birth_date <= eighty_years_before(today)
    conditions["severe_disability"] = and_(
        Resident.disabled.is_(True), Resident.disability_grade.in_(SEVERE_DISABILITY_GRADES)
    )
    total = None
    for bit, flag in enumerate(MASK_FLAGS):
        term = sql_case((conditions[flag], 1 << bit), else_=0)
        total = term if total is None else total + term
    return total


def flags_from_mask(mask: int) -> list[str]:
    return [flag for bit, flag in enumerate(MASK_FLAGS) if mask & (1 << bit)]


def _candidate_filter(grid_ids: Collection[int], today: date) -> list:
    """Residents who may have a schedule; the exact rule runs in Python on this short list."""
    return [
        Resident.grid_id.in_(list(grid_ids)),
        Resident.moved_out.is_(False),
        or_(
            Resident.living_alone.is_(True),
            Resident.empty_nest.is_(True),
            *(getattr(Resident, flag).is_(True) for flag in OTHER_CARE_FLAGS),
            Resident.community_correction.is_(True),
            Resident.party_lost_contact.is_(True),
            Resident.veteran.is_(True),
            Resident.birth_date <= eighty_years_before(today),
        ),
    ]


def latest_check_column(until: datetime | None = None):
    """The time of the correlated resident's latest check that reached them, as a column of a
    query over Resident. A check later corrected by another record does not count; its
    correction does. `until` reads the schedule as it stood then (the supervision reports' past
    periods). Per resident, so both databases read a grid's or a street's few thousand
    residents' checks by index instead of scanning every check of the district (a grouped
    subquery took SQLite 40 s per worker home at district scale); corrections are excluded by a
    NOT IN over the (few) corrected ids, which PostgreSQL hashes once, where NOT EXISTS cost an
    index probe per check."""
    corrected = (
        select(ElderlyCheck.corrects_id)
        .where(ElderlyCheck.corrects_id.is_not(None))
        .scalar_subquery()
        .correlate(None)
    )
    check = aliased(ElderlyCheck)
    return (
        select(func.max(check.checked_at))
        .where(
            check.resident_id == Resident.id,
            check.status != UNREACHED_STATUS,
            check.id.not_in(corrected),
            *([check.checked_at < until] if until is not None else []),
        )
        .correlate(Resident)
        .scalar_subquery()
    )


def due_elderly_checks(
    grid_ids: Collection[int], today: date, intervals: dict[str, int] | None = None
) -> list[DueCheck]:
    """Checks due on `today` or overdue in these grids, most overdue first, then by address.

    Due = the Shanghai date of the latest check + the interval; never checked = due today.
    """
    if not grid_ids:
        return []
    intervals = intervals or care_intervals()
    if not any(days > 0 for days in intervals.values()):
        return []
    rows = db.session.execute(
        select(Resident, Household.address, latest_check_column())
        .options(load_only(*_SCHEDULE_COLUMNS))  # not notes or ID numbers: the list needs neither
        .join(Household, Household.id == Resident.household_id)
        .where(
            *_candidate_filter(grid_ids, today),
            Household.occupancy != Occupancy.MOVED_OUT,
        )
    )
    due: list[DueCheck] = []
    for resident, address, last_checked_at in rows:
        flags = resident.care_flags(today)
        interval = interval_for_flags(flags, intervals)
        if interval is None:
            continue
        last_checked_on = _shanghai_date(last_checked_at)
        due_on = today if last_checked_on is None else last_checked_on + timedelta(days=interval)
        if due_on > today:
            continue
        due.append(
            DueCheck(
                resident=resident,
                household_id=resident.household_id,
                address=address,
                flags=flags,
                interval_days=interval,
                last_checked_on=last_checked_on,
                due_on=due_on,
                days_overdue=(today - due_on).days,
            )
        )
    due.sort(key=lambda check: (check.due_on, check.address, check.resident.id))
    return due


def _shanghai_date(moment: datetime | None) -> date | None:
    return moment.astimezone(SHANGHAI).date() if moment is not None else None
