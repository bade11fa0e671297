"""Cases and their append-only timeline (DESIGN.md §4)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, relationship

from webapp.models.base import INTERNAL, PERSONAL, Base, UTCDateTime, classified, utcnow


class CaseStatus(enum.StrEnum):
    OPEN = "open"
    ESCALATED = "escalated"
    ACCEPTED = "accepted"
    RESOLVED = "resolved"
    CLOSED = "closed"


class CaseLevel(enum.StrEnum):
    GRID = "grid"
    COMMUNITY = "community"
    STREET = "street"


class Case(Base):
    """A matter the grid could not settle on the spot. `home_grid_id` never changes (属地)."""

    __tablename__ = "cases"

    id: Mapped[uuid.UUID] = classified(Uuid, primary_key=True, default=uuid.uuid4, privacy=INTERNAL)
    number: Mapped[str] = classified(String(32), unique=True, privacy=INTERNAL)  # "AJ20261121-0001"
    home_grid_id: Mapped[int] = classified(ForeignKey("grids.id"), index=True, privacy=INTERNAL)
    source_kind: Mapped[str] = classified(String(32), privacy=INTERNAL)
    source_record_id: Mapped[uuid.UUID | None] = classified(Uuid, index=True, privacy=INTERNAL)
    # Where the matter is, when it concerns one household or resident: lets the household page
    # list its cases and keeps "not reached twice running" from opening a second case.
    household_id: Mapped[int | None] = classified(
        ForeignKey("households.id"), index=True, privacy=INTERNAL
    )
    resident_id: Mapped[int | None] = classified(
        ForeignKey("residents.id"), index=True, privacy=INTERNAL
    )
    title: Mapped[str] = classified(String(200), privacy=INTERNAL)
    category: Mapped[str] = classified(String(32), privacy=INTERNAL)
    severity: Mapped[str] = classified(String(16), privacy=INTERNAL)
    status: Mapped[str] = classified(
        String(16), default=CaseStatus.OPEN, index=True, privacy=INTERNAL
    )
    level: Mapped[str] = classified(
        String(16), default=CaseLevel.GRID, index=True, privacy=INTERNAL
    )
    assigned_department: Mapped[str] = classified(String(64), default="", privacy=INTERNAL)
    assigned_user_id: Mapped[int | None] = classified(ForeignKey("users.id"), privacy=INTERNAL)
    stage_started_at: Mapped[datetime] = classified(UTCDateTime, default=utcnow, privacy=INTERNAL)
    # The current stage's deadlines: yellow (warning) and red (overdue). Pauses push both out by
    # the time paused (see webapp.cases.limits.effective).
    warn_at: Mapped[datetime | None] = classified(UTCDateTime, privacy=INTERNAL)
    due_at: Mapped[datetime | None] = classified(UTCDateTime, index=True, privacy=INTERNAL)
    paused_at: Mapped[datetime | None] = classified(UTCDateTime, privacy=INTERNAL)
    paused_seconds: Mapped[int] = classified(Integer, default=0, privacy=INTERNAL)
    supervised: Mapped[bool] = classified(Boolean, default=False, privacy=INTERNAL)
    supervise_deadline: Mapped[datetime | None] = classified(UTCDateTime, privacy=INTERNAL)
    result: Mapped[str] = classified(Text, default="", privacy=PERSONAL)
    satisfaction: Mapped[str] = classified(String(32), default="", privacy=INTERNAL)
    opened_at: Mapped[datetime] = classified(UTCDateTime, default=utcnow, privacy=INTERNAL)
    resolved_at: Mapped[datetime | None] = classified(UTCDateTime, privacy=INTERNAL)
    closed_at: Mapped[datetime | None] = classified(UTCDateTime, privacy=INTERNAL)
    version: Mapped[int] = classified(Integer, default=1, privacy=INTERNAL)
    change_seq: Mapped[int] = classified(BigInteger, default=0, index=True, privacy=INTERNAL)

    # Optimistic locking: two writers (two `sla tick` runs, a tick and a clerk) cannot both move
    # a case from the same state; the loser gets StaleDataError and retries or skips.
    __mapper_args__ = {"version_id_col": version}

    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", lazy="selectin"
    )


class CaseEvent(Base):
    """One timeline entry: who did what, when, from which state. Never updated or deleted."""

    __tablename__ = "case_events"

    id: Mapped[int] = classified(Integer, primary_key=True, privacy=INTERNAL)
    case_id: Mapped[uuid.UUID] = classified(ForeignKey("cases.id"), index=True, privacy=INTERNAL)
    actor_id: Mapped[int | None] = classified(ForeignKey("users.id"), privacy=INTERNAL)
    at: Mapped[datetime] = classified(UTCDateTime, default=utcnow, privacy=INTERNAL)
    action: Mapped[str] = classified(String(32), privacy=INTERNAL)
    from_status: Mapped[str] = classified(String(16), privacy=INTERNAL)
    to_status: Mapped[str] = classified(String(16), privacy=INTERNAL)
    from_level: Mapped[str] = classified(String(16), privacy=INTERNAL)
    to_level: Mapped[str] = classified(String(16), privacy=INTERNAL)
    note: Mapped[str] = classified(Text, default="", privacy=PERSONAL)
    data: Mapped[dict[str, Any]] = classified(JSON, default=dict, privacy=INTERNAL)

    case: Mapped[Case] = relationship(back_populates="events")
