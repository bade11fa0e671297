"""Households and residents: the only mutable field data, guarded by `version`."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, relationship

from webapp.models.base import (
    INTERNAL,
    PERSONAL,
    SENSITIVE,
    Base,
    UTCDateTime,
    classified,
    utcnow,
)
from webapp.models.org import Building, Grid


class Occupancy(enum.StrEnum):
    OCCUPIED = "occupied"
    VACANT = "vacant"
    RENTED_OUT = "rented_out"
    MOVED_OUT = "moved_out"


class Household(Base):
    """户. `grid_id` is copied from the building so every scope filter is one indexed column."""

    __tablename__ = "households"

    id: Mapped[int] = classified(Integer, primary_key=True, privacy=INTERNAL)
    building_id: Mapped[int] = classified(ForeignKey("buildings.id"), index=True, privacy=INTERNAL)
    grid_id: Mapped[int] = classified(ForeignKey("grids.id"), index=True, privacy=INTERNAL)
    unit: Mapped[int] = classified(Integer, privacy=INTERNAL)  # 单元
    room: Mapped[str] = classified(String(16), privacy=INTERNAL)  # "501"
    # Full address as residents write it: "幸福里3号楼2单元501". A house address is not personal
    # data by itself; who lives there is.
    address: Mapped[str] = classified(String(200), index=True, privacy=INTERNAL)
    contact_phone: Mapped[str] = classified(String(32), default="", privacy=PERSONAL)
    occupancy: Mapped[str] = classified(String(16), default=Occupancy.OCCUPIED, privacy=INTERNAL)
    notes: Mapped[str] = classified(Text, default="", privacy=PERSONAL)
    version: Mapped[int] = classified(Integer, default=1, privacy=INTERNAL)
    change_seq: Mapped[int] = classified(BigInteger, default=0, index=True, privacy=INTERNAL)
    updated_at: Mapped[datetime] = classified(
        UTCDateTime, default=utcnow, onupdate=utcnow, privacy=INTERNAL
    )

    building: Mapped[Building] = relationship()
    grid: Mapped[Grid] = relationship()
    residents: Mapped[list[Resident]] = relationship(
        back_populates="household", order_by="Resident.id"
    )


# Care flags a worker can set. `age_80_plus` and `minor` are derived from the birth date.
EDITABLE_CARE_FLAGS = (
    "living_alone",
    "empty_nest",
    "disabled",
    "low_income",
    "special_care",
    "floating",
)


def years_between(born: date, on: date) -> int:
    """Whole years of age on `on`; a 29 February birthday counts from 1 March in common years."""
    years = on.year - born.year
    if (on.month, on.day) < (born.month, born.day):
        years -= 1
    return years


class Resident(Base):
    """居民. Health, disability, 低保, ID numbers and minors are `sensitive` (DESIGN.md §7)."""

    __tablename__ = "residents"

    id: Mapped[int] = classified(Integer, primary_key=True, privacy=INTERNAL)
    household_id: Mapped[int] = classified(
        ForeignKey("households.id"), index=True, privacy=INTERNAL
    )
    grid_id: Mapped[int] = classified(ForeignKey("grids.id"), index=True, privacy=INTERNAL)
    name: Mapped[str] = classified(String(50), index=True, privacy=PERSONAL)
    gender: Mapped[str] = classified(String(1), privacy=PERSONAL)  # "M" / "F"
    birth_date: Mapped[date] = classified(Date, index=True, privacy=PERSONAL)
    id_number: Mapped[str] = classified(String(18), default="", privacy=SENSITIVE)
    phone: Mapped[str] = classified(String(32), default="", index=True, privacy=PERSONAL)
    relation: Mapped[str] = classified(String(16), default="", privacy=PERSONAL)  # 户主, 配偶 …
    living_alone: Mapped[bool] = classified(Boolean, default=False, privacy=PERSONAL)
    empty_nest: Mapped[bool] = classified(Boolean, default=False, privacy=PERSONAL)
    disabled: Mapped[bool] = classified(Boolean, default=False, privacy=SENSITIVE)
    low_income: Mapped[bool] = classified(Boolean, default=False, privacy=SENSITIVE)
    special_care: Mapped[bool] = classified(Boolean, default=False, privacy=SENSITIVE)
    floating: Mapped[bool] = classified(Boolean, default=False, privacy=PERSONAL)
    moved_out: Mapped[bool] = classified(Boolean, default=False, privacy=INTERNAL)
    notes: Mapped[str] = classified(Text, default="", privacy=SENSITIVE)
    version: Mapped[int] = classified(Integer, default=1, privacy=INTERNAL)
    change_seq: Mapped[int] = classified(BigInteger, default=0, index=True, privacy=INTERNAL)
    updated_at: Mapped[datetime] = classified(
        UTCDateTime, default=utcnow, onupdate=utcnow, privacy=INTERNAL
    )

    household: Mapped[Household] = relationship(back_populates="residents")

    def age_on(self, today: date) -> int:
        return years_between(self.birth_date, today)

    def care_flags(self, today: date) -> list[str]:
        """Every care flag that applies, derived ones included, in a stable order."""
        flags = [flag for flag in EDITABLE_CARE_FLAGS if getattr(self, flag)]
        age = self.age_on(today)
        if age >= 80:
            flags.append("age_80_plus")
        if age < 18:
            flags.append("minor")
        return flags
