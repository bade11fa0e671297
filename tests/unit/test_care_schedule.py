"""The care schedule (DESIGN.md §3): who is checked on how often, and which checks are due."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time

import pytest

from webapp.extensions import db
from webapp.i18n import SHANGHAI
from webapp.models import ElderlyCheck, Setting
from webapp.rounds.care import (
    DEFAULT_CARE_INTERVALS,
    care_intervals,
    check_interval,
    due_elderly_checks,
    interval_for_flags,
    save_care_intervals,
)

BORN_80_PLUS = date(1940, 5, 1)
BORN_60 = date(1966, 5, 1)


@pytest.mark.parametrize(
    ("flags", "days"),
    [
        ({"living_alone", "age_80_plus"}, 7),
        ({"living_alone"}, 14),
        ({"empty_nest"}, 14),
        ({"empty_nest", "age_80_plus"}, 14),
        ({"age_80_plus"}, 30),
        ({"disabled"}, 90),
        ({"low_income"}, 90),
        ({"special_care"}, 90),
        ({"disabled", "age_80_plus"}, 30),
        ({"living_alone", "age_80_plus", "disabled", "low_income"}, 7),
        ({"minor", "disabled"}, 90),
        ({"floating", "empty_nest"}, 14),
        ({"floating"}, None),
        ({"minor"}, None),
        (set(), None),
    ],
)
def test_the_strictest_applicable_rule_sets_the_interval(flags, days):
    assert interval_for_flags(flags, DEFAULT_CARE_INTERVALS) == days


def test_zero_turns_a_rule_off_and_the_next_strictest_applies():
    intervals = {**DEFAULT_CARE_INTERVALS, "living_alone_80_plus": 0}
    assert interval_for_flags({"living_alone", "age_80_plus"}, intervals) == 14


def test_with_every_rule_off_nobody_has_a_schedule():
    intervals = dict.fromkeys(DEFAULT_CARE_INTERVALS, 0)
    assert interval_for_flags({"living_alone", "age_80_plus"}, intervals) is None


def test_defaults_apply_when_nothing_is_saved(app):
    assert (
        care_intervals()
        == DEFAULT_CARE_INTERVALS
        == {
            "living_alone_80_plus": 7,
            "living_alone_or_empty_nest": 14,
            "age_80_plus": 30,
            "other_care": 90,
            "community_correction": 30,
            "severe_disability": 30,
            "party_lost_contact": 30,
            "veteran": 0,
        }
    )


@pytest.mark.parametrize(
    "flags, days",
    [
        ({"community_correction"}, 30),  # 社区矫正: monthly
        ({"disabled", "severe_disability"}, 30),  # 一级、二级残疾
        ({"disabled"}, 90),  # other grades: with 低保 and 优抚
        ({"party_lost_contact"}, 30),
        ({"veteran"}, None),  # off until an admin sets days
        ({"party_member"}, None),  # a register, not a welfare check
    ],
)
def test_special_registers_have_their_own_intervals(flags, days):
    assert interval_for_flags(flags, DEFAULT_CARE_INTERVALS) == days


def test_missing_and_unusable_saved_values_fall_back_to_defaults(app):
    db.session.add(
        Setting(
            key="care_intervals",
            value={"age_80_plus": 21, "other_care": "often", "living_alone_or_empty_nest": -3},
        )
    )
    db.session.commit()
    assert care_intervals() == {**DEFAULT_CARE_INTERVALS, "age_80_plus": 21}


def test_saving_intervals_refuses_unknown_rules(app):
    with pytest.raises(ValueError):
        save_care_intervals({"pets": 3})


def test_age_80_is_derived_from_the_birth_date_on_the_day(gen_resident):
    resident = gen_resident(living_alone=True, birth_date=date(1946, 11, 22))
    assert check_interval(resident, date(2026, 11, 21)) == 14  # 79 until tomorrow
    assert check_interval(resident, date(2026, 11, 22)) == 7


def test_a_moved_out_resident_has_no_schedule(gen_resident):
    resident = gen_resident(living_alone=True, birth_date=BORN_80_PLUS, moved_out=True)
    assert check_interval(resident, date(2026, 11, 21)) is None


# --- due dates ------------------------------------------------------------------------------


@pytest.fixture
def worker(gen_user):
    return gen_user()


@pytest.fixture
def record_check(worker):
    """An elderly check made at Shanghai noon of `on` (or at the exact aware `at`)."""

    def record(resident, on: date | None = None, *, at=None, status="ok", corrects=None):
        at = at or datetime.combine(on, time(12), SHANGHAI).astimezone(UTC)
        check = ElderlyCheck(
            id=uuid.uuid4(),
            grid_id=resident.grid_id,
            author_id=worker.id,
            resident_id=resident.id,
            checked_at=at,
            method="in_person",
            status=status,
            corrects_id=corrects.id if corrects is not None else None,
        )
        db.session.add(check)
        db.session.flush()
        return check

    return record


def due_on(resident, today: date):
    """The resident's DueCheck on `today`, or None when not due."""
    for check in due_elderly_checks([resident.grid_id], today):
        if check.resident.id == resident.id:
            return check
    return None


def test_a_resident_never_checked_is_due_today(gen_resident):
    resident = gen_resident(empty_nest=True, birth_date=BORN_60)
    check = due_on(resident, date(2026, 11, 21))
    assert check.never_checked
    assert check.last_checked_on is None
    assert check.due_on == date(2026, 11, 21)
    assert check.days_overdue == 0


def test_a_check_on_january_31_plus_30_days_is_due_on_march_2_in_a_common_year(
    gen_resident, record_check
):
    resident = gen_resident(birth_date=BORN_80_PLUS)  # 80+ only: every 30 days
    record_check(resident, date(2027, 1, 31))
    assert due_on(resident, date(2027, 3, 1)) is None
    assert due_on(resident, date(2027, 3, 2)).due_on == date(2027, 3, 2)
    assert due_on(resident, date(2027, 3, 2)).days_overdue == 0
    assert due_on(resident, date(2027, 3, 5)).days_overdue == 3


def test_a_check_on_january_31_plus_30_days_is_due_on_march_1_in_a_leap_year(
    gen_resident, record_check
):
    resident = gen_resident(birth_date=BORN_80_PLUS)
    record_check(resident, date(2028, 1, 31))
    assert due_on(resident, date(2028, 2, 29)) is None
    assert due_on(resident, date(2028, 3, 1)).due_on == date(2028, 3, 1)


def test_a_check_on_february_29_is_due_two_weeks_later(gen_resident, record_check):
    resident = gen_resident(living_alone=True, birth_date=BORN_60)
    record_check(resident, date(2028, 2, 29))
    assert due_on(resident, date(2028, 3, 13)) is None
    assert due_on(resident, date(2028, 3, 14)).due_on == date(2028, 3, 14)


def test_a_weekly_check_falls_on_february_29_in_a_leap_year(gen_resident, record_check):
    resident = gen_resident(living_alone=True, birth_date=BORN_80_PLUS)
    record_check(resident, date(2028, 2, 22))
    assert due_on(resident, date(2028, 2, 29)).due_on == date(2028, 2, 29)


def test_a_weekly_check_from_february_28_is_due_on_march_7_in_a_common_year(
    gen_resident, record_check
):
    resident = gen_resident(living_alone=True, birth_date=BORN_80_PLUS)
    record_check(resident, date(2027, 2, 28))
    assert due_on(resident, date(2027, 3, 6)) is None
    assert due_on(resident, date(2027, 3, 7)).due_on == date(2027, 3, 7)


def test_due_dates_run_across_the_year_end(gen_resident, record_check):
    resident = gen_resident(living_alone=True, birth_date=BORN_80_PLUS)
    record_check(resident, date(2026, 12, 28))
    assert due_on(resident, date(2027, 1, 4)).due_on == date(2027, 1, 4)


def test_the_check_date_is_the_shanghai_date(gen_resident, record_check):
    resident = gen_resident(living_alone=True, birth_date=BORN_80_PLUS)
    # 16:30 UTC on 31 January is 00:30 on 1 February in Shanghai.
    record_check(resident, at=datetime(2027, 1, 31, 16, 30, tzinfo=UTC))
    assert due_on(resident, date(2027, 2, 7)) is None
    check = due_on(resident, date(2027, 2, 8))
    assert check.last_checked_on == date(2027, 2, 1)
    assert check.due_on == date(2027, 2, 8)


def test_only_the_latest_check_counts(gen_resident, record_check):
    resident = gen_resident(living_alone=True, birth_date=BORN_80_PLUS)
    record_check(resident, date(2026, 10, 1))
    record_check(resident, date(2026, 11, 18))
    record_check(resident, date(2026, 9, 1))  # synced late, made earlier
    assert due_on(resident, date(2026, 11, 21)) is None
    assert due_on(resident, date(2026, 11, 25)).last_checked_on == date(2026, 11, 18)


def test_a_check_that_did_not_reach_the_resident_does_not_reset_the_schedule(
    gen_resident, record_check
):
    resident = gen_resident(living_alone=True, birth_date=BORN_80_PLUS)
    record_check(resident, date(2026, 11, 1))
    record_check(resident, date(2026, 11, 20), status="not_reached")
    check = due_on(resident, date(2026, 11, 21))
    assert check.last_checked_on == date(2026, 11, 1)
    assert check.days_overdue == 13


def test_a_corrected_check_is_replaced_by_its_correction(gen_resident, record_check):
    resident = gen_resident(living_alone=True, birth_date=BORN_80_PLUS)
    wrong = record_check(resident, date(2026, 11, 20))
    record_check(resident, date(2026, 11, 2), corrects=wrong)
    assert due_on(resident, date(2026, 11, 21)).last_checked_on == date(2026, 11, 2)


def test_changing_the_interval_in_settings_changes_the_due_date(gen_resident, record_check):
    resident = gen_resident(birth_date=BORN_80_PLUS)
    record_check(resident, date(2026, 11, 1))
    assert due_on(resident, date(2026, 11, 21)) is None  # 30 days: due 1 December
    save_care_intervals({"age_80_plus": 10})
    db.session.commit()
    check = due_on(resident, date(2026, 11, 21))
    assert check.due_on == date(2026, 11, 11)
    assert check.days_overdue == 10


def test_a_rule_switched_off_in_settings_takes_residents_off_the_list(gen_resident):
    resident = gen_resident(disabled=True, birth_date=BORN_60)
    assert due_on(resident, date(2026, 11, 21)) is not None
    save_care_intervals({"other_care": 0})
    db.session.commit()
    assert due_on(resident, date(2026, 11, 21)) is None


def test_residents_who_moved_out_are_not_due(gen_resident, gen_household):
    gone = gen_resident(living_alone=True, birth_date=BORN_80_PLUS, moved_out=True)
    whole_household_gone = gen_resident(
        household=gen_household(grid=gone.household.grid, occupancy="moved_out"),
        living_alone=True,
        birth_date=BORN_80_PLUS,
    )
    assert due_on(gone, date(2026, 11, 21)) is None
    assert due_on(whole_household_gone, date(2026, 11, 21)) is None


def test_residents_without_a_scheduled_check_are_not_listed(gen_resident):
    household = gen_resident(birth_date=BORN_60).household
    gen_resident(household=household, floating=True, birth_date=BORN_60)
    gen_resident(household=household, birth_date=date(2015, 1, 1))  # a minor
    assert due_elderly_checks([household.grid_id], date(2026, 11, 21)) == []


def test_the_most_overdue_come_first(gen_grid, gen_household, gen_resident, record_check):
    grid = gen_grid()
    weekly = gen_resident(
        household=gen_household(grid=grid), living_alone=True, birth_date=BORN_80_PLUS
    )
    monthly = gen_resident(household=gen_household(grid=grid), birth_date=BORN_80_PLUS)
    never = gen_resident(household=gen_household(grid=grid), empty_nest=True, birth_date=BORN_60)
    record_check(weekly, date(2026, 11, 10))  # due 17 Nov: 4 days overdue
    record_check(monthly, date(2026, 10, 1))  # due 31 Oct: 21 days overdue
    checks = due_elderly_checks([grid.id], date(2026, 11, 21))
    assert [c.resident.id for c in checks] == [monthly.id, weekly.id, never.id]
    assert [c.days_overdue for c in checks] == [21, 4, 0]


def test_only_the_given_grids_are_listed(gen_grid, gen_household, gen_resident):
    mine, other = gen_grid(), gen_grid()
    gen_resident(household=gen_household(grid=mine), living_alone=True)
    gen_resident(household=gen_household(grid=other), living_alone=True)
    checks = due_elderly_checks([mine.id], date(2026, 11, 21))
    assert [c.resident.grid_id for c in checks] == [mine.id]
    assert due_elderly_checks([], date(2026, 11, 21)) == []


def test_the_latest_check_is_the_latest_reaching_one_with_corrections_in_place(
    gen_resident, record_check
):
    """The due list and the dashboards read each resident's latest check through one column
    (care.latest_check_column): the latest check that reached them, a correction in place of
    what it corrects, and only checks before `until`."""
    from sqlalchemy import select

    from webapp.models import Resident
    from webapp.rounds.care import latest_check_column

    latest = gen_resident(living_alone=True, birth_date=BORN_80_PLUS)
    october = record_check(latest, date(2026, 10, 1))
    november = record_check(latest, date(2026, 11, 18))
    unreached = gen_resident(living_alone=True, birth_date=BORN_80_PLUS)
    reached = record_check(unreached, date(2026, 11, 1))
    record_check(unreached, date(2026, 11, 20), status="not_reached")
    corrected = gen_resident(living_alone=True, birth_date=BORN_80_PLUS)
    wrong = record_check(corrected, date(2026, 11, 20))
    correction = record_check(corrected, date(2026, 11, 2), corrects=wrong)
    never = gen_resident(living_alone=True, birth_date=BORN_80_PLUS)
    people = [latest, unreached, corrected, never]
    expected = {
        None: [november, reached, correction, None],
        datetime(2026, 11, 10, tzinfo=UTC): [october, reached, correction, None],
    }
    for until, checks in expected.items():
        got = dict(
            db.session.execute(
                select(Resident.id, latest_check_column(until)).where(
                    Resident.id.in_([person.id for person in people])
                )
            ).all()
        )
        assert got == {
            person.id: check.checked_at if check else None
            for person, check in zip(people, checks, strict=True)
        }
