"""Households and residents: the only mutable field data, guarded by `version`."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    Uuid,
)
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


class ResidentStatus(enum.StrEnum):
    """Residents who leave stay in the register for history; `moved_out` mirrors "not active" so
    every existing filter (care schedule, counts) keeps working."""

    ACTIVE = "active"
    MOVED_OUT = "moved_out"
    DECEASED = "deceased"


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
    # 危房改造户: a household in the dilapidated-housing renovation programme (a special register).
    dilapidated: Mapped[bool] = classified(
        Boolean, default=False, server_default="0", privacy=INTERNAL
    )
    # The UUID the phone made when it created this household offline (`household.create`): a
    # re-sent create finds the row it made, and later ops may name the household by it.
    client_uuid: Mapped[uuid.UUID | None] = classified(Uuid, unique=True, privacy=INTERNAL)
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
    # Special registers the seeds name (DESIGN.md §7 classes in the columns below).
    "community_correction",  # 社区矫正对象
    "party_member",  # 党员
    "party_lost_contact",  # 失联党员
    "veteran",  # 退役军人
)


# Grades 1 and 2 (一级、二级) are severe disability, with a tighter check interval.
SEVERE_DISABILITY_GRADES = (1, 2)


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
    community_correction: Mapped[bool] = classified(
        Boolean, default=False, server_default="0", privacy=SENSITIVE
    )
    party_member: Mapped[bool] = classified(
        Boolean, default=False, server_default="0", privacy=PERSONAL
    )
    party_lost_contact: Mapped[bool] = classified(
        Boolean, default=False, server_default="0", privacy=PERSONAL
    )
    veteran: Mapped[bool] = classified(Boolean, default=False, server_default="0", privacy=PERSONAL)
    # 残疾等级 1 (most severe) to 4, from the disability certificate; None when not disabled.
    disability_grade: Mapped[int | None] = classified(SmallInteger, privacy=SENSITIVE)
    # Floating residents' 居住证 (residence permit) and where their household registration is.
    permit_number: Mapped[str] = classified(
        String(32), default="", server_default="", privacy=SENSITIVE
    )
    permit_expires_on: Mapped[date | None] = classified(Date, privacy=PERSONAL)
    origin_place: Mapped[str] = classified(
        String(100), default="", server_default="", privacy=PERSONAL
    )
    moved_in_on: Mapped[date | None] = classified(Date, privacy=PERSONAL)
    status: Mapped[str] = classified(
        String(16), default=ResidentStatus.ACTIVE, server_default="active", privacy=INTERNAL
    )
    left_on: Mapped[date | None] = classified(Date, privacy=PERSONAL)  # moved out or died on
    left_notes: Mapped[str] = classified(Text, default="", server_default="", privacy=SENSITIVE)
    client_uuid: Mapped[uuid.UUID | None] = classified(Uuid, unique=True, privacy=INTERNAL)
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
        if self.disabled and self.disability_grade in SEVERE_DISABILITY_GRADES:
            flags.append("severe_disability")
        return flags
