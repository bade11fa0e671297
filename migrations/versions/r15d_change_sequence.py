"""change sequence on PostgreSQL: the sequence `change_seq` and the functions take_change_seq()
and change_horizon() replace the counter row's lock (webapp/changes.py); SQLite keeps the counter

Revision ID: r15d_change_sequence
Revises: r15c_alert_dedup_keys
Create Date: 2026-11-30
"""

from alembic import op

revision = "r15d_change_sequence"
down_revision = "r15c_alert_dedup_keys"
branch_labels = None
depends_on = None

# Frozen copies of webapp/models/sync.py CHANGE_SEQ_GATE / CHANGE_SEQ_KEYS / CHANGE_SEQ_SPAN.
GATE = 0x4752534700000000
KEYS = 0x4752535100000000
SPAN = 2**40

STATEMENTS = (
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
    PERFORM pg_advisory_lock_shared({GATE});
    BEGIN
        taken := nextval('change_seq');
        -- Released by commit or rollback: while it is held, the number's rows may still come.
        PERFORM pg_advisory_xact_lock({KEYS} + taken);
        -- Transaction-local, like the lock: a savepoint rolled back forgets both.
        PERFORM set_config('gridrounds.open_change_seq', CAST(taken AS text), true);
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        -- A session lock outlives the statement: never leave the gate held by an error.
        PERFORM pg_advisory_unlock_shared({GATE});
        RAISE;
    END;
    PERFORM pg_advisory_unlock_shared({GATE});
    RETURN taken;
END
$fn$""",
    f"""CREATE OR REPLACE FUNCTION change_horizon() RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
    handed_out bigint;
    oldest_open bigint;
BEGIN
    -- Exclusive: waits only for writers between nextval and their number's lock.
    PERFORM pg_advisory_lock({GATE});
    BEGIN
        SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END
          INTO handed_out FROM change_seq;
        SELECT min(k.key - {KEYS}) INTO oldest_open
          FROM (SELECT (CAST(l.classid AS bigint) << 32) | CAST(l.objid AS bigint) AS key
                  FROM pg_locks l
                 WHERE l.locktype = 'advisory' AND l.objsubid = 1
                   AND l.database = (SELECT oid FROM pg_database
                                      WHERE datname = current_database())) k
         WHERE k.key > {KEYS} AND k.key <= {KEYS + SPAN};
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        PERFORM pg_advisory_unlock({GATE});
        RAISE;
    END;
    PERFORM pg_advisory_unlock({GATE});
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


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has one writer at a time: the counter row stays
    # The row lock holds back writers of the previous version until the sequence starts past
    # the last number they took.
    op.execute("SELECT value FROM change_counter WHERE id = 1 FOR UPDATE")
    for statement in STATEMENTS:
        op.execute(statement)
    op.execute(
        "SELECT setval('change_seq',"
        " coalesce((SELECT value FROM change_counter WHERE id = 1), 0), true)"
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    # The counter goes on from the last number the sequence handed out.
    op.execute("DROP TRIGGER IF EXISTS change_counter_from_sequence ON change_counter")
    op.execute(
        "UPDATE change_counter SET value = greatest(value,"
        " (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM change_seq))"
        " WHERE id = 1"
    )
    op.execute("DROP FUNCTION IF EXISTS change_counter_from_sequence()")
    op.execute("DROP FUNCTION IF EXISTS change_horizon()")
    op.execute("DROP FUNCTION IF EXISTS take_change_seq()")
    op.execute("DROP SEQUENCE IF EXISTS change_seq")
