"""Findings of the wave-2 attack (issue 10), each pinned by a test that failed before its fix.

HIGH 1: the pull sent every notice of the street with its body raw, other communities' 低保
lists included. HIGH 2: one op with a non-JSON number poisoned every later pull of its grid.
Then: a lone surrogate made a whole push a 500; an integer overflow was `server_error`; ids past
2^63 in URLs were 500s.
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests import factories as f
from tests.integration import notices_world as nw
from tests.integration.notices_world import make_notice, publicity_notice
from tests.integration.sync_api import SyncClient, login, new_op
from webapp.extensions import db
from webapp.models import Hazard

API = "/api/v1/sync"
world = nw.world


def _pull_everything(api: SyncClient) -> tuple[list[dict], str]:
    changes, _cursor = api.pull_all()
    return changes, json.dumps(changes, ensure_ascii=False)


def _notices(changes: list[dict]) -> dict[int, dict]:
    return {c["id"]: c["data"] for c in changes if c["entity"] == "notice" and not c["deleted"]}


# --- HIGH 1: 公示 names on phones ----------------------------------------------------------------


def test_pull_masks_publicity_names_as_the_public_page_does(client, world):
    notice = publicity_notice(world, title="张三明等家庭低保公示")
    login(client, "worker_g1")
    changes, _text = _pull_everything(SyncClient(client))
    data = _notices(changes)[notice.id]
    # The worker sees their own grid's residents by name (DESIGN.md §7); a 公示 never in full.
    assert "张三明" not in json.dumps(data, ensure_ascii=False)
    assert "张*明" in data["body"]
    assert data["title"] == "张*明等家庭低保公示"
    public = client.get(f"/public/notices/{notice.id}").get_data(as_text=True)
    assert "张*明" in public and "张三明" not in public


def test_a_community_notice_reaches_only_that_communitys_phones(client, world):
    for_c2 = make_notice(
        world.users["staff_c2"], world.streets["S"], [world.communities["C2"]], title="光明社区通知"
    )
    for_c1 = make_notice(
        world.users["staff_c1"], world.streets["S"], [world.communities["C1"]], title="幸福里通知"
    )
    street_wide = make_notice(world.users["street_s"], world.streets["S"], title="全街道通知")
    other_street = make_notice(world.users["staff_t"], world.streets["T"], title="和平街道通知")
    login(client, "worker_g1")  # grid G1 of community C1
    changes, text = _pull_everything(SyncClient(client))
    held = set(_notices(changes))
    assert held == {for_c1.id, street_wide.id}
    assert for_c2.id not in held and other_street.id not in held
    assert "光明社区通知" not in text


def test_street_staff_phone_gets_every_community_notice_of_its_street(client, world):
    for_c2 = make_notice(world.users["staff_c2"], world.streets["S"], [world.communities["C2"]])
    login(client, "street_s")
    changes, _ = _pull_everything(SyncClient(client))
    assert for_c2.id in _notices(changes)


# --- HIGH 2 and the batch: values that are not JSON ---------------------------------------------


def _hazard_op(grid_id: int, **payload) -> dict:
    body = {
        "grid_id": grid_id,
        "place": "3号楼楼道",
        "category": "fire",
        "severity": "low",
        "description": "楼道堆放杂物",
        "fixed_on_site": True,
    }
    body.update(payload)
    return new_op("hazard.create", body)


@pytest.mark.parametrize("accuracy", ["nan", "NaN", "inf", "-Infinity", "1e999", "1e400"])
def test_non_finite_location_is_rejected_and_the_pull_stays_json(client, world, accuracy):
    login(client, "worker_g1")
    api = SyncClient(client)
    grid_id = world.grids["G1"].id
    bad = _hazard_op(grid_id, location={"lat": 30.5, "lng": 114.3, "accuracy_m": accuracy})
    good = _hazard_op(grid_id)
    response = api.push([bad, good])
    assert response.status_code == 200
    first, second = response.get_json()["results"]
    assert first["status"] == "rejected" and "location" in first["error"]["fields"]
    assert second["status"] == "applied"
    assert db.session.query(Hazard).count() == 1
    raw = client.get(f"{API}/pull", headers={"X-GridRounds-Client": "1"}).get_data()
    json.loads(raw, parse_constant=lambda name: pytest.fail(f"{name} in the pull"))


def test_lone_surrogate_rejects_its_op_alone(client, world):
    login(client, "worker_g1")
    grid_id = world.grids["G1"].id
    bad = _hazard_op(grid_id, description="楼道\udc80堆物")
    good = _hazard_op(grid_id)
    # Sent as JSON text with the escape, as a phone's broken string would arrive.
    body = json.dumps({"device_id": "phone-1", "ops": [bad, good]})
    response = client.post(
        f"{API}/push",
        data=body,
        content_type="application/json",
        headers={"X-GridRounds-Client": "1"},
    )
    assert response.status_code == 200
    first, second = response.get_json()["results"]
    assert first["status"] == "rejected"
    assert first["error"]["code"] == "malformed_op"
    assert second["status"] == "applied"


def test_surrogate_in_op_id_is_not_echoed(client, world):
    login(client, "worker_g1")
    op = _hazard_op(world.grids["G1"].id)
    op["op_id"] = "\udc80"
    body = json.dumps({"device_id": "phone-1", "ops": [op]})
    response = client.post(
        f"{API}/push",
        data=body,
        content_type="application/json",
        headers={"X-GridRounds-Client": "1"},
    )
    assert response.status_code == 200
    (result,) = response.get_json()["results"]
    assert result["status"] == "rejected" and result["op_id"] is None


@pytest.mark.parametrize("where", ["base_version", "record_id", "payload"])
def test_integer_overflow_is_a_clear_rejection(client, world, where):
    login(client, "worker_g1")
    api = SyncClient(client)
    household = f.gen_household(grid=world.grids["G1"])
    db.session.commit()
    op = new_op(
        "household.update",
        {"household_id": household.id, "changes": {"notes": "新装门铃"}},
        record_id=household.id,
        base_version=1,
    )
    huge = 2**64
    if where == "payload":
        op["payload"]["household_id"] = huge
    else:
        op[where] = huge
    (result,) = api.results([op])
    assert result["status"] == "rejected"
    assert result["error"]["code"] != "server_error"
    assert result["error"]["message"]


@pytest.mark.parametrize(
    "url",
    [
        f"/public/notices/{2**64}",
        f"/public/c/{2**63}",
        f"/households/{2**70}",
        f"/buildings/{2**63}",
    ],
)
def test_ids_past_int64_in_urls_are_404(client, world, url):
    login(client, "worker_g1")
    assert client.get(url).status_code == 404


def test_database_json_refuses_nan(app, world):
    hazard_id = uuid.uuid4()
    op_source = _hazard_op(world.grids["G1"].id)
    from webapp.jsonsafe import strict_dumps

    with pytest.raises(ValueError):
        strict_dumps({"accuracy_m": float("nan"), "id": str(hazard_id), "op": op_source})
