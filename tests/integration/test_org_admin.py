"""The org tree, handovers and quarantined ops, managed in the app (issue 12).

World (tests/integration/sync_api.py `make_world`): two streets; community C1 (street one) has
grids G1 and G2, community C2 (street two) has G3. worker_g1 holds G1, worker_g2 holds G2,
staff_c1 is community staff of C1; here also staff_c2 of C2 and root, the admin.
"""

from __future__ import annotations

import re
import uuid

import pytest

from tests import factories as f
from tests.conftest import signed_in_client
from tests.integration.sync_api import SyncClient, make_world, visit_op
from webapp.extensions import db
from webapp.models import (
    AuditLog,
    Building,
    Case,
    Community,
    Grid,
    Household,
    Membership,
    OpLog,
    Street,
    Visit,
)


@pytest.fixture
def world(app):
    world = make_world()
    c2 = world.grids["G3"].community
    f.gen_user("root", "admin")
    f.gen_user("staff_c2", "community_staff", c2)
    db.session.commit()
    return world


@pytest.fixture
def admin(app, world):
    return signed_in_client(app, "root")


def token(client, url: str = "/admin/org") -> str:
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def post(client, url: str, page: str = "/no-role", **fields):
    return client.post(url, data={"csrf_token": token(client, page), **fields})


def audited(action: str) -> list[AuditLog]:
    return list(db.session.query(AuditLog).filter_by(action=action))


def ids_of(changes: list[dict], entity: str, deleted: bool) -> set:
    return {c["id"] for c in changes if c["entity"] == entity and c["deleted"] is deleted}


# --- the org tree --------------------------------------------------------------------------------


def test_admin_creates_and_renames_a_street_community_grid_and_building(admin, world):
    assert post(admin, "/admin/org/streets", name="新华街道").status_code == 303
    street = db.session.query(Street).filter_by(name="新华街道").one()
    assert (
        post(admin, "/admin/org/communities", name="东风社区", street_id=street.id).status_code
        == 303
    )
    community = db.session.query(Community).filter_by(name="东风社区").one()
    assert (
        post(admin, "/admin/org/grids", name="东风一网格", community_id=community.id).status_code
        == 303
    )
    grid = db.session.query(Grid).filter_by(name="东风一网格").one()
    response = post(admin, f"/admin/org/grids/{grid.id}/buildings", name="东风里1号楼")
    assert response.status_code == 303
    building = db.session.query(Building).filter_by(grid_id=grid.id).one()
    assert post(admin, f"/admin/org/grids/{grid.id}/rename", name="东风第一网格").status_code == 303
    response = post(admin, f"/admin/org/buildings/{building.id}/rename", name="东风里一号楼")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Grid, grid.id).name == "东风第一网格"
    assert db.session.get(Building, building.id).name == "东风里一号楼"
    assert len(audited("org_created")) == 4 and len(audited("org_renamed")) == 2


def test_an_empty_name_is_refused_in_chinese(app, world):
    client = signed_in_client(app, "root")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    response = post(client, "/admin/org/streets", name="  ")
    assert response.status_code == 422
    assert "请输入名称" in response.get_data(as_text=True)


def test_community_staff_manage_buildings_of_their_own_community_only(app, world):
    staff = signed_in_client(app, "staff_c1")
    g1, g3 = world.grids["G1"], world.grids["G3"]
    assert staff.get(f"/admin/org/grids/{g1.id}").status_code == 200
    assert post(staff, f"/admin/org/grids/{g1.id}/buildings", name="新楼").status_code == 303
    theirs = db.session.query(Building).filter_by(grid_id=g3.id).first()
    assert staff.get(f"/admin/org/grids/{g3.id}").status_code == 404
    assert post(staff, f"/admin/org/grids/{g3.id}/buildings", name="越界").status_code == 404
    assert post(staff, f"/admin/org/buildings/{theirs.id}/rename", name="越界").status_code == 404
    # Grids are the admin's: staff may neither rename, move a building nor merge.
    assert post(staff, f"/admin/org/grids/{g1.id}/rename", name="改名").status_code == 403
    mine = db.session.query(Building).filter_by(grid_id=g1.id).first()
    response = post(staff, f"/admin/org/buildings/{mine.id}/move", to_grid=world.grids["G2"].id)
    assert response.status_code == 403
    assert db.session.query(Building).filter_by(name="越界").count() == 0


def test_staff_of_another_community_cannot_see_or_act(app, world):
    other = signed_in_client(app, "staff_c2")
    g1 = world.grids["G1"]
    building = db.session.query(Building).filter_by(grid_id=g1.id).first()
    body = other.get(f"/admin/org/grids/{g1.id}")
    assert body.status_code == 404 and building.name not in body.get_data(as_text=True)
    assert post(other, f"/admin/org/buildings/{building.id}/rename", name="X").status_code == 404


def test_a_building_move_reaches_the_new_worker_and_tombstones_the_old_copy(app, admin, world):
    old_phone = SyncClient(signed_in_client(app, "worker_g1"))
    new_phone = SyncClient(signed_in_client(app, "worker_g2"))
    _, old_cursor = old_phone.pull_all()
    _, new_cursor = new_phone.pull_all()
    g1, g2 = world.grids["G1"], world.grids["G2"]
    building = db.session.query(Building).filter_by(grid_id=g1.id).first()
    households = [h.id for h in world.households["G1"]]
    residents = [r.id for r in world.residents["G1"]]

    response = post(admin, f"/admin/org/buildings/{building.id}/move", to_grid=g2.id)
    assert response.status_code == 303

    gone, _ = old_phone.pull_all(old_cursor)
    assert ids_of(gone, "building", True) == {building.id}
    assert ids_of(gone, "household", True) == set(households)
    assert ids_of(gone, "resident", True) == set(residents)
    arrived, _ = new_phone.pull_all(new_cursor)
    assert ids_of(arrived, "building", False) == {building.id}
    assert ids_of(arrived, "household", False) == set(households)
    assert ids_of(arrived, "resident", False) == set(residents)
    assert not ids_of(arrived, "resident", True)
    db.session.expire_all()
    assert {h.grid_id for h in db.session.query(Household).filter_by(building_id=building.id)} == {
        g2.id
    }
    assert audited("building_moved")[0].detail["to_grid"] == g2.id


def test_a_merge_asks_first_then_moves_everything_and_the_workers(app, admin, world):
    g1, g2 = world.grids["G1"], world.grids["G2"]
    g1_id, g3_id = g1.id, world.grids["G3"].id
    case = f.gen_case(grid=g1)
    db.session.commit()
    case_id = case.id
    phone = SyncClient(signed_in_client(app, "worker_g1"))
    op = visit_op(world.households["G1"][0], visited_at="2026-11-21T09:00:00+08:00")
    assert phone.results([op])[0]["status"] == "applied"
    visit_id = uuid.UUID(op["record_id"])
    _, cursor = phone.pull_all()

    asked = post(admin, f"/admin/org/grids/{g1.id}/merge", into_grid=g2.id)
    assert asked.status_code == 200 and db.session.get(Grid, g1.id) is not None
    assert 'name="confirm" value="yes"' in asked.get_data(as_text=True)
    done = post(admin, f"/admin/org/grids/{g1.id}/merge", into_grid=g2.id, confirm="yes")
    assert done.status_code == 303

    db.session.expire_all()
    assert db.session.get(Grid, g1_id) is None
    assert {h.grid_id for h in db.session.query(Household)} == {g2.id, g3_id}
    assert db.session.get(Visit, visit_id).grid_id == g2.id
    assert db.session.get(Case, case_id).home_grid_id == g2.id
    held = db.session.query(Membership).filter_by(user_id=world.users["worker_g1"].id).one()
    assert held.scope_id == g2.id
    changes, _ = phone.pull_all(cursor)
    assert ids_of(changes, "grid", True) == {g1_id}
    assert ids_of(changes, "grid", False) == {g2.id}
    assert {h.id for h in world.households["G1"]} <= ids_of(changes, "household", False)
    assert audited("grid_merged")[0].detail["merged_grid"] == g1_id


def test_grids_of_different_communities_are_not_merged(admin, world):
    g1, g3 = world.grids["G1"], world.grids["G3"]
    response = post(admin, f"/admin/org/grids/{g1.id}/merge", into_grid=g3.id, confirm="yes")
    assert response.status_code == 422
    assert db.session.get(Grid, g1.id) is not None


# --- handover ------------------------------------------------------------------------------------


def test_a_handover_moves_the_grid_and_open_cases_with_a_timeline_entry(app, admin, world):
    g1 = world.grids["G1"]
    open_case, escalated = f.gen_case(grid=g1), f.gen_case(grid=g1, level="community")
    successor = f.gen_user("newcomer", "grid_worker", world.grids["G3"])
    db.session.commit()
    leaver_id, successor_id = world.users["worker_g1"].id, successor.id
    open_id, escalated_id = open_case.id, escalated.id
    leaving_phone = SyncClient(signed_in_client(app, "worker_g1"))
    _, cursor = leaving_phone.pull_all()

    page = admin.get(f"/admin/users/{leaver_id}/handover")
    assert page.status_code == 200 and open_case.number in page.get_data(as_text=True)
    response = post(
        admin,
        f"/admin/users/{leaver_id}/handover",
        f"/admin/users/{leaver_id}/handover",
        successor=successor_id,
    )
    assert response.status_code == 303

    db.session.expire_all()
    events = [e for e in db.session.get(Case, open_id).events if e.action == "handover"]
    assert len(events) == 1 and events[0].data["to_user_id"] == successor_id
    assert not [e for e in db.session.get(Case, escalated_id).events if e.action == "handover"]
    assert {m.scope_id for m in db.session.get(f.User, successor_id).memberships} == {
        g1.id,
        world.grids["G3"].id,
    }
    assert db.session.query(Membership).filter_by(user_id=leaver_id).count() == 0
    changes, _ = leaving_phone.pull_all(cursor)
    assert ids_of(changes, "grid", True) == {g1.id}
    assert audited("user_handover")[0].detail["cases"] == 1


def test_handover_from_the_command_line(app, world):
    f.gen_case(grid=world.grids["G2"])
    db.session.commit()
    result = app.test_cli_runner().invoke(
        args=["user", "handover", "worker_g2", "--to", "worker_g1"]
    )
    assert result.exit_code == 0, result.output
    assert "1 grid(s) and 1 open case(s)" in result.output
    db.session.expire_all()
    worker = db.session.query(f.User).filter_by(username="worker_g1").one()
    assert {m.scope_id for m in worker.memberships} == {world.grids["G1"].id, world.grids["G2"].id}
    refused = app.test_cli_runner().invoke(
        args=["user", "handover", "worker_g1", "--to", "worker_g1"]
    )
    assert refused.exit_code != 0


def test_only_admin_hands_over(app, world):
    staff = signed_in_client(app, "staff_c1")
    leaver = world.users["worker_g1"].id
    assert staff.get(f"/admin/users/{leaver}/handover").status_code == 403


# --- quarantined ops -----------------------------------------------------------------------------


@pytest.fixture
def held_ops(app, world):
    """worker_g1 visited in G1, was moved to G3, then pushed two more G1 visits written offline:
    both are quarantined."""
    phone = SyncClient(signed_in_client(app, "worker_g1"))
    first = visit_op(world.households["G1"][0], visited_at="2026-11-21T09:00:00+08:00")
    assert phone.results([first])[0]["status"] == "applied"
    worker = db.session.get(f.User, world.users["worker_g1"].id)
    membership = next(m for m in worker.memberships)
    membership.scope_id = world.grids["G3"].id
    db.session.commit()
    late = [
        visit_op(world.households["G1"][n], visited_at="2026-11-21T10:00:00+08:00", notes="晚到")
        for n in (1, 2)
    ]
    assert [r["status"] for r in phone.results(late)] == ["quarantined", "quarantined"]
    return phone, late


def visits_in(grid: Grid) -> int:
    return db.session.query(Visit).filter_by(grid_id=grid.id).count()


def test_staff_apply_one_held_op_and_discard_another(app, world, held_ops):
    phone, (keep, drop) = held_ops
    staff = signed_in_client(app, "staff_c1")
    page = staff.get("/admin/quarantine")
    assert page.status_code == 200
    assert page.get_data(as_text=True).count("/apply") == 2

    assert post(staff, f"/admin/quarantine/{keep['op_id']}/apply").status_code == 303
    assert post(staff, f"/admin/quarantine/{drop['op_id']}/discard").status_code == 303

    db.session.expire_all()
    applied = db.session.get(Visit, uuid.UUID(keep["record_id"]))
    assert applied.author_id == world.users["worker_g1"].id
    assert applied.grid_id == world.grids["G1"].id
    assert visits_in(world.grids["G1"]) == 2
    # The widening was for that one application: the worker still holds only G3.
    worker = db.session.get(f.User, world.users["worker_g1"].id)
    assert {m.scope_id for m in worker.memberships} == {world.grids["G3"].id}
    kept, dropped = (db.session.get(OpLog, uuid.UUID(o["op_id"])) for o in (keep, drop))
    assert (kept.status, kept.result["review"]["outcome"]) == ("applied", "applied")
    assert (dropped.status, dropped.result["review"]["outcome"]) == ("discarded", "discarded")
    again = phone.results([keep, drop])
    assert [r["status"] for r in again] == ["duplicate", "rejected"]
    assert again[1]["error"]["code"] == "discarded"
    assert audited("quarantine_applied") and audited("quarantine_discarded")
    assert "/apply" not in staff.get("/admin/quarantine").get_data(as_text=True)


def test_staff_of_another_community_neither_see_nor_act_on_held_ops(app, world, held_ops):
    _, (keep, drop) = held_ops
    other = signed_in_client(app, "staff_c2")
    assert keep["op_id"] not in other.get("/admin/quarantine").get_data(as_text=True)
    assert post(other, f"/admin/quarantine/{keep['op_id']}/apply").status_code == 404
    assert post(other, f"/admin/quarantine/{drop['op_id']}/discard").status_code == 404
    db.session.expire_all()
    assert visits_in(world.grids["G1"]) == 1
    statuses = {db.session.get(OpLog, uuid.UUID(o["op_id"])).status for o in (keep, drop)}
    assert statuses == {"quarantined"}
    worker = signed_in_client(app, "worker_g2")
    assert worker.get("/admin/quarantine").status_code == 403


def test_admin_sees_every_held_op(admin, held_ops):
    _, (keep, _drop) = held_ops
    assert keep["op_id"] in admin.get("/admin/quarantine").get_data(as_text=True)
