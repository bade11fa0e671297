"""The change sequence behind pull cursors (DESIGN.md §5).

`next_change_seq()` bumps a single counter row with UPDATE … RETURNING inside the writing
transaction. The row lock it takes is held until commit, so writers take sequence numbers in
commit order: a reader that has seen N can never later find a committed N-1. That costs write
concurrency (writes of field data serialise on one row), which this workload affords.
"""

from __future__ import annotations

from sqlalchemy import insert, select, update

from webapp.extensions import db
from webapp.models import ChangeCounter

COUNTER_ID = 1


def next_change_seq() -> int:
    value = db.session.execute(
        update(ChangeCounter)
        .where(ChangeCounter.id == COUNTER_ID)
        .values(value=ChangeCounter.value + 1)
        .returning(ChangeCounter.value)
    ).scalar()
    if value is None:
        # First write ever. Two first writers may race here; the loser's INSERT fails on the
        # primary key and its transaction is retried by the caller like any serialisation error.
        db.session.execute(insert(ChangeCounter).values(id=COUNTER_ID, value=1))
        value = 1
    return value


def current_change_seq() -> int:
    return db.session.scalar(select(ChangeCounter.value).where(ChangeCounter.id == COUNTER_ID)) or 0


def bump(*rows) -> int:
    """Stamp rows with a fresh sequence number so the next pull sends them."""
    seq = next_change_seq()
    for row in rows:
        row.change_seq = seq
    return seq
