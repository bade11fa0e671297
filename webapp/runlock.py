"""Run locks for the cron commands (`sla tick`, `push send-pending`, `push digest`).

Cron on several servers starts the same command at the same minute. Each command is idempotent
run after run, but two runs at the same moment read the same state and would both act on it (two
overdue alerts, two deliveries of one message). A run lock makes the second run step aside:
a PostgreSQL advisory lock, which every server sees, or a lock file beside the SQLite database,
which is on one machine anyway. Both are released when the process ends, even by a crash.
"""

from __future__ import annotations

import fcntl
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import current_app
from sqlalchemy import text

from webapp.extensions import db


def _key(name: str) -> int:
    return zlib.crc32(f"gridrounds:{name}".encode())


@contextmanager
def run_lock(name: str) -> Iterator[bool]:
    """True inside when this run holds the lock `name`; False when another run holds it."""
    if db.engine.dialect.name == "postgresql":
        # Its own connection: a session-level lock stays with the connection, and the command's
        # own session commits and returns connections to the pool as it goes.
        with db.engine.connect() as connection:
            held = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": _key(name)}
            ).scalar()
            connection.commit()
            try:
                yield bool(held)
            finally:
                if held:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _key(name)})
                    connection.commit()
        return
    folder = Path(current_app.instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f".{name}.lock", "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
