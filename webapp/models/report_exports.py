"""Ledger exports made from the dashboard: a job row drained off the request path (issue 11)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped

from webapp.models.base import INTERNAL, Base, UTCDateTime, classified, utcnow


class ExportStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class LedgerExport(Base):
    """One 台账 workbook asked for by one user; its file lives under the instance folder and is
    served only to that user."""

    __tablename__ = "ledger_exports"

    id: Mapped[uuid.UUID] = classified(Uuid, primary_key=True, default=uuid.uuid4, privacy=INTERNAL)
    user_id: Mapped[int] = classified(ForeignKey("users.id"), index=True, privacy=INTERNAL)
    period: Mapped[str] = classified(String(16), privacy=INTERNAL)
    area: Mapped[str] = classified(String(32), privacy=INTERNAL)
    status: Mapped[str] = classified(String(16), default=ExportStatus.QUEUED, privacy=INTERNAL)
    progress: Mapped[int] = classified(Integer, default=0, privacy=INTERNAL)
    masked: Mapped[bool] = classified(Boolean, default=True, privacy=INTERNAL)
    file_name: Mapped[str] = classified(String(64), default="", privacy=INTERNAL)
    error: Mapped[str] = classified(Text, default="", privacy=INTERNAL)
    created_at: Mapped[datetime] = classified(UTCDateTime, default=utcnow, privacy=INTERNAL)
    finished_at: Mapped[datetime | None] = classified(UTCDateTime, privacy=INTERNAL)
