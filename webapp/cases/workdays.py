"""Working days on the Chinese government calendar (DESIGN.md §4).

`chinesecalendar` knows the public holidays and the make-up workdays (调休) it has been told
about; for a year it does not cover, Monday–Friday is the best guess. Time limits are counted in
Asia/Shanghai: "3 working days" from a report means "by the end of the third working day after
the day it arrived", the way 限时办结 is read in government practice.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import chinese_calendar

from webapp.i18n import SHANGHAI

END_OF_DAY = time(23, 59, 59)


@lru_cache(maxsize=4096)
def is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # a year the package has no data for
        return day.weekday() < 5


def add_workdays(start: datetime, days: int) -> datetime:
    """End (23:59:59 Shanghai) of the `days`-th working day after the day of `start`.
    Zero means the end of the start day if it is a working day, else of the next one."""
    day = start.astimezone(SHANGHAI).date()
    if days <= 0:
        while not is_workday(day):
            day += timedelta(days=1)
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_workday(day):
            counted += 1
    return datetime.combine(day, END_OF_DAY, tzinfo=SHANGHAI).astimezone(UTC)


def workdays_between(start: datetime, end: datetime) -> int:
    """Working days after `start`'s day up to and including `end`'s day (negative if reversed)."""
    first, last = start.astimezone(SHANGHAI).date(), end.astimezone(SHANGHAI).date()
    sign = 1
    if last < first:
        first, last, sign = last, first, -1
    count = 0
    day = first
    while day < last:
        day += timedelta(days=1)
        if is_workday(day):
            count += 1
    return sign * count
