"""Rows written once however many writers race for them (DESIGN.md §6, §8).

The cron commands take a run lock, but a lock can be missed (a lock file on another server's
disk, a run that outlived its lock), so what must happen once also rests on a unique key: the
row is written with INSERT … ON CONFLICT DO NOTHING and the second writer silently skips it,
instead of duplicating it or failing its whole run on an IntegrityError.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.dialects import postgresql, sqlite

from webapp.extensions import db

M = TypeVar("M")

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def insert_once(model: type[M], rows: list[dict[str, Any]], *, key: list[str]) -> list[M]:
    """Insert `rows` of `model`, skipping each whose `key` columns (a unique constraint) are
    already taken, even by a transaction committed an instant ago. Returns the rows actually
    inserted, as objects of the session: only those may be announced (queued to a channel)."""
    if not rows:
        return []
    insert = _INSERTS[db.session.get_bind().dialect.name]
    statement = insert(model).on_conflict_do_nothing(index_elements=key).returning(model)
    # Rows as the parameters of one statement, not spelled into it: SQLAlchemy sends them as
    # multi-row INSERTs of a batch each (a batch job's chunk has thousands) from one compiled
    # statement, under the databases' limits on parameters per statement.
    return list(db.session.scalars(statement, rows))
