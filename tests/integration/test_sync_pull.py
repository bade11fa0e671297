"""`GET /api/v1/sync/pull` (DESIGN.md §5): a first pull is a snapshot of the user's scope, masked;
later pulls bring what changed, exactly once, and `deleted: true` for what left the scope.

The check used throughout: a phone that applies every pull in turn holds exactly what a fresh
snapshot would give it now.
"""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from tests import factories as f
from tests.conftest import signed_in_client
from tests.integration.sync_api import (
    API,
    ID_NUMBERS,
    PHONES,
    Phone,
    SyncClient,
    World,
    household_update_op,
    ids_of,
    login,
    make_world,
    new_op,
    raw_text,
    visit_op,
)
from webapp import clock
from webapp.changes import bump, set_last_change_seq
from webapp.extensions import db
from webapp.models import (
    Household,
    Membership,
    Notice,
    Resident,
    Visit,
    utcnow,
)
from webapp.sync.services import tombstone, tombstone_grid_for_user


@pytest.fixture
def world(app) -> World:
    return make_world()


@pytest.fixture
def api(client, login_as, world) -> SyncClient:
    login_as("worker_g1")
    return SyncClient(client)


def fresh_snapshot(app, username: str) -> dict:
    """What a newly installed phone of `username` would hold now."""
    phone = Phone(SyncClient(signed_in_client(app, username)))
    phone.sync()
    return phone.store


def grant_grid(world: World, username: str, grid_name: str) -> Membership:
    membership = Membership(
        user_id=world.users[username].id,
        role="grid_worker",
        scope_kind="grid",
        scope_id=world.grids[grid_name].id,
    )
    db.session.add(membership)
    db.session.commit()
    return membership


def revoke_grid(world: World, username: str, grid_name: str, *, with_tombstone: bool = True):
    user, grid = world.users[username], world.grids[grid_name]
    db.session.execute(
        delete(Membership).where(Membership.user_id == user.id, Membership.scope_id == grid.id)
    )
    if with_tombstone:
        tombstone_grid_for_user(user.id, grid.id)
    db.session.commit()
    db.session.expire_all()


# --- the first pull -----------------------------------------------------------------------------


def test_a_first_pull_is_a_snapshot_of_the_users_grids_only(api, world):
    api.results([visit_op(world.households["G1"][0])])
    changes, _ = api.pull_all()
    g1 = world.grids["G1"]
    assert ids_of(changes, "grid") == [g1.id]
    assert set(ids_of(changes, "household")) == {h.id for h in world.households["G1"]}
    assert set(ids_of(changes, "resident")) == {r.id for r in world.residents["G1"]}
    assert len(ids_of(changes, "visit")) == 1
    assert all(c["deleted"] is False for c in changes)
    others = {h.id for name in ("G2", "G3") for h in world.households[name]}
    assert not others & set(ids_of(changes, "household"))


def test_a_snapshot_sends_parents_before_children(api, world):
    changes, _ = api.pull_all()
    order = [c["entity"] for c in changes]
    assert order.index("grid") < order.index("building") < order.index("household")
    assert order.index("household") < order.index("resident")


def test_community_staff_pull_every_grid_of_their_community(app, world):
    store = fresh_snapshot(app, "staff_c1")
    grids = {key[1] for key in store if key[0] == "grid"}
    assert grids == {world.grids["G1"].id, world.grids["G2"].id}


def test_an_admin_pulls_every_grid(app, world):
    f.gen_user("root", "admin")
    db.session.commit()
    store = fresh_snapshot(app, "root")
    assert {key[1] for key in store if key[0] == "grid"} == {g.id for g in world.grids.values()}


def test_residents_come_to_their_worker_with_name_and_phone_in_full_and_id_masked(api, world):
    changes, _ = api.pull_all()
    resident = world.residents["G1"][0]
    [data] = [c["data"] for c in changes if c["entity"] == "resident" and c["id"] == resident.id]
    today = clock.now().date()
    assert data["name"] == "张三明"  # DESIGN.md §7: the worker of the grid sees names and phones
    assert data["phone"] == "13812345678"
    assert data["id_number"] == "1101**********1234"
    assert data["age"] == resident.age_on(today)
    assert "living_alone" in data["flags"] and "age_80_plus" in data["flags"]
    assert data["relation"] == "户主"
    assert data["moved_out"] is False


def test_community_staff_pull_names_in_full_and_phones_masked(app, world):
    resident = world.residents["G2"][0]
    store = fresh_snapshot(app, "staff_c1")
    data = store[("resident", resident.id)]["data"]
    assert data["name"] == "张三明"
    assert data["phone"] == "138****5678"
    assert data["id_number"] == "1101**********1234"


def test_no_raw_id_number_or_birth_date_appears_anywhere_in_a_workers_pull(api, world):
    api.results([visit_op(world.households["G1"][0])])
    text = raw_text(api.pull_all()[0])
    for secret in (*ID_NUMBERS, "1950-03-07", "1940-05-01"):
        assert secret not in text


def test_no_raw_phone_appears_anywhere_in_a_community_clerks_pull(app, world):
    store = fresh_snapshot(app, "staff_c1")
    text = json.dumps(list(store.values()), ensure_ascii=False, default=str)
    for secret in (*PHONES, *ID_NUMBERS):
        assert secret not in text


def test_free_text_notes_stay_on_the_server(api, world):
    household, resident = world.households["G1"][0], world.residents["G1"][0]
    household.notes = "门口有狗-家庭备注"
    resident.notes = "糖尿病-居民备注"
    db.session.commit()
    api.results([visit_op(household, notes="低保申请-走访备注")])
    text = raw_text(api.pull_all()[0])
    assert "备注" not in text


def test_a_pull_is_gzipped_when_the_phone_accepts_gzip(api, world):
    plain = api.pull(limit=2000)
    zipped = api.pull(limit=2000, headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    body = json.loads(gzip.decompress(zipped.data))
    assert body["changes"] == plain.get_json()["changes"]
    assert "Content-Encoding" not in plain.headers


# --- what changed -------------------------------------------------------------------------------


def test_an_incremental_pull_after_a_push_brings_just_the_new_record(api, world):
    _, cursor = api.pull_all()
    op = visit_op(world.households["G1"][1])
    api.results([op])
    body = api.page(cursor)
    assert [(c["entity"], c["id"]) for c in body["changes"]] == [("visit", op["record_id"])]
    assert body["changes"][0]["data"]["household_id"] == world.households["G1"][1].id
    assert body["has_more"] is False


def test_an_empty_incremental_pull_is_tiny(api, world):
    _, cursor = api.pull_all()
    response = api.pull(cursor, headers={"Accept-Encoding": "gzip"})
    body = json.loads(gzip.decompress(response.data))
    assert body["changes"] == [] and body["has_more"] is False
    assert len(response.data) < 1024


def test_another_grids_changes_never_reach_the_phone(app, api, world):
    _, cursor = api.pull_all()
    other = SyncClient(signed_in_client(app, "worker_g2"))
    other.results([visit_op(world.households["G2"][0])])
    assert api.page(cursor)["changes"] == []


def test_a_profile_edit_comes_with_its_new_version(api, world):
    phone = Phone(api)
    phone.sync()
    household = world.households["G1"][0]
    api.results([household_update_op(household, 1, occupancy="vacant")])
    phone.sync()
    assert phone.store[("household", household.id)]["version"] == 2
    assert phone.store[("household", household.id)]["data"]["occupancy"] == "vacant"


def test_applying_every_pull_gives_what_a_fresh_snapshot_gives(app, api, world):
    phone = Phone(api)
    phone.sync()
    h1, h2, _ = world.households["G1"]
    resident = world.residents["G1"][1]
    api.results(
        [
            visit_op(h1),
            household_update_op(h2, 1, occupancy="rented_out"),
            new_op(
                "resident.update",
                {"resident_id": resident.id, "changes": {"living_alone": True}},
                record_id=resident.id,
                base_version=1,
            ),
            new_op(
                "dispute.create",
                {"household_id": h1.id, "category": "neighbour", "summary": "噪音"},
            ),
        ]
    )
    phone.sync()
    assert phone.store == fresh_snapshot(app, "worker_g1")


# --- leaving and joining the scope --------------------------------------------------------------


def test_after_losing_a_grid_a_pull_deletes_everything_of_it(app, client, world):
    grant_grid(world, "worker_g1", "G2")
    login(client, "worker_g1")
    api = SyncClient(client)
    api.results([visit_op(world.households["G2"][0]), visit_op(world.households["G1"][0])])
    phone = Phone(api)
    phone.sync()
    assert world.grids["G2"].id in phone.ids("grid")

    revoke_grid(world, "worker_g1", "G2")
    changes = phone.sync()
    g2 = world.grids["G2"]
    assert g2.id in ids_of(changes, "grid", deleted=True)
    assert set(ids_of(changes, "household", deleted=True)) == {h.id for h in world.households["G2"]}
    assert set(ids_of(changes, "resident", deleted=True)) == {r.id for r in world.residents["G2"]}
    assert len(ids_of(changes, "visit", deleted=True)) == 1
    assert all(c["data"] is None for c in changes if c["deleted"])
    assert not [c for c in changes if not c["deleted"] and c["entity"] != "care_task"]
    assert phone.store == fresh_snapshot(app, "worker_g1")


def test_losing_a_grid_without_a_tombstone_still_deletes_it(app, client, world):
    grant_grid(world, "worker_g1", "G2")
    login(client, "worker_g1")
    phone = Phone(SyncClient(client))
    phone.sync()
    revoke_grid(world, "worker_g1", "G2", with_tombstone=False)
    phone.sync()
    assert world.grids["G2"].id not in phone.ids("grid")
    assert phone.store == fresh_snapshot(app, "worker_g1")


def test_a_grid_that_joins_the_scope_arrives_whole(app, api, world):
    phone = Phone(api)
    phone.sync()
    grant_grid(world, "worker_g1", "G2")
    changes = phone.sync()
    assert set(ids_of(changes, "household")) == {h.id for h in world.households["G2"]}
    assert phone.store == fresh_snapshot(app, "worker_g1")


def test_a_grid_lost_and_given_back_between_pulls_is_whole_again(app, client, world):
    membership = grant_grid(world, "worker_g1", "G2")
    login(client, "worker_g1")
    phone = Phone(SyncClient(client))
    phone.sync()
    revoke_grid(world, "worker_g1", "G2")
    assert membership.id
    grant_grid(world, "worker_g1", "G2")
    phone.sync()
    assert world.grids["G2"].id in phone.ids("grid")
    assert phone.store == fresh_snapshot(app, "worker_g1")


def test_the_scope_changing_in_the_middle_of_a_snapshot_is_followed(app, api, world):
    phone = Phone(api, limit=3)
    body = api.page("", 3)
    phone.apply(body["changes"])
    grant_grid(world, "worker_g1", "G2")
    phone.cursor = body["next_cursor"]
    phone.sync()
    assert phone.store == fresh_snapshot(app, "worker_g1")


def test_a_tombstone_shared_by_a_grid_deletes_for_everyone_holding_it(api, world):
    phone = Phone(api)
    phone.sync()
    household = world.households["G1"][2]
    tombstone("household", household.id, grid_id=world.grids["G1"].id)
    db.session.commit()
    changes = phone.sync()
    assert [(c["entity"], c["id"], c["deleted"]) for c in changes] == [
        ("household", household.id, True)
    ]


# --- paging -------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 2, 3, 7])
def test_paging_a_snapshot_visits_every_row_exactly_once(api, world, limit):
    api.results([visit_op(h) for h in world.households["G1"]])
    whole = api.page("", 2000)
    assert whole["has_more"] is False
    paged, _ = api.pull_all("", limit)
    keys = [(c["entity"], c["id"]) for c in paged]
    assert len(keys) == len(set(keys))
    assert keys == [(c["entity"], c["id"]) for c in whole["changes"]]


@pytest.mark.parametrize("limit", [1, 2, 5])
def test_paging_the_change_stream_visits_every_change_exactly_once(api, world, limit):
    _, cursor = api.pull_all()
    ops = [visit_op(h) for h in world.households["G1"] for _ in range(3)]
    ops += [household_update_op(world.households["G1"][0], 1, occupancy="vacant")]
    api.results(ops)
    paged, _ = api.pull_all(cursor, limit)
    visits = ids_of(paged, "visit")
    assert sorted(visits) == sorted(op["record_id"] for op in ops[:-1])
    assert ids_of(paged, "household") == [world.households["G1"][0].id]


@pytest.mark.parametrize("limit", [1, 2])
def test_rows_sharing_one_change_seq_are_paged_without_loss(api, world, limit):
    _, cursor = api.pull_all()
    households = world.households["G1"]
    for household in households:
        household.occupancy = "vacant"
    bump(*households)  # one sequence number for all three
    db.session.commit()
    changes, _ = api.pull_all(cursor, limit)
    assert sorted(ids_of(changes, "household")) == sorted(h.id for h in households)


def test_every_page_but_the_last_says_has_more(api, world):
    pages = []
    cursor = ""
    while True:
        body = api.page(cursor, 4)
        pages.append(body)
        cursor = body["next_cursor"]
        if not body["has_more"]:
            break
    assert len(pages) > 2
    assert all(len(p["changes"]) <= 4 for p in pages)


def test_limit_must_be_a_number(api):
    response = api.client.get("/api/v1/sync/pull?limit=lots", headers=API)
    assert response.status_code == 400


# --- what the phone keeps -----------------------------------------------------------------------


def test_records_older_than_90_days_are_not_sent(api, world):
    household = world.households["G1"][0]
    old = Visit(
        id=uuid.uuid4(),
        author_id=world.users["worker_g1"].id,
        grid_id=household.grid_id,
        household_id=household.id,
        visited_at=utcnow() - timedelta(days=100),
        received_at=clock.now() - timedelta(days=100),
        visit_kind="routine",
    )
    db.session.add(old)
    bump(old)
    db.session.commit()
    assert str(old.id) not in ids_of(api.pull_all()[0], "visit")


def test_open_cases_and_recently_closed_ones_are_sent(api, world):
    grid = world.grids["G1"]
    open_case = f.gen_case(grid=grid)
    recent = f.gen_case(grid=grid, status="closed", closed_at=clock.now() - timedelta(days=5))
    old = f.gen_case(grid=grid, status="closed", closed_at=clock.now() - timedelta(days=40))
    elsewhere = f.gen_case(grid=world.grids["G2"])
    db.session.commit()
    sent = set(ids_of(api.pull_all()[0], "case"))
    assert sent == {str(open_case.id), str(recent.id)}
    assert str(old.id) not in sent and str(elsewhere.id) not in sent


def test_a_case_carries_what_the_phone_shows(api, world):
    case = f.gen_case(grid=world.grids["G1"], due_at=clock.now() + timedelta(days=3))
    db.session.commit()
    [data] = [c["data"] for c in api.pull_all()[0] if c["entity"] == "case"]
    assert data["status"] == "open" and data["level"] == "grid"
    assert data["home_grid_id"] == world.grids["G1"].id
    assert data["number"] == case.number and data["title"] == case.title
    assert data["due_at"] is not None
    assert {"severity", "category", "source_record_id", "warn_at"} <= data.keys()


def test_due_care_checks_come_as_care_tasks_and_leave_when_done(api, world):
    phone = Phone(api)
    phone.sync()
    lonely = world.residents["G1"][0]  # living alone and over 80: due at once, never checked
    assert lonely.id in phone.ids("care_task")
    task = phone.store[("care_task", lonely.id)]["data"]
    assert task["household_id"] == lonely.household_id
    assert task["interval_days"] == 7

    check = new_op(
        "elderly_check.create",
        {"resident_id": lonely.id, "method": "in_person", "status": "ok"},
    )
    api.results([check])
    changes = phone.sync()
    assert ("care_task", lonely.id, True) in [(c["entity"], c["id"], c["deleted"]) for c in changes]
    assert lonely.id not in phone.ids("care_task")


def test_a_new_day_brings_care_tasks_that_came_due(app, api, world):
    phone = Phone(api)
    lonely = world.residents["G1"][0]
    api.results([new_op("elderly_check.create", {"resident_id": lonely.id, "status": "ok"})])
    phone.sync()
    assert lonely.id not in phone.ids("care_task")
    clock.travel_to(clock.now() + timedelta(days=8))
    db.session.commit()
    phone.sync()
    assert lonely.id in phone.ids("care_task")
    assert phone.store == fresh_snapshot(app, "worker_g1")


def test_published_notices_of_the_street_are_sent_and_withdrawn_ones_deleted(api, world):
    street_id = world.grids["G1"].community.street_id
    author = world.users["staff_c1"].id
    published = Notice(
        street_id=street_id,
        title="停水通知",
        body="周六停水",
        category="notice",
        status="published",
        publish_at=clock.now(),
        author_id=author,
    )
    draft = Notice(street_id=street_id, title="草稿", body="…", category="notice", author_id=author)
    db.session.add_all([published, draft])
    bump(published, draft)
    db.session.commit()
    phone = Phone(api)
    phone.sync()
    assert phone.ids("notice") == {published.id}

    published.status = "withdrawn"
    bump(published)
    db.session.commit()
    changes = phone.sync()
    assert [(c["entity"], c["id"], c["deleted"]) for c in changes] == [
        ("notice", published.id, True)
    ]


def test_a_scheduled_notice_reaches_the_phone_once_its_time_comes(api, world):
    street_id = world.grids["G1"].community.street_id
    scheduled = Notice(
        street_id=street_id,
        title="下周停电",
        body="周一 9:00-12:00",
        category="notice",
        status="published",
        publish_at=clock.now() + timedelta(hours=2),
        author_id=world.users["staff_c1"].id,
    )
    db.session.add(scheduled)
    bump(scheduled)
    db.session.commit()
    phone = Phone(api)
    phone.sync()
    assert scheduled.id not in phone.ids("notice")
    phone.sync()
    assert scheduled.id not in phone.ids("notice")

    clock.travel_to(clock.now() + timedelta(hours=3))
    db.session.commit()
    changes = phone.sync()
    assert ("notice", scheduled.id, False) in [
        (c["entity"], c["id"], c["deleted"]) for c in changes
    ]
    assert scheduled.id in phone.ids("notice")


# --- cursors ------------------------------------------------------------------------------------


def test_a_cursor_that_is_not_ours_is_refused_so_the_phone_starts_over(api, world):
    for bad in ("garbage", "eyJ2IjoxfQ.bad-signature"):
        response = api.pull(bad)
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "bad_cursor"


def test_an_edited_cursor_is_refused(api, world):
    _, cursor = api.pull_all()
    payload, signature = cursor.rsplit(".", 1)
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature
    assert api.pull(forged).status_code == 400


def test_another_users_cursor_is_refused(app, api, world):
    _, cursor = SyncClient(signed_in_client(app, "worker_g2")).pull_all()
    assert api.pull(cursor).get_json()["error"]["code"] == "bad_cursor"


def test_a_cursor_from_a_database_that_was_reset_is_refused(api, world):
    api.results([visit_op(world.households["G1"][0])])
    _, cursor = api.pull_all()

    set_last_change_seq(db.session, 0)
    db.session.commit()
    assert api.pull(cursor).get_json()["error"]["code"] == "bad_cursor"


def test_household_and_resident_queries_are_scoped(api, world):
    # belt and braces: the scope filter is in the SQL, not only in what is serialized
    changes, _ = api.pull_all()
    g1 = world.grids["G1"].id
    households = db.session.scalars(
        select(Household.grid_id).where(Household.id.in_(ids_of(changes, "household")))
    )
    residents = db.session.scalars(
        select(Resident.grid_id).where(Resident.id.in_(ids_of(changes, "resident")))
    )
    assert set(households) == {g1} and set(residents) == {g1}
