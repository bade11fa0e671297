"""Field records: immutable events made by grid workers, keyed by a client-made UUID.

A record is never edited; a correction is a new record whose `corrects_id` names the old one.
Lists and small structures (needs, parties, photo ids, location) are JSON: they are read whole
with their record and never queried by element.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, declared_attr

from webapp.models.base import (
    INTERNAL,
    PERSONAL,
    SENSITIVE,
    Base,
    UTCDateTime,
    classified,
    utcnow,
)


class RecordKind(enum.StrEnum):
    VISIT = "visit"
    DISPUTE = "dispute"
    ELDERLY_CHECK = "elderly_check"
    HAZARD = "hazard"


class Severity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class FieldRecord:
    """Columns every record kind shares."""

    id: Mapped[uuid.UUID] = classified(Uuid, primary_key=True, privacy=INTERNAL)
    author_id: Mapped[int] = classified(ForeignKey("users.id"), index=True, privacy=INTERNAL)
    # Kept as the phone told it; the server's own clock is `received_at` (DESIGN.md §5).
    client_time: Mapped[datetime | None] = classified(UTCDateTime, privacy=INTERNAL)
    received_at: Mapped[datetime] = classified(UTCDateTime, default=utcnow, privacy=INTERNAL)
    clock_skew_flagged: Mapped[bool] = classified(Boolean, default=False, privacy=INTERNAL)
    change_seq: Mapped[int] = classified(BigInteger, default=0, index=True, privacy=INTERNAL)
    photo_ids: Mapped[list[str]] = classified(JSON, default=list, privacy=PERSONAL)

    @declared_attr
    def grid_id(cls) -> Mapped[int]:
        return classified(ForeignKey("grids.id"), index=True, privacy=INTERNAL)

    @declared_attr
    def corrects_id(cls) -> Mapped[uuid.UUID | None]:
        return classified(Uuid, index=True, privacy=INTERNAL)


class Visit(FieldRecord, Base):
    """入户走访."""

    __tablename__ = "visits"

    household_id: Mapped[int] = classified(
        ForeignKey("households.id"), index=True, privacy=INTERNAL
    )
    visited_at: Mapped[datetime] = classified(UTCDateTime, index=True, privacy=INTERNAL)
    visit_kind: Mapped[str] = classified(String(32), privacy=INTERNAL)
    present_resident_ids: Mapped[list[int]] = classified(JSON, default=list, privacy=PERSONAL)
    needs: Mapped[list[str]] = classified(JSON, default=list, privacy=SENSITIVE)
    notes: Mapped[str] = classified(Text, default="", privacy=SENSITIVE)
    location: Mapped[dict[str, Any] | None] = classified(JSON, privacy=PERSONAL)


class Dispute(FieldRecord, Base):
    """矛盾纠纷."""

    __tablename__ = "disputes"

    household_id: Mapped[int | None] = classified(
        ForeignKey("households.id"), index=True, privacy=INTERNAL
    )
    place: Mapped[str] = classified(String(200), default="", privacy=INTERNAL)
    category: Mapped[str] = classified(String(32), privacy=INTERNAL)
    parties: Mapped[list[dict[str, Any]]] = classified(JSON, default=list, privacy=PERSONAL)
    summary: Mapped[str] = classified(Text, privacy=PERSONAL)
    severity: Mapped[str] = classified(String(16), privacy=INTERNAL)
    resolved_on_site: Mapped[bool] = classified(Boolean, default=False, privacy=INTERNAL)
    mediation_notes: Mapped[str] = classified(Text, default="", privacy=PERSONAL)


class ElderlyCheck(FieldRecord, Base):
    """老人探访."""

    __tablename__ = "elderly_checks"

    resident_id: Mapped[int] = classified(ForeignKey("residents.id"), index=True, privacy=INTERNAL)
    checked_at: Mapped[datetime] = classified(UTCDateTime, index=True, privacy=INTERNAL)
    method: Mapped[str] = classified(String(16), privacy=INTERNAL)
    status: Mapped[str] = classified(String(16), privacy=SENSITIVE)
    health_notes: Mapped[str] = classified(Text, default="", privacy=SENSITIVE)
    living_notes: Mapped[str] = classified(Text, default="", privacy=SENSITIVE)
    needs: Mapped[list[str]] = classified(JSON, default=list, privacy=SENSITIVE)


class Hazard(FieldRecord, Base):
    """安全隐患."""

    __tablename__ = "hazards"

    building_id: Mapped[int | None] = classified(
        ForeignKey("buildings.id"), index=True, privacy=INTERNAL
    )
    place: Mapped[str] = classified(String(200), default="", privacy=INTERNAL)
    location: Mapped[dict[str, Any] | None] = classified(JSON, privacy=INTERNAL)
    category: Mapped[str] = classified(String(32), privacy=INTERNAL)
    severity: Mapped[str] = classified(String(16), privacy=INTERNAL)
    description: Mapped[str] = classified(Text, privacy=INTERNAL)
    fixed_on_site: Mapped[bool] = classified(Boolean, default=False, privacy=INTERNAL)


RECORD_MODELS: dict[RecordKind, type[FieldRecord]] = {
    RecordKind.VISIT: Visit,
    RecordKind.DISPUTE: Dispute,
    RecordKind.ELDERLY_CHECK: ElderlyCheck,
    RecordKind.HAZARD: Hazard,
}


class Attachment(Base):
    """A photo, re-encoded and stripped of EXIF, stored under the instance folder by random name."""

    __tablename__ = "attachments"

    id: Mapped[uuid.UUID] = classified(Uuid, primary_key=True, privacy=INTERNAL)
    uploader_id: Mapped[int] = classified(ForeignKey("users.id"), index=True, privacy=INTERNAL)
    grid_id: Mapped[int | None] = classified(ForeignKey("grids.id"), index=True, privacy=INTERNAL)
    content_type: Mapped[str] = classified(String(32), privacy=INTERNAL)
    byte_size: Mapped[int] = classified(Integer, privacy=INTERNAL)
    width: Mapped[int] = classified(Integer, privacy=INTERNAL)
    height: Mapped[int] = classified(Integer, privacy=INTERNAL)
    storage_name: Mapped[str] = classified(String(64), unique=True, privacy=INTERNAL)
    sha256: Mapped[str] = classified(String(64), privacy=INTERNAL)
    created_at: Mapped[datetime] = classified(UTCDateTime, default=utcnow, privacy=INTERNAL)
