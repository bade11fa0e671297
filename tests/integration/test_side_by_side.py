"""Independent reads of one page side by side (webapp/side_by_side.py): on PostgreSQL each on its
own connection, on SQLite one after another; the same answers either way."""

from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import text

from webapp.extensions import db
from webapp.side_by_side import side_by_side

ON_POSTGRESQL = os.environ.get("DATABASE_URL", "").startswith("postgres")


def connection_id() -> int:
    query = "SELECT pg_backend_pid()" if ON_POSTGRESQL else "SELECT 1"
    return db.session.scalar(text(query))


def test_results_come_back_in_the_order_of_the_calls(app):
    with app.app_context():
        assert side_by_side(lambda: 1, lambda: "two", lambda: [3]) == [1, "two", [3]]


def test_each_call_has_its_own_connection_on_postgresql_and_the_request_thread_on_sqlite(app):
    with app.app_context():
        connection_id()  # the request's session is open before the page's reads start
        answers = side_by_side(
            *[lambda: (threading.get_ident(), connection_id()) for _ in range(3)]
        )
    threads = {thread for thread, _connection in answers}
    connections = {connection for _thread, connection in answers}
    if ON_POSTGRESQL:
        assert len(threads) == 3 and len(connections) == 3
        assert answers[0][0] == threading.get_ident()  # the first runs in the request's thread
    else:
        assert threads == {threading.get_ident()}


def test_switched_off_everything_runs_in_the_request_thread(app):
    app.config["PARALLEL_PAGE_QUERIES"] = False
    with app.app_context():
        threads = side_by_side(*[threading.get_ident for _ in range(3)])
    assert set(threads) == {threading.get_ident()}


def test_an_error_in_a_side_call_reaches_the_page(app):
    def broken():
        raise LookupError("no such grid")

    with app.app_context(), pytest.raises(LookupError, match="no such grid"):
        side_by_side(lambda: 1, broken)
