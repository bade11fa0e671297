"""Sync bookkeeping: the op log (idempotency by op_id) and the change sequence for pull cursors."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped

from webapp.models.base import INTERNAL, Base, UTCDateTime, classified, utcnow


class OpLog(Base):
    """Every op the server has answered, with the answer: a retry gets the same result again."""

    __tablename__ = "op_log"

    op_id: Mapped[uuid.UUID] = classified(Uuid, primary_key=True, privacy=INTERNAL)
    user_id: Mapped[int] = classified(ForeignKey("users.id"), index=True, privacy=INTERNAL)
    device_id: Mapped[str] = classified(String(64), default="", privacy=INTERNAL)
    op_type: Mapped[str] = classified(String(32), privacy=INTERNAL)
    record_id: Mapped[str] = classified(String(64), default="", privacy=INTERNAL)
    body_sha256: Mapped[str] = classified(String(64), privacy=INTERNAL)
    status: Mapped[str] = classified(String(16), privacy=INTERNAL)
    result: Mapped[dict[str, Any]] = classified(JSON, default=dict, privacy=INTERNAL)
    # Quarantined ops keep their body for staff review; applied ones need only the hash.
    held_body: Mapped[dict[str, Any] | None] = classified(JSON, privacy=INTERNAL)
    client_time: Mapped[datetime | None] = classified(UTCDateTime, privacy=INTERNAL)
    received_at: Mapped[datetime] = classified(UTCDateTime, default=utcnow, privacy=INTERNAL)


class ChangeCounter(Base):
    """Single-row counter bumped inside each writing transaction; rows carry the value it gave
    them as `change_seq`, and a pull cursor is the highest value a client has seen."""

    __tablename__ = "change_counter"

    id: Mapped[int] = classified(Integer, primary_key=True, privacy=INTERNAL)
    value: Mapped[int] = classified(BigInteger, default=0, privacy=INTERNAL)


class Tombstone(Base):
    """Something that left a scope or was deleted, so incremental pulls can say `deleted: true`."""

    __tablename__ = "tombstones"

    id: Mapped[int] = classified(Integer, primary_key=True, privacy=INTERNAL)
    entity: Mapped[str] = classified(String(32), privacy=INTERNAL)
    entity_id: Mapped[str] = classified(String(64), privacy=INTERNAL)
    grid_id: Mapped[int | None] = classified(Integer, index=True, privacy=INTERNAL)
    user_id: Mapped[int | None] = classified(Integer, index=True, privacy=INTERNAL)
    change_seq: Mapped[int] = classified(BigInteger, index=True, privacy=INTERNAL)
    created_at: Mapped[datetime] = classified(UTCDateTime, default=utcnow, privacy=INTERNAL)
