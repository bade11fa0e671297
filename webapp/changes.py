"""The change sequence behind pull cursors (DESIGN.md §5).

`next_change_seq()` bumps a single counter row with UPDATE … RETURNING inside the writing
transaction. The row lock it takes is held until commit, so writers take sequence numbers in
commit order: a reader that has seen N can never later find a committed N-1.

That lock is the one place where writers queue, so they take it as late as they can. A push
reads and checks all its ops first, outside the lock, then bumps once for the whole batch
(`take_batch_seq`): the lock covers only its writes and its commit, and every row the batch
writes, in bulk or op by op, carries that one number. Pulls page through rows sharing a number
by (entity, id), so a batch may stamp thousands of rows with it.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from webapp.extensions import db
from webapp.models import ChangeCounter

COUNTER_ID = 1
# Session.info key of the number a batch took; cleared by `end_batch` when its transaction ends.
BATCH_SEQ = "gridrounds.batch_change_seq"


def _bump_counter() -> int:
    bump_once = (
        update(ChangeCounter)
        .where(ChangeCounter.id == COUNTER_ID)
        .values(value=ChangeCounter.value + 1)
        .returning(ChangeCounter.value)
    )
    value = db.session.execute(bump_once).scalar()
    if value is None:
        # First write ever. Several first writers may race here: only one insert makes the row,
        # the others wait for it and then bump the row it made.
        dialect = db.session.get_bind().dialect.name
        make = pg_insert if dialect == "postgresql" else sqlite_insert
        db.session.execute(
            make(ChangeCounter)
            .values(id=COUNTER_ID, value=0)
            .on_conflict_do_nothing(index_elements=[ChangeCounter.id])
        )
        value = db.session.execute(bump_once).scalar()
    return value


def next_change_seq() -> int:
    """A fresh sequence number for this transaction's writes (the batch's, inside a push)."""
    batch_seq = db.session.info.get(BATCH_SEQ)
    if batch_seq is not None:
        return batch_seq
    return _bump_counter()


def take_batch_seq() -> int:
    """Bump once for a whole batch and hold the lock to commit. Call it outside any SAVEPOINT: a
    savepoint rolled back would give the number back while the batch still used it."""
    seq = _bump_counter()
    db.session.info[BATCH_SEQ] = seq
    return seq


def end_batch() -> None:
    db.session.info.pop(BATCH_SEQ, None)


def current_change_seq() -> int:
    return db.session.scalar(select(ChangeCounter.value).where(ChangeCounter.id == COUNTER_ID)) or 0


def bump(*rows) -> int:
    """Stamp rows with a fresh sequence number so the next pull sends them."""
    seq = next_change_seq()
    for row in rows:
        row.change_seq = seq
    return seq
