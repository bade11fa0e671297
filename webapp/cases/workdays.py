"""Working days on the Chinese government calendar (DESIGN.md §4).

The calendar is a table (`calendar_days`) that admin can edit: holidays on weekdays and make-up
workdays (调休) on weekends. It is seeded from `chinesecalendar`, which is only told about a year
once the State Council publishes it (in late autumn), so a coming year is typed in by hand. A year
with any row in the table is read from the table alone; a year without is read from the package;
a year the package does not cover either is Monday–Friday, the best guess.

Time limits are counted in Asia/Shanghai: "3 working days" from a report means "by the end of the
third working day after the day it arrived", the way 限时办结 is read in government practice.
"""

from __future__ import annotations

import time as monotonic_time
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import chinese_calendar
from chinese_calendar import constants as package_calendar
from flask import current_app, has_app_context
from sqlalchemy import select

from webapp.i18n import SHANGHAI

END_OF_DAY = time(23, 59, 59)
# Other server processes see an admin's edit within this long; this one sees it at once.
CACHE_SECONDS = 60

HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


@dataclass(frozen=True)
class CalendarTable:
    days: dict[date, bool]
    years: frozenset[int]
    # Per year, the running count of working days through each day of it: counting and adding
    # working days become a subtraction and a bisection (a street's 90 days replay ~1,400).
    running: dict[int, list[int]] = field(default_factory=dict, compare=False, repr=False)


_EMPTY = CalendarTable({}, frozenset())


def _table() -> CalendarTable:
    """The admin-editable table, cached per app for a short while (the board asks often)."""
    if not has_app_context():
        return _EMPTY
    cached = current_app.extensions.get("work_calendar")
    if cached is not None and monotonic_time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    from webapp.extensions import db
    from webapp.models import CalendarDay

    rows = db.session.execute(select(CalendarDay.day, CalendarDay.is_workday)).all()
    table = CalendarTable(
        {day: workday for day, workday in rows}, frozenset(day.year for day, _w in rows)
    )
    current_app.extensions["work_calendar"] = (monotonic_time.monotonic(), table)
    return table


def forget_cached_calendar() -> None:
    """After an edit of the table: this process reads it again at once."""
    if has_app_context():
        current_app.extensions.pop("work_calendar", None)


@lru_cache(maxsize=8192)
def _package_is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # a year the package has no data for
        return day.weekday() < 5


def package_covers(year: int) -> bool:
    return any(day.year == year for day in package_calendar.holidays)


def package_days(year: int) -> list[tuple[date, bool, str]]:
    """The package's holidays and make-up workdays of `year`: what seeding copies."""
    days = [
        (day, False, HOLIDAY_NAMES.get(name, name))
        for day, name in package_calendar.holidays.items()
        if day.year == year
    ]
    days += [
        (day, True, HOLIDAY_NAMES.get(name, name) + "调休")
        for day, name in package_calendar.workdays.items()
        if day.year == year
    ]
    return sorted(days)


def calendar_source(year: int, table: CalendarTable | None = None) -> str:
    """Where `year`'s working days come from: "table", "package" or "weekdays" (a guess)."""
    table = table or _table()
    if year in table.years:
        return "table"
    return "package" if package_covers(year) else "weekdays"


def is_workday(day: date, table: CalendarTable | None = None) -> bool:
    table = table or _table()
    if day.year in table.years:
        return table.days.get(day, day.weekday() < 5)
    return _package_is_workday(day)


def _running_counts(year: int, table: CalendarTable) -> list[int]:
    """Working days of `year` from 1 January through each day (index: day of the year − 1)."""
    counts = table.running.get(year)
    if counts is None:
        counts, total, day = [], 0, date(year, 1, 1)
        while day.year == year:
            total += is_workday(day, table)
            counts.append(total)
            if day == date.max:
                break
            day += timedelta(days=1)
        table.running[year] = counts
    return counts


def _day_index(day: date) -> int:
    return day.timetuple().tm_yday - 1


def add_workdays(start: datetime, days: int) -> datetime:
    """End (23:59:59 Shanghai) of the `days`-th working day after the day of `start`.
    Zero means the end of the start day if it is a working day, else of the next one."""
    day = start.astimezone(SHANGHAI).date()
    table = _table()  # once per call: the replay of a street-month counts thousands of days
    counts = _running_counts(day.year, table)
    index = _day_index(day)
    # The first day whose running count reaches the target is the working day sought: the
    # `days`-th after today, or for zero today itself if it is one, else the next.
    if days > 0:
        target = counts[index] + days
    else:
        target = counts[index] + (0 if is_workday(day, table) else 1)
    year = day.year
    found = bisect_left(counts, target, lo=index)
    while found == len(counts):  # into the next year(s)
        target -= counts[-1]
        year += 1
        counts = _running_counts(year, table)
        found = bisect_left(counts, target)
    sought = date(year, 1, 1) + timedelta(days=found)
    return datetime.combine(sought, END_OF_DAY, tzinfo=SHANGHAI).astimezone(UTC)


def workdays_between(start: datetime, end: datetime) -> int:
    """Working days after `start`'s day up to and including `end`'s day (negative if reversed)."""
    first, last = start.astimezone(SHANGHAI).date(), end.astimezone(SHANGHAI).date()
    sign = 1
    if last < first:
        first, last, sign = last, first, -1
    table = _table()
    count = _running_counts(last.year, table)[_day_index(last)]
    count -= _running_counts(first.year, table)[_day_index(first)]
    for year in range(first.year, last.year):  # the years between: their whole totals
        count += _running_counts(year, table)[-1]
    return sign * count


# --- editing the table (admin) --------------------------------------------------------------------


def calendar_rows(year: int):
    from webapp.extensions import db
    from webapp.models import CalendarDay

    return db.session.scalars(
        select(CalendarDay)
        .where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
        .order_by(CalendarDay.day)
    ).all()


def seed_year_from_package(year: int) -> int:
    """Copy the package's days of `year` into the table (those not there yet); returns how many."""
    from webapp.extensions import db
    from webapp.models import CalendarDay

    have = {row.day for row in calendar_rows(year)}
    added = 0
    for day, workday, name in package_days(year):
        if day not in have:
            db.session.add(CalendarDay(day=day, is_workday=workday, name=name, source="package"))
            added += 1
    db.session.flush()
    forget_cached_calendar()
    return added


def set_calendar_day(day: date, workday: bool, name: str) -> None:
    """Mark `day` as a holiday or a make-up workday. The first row of a year the package covers
    brings the package's other days along: from then on the table alone speaks for that year."""
    from webapp.extensions import db
    from webapp.models import CalendarDay

    if calendar_source(day.year) == "package":
        seed_year_from_package(day.year)
    row = db.session.get(CalendarDay, day)
    if row is None:
        db.session.add(CalendarDay(day=day, is_workday=workday, name=name, source="admin"))
    else:
        row.is_workday, row.name, row.source = workday, name, "admin"
    db.session.flush()
    forget_cached_calendar()


def remove_calendar_day(day: date) -> bool:
    from webapp.extensions import db
    from webapp.models import CalendarDay

    row = db.session.get(CalendarDay, day)
    if row is None:
        return False
    db.session.delete(row)
    db.session.flush()
    forget_cached_calendar()
    return True
