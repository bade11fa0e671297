"""Working-day arithmetic on the Chinese government calendar, 调休 included."""

from datetime import UTC, date, datetime, timedelta

import pytest

from webapp.cases.workdays import add_workdays, is_workday, workdays_between
from webapp.i18n import SHANGHAI


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


def local_day(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def test_spring_festival_2026_is_skipped_and_its_makeup_saturdays_count():
    # 2026-02-15 … 02-23 are holidays; Saturday 02-14 and Saturday 02-28 are make-up workdays.
    assert is_workday(date(2026, 2, 14)) and is_workday(date(2026, 2, 28))
    assert not is_workday(date(2026, 2, 16))
    assert local_day(add_workdays(at("2026-02-13"), 1)) == date(2026, 2, 14)
    assert local_day(add_workdays(at("2026-02-13"), 2)) == date(2026, 2, 24)


def test_national_day_2026_with_the_saturday_makeup_day():
    # 10-01 … 10-07 off; Saturday 10-10 is worked.
    assert local_day(add_workdays(at("2026-09-30"), 1)) == date(2026, 10, 8)
    assert local_day(add_workdays(at("2026-10-09"), 1)) == date(2026, 10, 10)
    assert local_day(add_workdays(at("2026-10-09"), 2)) == date(2026, 10, 12)


def test_an_ordinary_weekend_is_skipped():
    # Friday 2026-11-20 + 1 working day = Monday 2026-11-23.
    assert local_day(add_workdays(at("2026-11-20"), 1)) == date(2026, 11, 23)


def test_deadlines_fall_at_the_end_of_the_shanghai_day():
    deadline = add_workdays(at("2026-11-18"), 1)
    assert deadline.tzinfo is not None
    assert deadline.astimezone(SHANGHAI).time().isoformat() == "23:59:59"
    assert deadline == datetime(2026, 11, 19, 15, 59, 59, tzinfo=UTC)


def test_a_report_late_at_night_utc_counts_from_its_shanghai_day():
    # 2026-11-19T17:00Z is already Friday 20 November in Shanghai.
    late = datetime(2026, 11, 19, 17, 0, tzinfo=UTC)
    assert local_day(add_workdays(late, 1)) == date(2026, 11, 23)


def test_zero_days_means_today_or_the_next_workday():
    assert local_day(add_workdays(at("2026-11-18"), 0)) == date(2026, 11, 18)
    assert local_day(add_workdays(at("2026-11-21"), 0)) == date(2026, 11, 23)  # a Saturday


def test_month_and_year_ends():
    assert local_day(add_workdays(at("2026-04-30"), 1)) == date(2026, 5, 6)  # 劳动节 5-01…05
    assert local_day(add_workdays(at("2026-01-30"), 1)) == date(2026, 2, 2)  # Fri → Mon


def test_years_without_calendar_data_fall_back_to_monday_to_friday():
    assert is_workday(date(2031, 1, 1))  # a Wednesday; no holiday data for 2031
    assert not is_workday(date(2031, 1, 4))  # a Saturday
    assert local_day(add_workdays(at("2031-01-03"), 1)) == date(2031, 1, 6)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-11-20", "2026-11-23", 1),
        ("2026-02-13", "2026-02-24", 2),
        ("2026-11-23", "2026-11-20", -1),
    ],
)
def test_workdays_between(start, end, expected):
    assert workdays_between(at(start), at(end)) == expected


def _counted_day_by_day(start: datetime, days: int) -> date:
    """The rule as written: walk the calendar one day at a time."""
    day = local_day(start)
    if days <= 0:
        while not is_workday(day):
            day += timedelta(days=1)
        return day
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        counted += is_workday(day)
    return day


@pytest.mark.parametrize("first", ["2025-12-20", "2026-02-10", "2026-09-26", "2026-12-27"])
def test_running_counts_agree_with_walking_the_calendar_day_by_day(first):
    # Across the Spring Festival, National Day, weekends, make-up Saturdays and a year's end.
    start = at(first)
    for offset in range(0, 40, 3):
        moment = start + timedelta(days=offset)
        for days in (0, 1, 2, 5, 12, 30):
            assert local_day(add_workdays(moment, days)) == _counted_day_by_day(moment, days)
        for later in (0, 1, 9, 40, 400):
            end = moment + timedelta(days=later)
            walked = sum(
                is_workday(local_day(moment) + timedelta(days=n)) for n in range(1, later + 1)
            )
            assert workdays_between(moment, end) == walked
            assert workdays_between(end, moment) == -walked
