from datetime import date

from webapp.models import Resident
from webapp.models.people import years_between


def test_age_counts_whole_years():
    assert years_between(date(1946, 11, 22), date(2026, 11, 21)) == 79
    assert years_between(date(1946, 11, 21), date(2026, 11, 21)) == 80


def test_leap_day_birthday_turns_a_year_older_on_first_march_in_common_years():
    assert years_between(date(1944, 2, 29), date(2025, 2, 28)) == 80
    assert years_between(date(1944, 2, 29), date(2025, 3, 1)) == 81


def test_derived_flags_come_from_the_birth_date():
    old = Resident(
        birth_date=date(1940, 1, 1),
        living_alone=True,
        empty_nest=False,
        disabled=False,
        low_income=False,
        special_care=False,
        floating=False,
    )
    child = Resident(
        birth_date=date(2015, 1, 1),
        living_alone=False,
        empty_nest=False,
        disabled=False,
        low_income=False,
        special_care=False,
        floating=False,
    )
    assert old.care_flags(date(2026, 11, 21)) == ["living_alone", "age_80_plus"]
    assert child.care_flags(date(2026, 11, 21)) == ["minor"]
