"""Residents' voice (DESIGN.md §6): reports (随手拍) and suggestions (意见箱) from the public site,
matters staff take in from the phone, the 12345 hotline and 信访, and Open311 clients.

A report belongs to the grid of its place, like a field record, and is verified there by the grid
worker (`report.verify`). Its tracking number is what a resident holds; the status page shows
only the columns classified public.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, relationship

from webapp.models.base import (
    INTERNAL,
    PERSONAL,
    PUBLIC,
    SENSITIVE,
    Base,
    UTCDateTime,
    classified,
    utcnow,
)


class ReportKind(enum.StrEnum):
    REPORT = "report"  # 随手拍: something is wrong here
    SUGGESTION = "suggestion"  # 意见箱: how things could be better


class ReportSource(enum.StrEnum):
    """Where the matter came in. Stored so dashboards can group by it."""

    PUBLIC = "public"  # the public site, by the resident
    PHONE = "phone"  # a call to the community or street office
    HOTLINE_12345 = "hotline_12345"  # 12345 government hotline
    PETITION = "petition"  # 信访
    OPEN311 = "open311"  # an Open311 client


class ReportStatus(enum.StrEnum):
    NEW = "new"  # waiting for the grid worker to verify it
    SETTLED = "settled"  # verified and settled on the spot
    CASE = "case"  # verified; became a case, which the status page follows
    NOT_FOUND = "not_found"  # verified; nothing found at the place
    DUPLICATE = "duplicate"  # verified; an existing case already covers it
    SPAM = "spam"  # marked by staff; closed without a word


# What the grid worker found on the spot (`report.verify`, DESIGN.md §3).
VERIFY_OUTCOMES = ("settled", "case", "not_found", "duplicate")


class ResidentReport(Base):
    __tablename__ = "resident_reports"

    id: Mapped[uuid.UUID] = classified(Uuid, primary_key=True, default=uuid.uuid4, privacy=INTERNAL)
    # What the resident holds; shown on the status page and in Open311 as service_request_id.
    number: Mapped[str] = classified(String(16), unique=True, privacy=PUBLIC)
    kind: Mapped[str] = classified(String(16), privacy=PUBLIC)
    source: Mapped[str] = classified(String(16), index=True, privacy=INTERNAL)
    category: Mapped[str] = classified(String(32), privacy=PUBLIC)
    grid_id: Mapped[int] = classified(ForeignKey("grids.id"), index=True, privacy=INTERNAL)
    building_id: Mapped[int | None] = classified(ForeignKey("buildings.id"), privacy=PUBLIC)
    # The resident's own words may name neighbours: seen by staff and the worker, never public.
    place: Mapped[str] = classified(String(200), default="", privacy=PERSONAL)
    description: Mapped[str] = classified(Text, privacy=PERSONAL)
    location: Mapped[dict[str, Any] | None] = classified(JSON, privacy=PERSONAL)
    contact_name: Mapped[str] = classified(String(50), default="", privacy=PERSONAL)
    contact_phone: Mapped[str] = classified(String(32), default="", privacy=SENSITIVE)
    status: Mapped[str] = classified(
        String(16), default=ReportStatus.NEW, index=True, privacy=PUBLIC
    )
    case_id: Mapped[uuid.UUID | None] = classified(
        ForeignKey("cases.id"), index=True, privacy=INTERNAL
    )
    # The answer written for the resident (checked for phone and ID numbers before it is kept).
    reply: Mapped[str] = classified(Text, default="", privacy=PUBLIC)
    verify_notes: Mapped[str] = classified(Text, default="", privacy=PERSONAL)
    received_at: Mapped[datetime] = classified(
        UTCDateTime, default=utcnow, index=True, privacy=PUBLIC
    )
    verified_at: Mapped[datetime | None] = classified(UTCDateTime, privacy=PUBLIC)
    verified_by_id: Mapped[int | None] = classified(ForeignKey("users.id"), privacy=INTERNAL)
    entered_by_id: Mapped[int | None] = classified(ForeignKey("users.id"), privacy=INTERNAL)
    open311_client_id: Mapped[int | None] = classified(
        ForeignKey("open311_clients.id"), privacy=INTERNAL
    )
    # The proof-of-work challenge the form solved: unique, so one solution buys one report.
    challenge: Mapped[str | None] = classified(String(64), unique=True, privacy=INTERNAL)
    version: Mapped[int] = classified(Integer, default=1, privacy=INTERNAL)
    change_seq: Mapped[int] = classified(BigInteger, default=0, index=True, privacy=INTERNAL)

    photos: Mapped[list[ReportPhoto]] = relationship(
        back_populates="report", order_by="ReportPhoto.position", lazy="selectin"
    )


class ReportPhoto(Base):
    """A photo of a report, cleaned by the field-photo pipeline (webapp/rounds/photos.py).
    Residents have no account, so these are not Attachments (which name their uploader)."""

    __tablename__ = "resident_report_photos"

    id: Mapped[uuid.UUID] = classified(Uuid, primary_key=True, default=uuid.uuid4, privacy=INTERNAL)
    report_id: Mapped[uuid.UUID] = classified(
        ForeignKey("resident_reports.id"), index=True, privacy=INTERNAL
    )
    position: Mapped[int] = classified(Integer, default=0, privacy=INTERNAL)
    storage_name: Mapped[str] = classified(String(64), unique=True, privacy=INTERNAL)
    byte_size: Mapped[int] = classified(Integer, privacy=INTERNAL)
    width: Mapped[int] = classified(Integer, privacy=INTERNAL)
    height: Mapped[int] = classified(Integer, privacy=INTERNAL)
    sha256: Mapped[str] = classified(String(64), privacy=INTERNAL)

    report: Mapped[ResidentReport] = relationship(back_populates="photos")


class Open311Client(Base):
    """An Open311 client allowed to POST requests. Only a hash of its key is kept."""

    __tablename__ = "open311_clients"

    id: Mapped[int] = classified(Integer, primary_key=True, privacy=INTERNAL)
    name: Mapped[str] = classified(String(100), privacy=INTERNAL)
    key_sha256: Mapped[str] = classified(String(64), unique=True, privacy=INTERNAL)
    created_at: Mapped[datetime] = classified(UTCDateTime, default=utcnow, privacy=INTERNAL)
    revoked_at: Mapped[datetime | None] = classified(UTCDateTime, privacy=INTERNAL)
