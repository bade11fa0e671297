"""Web Push subscriptions (DESIGN.md §6). Anonymous residents subscribe to community topics."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped

from webapp.models.base import INTERNAL, PERSONAL, Base, UTCDateTime, classified, utcnow


class PushSubscription(Base):
    __tablename__ = "push_subscriptions"

    id: Mapped[int] = classified(Integer, primary_key=True, privacy=INTERNAL)
    # The endpoint URL identifies one browser: personal, like a device id.
    endpoint: Mapped[str] = classified(Text, privacy=PERSONAL)
    endpoint_hash: Mapped[str] = classified(String(64), unique=True, privacy=INTERNAL)
    p256dh: Mapped[str] = classified(String(200), privacy=PERSONAL)
    auth: Mapped[str] = classified(String(64), privacy=PERSONAL)
    user_id: Mapped[int | None] = classified(ForeignKey("users.id"), index=True, privacy=INTERNAL)
    topics: Mapped[list[str]] = classified(JSON, default=list, privacy=INTERNAL)
    created_at: Mapped[datetime] = classified(UTCDateTime, default=utcnow, privacy=INTERNAL)
    last_success_at: Mapped[datetime | None] = classified(UTCDateTime, privacy=INTERNAL)
    retry_after: Mapped[datetime | None] = classified(UTCDateTime, privacy=INTERNAL)
