"""The care flags the database computes as a bit mask (webapp.rounds.care.care_flag_mask) are
the ones `Resident.care_flags` gives, for every combination and around every birthday that
matters, so the dashboards' fast path and the worker's due list apply one rule."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests import factories as f
from webapp.extensions import db
from webapp.models import Resident
from webapp.models.people import EDITABLE_CARE_FLAGS
from webapp.rounds import care

TODAYS = [date(2026, 10, 31), date(2028, 2, 29), date(2027, 3, 1), date(2026, 1, 1)]


def test_the_mask_gives_the_same_flags_as_the_resident(app):
    household = f.gen_household(f.gen_grid())
    residents = []
    for n, flag in enumerate((*EDITABLE_CARE_FLAGS, None)):
        for birth_date in (
            date(1946, 10, 31),  # 80 on 31 October 2026
            date(1946, 11, 1),  # 80 the day after
            date(1948, 2, 29),  # a 29 February birthday: 80 from 1 March 2028
            date(1990, 6, 1),
        ):
            for grade in (None, 1, 3):
                resident = f.gen_resident(household, birth_date=birth_date)
                if flag:
                    setattr(resident, flag, True)
                resident.disabled = resident.disabled or grade is not None
                resident.disability_grade = grade
                resident.living_alone = resident.living_alone or n % 3 == 0
                residents.append(resident)
    db.session.commit()
    for today in TODAYS:
        masks = dict(db.session.execute(select(Resident.id, care.care_flag_mask(today))).all())
        for resident in residents:
            expected = [flag for flag in resident.care_flags(today) if flag != "minor"]
            assert care.flags_from_mask(masks[resident.id]) == expected, (resident, today)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=(1 << len(care.MASK_FLAGS)) - 1))
def test_a_mask_names_each_of_its_flags_once_in_the_residents_order(mask):
    flags = care.flags_from_mask(mask)
    assert len(flags) == bin(mask).count("1")
    assert flags == [flag for flag in care.MASK_FLAGS if flag in flags]
