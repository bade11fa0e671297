"""Wall-clock helpers: demo times are Shanghai office hours, stored as aware UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chinese_calendar import is_workday

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai_today() -> date:
    return datetime.now(SHANGHAI).date()


def local_time(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A Shanghai wall-clock time as an aware UTC datetime (UTCDateTime refuses naive ones)."""
    return datetime.combine(day, time(hour, minute, second), SHANGHAI).astimezone(UTC)


def _working(day: date) -> bool:
    try:
        return is_workday(day)  # the government calendar, 调休 make-up days included
    except NotImplementedError:  # a year the package does not cover yet
        return day.weekday() < 5


def add_workdays(start: datetime, days: int) -> datetime:
    """`start` plus `days` working days, at the same time of day."""
    current = start
    added = 0
    while added < days:
        current += timedelta(days=1)
        if _working(current.astimezone(SHANGHAI).date()):
            added += 1
    return current
