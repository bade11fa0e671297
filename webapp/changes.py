"""The change sequence behind pull cursors (DESIGN.md §5).

Every row a pull sends carries the number of the transaction that wrote it (`change_seq`), and a
cursor is the highest number a phone has seen. That only works if a pull never stops above a
number whose rows can still appear: a transaction that took 41 and commits after a pull read
everything up to 42 would be skipped for good. Each database gets that guarantee its own way.

SQLite has one writer at a time: `next_change_seq()` bumps a single counter row, and the number
it reads is the highest any transaction holds, so the counter is also the pulls' upper bound.

On PostgreSQL the same row would make every writer queue behind the one holding it until its
commit (with 8 pushers, 93–95% of database time was that wait). There, numbers come from the
sequence `change_seq` through `take_change_seq()` (webapp/models/sync.py), which also takes a
transaction-level advisory lock keyed by the number (the transaction's first number only: the
ones it takes later are higher): commit or rollback releases it, and no writer waits for
another. A pull's upper bound is `change_horizon()`: the highest number below every number
still locked, which is therefore the number of a finished transaction, as are all below it. (A
short shared "gate" lock around nextval-and-lock lets the horizon never see a number handed out
whose lock is not taken yet.) PostgreSQL shows a commit to new snapshots before it releases the
transaction's locks, so the rows of every number up to the horizon are visible to the
statements that run after it; pulls run in READ COMMITTED, a fresh snapshot per statement. A row
with a number above the horizon comes with the next pull.

Writers take their number as late as they can all the same. A push reads and checks all its ops
first, then takes one number for the whole batch (`take_batch_seq`), and every row the batch
writes, in bulk or op by op, carries it. Pulls page through rows sharing a number by (entity, id),
so a batch may stamp thousands of rows with it.

A number's lock is the transaction's, so take it outside any SAVEPOINT that may roll back while
the transaction goes on using the number: the rollback would release the lock (and, on SQLite,
give the number back).
"""

from __future__ import annotations

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from webapp.extensions import db
from webapp.models import ChangeCounter

COUNTER_ID = 1
# Session.info key of the number a batch took; cleared by `end_batch` when its transaction ends.
BATCH_SEQ = "gridrounds.batch_change_seq"

TAKE = text("SELECT take_change_seq()")
HORIZON = text("SELECT change_horizon()")
LAST_HANDED_OUT = text(
    "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM change_seq"
)


def _on_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


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


def _take() -> int:
    if _on_postgresql(db.session):
        return db.session.scalar(TAKE)
    return _bump_counter()


def next_change_seq() -> int:
    """A fresh sequence number for this transaction's writes (the batch's, inside a push)."""
    batch_seq = db.session.info.get(BATCH_SEQ)
    if batch_seq is not None:
        return batch_seq
    return _take()


def take_batch_seq() -> int:
    """One number for a whole batch, held to commit. Call it outside any SAVEPOINT."""
    seq = _take()
    db.session.info[BATCH_SEQ] = seq
    return seq


def end_batch() -> None:
    db.session.info.pop(BATCH_SEQ, None)


def current_change_seq() -> int:
    """The highest number whose rows have all committed: a pull reads no row above it. Read it
    before the rows (on PostgreSQL, outside any snapshot taken earlier)."""
    if _on_postgresql(db.session):
        return db.session.scalar(HORIZON)
    return db.session.scalar(select(ChangeCounter.value).where(ChangeCounter.id == COUNTER_ID)) or 0


def last_change_seq(session: Session) -> int:
    """The last number handed out, finished or not: for loaders that stamp rows themselves."""
    if _on_postgresql(session):
        return session.scalar(LAST_HANDED_OUT)
    return session.scalar(select(ChangeCounter.value).where(ChangeCounter.id == COUNTER_ID)) or 0


def set_last_change_seq(session: Session, value: int) -> None:
    """Make `value` the last number handed out (a loader that stamped rows up to it itself)."""
    if _on_postgresql(session):
        session.execute(text("SELECT setval('change_seq', :value, true)"), {"value": value})
        return
    if session.scalar(select(ChangeCounter.id).where(ChangeCounter.id == COUNTER_ID)) is None:
        session.add(ChangeCounter(id=COUNTER_ID, value=value))
        session.flush()
    else:
        session.execute(
            update(ChangeCounter).where(ChangeCounter.id == COUNTER_ID).values(value=value)
        )


def bump(*rows) -> int:
    """Stamp rows with a fresh sequence number so the next pull sends them."""
    seq = next_change_seq()
    for row in rows:
        row.change_seq = seq
    return seq
