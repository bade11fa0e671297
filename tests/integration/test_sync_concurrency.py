"""Sync under concurrency: the same op racing itself is applied once and answered the same way;
a pull taken while writers are mid-commit misses nothing (DESIGN.md §5).

Each thread has its own test client (its own app context, session and database connection), so
the requests really run side by side against the database.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

import pytest
from sqlalchemy import func, select

from tests.integration.sync_api import SyncClient, World, make_world, visit_op
from webapp.changes import bump
from webapp.extensions import db
from webapp.models import Household, OpLog, Visit

THREADS = 10


@pytest.fixture
def world(app) -> World:
    return make_world()


@pytest.fixture
def api(client, login_as, world) -> SyncClient:
    login_as("worker_g1")
    return SyncClient(client)


def clients_sharing_the_session(app, api: SyncClient, count: int) -> list[SyncClient]:
    """`count` clients signed in as the same user, as one phone's retries would be."""
    cookie = api.client.get_cookie("gridrounds", domain="localhost")
    clients = []
    for _ in range(count):
        other = app.test_client()
        other.set_cookie(cookie.key, cookie.value, domain="localhost")
        clients.append(SyncClient(other))
    return clients


def run_together(functions) -> list:
    """Start every function at the same moment in its own thread; their results, in order."""
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)
    errors: list[BaseException] = []

    def run(index, function):
        try:
            barrier.wait()
            results[index] = function()
        except BaseException as error:  # surfaced in the test thread below
            errors.append(error)

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


def test_the_same_op_pushed_ten_times_at_once_makes_one_record(app, api, world):
    op = visit_op(world.households["G1"][0])
    clients = clients_sharing_the_session(app, api, THREADS)
    responses = run_together([lambda c=c: c.push([op]) for c in clients])
    assert [r.status_code for r in responses] == [200] * THREADS
    results = [r.get_json()["results"][0] for r in responses]
    statuses = sorted(r["status"] for r in results)
    assert statuses == ["applied"] + ["duplicate"] * (THREADS - 1)
    same = [{k: v for k, v in r.items() if k != "status"} for r in results]
    assert all(r == same[0] for r in same)
    assert same[0]["record_id"] == op["record_id"] and same[0]["version"] == 1
    count = select(func.count()).select_from(Visit).where(Visit.id == uuid.UUID(op["record_id"]))
    assert db.session.scalar(count) == 1
    assert db.session.scalar(select(func.count()).select_from(OpLog)) == 1


def test_ten_phones_pushing_different_batches_at_once_all_get_applied(app, api, world):
    clients = clients_sharing_the_session(app, api, THREADS)
    batches = [[visit_op(h) for h in world.households["G1"]] for _ in range(THREADS)]
    responses = run_together(
        [lambda c=c, b=b: c.push(b) for c, b in zip(clients, batches, strict=True)]
    )
    assert [r.status_code for r in responses] == [200] * THREADS
    statuses = {res["status"] for r in responses for res in r.get_json()["results"]}
    assert statuses == {"applied"}
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 3 * THREADS


def test_overlapping_retries_at_once_apply_each_op_exactly_once(app, api, world):
    ops = [visit_op(world.households["G1"][n % 3]) for n in range(12)]
    clients = clients_sharing_the_session(app, api, THREADS)
    # each phone retry carries a different, overlapping slice, in a different order
    batches = [list(reversed(ops[n : n + 6])) if n % 2 else ops[n : n + 6] for n in range(THREADS)]
    responses = run_together(
        [lambda c=c, b=b: c.push(b) for c, b in zip(clients, batches, strict=True)]
    )
    answers: dict[str, set] = {}
    for response in responses:
        assert response.status_code == 200
        for result in response.get_json()["results"]:
            assert result["status"] in ("applied", "duplicate")
            answers.setdefault(result["op_id"], set()).add((result["record_id"], result["version"]))
    assert all(len(a) == 1 for a in answers.values())
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 12


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="SQLite has one writer at a time, so there is no out-of-order commit to provoke; "
    "this proves the counter-row lock on PostgreSQL",
)
def test_a_pull_between_out_of_order_commits_misses_nothing(app, api, world):
    """T1 takes a sequence number and holds its transaction open; T2 asks for the next one and
    must wait. Pulls in between, and after each commit, see each change exactly once."""
    api.results([visit_op(world.households["G1"][2])])  # the counter row exists from here on
    _, cursor = api.pull_all()
    first, second = world.households["G1"][0].id, world.households["G1"][1].id
    bumped = {first: threading.Event(), second: threading.Event()}
    release = {first: threading.Event(), second: threading.Event()}
    taken: dict[int, int] = {}
    errors: list[BaseException] = []

    def writer(household_id: int) -> None:
        try:
            with app.app_context():
                household = db.session.get(Household, household_id)
                household.occupancy = "vacant"
                household.version += 1
                taken[household_id] = bump(household)  # T2 blocks here until T1 commits
                db.session.flush()
                bumped[household_id].set()
                assert release[household_id].wait(30)
                db.session.commit()
                db.session.remove()
        except BaseException as error:
            errors.append(error)
            bumped[household_id].set()

    t1 = threading.Thread(target=writer, args=(first,))
    t1.start()
    assert bumped[first].wait(10)
    t2 = threading.Thread(target=writer, args=(second,))
    t2.start()
    time.sleep(0.5)
    assert not bumped[second].is_set(), "T2 should be waiting for the counter row"

    seen: list[tuple[str, int]] = []

    def pull() -> None:
        nonlocal cursor
        changes, cursor = api.pull_all(cursor)
        seen.extend((c["entity"], c["id"]) for c in changes if c["entity"] == "household")

    pull()  # both in flight: nothing yet
    assert seen == []
    release[first].set()
    assert bumped[second].wait(10)  # T1 committed; T2 now holds the higher number, uncommitted
    t1.join(10)
    pull()
    assert seen == [("household", first)]
    release[second].set()
    t2.join(10)
    pull()
    assert not errors, errors
    assert taken[second] > taken[first]
    assert seen == [("household", first), ("household", second)]
