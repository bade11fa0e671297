"""Sync bookkeeping: the op log (idempotency by op_id) and the change sequence for pull cursors."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DDL, JSON, BigInteger, ForeignKey, Integer, String, Uuid, event
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
    """Single-row counter bumped inside each writing transaction on SQLite; rows carry the value
    it gave them as `change_seq`, and a pull cursor is the highest value a client has seen. On
    PostgreSQL the sequence `change_seq` below hands out the numbers instead."""

    __tablename__ = "change_counter"

    id: Mapped[int] = classified(Integer, primary_key=True, privacy=INTERNAL)
    value: Mapped[int] = classified(BigInteger, default=0, privacy=INTERNAL)


# --- the change sequence on PostgreSQL (webapp/changes.py says why) ------------------------------
# Advisory-lock keys: `CHANGE_SEQ_GATE`, and `CHANGE_SEQ_KEYS + n` for each number n still in an
# open transaction. Their high halves ("GRSG", "GRSQ") keep them clear of the run locks' keys
# (webapp/runlock.py: crc32 values, high half 0). Frozen in r15d_change_sequence.
CHANGE_SEQ_GATE = 0x4752534700000000
CHANGE_SEQ_KEYS = 0x4752535100000000
CHANGE_SEQ_SPAN = 2**40

CHANGE_SEQUENCE_DDL = (
    # OWNED BY: dropped with the counter table, and restarted by TRUNCATE … RESTART IDENTITY.
    "CREATE SEQUENCE IF NOT EXISTS change_seq AS bigint MINVALUE 0 START WITH 1 CACHE 1"
    " OWNED BY change_counter.value",
    f"""CREATE OR REPLACE FUNCTION take_change_seq() RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
    taken bigint;
BEGIN
    IF coalesce(current_setting('gridrounds.open_change_seq', true), '') <> '' THEN
        -- This transaction already holds the lock of a lower number, which keeps the horizon
        -- below this one too: one lock per transaction, however many numbers it takes.
        RETURN nextval('change_seq');
    END IF;
    -- The gate is shared among writers and held only from nextval to the number's own lock, so
    -- change_horizon() never sees a number handed out but not yet locked.
    PERFORM pg_advisory_lock_shared({CHANGE_SEQ_GATE});
    BEGIN
        taken := nextval('change_seq');
        -- Released by commit or rollback: while it is held, the number's rows may still come.
        PERFORM pg_advisory_xact_lock({CHANGE_SEQ_KEYS} + taken);
        -- Transaction-local, like the lock: a savepoint rolled back forgets both.
        PERFORM set_config('gridrounds.open_change_seq', CAST(taken AS text), true);
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        -- A session lock outlives the statement: never leave the gate held by an error.
        PERFORM pg_advisory_unlock_shared({CHANGE_SEQ_GATE});
        RAISE;
    END;
    PERFORM pg_advisory_unlock_shared({CHANGE_SEQ_GATE});
    RETURN taken;
END
$fn$""",
    f"""CREATE OR REPLACE FUNCTION change_horizon() RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
    handed_out bigint;
    oldest_open bigint;
BEGIN
    -- Exclusive: waits only for writers between nextval and their number's lock.
    PERFORM pg_advisory_lock({CHANGE_SEQ_GATE});
    BEGIN
        SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END
          INTO handed_out FROM change_seq;
        SELECT min(k.key - {CHANGE_SEQ_KEYS}) INTO oldest_open
          FROM (SELECT (CAST(l.classid AS bigint) << 32) | CAST(l.objid AS bigint) AS key
                  FROM pg_locks l
                 WHERE l.locktype = 'advisory' AND l.objsubid = 1
                   AND l.database = (SELECT oid FROM pg_database
                                      WHERE datname = current_database())) k
         WHERE k.key > {CHANGE_SEQ_KEYS} AND k.key <= {CHANGE_SEQ_KEYS + CHANGE_SEQ_SPAN};
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        PERFORM pg_advisory_unlock({CHANGE_SEQ_GATE});
        RAISE;
    END;
    PERFORM pg_advisory_unlock({CHANGE_SEQ_GATE});
    -- least() ignores NULL: with no number open, everything handed out has finished.
    RETURN least(handed_out, oldest_open - 1);
END
$fn$""",
    # A server still running the previous version bumps the counter row: give it a number from
    # the sequence, under its own lock, so pulls of the new version wait for it too.
    """CREATE OR REPLACE FUNCTION change_counter_from_sequence() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    NEW.value := take_change_seq();
    RETURN NEW;
END
$fn$""",
    "DROP TRIGGER IF EXISTS change_counter_from_sequence ON change_counter",
    "CREATE TRIGGER change_counter_from_sequence BEFORE UPDATE OF value ON change_counter"
    " FOR EACH ROW EXECUTE FUNCTION change_counter_from_sequence()",
)

for _statement in CHANGE_SEQUENCE_DDL:
    event.listen(
        ChangeCounter.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql")
    )


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
