"""Departments as actors on cases, their parts of a case, and the working-day calendar
(DESIGN.md §4)."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, relationship

from webapp.models.base import INTERNAL, PERSONAL, PUBLIC, Base, UTCDateTime, classified, utcnow


class Department(Base):
    """A functional department (城管, 消防…) of one street office. Each street has its own: the
    city-management squad of one street is not the one of the next (谁家的孩子谁抱走)."""

    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("street_id", "name"),)

    id: Mapped[int] = classified(Integer, primary_key=True, privacy=INTERNAL)
    street_id: Mapped[int] = classified(ForeignKey("streets.id"), index=True, privacy=INTERNAL)
    name: Mapped[str] = classified(String(64), privacy=PUBLIC)
    is_active: Mapped[bool] = classified(Boolean, default=True, privacy=INTERNAL)
    created_at: Mapped[datetime] = classified(UTCDateTime, default=utcnow, privacy=INTERNAL)


class PartRole(enum.StrEnum):
    LEAD = "lead"  # 牵头
    ASSIST = "assist"  # 配合


class PartStatus(enum.StrEnum):
    ASSIGNED = "assigned"  # waiting for the department to sign (签收)
    SIGNED = "signed"  # being handled
    REPORTED = "reported"  # reported back (回单), waiting for the street's review (审核)
    APPROVED = "approved"  # review passed: this part is done
    RETURNED = "returned"  # the department returned it (退回) with a reason
    WITHDRAWN = "withdrawn"  # replaced by a new assignment


# Parts whose department still owes something; their clocks run.
ACTIVE_PART_STATUSES = (PartStatus.ASSIGNED, PartStatus.SIGNED, PartStatus.REPORTED)


class CasePart(Base):
    """One department's part of a case (联合处置: one lead, any number assisting), with its own
    status and its own clock: the sign limit runs from assignment, the handle limit from signing."""

    __tablename__ = "case_parts"

    id: Mapped[int] = classified(Integer, primary_key=True, privacy=INTERNAL)
    case_id: Mapped[uuid.UUID] = classified(ForeignKey("cases.id"), index=True, privacy=INTERNAL)
    department_id: Mapped[int] = classified(
        ForeignKey("departments.id"), index=True, privacy=INTERNAL
    )
    role: Mapped[str] = classified(String(16), default=PartRole.LEAD, privacy=INTERNAL)
    status: Mapped[str] = classified(
        String(16), default=PartStatus.ASSIGNED, index=True, privacy=INTERNAL
    )
    task: Mapped[str] = classified(Text, default="", privacy=INTERNAL)  # what this part is
    assigned_at: Mapped[datetime] = classified(UTCDateTime, default=utcnow, privacy=INTERNAL)
    signed_at: Mapped[datetime | None] = classified(UTCDateTime, privacy=INTERNAL)
    reported_at: Mapped[datetime | None] = classified(UTCDateTime, privacy=INTERNAL)
    finished_at: Mapped[datetime | None] = classified(UTCDateTime, privacy=INTERNAL)
    # The clock of the part's current stage (sign or handle); stops when reported back.
    stage_started_at: Mapped[datetime] = classified(UTCDateTime, default=utcnow, privacy=INTERNAL)
    warn_at: Mapped[datetime | None] = classified(UTCDateTime, privacy=INTERNAL)
    due_at: Mapped[datetime | None] = classified(UTCDateTime, index=True, privacy=INTERNAL)
    # Whether each stage ended in time, kept when it ends: the department's figures.
    signed_late: Mapped[bool | None] = classified(Boolean, privacy=INTERNAL)
    reported_late: Mapped[bool | None] = classified(Boolean, privacy=INTERNAL)
    result: Mapped[str] = classified(Text, default="", privacy=PERSONAL)
    photo_ids: Mapped[list[Any]] = classified(JSON, default=list, privacy=PERSONAL)
    return_reason: Mapped[str] = classified(Text, default="", privacy=PERSONAL)

    department: Mapped[Department] = relationship(lazy="joined")


class CalendarDay(Base):
    """A day that differs from Monday–Friday: a holiday on a weekday (`is_workday` false) or a
    make-up workday (调休) on a weekend. A year with any row here is read from this table alone;
    a year without is read from `chinesecalendar`, then Monday–Friday (webapp.cases.workdays)."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = classified(Date, primary_key=True, privacy=PUBLIC)
    is_workday: Mapped[bool] = classified(Boolean, privacy=PUBLIC)
    name: Mapped[str] = classified(String(64), default="", privacy=PUBLIC)  # 春节, 国庆节调休…
    source: Mapped[str] = classified(String(16), default="admin", privacy=INTERNAL)
    updated_at: Mapped[datetime] = classified(
        UTCDateTime, default=utcnow, onupdate=utcnow, privacy=INTERNAL
    )
