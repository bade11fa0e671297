"""The Web Push outbox (DESIGN.md §6): one row per message per browser, drained by
`flask push send-pending` — never sent inside a request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped

from webapp.models.base import INTERNAL, Base, UTCDateTime, classified, utcnow


class PushMessage(Base):
    __tablename__ = "push_messages"
    # One message per browser per alert, and per digest day: a second writer (a digest on another
    # server, a channel handed the same alert again) inserts nothing. NULLs never conflict, so
    # notices and resident messages, which have neither, are unaffected.
    __table_args__ = (
        UniqueConstraint(
            "subscription_id",
            "notification_id",
            name="uq_push_messages_subscription_id_notification_id",
        ),
        UniqueConstraint(
            "subscription_id", "dedup_key", name="uq_push_messages_subscription_id_dedup_key"
        ),
    )

    id: Mapped[int] = classified(Integer, primary_key=True, privacy=INTERNAL)
    subscription_id: Mapped[int] = classified(
        ForeignKey("push_subscriptions.id"), index=True, privacy=INTERNAL
    )
    # What the message is about: a reschedule of a notice replaces its pending messages, and the
    # sender re-checks the notice is still public; a sent alert is marked on its notification.
    notification_id: Mapped[int | None] = classified(
        ForeignKey("notifications.id"), index=True, privacy=INTERNAL
    )
    notice_id: Mapped[int | None] = classified(
        ForeignKey("notices.id"), index=True, privacy=INTERNAL
    )
    # e.g. "digest:2026-11-30" (webapp/push/queue.py); None for everything else.
    dedup_key: Mapped[str | None] = classified(String(60), privacy=INTERNAL)
    payload: Mapped[dict[str, Any]] = classified(JSON, default=dict, privacy=INTERNAL)
    urgency: Mapped[str] = classified(String(10), default="normal", privacy=INTERNAL)
    ttl: Mapped[int] = classified(Integer, default=86400, privacy=INTERNAL)
    not_before: Mapped[datetime | None] = classified(UTCDateTime, index=True, privacy=INTERNAL)
    attempts: Mapped[int] = classified(Integer, default=0, privacy=INTERNAL)
    sent_at: Mapped[datetime | None] = classified(UTCDateTime, index=True, privacy=INTERNAL)
    last_error: Mapped[str] = classified(Text, default="", privacy=INTERNAL)
    created_at: Mapped[datetime] = classified(UTCDateTime, default=utcnow, privacy=INTERNAL)
