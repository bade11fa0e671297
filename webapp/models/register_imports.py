"""Register imports (issue 12): an uploaded .xlsx of households and residents, checked row by row
into a preview, then written all at once. A job row, so the checking and the writing run off the
request path and any server can answer the page's polling."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped

from webapp.models.base import INTERNAL, Base, UTCDateTime, classified, utcnow


class ImportStatus(enum.StrEnum):
    QUEUED = "queued"  # uploaded, waiting for the checker
    CHECKING = "checking"
    READY = "ready"  # checked without errors: the preview waits for "import"
    INVALID = "invalid"  # rows with errors: nothing can be imported until the file is fixed
    COMMITTING = "committing"
    DONE = "done"
    FAILED = "failed"  # the server failed (not the file): nothing was written


class RegisterImport(Base):
    __tablename__ = "register_imports"

    id: Mapped[uuid.UUID] = classified(Uuid, primary_key=True, default=uuid.uuid4, privacy=INTERNAL)
    user_id: Mapped[int] = classified(ForeignKey("users.id"), index=True, privacy=INTERNAL)
    original_name: Mapped[str] = classified(String(200), default="", privacy=INTERNAL)
    file_name: Mapped[str] = classified(String(64), default="", privacy=INTERNAL)  # on disk
    file_sha256: Mapped[str] = classified(String(64), default="", privacy=INTERNAL)
    status: Mapped[str] = classified(String(16), default=ImportStatus.QUEUED, privacy=INTERNAL)
    progress: Mapped[int] = classified(Integer, default=0, privacy=INTERNAL)
    total_rows: Mapped[int] = classified(Integer, default=0, privacy=INTERNAL)
    new_households: Mapped[int] = classified(Integer, default=0, privacy=INTERNAL)
    new_residents: Mapped[int] = classified(Integer, default=0, privacy=INTERNAL)
    unchanged_rows: Mapped[int] = classified(Integer, default=0, privacy=INTERNAL)
    # [{"row": 7, "column": "身份证号", "message": "…"}]: messages name the column, never repeat
    # the value, so the preview holds no ID numbers or phones.
    errors: Mapped[list[dict[str, Any]]] = classified(JSON, default=list, privacy=INTERNAL)
    error_count: Mapped[int] = classified(Integer, default=0, privacy=INTERNAL)
    # Building names in the file that match no building in the importer's scope.
    unmatched: Mapped[list[str]] = classified(JSON, default=list, privacy=INTERNAL)
    failure: Mapped[str] = classified(Text, default="", privacy=INTERNAL)  # a file-level problem
    created_at: Mapped[datetime] = classified(UTCDateTime, default=utcnow, privacy=INTERNAL)
    finished_at: Mapped[datetime | None] = classified(UTCDateTime, privacy=INTERNAL)
