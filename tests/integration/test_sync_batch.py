"""The batched push path (webapp/sync/batch.py) answers exactly as the per-op path does, takes one
change-sequence number per push, and loses nothing to pulls taken while pushes commit side by
side (DESIGN.md §5).

Every answer test runs twice: once as shipped, and once with the bulk path switched off so every
op goes through `apply_op` one by one. Both must give the same answers.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import func, select

from tests.integration.sync_api import (
    SyncClient,
    World,
    household_update_op,
    make_world,
    new_op,
    visit_op,
)
from tests.integration.test_sync_concurrency import clients_sharing_the_session
from webapp.changes import last_change_seq
from webapp.extensions import db
from webapp.models import Case, Dispute, ElderlyCheck, Hazard, OpLog, Visit
from webapp.sync import push


@pytest.fixture(params=["batched", "one_by_one"])
def path(request, monkeypatch) -> str:
    if request.param == "one_by_one":
        monkeypatch.setattr(push, "check_records", lambda *args: {})
    return request.param


@pytest.fixture
def world(app) -> World:
    return make_world()


@pytest.fixture
def api(client, login_as, world) -> SyncClient:
    login_as("worker_g1")
    return SyncClient(client)


def counter() -> int:
    db.session.expire_all()
    return last_change_seq(db.session)


def dispute_op(household, **payload) -> dict:
    body = {"household_id": household.id, "category": "neighbour", "summary": "噪音扰民"}
    return new_op("dispute.create", {**body, **payload})


def test_a_mixed_batch_gets_the_per_op_answers_in_order(api, world, path):
    g1, g3 = world.households["G1"], world.households["G3"]
    earlier = visit_op(g1[0])
    assert api.results([earlier])[0]["status"] == "applied"
    repeated = visit_op(g1[1])
    reused = {**earlier, "payload": {"household_id": g1[2].id, "notes": "另一条"}}
    ops = [
        visit_op(g1[0], notes="第一户"),
        earlier,  # applied in an earlier push
        visit_op(g3[0]),  # another community's household
        repeated,
        dispute_op(g1[1], resolved_on_site=True),  # settled: no case
        dispute_op(g1[2], severity="high"),  # opens a case: one by one
        household_update_op(g1[0], 1, occupancy="vacant"),
        repeated,  # the same op twice in one push
        reused,  # an applied op id with another body
        new_op(
            "elderly_check.create", {"resident_id": world.residents["G1"][0].id, "status": "ok"}
        ),
        new_op(
            "hazard.create",
            {
                "place": "车棚",
                "category": "fire",
                "description": "电瓶车充电",
                "fixed_on_site": True,
            },
        ),
        new_op("visit.create", {"household_id": g1[0].id, "visit_kind": "party"}),  # invalid
    ]
    before = counter()
    results = api.results(ops)

    assert [r["op_id"] for r in results] == [op["op_id"] for op in ops]
    assert [r["status"] for r in results] == [
        "applied",
        "duplicate",
        "rejected",
        "applied",
        "applied",
        "applied",
        "applied",
        "duplicate",
        "rejected",
        "applied",
        "applied",
        "rejected",
    ]
    assert results[1]["record_id"] == earlier["record_id"] and results[1]["version"] == 1
    assert results[2]["error"]["code"] == "out_of_scope"
    assert results[3] == {**results[7], "status": "applied"}
    assert results[5]["case"]["number"]
    assert "case" not in results[4]
    assert results[6]["version"] == 2
    assert results[8]["error"]["code"] == "op_id_reused"
    assert results[11]["error"]["code"] == "invalid"
    assert set(results[11]["error"]["fields"]) == {"visit_kind"}
    for result in results:
        assert set(result) >= {"op_id", "status", "record_id", "version", "error", "current"}

    assert db.session.scalar(select(func.count()).select_from(Visit)) == 3
    assert db.session.scalar(select(func.count()).select_from(Dispute)) == 2
    assert db.session.scalar(select(func.count()).select_from(ElderlyCheck)) == 1
    assert db.session.scalar(select(func.count()).select_from(Hazard)) == 1
    assert db.session.scalar(select(func.count()).select_from(Case)) == 1
    # One number for the whole push, whichever path each op took.
    assert counter() == before + 1
    created_ids = [
        uuid.UUID(o["record_id"])
        for o, r in zip(ops, results, strict=True)
        if o["type"].endswith(".create") and r["status"] == "applied"
    ]
    stamped = {
        row
        for model in (Visit, Dispute, ElderlyCheck, Hazard)
        for row in db.session.scalars(select(model.change_seq).where(model.id.in_(created_ids)))
    }
    assert stamped == {before + 1}
    assert db.session.scalar(select(func.count()).select_from(OpLog)) == 8


def test_the_whole_batch_again_is_answered_duplicate_and_writes_nothing(api, world, path):
    ops = [visit_op(h) for h in world.households["G1"]]
    first = api.results(ops)
    before = counter()
    again = api.results(ops)
    assert [r["status"] for r in again] == ["duplicate"] * 3
    assert [{**r, "status": "applied"} for r in again] == first
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 3
    assert counter() == before + 1  # the batch's number is taken even when nothing is new


def test_a_record_id_already_used_by_another_op_is_rejected(api, world, path):
    first = visit_op(world.households["G1"][0])
    api.results([first])
    thief = visit_op(world.households["G1"][1])
    thief["record_id"] = first["record_id"]
    [result] = api.results([thief])
    # The same record id from the same author is the same submission again (create_record).
    assert result["status"] == "applied"
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 1


def test_pushes_committing_side_by_side_are_each_pulled_exactly_once(app, api, world, path):
    """Eight phones push batches of new records at once while a ninth pulls over and over: every
    record arrives once, and none is skipped by a cursor that moved past an uncommitted one."""
    _, cursor = api.pull_all()
    pushers = clients_sharing_the_session(app, api, 8)
    households = world.households["G1"]
    batches = [[visit_op(households[(p + n) % 3]) for n in range(20)] for p in range(8)]
    done = threading.Event()
    errors: list[BaseException] = []
    seen: list[str] = []

    def pull_until_done() -> None:
        nonlocal cursor
        try:
            with app.app_context():
                while True:
                    finished = done.is_set()
                    changes, cursor = api.pull_all(cursor)
                    seen.extend(c["id"] for c in changes if c["entity"] == "visit")
                    if finished:
                        return
        except BaseException as error:
            errors.append(error)

    def push_batch(client: SyncClient, batch: list[dict]) -> None:
        try:
            results = client.results(batch, device_id=f"phone-{id(client)}")
            assert {r["status"] for r in results} == {"applied"}
        except BaseException as error:
            errors.append(error)

    puller = threading.Thread(target=pull_until_done)
    puller.start()
    threads = [
        threading.Thread(target=push_batch, args=pair)
        for pair in zip(pushers, batches, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    done.set()
    puller.join(120)
    assert not errors, errors
    pushed = [op["record_id"] for batch in batches for op in batch]
    assert sorted(seen) == sorted(pushed)
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 160
