"""Files attached to a notice (DESIGN.md §6): photos re-encoded like field photos, and PDFs.

A separate table rather than columns on `notices`: a notice has any number of files, and the
files of a notice that is not public are never served to the public (see webapp.public.views).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped

from webapp.models.base import INTERNAL, PUBLIC, Base, UTCDateTime, classified, utcnow


class NoticeFileKind(enum.StrEnum):
    IMAGE = "image"
    PDF = "pdf"


class NoticeAttachment(Base):
    """One file of a notice. The id is random, so public file addresses cannot be guessed from
    one another; `file_name` is what the author uploaded and is shown (and guarded) on publish."""

    __tablename__ = "notice_attachments"

    id: Mapped[uuid.UUID] = classified(Uuid, primary_key=True, default=uuid.uuid4, privacy=PUBLIC)
    notice_id: Mapped[int] = classified(ForeignKey("notices.id"), index=True, privacy=PUBLIC)
    kind: Mapped[str] = classified(String(8), privacy=PUBLIC)
    file_name: Mapped[str] = classified(String(120), privacy=PUBLIC)
    content_type: Mapped[str] = classified(String(64), privacy=PUBLIC)
    byte_size: Mapped[int] = classified(Integer, privacy=PUBLIC)
    width: Mapped[int | None] = classified(Integer, privacy=PUBLIC)
    height: Mapped[int | None] = classified(Integer, privacy=PUBLIC)
    position: Mapped[int] = classified(Integer, default=0, privacy=PUBLIC)
    storage_name: Mapped[str] = classified(String(64), privacy=INTERNAL)
    sha256: Mapped[str] = classified(String(64), privacy=INTERNAL)
    uploader_id: Mapped[int] = classified(ForeignKey("users.id"), privacy=INTERNAL)
    created_at: Mapped[datetime] = classified(UTCDateTime, default=utcnow, privacy=INTERNAL)
