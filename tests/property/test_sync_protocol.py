"""The sync protocol against a model phone (DESIGN.md §5), property-based.

A phone writes visits into its outbox and talks to the server in any order: pushes of any subset
of what is pending, the same op twice in one batch, retries of ops already acknowledged, answers
lost on the way back (the server applied the op, the phone never heard), and pulls with any page
size. Whatever the interleaving, once the phone has flushed its outbox the server holds exactly
the records the phone created, each once, and so does the phone after a pull; and every answer
about an op names the same record and version.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests import factories as f
from tests.integration.sync_api import Phone, SyncClient, login, visit_op
from webapp.extensions import db
from webapp.models import Household, Visit

create = st.tuples(st.just("create"), st.integers(1, 3))
push = st.tuples(
    st.just("push"),
    st.lists(st.integers(0, 30), min_size=1, max_size=6),  # which pending ops, repeats allowed
    st.booleans(),  # the answer is lost on the way back
)
retry = st.tuples(st.just("retry"), st.lists(st.integers(0, 30), min_size=1, max_size=3))
pull = st.tuples(st.just("pull"), st.sampled_from([1, 3, 500]))
actions = st.lists(st.one_of(create, push, retry, pull), min_size=1, max_size=14)


@dataclass
class ModelPhone:
    """The outbox the phone keeps, and everything the server ever said about each op."""

    households: list[int]
    outbox: list[dict] = field(default_factory=list)  # created, not yet acknowledged
    created: dict[str, dict] = field(default_factory=dict)  # record_id -> op
    sent: set[str] = field(default_factory=set)  # op ids the server may have seen
    acknowledged: dict[str, dict] = field(default_factory=dict)  # op_id -> op
    answers: dict[str, set[tuple]] = field(default_factory=dict)

    def create(self, count: int) -> None:
        for n in range(count):
            op = visit_op(self.households[(len(self.created) + n) % len(self.households)])
            self.outbox.append(op)
            self.created[op["record_id"]] = op

    def hear(self, batch: list[dict], results: list[dict]) -> None:
        assert [r["op_id"] for r in results] == [op["op_id"] for op in batch]
        first_in_batch: set[str] = set()
        for op, result in zip(batch, results, strict=True):
            seen_before = op["op_id"] in self.sent or op["op_id"] in first_in_batch
            expected = "duplicate" if seen_before else "applied"
            assert result["status"] == expected, (result, expected)
            first_in_batch.add(op["op_id"])
            answer = (result["record_id"], result["version"], result["error"])
            self.answers.setdefault(op["op_id"], set()).add(answer)
            assert answer == (op["record_id"], 1, None)
            self.acknowledged[op["op_id"]] = op
        # only an answer lets the phone delete its copy
        done = {op["op_id"] for op in batch}
        self.outbox = [op for op in self.outbox if op["op_id"] not in done]


@pytest.fixture
def setting(app, client):
    """One worker and grid for the whole run; each example gets fresh households in it."""
    grid = f.gen_grid()
    f.gen_user("model_worker", "grid_worker", grid)
    db.session.commit()
    login(client, "model_worker")
    return grid, SyncClient(client)


def fresh_households(grid) -> list[int]:
    building = f.gen_building(grid=grid)
    households = [f.gen_household(building=building, room=f"{n}01").id for n in range(3)]
    db.session.commit()
    return households


def pick(items: list, indexes: list[int]) -> list:
    return [items[i % len(items)] for i in indexes] if items else []


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=actions)
def test_any_interleaving_ends_with_each_created_record_exactly_once(setting, steps):
    grid, api = setting
    model = ModelPhone(fresh_households(grid))
    phone = Phone(api)

    for step in steps:
        kind = step[0]
        if kind == "create":
            model.create(step[1])
        elif kind == "push":
            batch = pick(model.outbox, step[1])
            if not batch:
                continue
            results = api.results(batch)
            if step[2]:
                model.sent.update(op["op_id"] for op in batch)  # applied, but the phone never heard
            else:
                model.hear(batch, results)
                model.sent.update(op["op_id"] for op in batch)
        elif kind == "retry":
            batch = pick(list(model.acknowledged.values()), step[1])
            if batch:
                model.hear(batch, api.results(batch))
        else:
            phone.limit = step[1]
            phone.sync()

    while model.outbox:  # the phone comes back online and flushes everything
        batch = model.outbox[:5]
        model.hear(batch, api.results(batch))
        model.sent.update(op["op_id"] for op in batch)
    phone.sync()

    created = set(model.created)
    on_server = db.session.scalars(
        select(Visit.id).join(Household).where(Household.id.in_(model.households))
    ).all()
    assert sorted(map(str, on_server)) == sorted(created)  # each exactly once
    on_phone = {
        record_id
        for (entity, record_id), row in phone.store.items()
        if entity == "visit" and row["data"]["household_id"] in model.households
    }
    assert on_phone == created
    assert all(len(a) == 1 for a in model.answers.values())
    assert all(isinstance(uuid.UUID(r), uuid.UUID) for r in created)
