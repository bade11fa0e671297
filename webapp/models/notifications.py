"""In-app notifications: the always-on channel every other channel (Web Push, SMS…) adds to."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped

from webapp.models.base import INTERNAL, Base, UTCDateTime, classified, utcnow


class Notification(Base):
    __tablename__ = "notifications"
    # An alert that must happen once (an overdue alert per stage, an escalation) carries a key;
    # two writers racing past the run lock (two servers' ticks) then leave one row per user.
    # NULLs never conflict, so alerts without a key are unaffected.
    __table_args__ = (
        UniqueConstraint("user_id", "dedup_key", name="uq_notifications_user_id_dedup_key"),
    )

    id: Mapped[int] = classified(Integer, primary_key=True, privacy=INTERNAL)
    user_id: Mapped[int] = classified(ForeignKey("users.id"), index=True, privacy=INTERNAL)
    kind: Mapped[str] = classified(String(32), privacy=INTERNAL)  # escalated, assigned, overdue…
    case_id: Mapped[uuid.UUID | None] = classified(
        ForeignKey("cases.id"), index=True, privacy=INTERNAL
    )
    title: Mapped[str] = classified(String(200), privacy=INTERNAL)
    body: Mapped[str] = classified(Text, default="", privacy=INTERNAL)
    url: Mapped[str] = classified(String(300), default="", privacy=INTERNAL)
    urgent: Mapped[bool] = classified(Boolean, default=False, privacy=INTERNAL)
    created_at: Mapped[datetime] = classified(UTCDateTime, default=utcnow, privacy=INTERNAL)
    read_at: Mapped[datetime | None] = classified(UTCDateTime, privacy=INTERNAL)
    # Which channels have taken it (e.g. {"webpush": "2026-11-21T08:00:00Z"}); filled by senders.
    # e.g. "overdue:<case id>:<stage start>" (webapp/cases/sla.py); None for alerts that may repeat.
    dedup_key: Mapped[str | None] = classified(String(120), privacy=INTERNAL)
    deliveries: Mapped[dict[str, Any]] = classified(JSON, default=dict, privacy=INTERNAL)
