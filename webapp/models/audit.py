"""Append-only audit log: logins and failures, denials, reveals, exports, case actions (§7).

Rows are never updated or deleted through the app: webapp/audit.py refuses it with ORM events.
The one exception is `flask retention run`, which blanks `ip`, `user_agent` and the failed-login
username of old rows (webapp/retention.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped

from webapp.models.base import INTERNAL, PERSONAL, Base, UTCDateTime, classified, utcnow


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = classified(Integer, primary_key=True, privacy=INTERNAL)
    at: Mapped[datetime] = classified(UTCDateTime, default=utcnow, index=True, privacy=INTERNAL)
    actor_id: Mapped[int | None] = classified(ForeignKey("users.id"), index=True, privacy=INTERNAL)
    # The username typed on a failed login may be a mistyped password: personal.
    actor_name: Mapped[str] = classified(String(64), default="", privacy=PERSONAL)
    action: Mapped[str] = classified(String(48), index=True, privacy=INTERNAL)
    target_type: Mapped[str] = classified(String(32), default="", privacy=INTERNAL)
    target_id: Mapped[str] = classified(String(64), default="", privacy=INTERNAL)
    ip: Mapped[str] = classified(String(64), default="", privacy=PERSONAL)
    user_agent: Mapped[str] = classified(String(200), default="", privacy=PERSONAL)
    detail: Mapped[dict[str, Any]] = classified(JSON, default=dict, privacy=INTERNAL)
