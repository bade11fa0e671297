"""Sync under concurrency: the same op racing itself is applied once and answered the same way;
a pull taken while writers are mid-commit misses nothing (DESIGN.md §5).

Each thread has its own test client (its own app context, session and database connection), so
the requests really run side by side against the database.
"""

from __future__ import annotations

import os
import threading
import uuid

import pytest
from sqlalchemy import func, select, text

from tests import factories as f
from tests.integration.sync_api import (
    SyncClient,
    World,
    household_update_op,
    ids_of,
    make_world,
    new_op,
    visit_op,
)
from tests.racing import while_held_open
from webapp.cases.actions import apply_case_action
from webapp.changes import bump, current_change_seq, last_change_seq
from webapp.extensions import db
from webapp.models import Case, Household, OpLog, User, Visit
from webapp.models.sync import CHANGE_SEQ_KEYS
from webapp.ops import Op
from webapp.sync.cursor import decode_cursor

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


on_postgresql = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="SQLite has one writer at a time, so there is no out-of-order commit to provoke; "
    "this proves the change horizon on PostgreSQL (webapp/changes.py)",
)


@on_postgresql
def test_a_pull_between_out_of_order_commits_misses_nothing(app, api, world):
    """T1 takes a sequence number and holds its transaction open; T2 takes the next one without
    waiting for T1. Pulls in between, and after each commit, see each change exactly once."""
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
    assert bumped[second].wait(10), "T2 should not wait for T1's transaction"

    seen: list[tuple[str, int]] = []

    def pull() -> None:
        nonlocal cursor
        changes, cursor = api.pull_all(cursor)
        seen.extend((c["entity"], c["id"]) for c in changes if c["entity"] == "household")

    pull()  # both in flight: nothing yet
    assert seen == []
    release[first].set()  # T1 commits; T2 still holds the higher number, uncommitted
    t1.join(10)
    pull()
    assert seen == [("household", first)]
    release[second].set()
    t2.join(10)
    pull()
    assert not errors, errors
    assert taken[second] > taken[first]
    assert seen == [("household", first), ("household", second)]


class OpenWriter:
    """A transaction in its own thread that takes a change number for a household, writes the
    row, and then waits, uncommitted, until told to commit or roll back."""

    def __init__(self, app, household_id: int):
        self.app, self.household_id = app, household_id
        self.seq: int | None = None
        self.took, self.finish = threading.Event(), threading.Event()
        self.commit = True
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        try:
            with self.app.app_context():
                household = db.session.get(Household, self.household_id)
                household.occupancy = "vacant"
                household.version += 1
                self.seq = bump(household)
                db.session.flush()
                self.took.set()
                assert self.finish.wait(30)
                if self.commit:
                    db.session.commit()
                else:
                    db.session.rollback()
                db.session.remove()
        except BaseException as error:
            self.errors.append(error)
            self.took.set()

    def start(self) -> OpenWriter:
        self.thread.start()
        assert self.took.wait(10) and not self.errors, self.errors
        return self

    def end(self, commit: bool = True) -> None:
        self.commit = commit
        self.finish.set()
        self.thread.join(10)
        assert not self.errors, self.errors


def cursor_seq(token: str, world: World) -> int:
    return decode_cursor(token, world.users["worker_g1"].id).seq


@on_postgresql
def test_pulls_during_concurrent_pushes_wait_for_a_number_still_open(app, api, world):
    """Four phones push at once while another writer holds a lower number open. A pull in
    between stops below the open number; a pull after it commits sends everything, each once."""
    _, cursor = api.pull_all()
    held_household = world.households["G1"][0].id
    held = OpenWriter(app, held_household).start()

    phones = clients_sharing_the_session(app, api, 4)
    batches = [[visit_op(h) for h in world.households["G1"][1:]] for _ in phones]
    responses = run_together(
        [lambda c=c, b=b: c.push(b) for c, b in zip(phones, batches, strict=True)]
    )
    assert [r.status_code for r in responses] == [200] * 4
    assert {res["status"] for r in responses for res in r.get_json()["results"]} == {"applied"}
    pushed = {op["record_id"] for batch in batches for op in batch}
    pushed_seqs = set(db.session.scalars(select(Visit.change_seq)))
    assert min(pushed_seqs) > held.seq  # committed above the open number

    during, cursor_during = api.pull_all(cursor)
    assert ids_of(during, "visit") == [] and ids_of(during, "household") == []
    assert cursor_seq(cursor_during, world) < held.seq

    held.end()
    after, _ = api.pull_all(cursor_during)
    visits = ids_of(after, "visit")
    assert sorted(visits) == sorted(pushed)  # every pushed visit, none twice
    assert ids_of(after, "household") == [held_household]
    again, _ = api.pull_all(cursor)  # the cursor from before the pushes gets the same
    assert sorted(ids_of(again, "visit")) == sorted(pushed)
    assert ids_of(again, "household") == [held_household]


@on_postgresql
def test_a_writer_does_not_wait_for_another_writers_open_transaction(app, api, world):
    held = OpenWriter(app, world.households["G1"][0].id).start()
    try:
        # Queued behind the open transaction, these would fail with a timeout instead of hanging.
        db.session.execute(text("SET LOCAL lock_timeout = '2s'"))
        db.session.execute(text("SET LOCAL statement_timeout = '5s'"))
        household = db.session.get(Household, world.households["G1"][1].id)
        household.notes = "written beside an open transaction"
        seq = bump(household)
        db.session.commit()
        assert seq > held.seq

        pushed: list = []
        op = visit_op(world.households["G1"][2])
        push = threading.Thread(target=lambda: pushed.append(api.results([op])))
        push.start()
        push.join(10)
        assert not push.is_alive(), "the push waited for the open transaction"
        assert [r["status"] for r in pushed[0]] == ["applied"]
    finally:
        held.end()


@on_postgresql
def test_the_horizon_stays_below_the_oldest_open_number(app, world):
    assert current_change_seq() == last_change_seq(db.session)
    open_first = OpenWriter(app, world.households["G1"][0].id).start()
    open_later = OpenWriter(app, world.households["G1"][1].id).start()
    household = db.session.get(Household, world.households["G1"][2].id)
    committed = bump(household)
    db.session.commit()
    assert open_first.seq < open_later.seq < committed
    assert current_change_seq() == open_first.seq - 1
    open_first.end(commit=False)  # a rolled-back number is finished too
    assert current_change_seq() == open_later.seq - 1
    open_later.end()
    assert current_change_seq() == committed == last_change_seq(db.session)


@on_postgresql
def test_an_edit_made_beside_another_open_edit_of_the_same_version_is_a_conflict(app, api, world):
    """Writers no longer queue on one row, so the version check itself must wait for an open
    edit of the same household and compare with what it committed."""
    household = world.households["G1"][0]
    base_version = household.version
    other_editor = OpenWriter(app, household.id).start()  # version + 1, not committed yet
    answers: list = []
    op = household_update_op(household, base_version, notes="mine")
    push = threading.Thread(target=lambda: answers.append(api.results([op])))
    push.start()
    push.join(1)
    assert push.is_alive(), "the edit should wait for the open edit of the same row"
    other_editor.end()
    push.join(10)
    assert [r["status"] for r in answers[0]] == ["conflict"]
    db.session.expire_all()
    assert db.session.get(Household, household.id).version == base_version + 1


@on_postgresql
def test_a_transaction_taking_many_numbers_holds_one_lock(app, world):
    households = [db.session.get(Household, h.id) for h in world.households["G1"]]
    taken = [bump(household) for household in households]
    open_locks = db.session.scalar(
        text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1"
            " AND pid = pg_backend_pid() AND classid = :keys"
        ),
        {"keys": CHANGE_SEQ_KEYS >> 32},
    )
    assert taken == sorted(set(taken)) and open_locks == 1
    assert current_change_seq() == taken[0] - 1
    db.session.commit()
    assert current_change_seq() == taken[-1]


@on_postgresql
def test_two_actions_on_one_case_at_once_are_both_applied(app, api, world):
    """The second waits for the first's commit and acts on the case it left, rather than
    failing on the case's version."""
    case = f.gen_case(grid=world.grids["G1"])
    db.session.commit()
    case_id, version = case.id, case.version

    def other_actor() -> None:
        actor = db.session.get(User, world.users["worker_g1"].id)
        apply_case_action(actor, note_op(case_id, "先到"))

    op = new_op("case.action", {"case_id": str(case_id), "action": "note", "notes": "后到"})
    answer = while_held_open(app, other_actor, lambda: api.results([op]))
    assert [r["status"] for r in answer] == ["applied"]
    db.session.expire_all()
    assert db.session.get(Case, case_id).version == version + 2


def note_op(case_id, notes: str) -> Op:
    return Op(
        op_id=uuid.uuid4(),
        type="case.action",
        record_id=uuid.uuid4(),
        payload={"case_id": str(case_id), "action": "note", "notes": notes},
    )
