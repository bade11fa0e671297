"""Independent reads of one page, run on their own database connections at once.

A street's supervision page is a dozen grouped queries over tens of thousands of rows, each
waiting on PostgreSQL in turn; most of its time is the sum of those waits (issue 11's budget is
300 ms at district scale). The sections do not depend on each other, so on PostgreSQL they run
side by side, each in a thread with its own app context, session and pooled connection, while
the request's own thread works on the first. On SQLite (one file, one writer, the demo) they run
one after another, as does everything when `PARALLEL_PAGE_QUERIES` is off.

Rules for a call handed to `side_by_side`: it only reads; it returns plain values or column rows,
never ORM objects (a thread's session closes when the call ends, so its objects would be
detached); it does not touch the request (`g`, `request`, the user), only the app.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import current_app

from webapp.extensions import db


def side_by_side(*calls: Callable[[], Any]) -> list[Any]:
    """The results of `calls`, in order. The first runs in this thread and session."""
    if len(calls) < 2 or not _enabled():
        return [call() for call in calls]
    app = current_app._get_current_object()

    def run(call: Callable[[], Any]) -> Any:
        with app.app_context():
            try:
                return call()
            finally:
                db.session.remove()  # the connection goes back to the pool

    with ThreadPoolExecutor(max_workers=len(calls) - 1, thread_name_prefix="page-read") as pool:
        others = [pool.submit(run, call) for call in calls[1:]]
        first = calls[0]()
        return [first, *(future.result() for future in others)]


def _enabled() -> bool:
    return bool(current_app.config.get("PARALLEL_PAGE_QUERIES", True)) and (
        db.engine.dialect.name == "postgresql"
    )
