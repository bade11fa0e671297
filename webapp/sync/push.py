"""`POST /api/v1/sync/push` (DESIGN.md §5): reading a batch and applying it in one transaction.

Acknowledge only after commit: the phone deletes its copy of an op when we answer, so every
result is computed inside the transaction and sent only once that transaction has committed.
Each op has its own SAVEPOINT inside it, so one bad op rolls back alone.

On PostgreSQL a push reads and checks its ops first, then takes its change-sequence number and
writes (webapp/sync/batch.py); pushes do not wait for one another (webapp/changes.py). Two phones
retrying the same batch at once meet on the OpLog key (op_id): the second waits for the first's
commit, then answers from its row. On SQLite, which has one writer at a time, a push takes the
database's write lock first.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

from flask import Request, current_app
from flask_babel import gettext as _
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from webapp.auth.scope import compute_scope
from webapp.changes import end_batch, take_batch_seq
from webapp.extensions import db
from webapp.models import User
from webapp.sync.batch import BulkWrites, check_records
from webapp.sync.dispatch import apply_op, logged_ops

MAX_OPS = 500
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_DEVICE_ID_LENGTH = 64
# A busy database (SQLite's write lock, a PostgreSQL deadlock or restart) is retried here before
# the phone is told to come back later; the phone retries on its own after that.
ATTEMPTS = 4


class PushRefused(Exception):
    """The whole request is refused; no op in it was applied."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read_push_body(request: Request) -> tuple[str, list[Any]]:
    """(device_id, ops) of a push request. Raises PushRefused (400, 413)."""
    too_large = PushRefused(
        413, "too_large", _("At most %(mb)d MB per push.", mb=MAX_BODY_BYTES // 2**20)
    )
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise too_large
    data = request.stream.read(MAX_BODY_BYTES + 1)
    if len(data) > MAX_BODY_BYTES:
        raise too_large
    try:
        body = json.loads(data, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise PushRefused(400, "malformed_json", _("The request body is not valid JSON.")) from None
    if not isinstance(body, dict) or not isinstance(body.get("ops"), list):
        raise PushRefused(400, "bad_request", _('The body must be {"device_id", "ops": [...]}.'))
    device_id = body.get("device_id")
    if not isinstance(device_id, str) or not 0 < len(device_id) <= MAX_DEVICE_ID_LENGTH:
        raise PushRefused(
            400,
            "bad_request",
            _("device_id must be text of at most %(n)d characters.", n=MAX_DEVICE_ID_LENGTH),
        )
    ops = body["ops"]
    if len(ops) > MAX_OPS:
        raise PushRefused(413, "too_many_ops", _("At most %(n)d ops per push.", n=MAX_OPS))
    return device_id, ops


def begin_write() -> None:
    """On SQLite, take the database's one write lock before anything is read."""
    if db.session.get_bind().dialect.name == "sqlite":
        # SQLite has one writer at a time, and its reads are local and quick: the batch is read
        # and checked under the lock. A deferred transaction that reads first and writes later
        # fails at once with "database is locked" when another writer got in between; IMMEDIATE
        # queues on busy_timeout instead. What the request read so far is settled first.
        db.session.commit()
        db.session.execute(text("BEGIN IMMEDIATE"))
    # PostgreSQL: reads need no lock (READ COMMITTED), and writers do not queue behind one
    # another: `take_batch_seq` takes a number that only pulls wait for (webapp/changes.py).


def push_ops(actor: User, device_id: str, ops: list[Any]) -> list[dict[str, Any]]:
    """Apply `ops` in order and commit; the results, in the same order. Raises PushRefused (503)
    when the database stays busy."""
    for attempt in range(ATTEMPTS):
        try:
            begin_write()
            scope = compute_scope(actor)
            # Reading and checking happen before the batch takes its number, as late as it can.
            checked = check_records(actor, scope, device_id, ops)
            bulk = BulkWrites(actor, scope, checked, take_batch_seq())
            logged = logged_ops(ops)
            results = [apply_op(actor, scope, device_id, raw, logged, bulk) for raw in ops]
            bulk.write(logged)
            db.session.commit()
            return results
        except OperationalError:
            db.session.rollback()
            current_app.logger.warning("sync push: database busy (attempt %d)", attempt + 1)
            time.sleep(0.05 * 2**attempt + random.uniform(0, 0.05))
        finally:
            end_batch()
    raise PushRefused(503, "busy", _("The server is busy. Your items are kept; try again soon."))
