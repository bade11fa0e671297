"""The one parser for times and dates that come from clients: forms, ops, case actions, notices.

Python reads year 1 and year 9999 happily, and then arithmetic on them overflows: a case due
date of 9999-12-31 once broke the case page for everyone, and a year-1 visit time was a 500.
Nothing real in this app happens outside 2000–2100, so anything outside that window is refused
here, at the door, with a message people can act on.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask_babel import lazy_gettext

from webapp.i18n import SHANGHAI

EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
OUT_OF_WINDOW = lazy_gettext("Must be a date between the years 2000 and 2100.")


class OutOfWindow(ValueError):
    """A well-formed date outside EARLIEST..LATEST."""


def _check(day: date) -> None:
    if not EARLIEST <= day <= LATEST:
        raise OutOfWindow(str(OUT_OF_WINDOW))


def parse_moment(value: object) -> datetime:
    """An ISO 8601 time as an aware UTC datetime. Without an offset it is Shanghai wall-clock
    time (what a phone's datetime-local field sends). Raises ValueError, OutOfWindow."""
    text = str(value).strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except (ValueError, TypeError):
        raise ValueError("not an ISO 8601 time") from None
    _check(parsed.date())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=SHANGHAI)
    return parsed.astimezone(UTC)


def parse_day(value: object) -> date:
    """An ISO 8601 calendar date. Raises ValueError, OutOfWindow."""
    try:
        parsed = date.fromisoformat(str(value).strip())
    except (ValueError, TypeError):
        raise ValueError("not an ISO 8601 date") from None
    _check(parsed)
    return parsed
