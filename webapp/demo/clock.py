"""Wall-clock helpers: demo times are Shanghai office hours, stored as aware UTC. Working days
come from the app's own calendar so demo deadlines agree with the pages."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from webapp.cases.workdays import add_workdays  # noqa: F401  (re-exported for the generator)
from webapp.i18n import SHANGHAI


def shanghai_today() -> date:
    return datetime.now(SHANGHAI).date()


def local_time(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A Shanghai wall-clock time as an aware UTC datetime (UTCDateTime refuses naive ones)."""
    return datetime.combine(day, time(hour, minute, second), SHANGHAI).astimezone(UTC)
