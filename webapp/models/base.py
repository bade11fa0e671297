"""Declarative base, privacy classes and the column helpers every model uses.

Every column states its privacy class (DESIGN.md §7). `classified()` is the only way to declare a
column, so forgetting the class is a TypeError at import time, and a unit test double-checks the
metadata so a raw `mapped_column` slipping in is caught too.
"""

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData
from sqlalchemy.orm import DeclarativeBase, mapped_column
from sqlalchemy.types import TypeDecorator


class Privacy(enum.StrEnum):
    PUBLIC = "public"  # may appear on the public site
    INTERNAL = "internal"  # staff and workers in scope
    PERSONAL = "personal"  # identifies a person: masked unless revealed
    SENSITIVE = "sensitive"  # health, disability, ID number, minors, 低保: masked, reveal audited


PUBLIC, INTERNAL, PERSONAL, SENSITIVE = Privacy


def classified(*args: Any, privacy: Privacy, **kwargs: Any) -> Any:
    """`mapped_column` that records the column's privacy class in `Column.info`."""
    info = dict(kwargs.pop("info", {}) or {})
    info["privacy"] = Privacy(privacy)
    return mapped_column(*args, info=info, **kwargs)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC: SQLite and PostgreSQL then behave the same."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


# Stable constraint names keep Alembic migrations identical on SQLite (batch mode) and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
