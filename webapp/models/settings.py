"""Admin-changeable settings (care-check intervals, departments, time limits) as JSON values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped

from webapp.models.base import INTERNAL, Base, UTCDateTime, classified, utcnow


class Setting(Base):
    __tablename__ = "settings"

    key: Mapped[str] = classified(String(64), primary_key=True, privacy=INTERNAL)
    value: Mapped[Any] = classified(JSON, privacy=INTERNAL)
    updated_at: Mapped[datetime] = classified(
        UTCDateTime, default=utcnow, onupdate=utcnow, privacy=INTERNAL
    )
