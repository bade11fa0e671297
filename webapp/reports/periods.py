"""Periods and areas a report is asked for (DESIGN.md §9: `--period YYYY-MM|YYYY-Qn`,
`--scope street:<id>|community:<id>|grid:<id>`).

A period is a half-open span of Shanghai calendar days turned into UTC instants, because records
and case events are stored in UTC and a "November" that starts at UTC midnight would drop the
first eight hours of 1 November in Beijing. The dashboards also offer "the last 90 days", the
window of the public per-community figures, so the two pages can be read side by side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from webapp.auth.scope import Scope
from webapp.extensions import db
from webapp.i18n import SHANGHAI
from webapp.models import Community, Grid, Street
from webapp.public.figures import WINDOW_DAYS

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
RECENT = f"last{WINDOW_DAYS}d"


# The shell's view (the ledger CLI, benchmarks): everything, masked like a street office's.
EVERYTHING_SCOPE = Scope(True, frozenset(), frozenset(), frozenset())


class BadReportRequest(ValueError):
    """A period or area that cannot be read; the message is shown to the user as it is."""


@dataclass(frozen=True)
class Period:
    code: str  # "2026-11", "2026-Q4", "last90d"
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    first_day: date  # Shanghai
    last_day: date  # Shanghai, inclusive

    @property
    def label(self) -> str:
        if self.code == RECENT:
            return _("Last %(days)d days", days=WINDOW_DAYS)
        if MONTH.match(self.code):
            return _("%(year)d-%(month)02d", year=self.first_day.year, month=self.first_day.month)
        return _(
            "%(year)d Q%(quarter)d",
            year=self.first_day.year,
            quarter=(self.first_day.month - 1) // 3 + 1,
        )

    def clipped_end(self, now: datetime) -> datetime:
        """The end of the period, or now if the period is not over yet."""
        return min(self.end, now)

    def as_of(self, now: datetime) -> date:
        """The Shanghai day a state-at-the-end figure (care schedule) is read on."""
        return min(self.last_day, now.astimezone(SHANGHAI).date())


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), SHANGHAI).astimezone(UTC)


def _span(code: str, first: date, after_last: date) -> Period:
    return Period(code, _midnight(first), _midnight(after_last), first, after_last - timedelta(1))


def parse_period(code: str, now: datetime) -> Period:
    """`YYYY-MM`, `YYYY-Qn` or `last90d`; raises BadReportRequest with a message for people."""
    code = (code or "").strip()
    if code == RECENT:
        # The public figures' window exactly: the last 90 × 24 hours up to now.
        start = now - timedelta(days=WINDOW_DAYS)
        return Period(
            RECENT, start, now, start.astimezone(SHANGHAI).date(), now.astimezone(SHANGHAI).date()
        )
    if match := MONTH.match(code):
        year, month = int(match[1]), int(match[2])
        if 1 <= month <= 12 and 2000 <= year <= 2100:
            first = date(year, month, 1)
            after = date(year + month // 12, month % 12 + 1, 1)
            return _span(f"{year:04d}-{month:02d}", first, after)
    if match := QUARTER.match(code):
        year, quarter = int(match[1]), int(match[2])
        if 2000 <= year <= 2100:
            first = date(year, 3 * quarter - 2, 1)
            after = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
            return _span(f"{year:04d}-Q{quarter}", first, after)
    raise BadReportRequest(
        _(
            "Period “%(code)s” is not valid: use a month (2026-11) or a quarter (2026-Q4).",
            code=code[:20],
        )
    )


def current_month(now: datetime) -> str:
    today = now.astimezone(SHANGHAI).date()
    return f"{today.year:04d}-{today.month:02d}"


def previous_month(now: datetime) -> str:
    first = now.astimezone(SHANGHAI).date().replace(day=1)
    last = first - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def period_choices(now: datetime) -> list[str]:
    """The filter's choices: six months, this quarter and the last, the last 90 days."""
    today = now.astimezone(SHANGHAI).date()
    months = []
    year, month = today.year, today.month
    for _i in range(6):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    quarter = (today.month - 1) // 3 + 1
    last_quarter = (today.year, quarter - 1) if quarter > 1 else (today.year - 1, 4)
    quarters = [f"{today.year:04d}-Q{quarter}", f"{last_quarter[0]:04d}-Q{last_quarter[1]}"]
    return [*months, *quarters, RECENT]


@dataclass(frozen=True)
class Area:
    """A street, community or grid, with the grids it holds (a report never reads past them)."""

    kind: str  # "street" | "community" | "grid"
    id: int
    name: str
    grid_ids: tuple[int, ...]

    @property
    def code(self) -> str:
        return f"{self.kind}:{self.id}"


def parse_area(code: str, scope: Scope) -> Area:
    """`street:<id>`, `community:<id>` or `grid:<id>` inside `scope`. Outside it, or unknown, the
    same error: a report must not tell an outsider which ids exist."""
    kind, _sep, raw_id = (code or "").strip().partition(":")
    if not raw_id.isdigit() or len(raw_id) > 12 or kind not in ("street", "community", "grid"):
        raise BadReportRequest(
            _(
                "Area “%(code)s” is not valid. Use street:<id>, community:<id> or grid:<id>.",
                code=(code or "")[:40],
            )
        )
    area_id = int(raw_id)
    if kind == "street":
        unit = db.session.get(Street, area_id)
        allowed = scope.everything or area_id in scope.street_ids
        grid_query = select(Grid.id).join(Community).where(Community.street_id == area_id)
    elif kind == "community":
        unit = db.session.get(Community, area_id)
        allowed = scope.everything or area_id in scope.community_ids
        grid_query = select(Grid.id).where(Grid.community_id == area_id)
    else:
        unit = db.session.get(Grid, area_id)
        allowed = scope.covers_grid(area_id)
        grid_query = select(Grid.id).where(Grid.id == area_id)
    if unit is None or not allowed:
        raise BadReportRequest(_("This area does not exist or is outside your responsibility."))
    grid_ids = tuple(sorted(db.session.scalars(grid_query)))
    if not scope.everything:
        grid_ids = tuple(grid_id for grid_id in grid_ids if grid_id in scope.grid_ids)
    return Area(kind, area_id, unit.name, grid_ids)


def default_area_code(scope: Scope) -> str | None:
    """The widest unit the user holds: their street, else their community, else their grid."""
    if scope.everything:
        street_id = db.session.scalar(select(Street.id).order_by(Street.code).limit(1))
        return f"street:{street_id}" if street_id is not None else None
    for kind, ids in (
        ("street", scope.street_ids),
        ("community", scope.community_ids),
        ("grid", scope.grid_ids),
    ):
        if ids:
            return f"{kind}:{min(ids)}"
    return None


def area_choices(scope: Scope) -> list[tuple[str, str]]:
    """(code, name) of every unit the filter offers, widest first."""
    choices: list[tuple[str, str]] = []
    streets = select(Street).order_by(Street.code)
    communities = select(Community).order_by(Community.code)
    grids = select(Grid).order_by(Grid.code)
    if not scope.everything:
        streets = streets.where(Street.id.in_(scope.street_ids))
        communities = communities.where(Community.id.in_(scope.community_ids))
        grids = grids.where(Grid.id.in_(scope.grid_ids))
    choices += [(f"street:{s.id}", s.name) for s in db.session.scalars(streets)]
    choices += [(f"community:{c.id}", c.name) for c in db.session.scalars(communities)]
    if not scope.everything:  # an admin picks a grid through its community: 2,000 is no menu
        choices += [(f"grid:{g.id}", g.name) for g in db.session.scalars(grids)]
    return choices
